// core/revision: resolving HEAD, branches, tags, refs/..., full and abbreviated commit ids, and the ~N / ^N parent
// suffixes, against a repository built through core::create_commit (no CLI). Also load_commit.
#include <catch2/catch.hpp>

#include <cctype>

#include "core/revision.hpp"
#include "objects/torrent_id.hpp"
#include "core_fixture.hpp"

using namespace dvt;
using dvt::test::kind_of;

namespace {

// A chain A <- B <- C on main, each changing data.txt.
struct Chain {
    test::CoreRepo r{"revision"};
    Hash32 a, b, c;
    Chain() {
        r.write("data.txt", "one\n");
        a = r.commit("A");
        r.write("data.txt", "two\n");
        b = r.commit("B");
        r.write("data.txt", "three\n");
        c = r.commit("C");
    }
    std::string rev(const std::string& s) { return core::resolve_commit(*r.repo, s).hex(); }
    ErrorKind fails(const std::string& s) {
        return kind_of([&] { core::resolve_commit(*r.repo, s); });
    }
};

// The shortest prefix (at least 4 digits) of `id` that no other listed commit shares.
std::string unique_prefix(const Hash32& id, const std::vector<Hash32>& all) {
    std::string h = id.hex();
    for (std::size_t n = 4; n <= 64; ++n) {
        bool shared = false;
        for (const auto& o : all)
            if (o != id && o.hex().compare(0, n, h, 0, n) == 0) shared = true;
        if (!shared) return h.substr(0, n);
    }
    return h;
}

std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

}  // namespace

TEST_CASE("revision: an unborn HEAD names no commit; an empty revision is a usage error", "[core]") {
    test::CoreRepo r("revision-unborn");
    CHECK(kind_of([&] { core::resolve_commit(*r.repo, "HEAD"); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { core::resolve_commit(*r.repo, "@"); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { core::resolve_commit(*r.repo, "main"); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { core::resolve_commit(*r.repo, ""); }) == ErrorKind::usage);
}

TEST_CASE("revision: HEAD, @, branch names and refs/heads/<name>", "[core]") {
    Chain t;
    CHECK(t.rev("HEAD") == t.c.hex());
    CHECK(t.rev("@") == t.c.hex());
    CHECK(t.rev("main") == t.c.hex());
    CHECK(t.rev("refs/heads/main") == t.c.hex());

    t.r.set_ref("refs/heads/topic/old", t.a);  // a hierarchical branch name
    CHECK(t.rev("topic/old") == t.a.hex());
    CHECK(t.rev("refs/heads/topic/old") == t.a.hex());

    // a detached HEAD resolves to its commit
    t.r.repo->refs().set_head_detached(t.b, "test: detach");
    CHECK(t.rev("HEAD") == t.b.hex());
    CHECK(t.rev("main") == t.c.hex());

    CHECK(t.fails("nope") == ErrorKind::not_found);
    CHECK(t.fails("refs/heads/nope") == ErrorKind::not_found);
    CHECK(t.fails("refs/tags/main") == ErrorKind::not_found);
}

TEST_CASE("revision: tags, and a name that is both a branch and a tag", "[core]") {
    Chain t;
    t.r.set_ref("refs/tags/v1", t.a);
    CHECK(t.rev("v1") == t.a.hex());
    CHECK(t.rev("refs/tags/v1") == t.a.hex());

    // same name, same commit: not ambiguous
    t.r.set_ref("refs/tags/main", t.c);
    CHECK(t.rev("main") == t.c.hex());

    // same name, different commits: ambiguous unless spelled out
    t.r.set_ref("refs/heads/v1", t.b);
    CHECK(t.fails("v1") == ErrorKind::usage);
    CHECK(t.fails("v1~1") == ErrorKind::usage);
    CHECK(t.rev("refs/tags/v1") == t.a.hex());
    CHECK(t.rev("refs/heads/v1") == t.b.hex());
}

TEST_CASE("revision: ~N, ^ and ^N walk to first and numbered parents", "[core]") {
    Chain t;
    CHECK(t.rev("HEAD~0") == t.c.hex());
    CHECK(t.rev("HEAD^0") == t.c.hex());
    CHECK(t.rev("HEAD~") == t.b.hex());
    CHECK(t.rev("HEAD~1") == t.b.hex());
    CHECK(t.rev("HEAD^") == t.b.hex());
    CHECK(t.rev("HEAD^1") == t.b.hex());
    CHECK(t.rev("HEAD~2") == t.a.hex());
    CHECK(t.rev("HEAD^^") == t.a.hex());
    CHECK(t.rev("HEAD~1^") == t.a.hex());
    CHECK(t.rev("HEAD^~1") == t.a.hex());
    CHECK(t.rev("main~2") == t.a.hex());
    CHECK(t.rev("@~1") == t.b.hex());
    CHECK(t.rev(t.c.hex() + "~2") == t.a.hex());

    t.r.set_ref("refs/tags/v3", t.c);
    CHECK(t.rev("v3^") == t.b.hex());

    // past the root, or a parent a non-merge commit does not have
    CHECK(t.fails("HEAD~3") == ErrorKind::not_found);
    CHECK(t.fails("HEAD^^^") == ErrorKind::not_found);
    CHECK(t.fails("HEAD^2") == ErrorKind::not_found);
    CHECK(t.fails(t.a.hex() + "^") == ErrorKind::not_found);

    // malformed suffixes
    CHECK(t.fails("HEAD~x") == ErrorKind::usage);
    CHECK(t.fails("HEAD~1x") == ErrorKind::usage);
    CHECK(t.fails("HEAD^-1") == ErrorKind::usage);
    CHECK(t.fails("HEAD~99999999999999999999") == ErrorKind::usage);
}

TEST_CASE("revision: full ids and unique abbreviations; unknown ids are not_found", "[core]") {
    Chain t;
    std::vector<Hash32> all{t.a, t.b, t.c};
    for (const auto& id : all) {
        CHECK(t.rev(id.hex()) == id.hex());
        CHECK(t.rev(upper(id.hex())) == id.hex());
        std::string p = unique_prefix(id, all);
        INFO("prefix " << p);
        CHECK(t.rev(p) == id.hex());
        CHECK(t.rev(upper(p)) == id.hex());
        CHECK(t.rev(id.hex().substr(0, 40)) == id.hex());
    }

    // a 64-digit id of no commit, and a 6-digit prefix of none
    std::string missing = t.c.hex();
    missing[63] = missing[63] == '0' ? '1' : '0';
    CHECK(t.fails(missing) == ErrorKind::not_found);
    std::string none;
    for (char first : std::string("0123456789abcdef")) {
        std::string cand = std::string(1, first) + "00000";
        bool used = false;
        for (const auto& id : all) used = used || id.hex().starts_with(cand);
        if (!used) {
            none = cand;
            break;
        }
    }
    REQUIRE(!none.empty());
    CHECK(t.fails(none) == ErrorKind::not_found);

    // fewer than 4 digits is not taken as an id; neither is 65 or non-hex
    CHECK(t.fails(t.c.hex().substr(0, 3)) == ErrorKind::not_found);
    CHECK(t.fails(t.c.hex() + "0") == ErrorKind::not_found);
    CHECK(t.fails("g" + t.c.hex().substr(1, 10)) == ErrorKind::not_found);
}

TEST_CASE("revision: a branch or tag name wins over a commit prefix it spells", "[core]") {
    Chain t;
    std::string p = t.c.hex().substr(0, 8);
    t.r.set_ref("refs/heads/" + p, t.a);
    CHECK(t.rev(p) == t.a.hex());
    CHECK(t.rev(t.c.hex().substr(0, 9)) == t.c.hex());
}

TEST_CASE("revision: an ambiguous commit prefix is a usage error; one more digit resolves it", "[core]") {
    test::CoreRepo r("revision-ambiguous");
    r.write("data.txt", "base\n");
    Hash32 base = r.commit("base");
    auto first = r.commit_result("first twin", true);

    // Find a message that gives a commit identical to `first` but for the message an id with the same first 4 hex
    // digits (and a different 5th): about 65536 SHA-256 of a few hundred bytes.
    objects::Commit tmpl = first.commit;
    const std::string want = first.id.hex();
    std::string twin_message;
    Hash32 predicted;
    for (int i = 0; i < 4'000'000 && twin_message.empty(); ++i) {
        tmpl.message = "twin " + std::to_string(i) + "\n";
        Hash32 id = objects::commit_id_of(tmpl.encode());
        std::string h = id.hex();
        if (h.compare(0, 4, want, 0, 4) == 0 && h[4] != want[4]) {
            twin_message = "twin " + std::to_string(i);
            predicted = id;
        }
    }
    REQUIRE(!twin_message.empty());

    // the same commit but for its message: same parent, time, tree and packs
    r.set_ref("refs/heads/main", base);
    r.next_time -= 60;
    Hash32 second = r.commit(twin_message, true);
    REQUIRE(second.hex() == predicted.hex());

    CHECK(kind_of([&] { core::resolve_commit(*r.repo, want.substr(0, 4)); }) == ErrorKind::usage);
    CHECK(core::resolve_commit(*r.repo, want.substr(0, 5)) == first.id);
    CHECK(core::resolve_commit(*r.repo, second.hex().substr(0, 5)) == second);
    CHECK(core::resolve_commit(*r.repo, "HEAD") == second);
    CHECK(core::resolve_commit(*r.repo, want.substr(0, 5) + "~1") == base);
}

TEST_CASE("revision: invalid ref names are refused, load_commit needs a stored commit", "[core]") {
    Chain t;
    CHECK(t.fails("refs/heads/a..b") == ErrorKind::usage);
    CHECK(t.fails("refs/bogus/x") == ErrorKind::usage);
    CHECK(t.fails("a..b") == ErrorKind::not_found);
    CHECK(t.fails("has space") == ErrorKind::not_found);
    CHECK(t.fails("~1") == ErrorKind::not_found);

    auto c = core::load_commit(*t.r.repo, t.c);
    REQUIRE(c.parents.size() == 1);
    CHECK(c.parents[0] == t.b);
    CHECK(c.message == "C\n");
    CHECK(c.author_name == "Core Tester");
    CHECK(c.author_email == "core@example.org");
    CHECK(c.time == test::CoreRepo::kFirstCommitTime + 120);
    CHECK(core::load_commit(*t.r.repo, t.a).parents.empty());

    Hash32 bogus = t.c;
    bogus.bytes[0] ^= 0xff;
    CHECK(kind_of([&] { core::load_commit(*t.r.repo, bogus); }) == ErrorKind::not_found);
}
