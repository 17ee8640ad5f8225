// core/named_packs: what a version must be in this repository before a pull stores it or fsck --repair keeps it,
// checked together with the format's rules (core::check_version over core::NamedPackObjects). Versions forged as an
// attacker would (valid ids, hostile content: tests/unit/forge_version.hpp) are refused with corrupt; what dvt itself
// commits passes. Also fsck --repair dropping broken versions so that gc deletes them, and gc's byte count.
#include <catch2/catch.hpp>

#include "core/checkout.hpp"
#include "core/history.hpp"
#include "core/maintenance.hpp"
#include "core/revision.hpp"
#include "core/named_packs.hpp"
#include "core_fixture.hpp"
#include "forge_version.hpp"

using namespace dvt;
using dvt::test::ForgedVersion;
using dvt::test::kind_of;
namespace fs = std::filesystem;

namespace {

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

// The whole version as a pull checks it (the packs are installed here, so the store reads them).
void check(core::Repository& repo, const Hash32& commit) {
    auto c = core::load_commit(repo, commit);
    core::StoreObjects stored(repo.store());
    core::NamedPackObjects objs(stored, repo.store(), c);
    core::check_version(objs, c, {});
}

ErrorKind check_kind(core::Repository& repo, const Hash32& commit) {
    return kind_of([&] { check(repo, commit); });
}

std::string check_message(core::Repository& repo, const Hash32& commit) {
    try {
        check(repo, commit);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("check_version passes what dvt commits, and a forged version that is sound", "[core][version]") {
    test::CoreRepo r("version-ok");
    r.write("a.bin", test::pseudo_random(100000, 1));
    r.write("d/e/f.txt", "f\n");
    r.symlink("link", "a.bin");
    r.write("empty", "");
    Hash32 v1 = r.commit("v1");
    r.write("d/e/g.txt", "g\n");
    Hash32 v2 = r.commit("v2");
    CHECK_NOTHROW(check(*r.repo, v1));
    CHECK_NOTHROW(check(*r.repo, v2));

    ForgedVersion f(*r.repo);
    Bytes data = bytes_of("forged but sound\n");
    Hash32 file = f.file(data);
    Hash32 sub = f.tree({ForgedVersion::file_entry("x.txt", file, data.size())});
    Hash32 root = f.tree({ForgedVersion::dir_entry("sub", sub, data.size()), ForgedVersion::file_entry("y.txt", file, data.size())});
    Hash32 forged = f.commit(root);
    CHECK(check_kind(*r.repo, forged) == ErrorKind::internal);  // i.e. nothing thrown
    core::checkout(*r.repo, forged.hex(), {});
    CHECK(str(r.read("sub/x.txt")) == "forged but sound\n");
}

TEST_CASE("check_version refuses sizes, lengths and types that disagree", "[core][version]") {
    test::CoreRepo r("version-bad");
    ForgedVersion f(*r.repo);
    Bytes data = test::pseudo_random(50000, 7);  // one chunk, below the chunker's maximum
    Hash32 bad;
    std::string expect;
    SECTION("a tree entry's size differs from its file object's") {
        Hash32 file = f.file(data);
        bad = f.commit(f.tree({ForgedVersion::file_entry("f", file, 10)}));
        expect = "tree entry says 10";
    }
    SECTION("a chunk's length in the file object differs from the record's (10 named, 50,000 stored)") {
        Hash32 file = f.file(data, 10, 10);
        bad = f.commit(f.tree({ForgedVersion::file_entry("f", file, 10)}));
        expect = "is 50000 bytes";  // its record's length
    }
    SECTION("the chunks do not add up to the file's size") {
        Hash32 file = f.file(data, data.size() + 1);
        bad = f.commit(f.tree({ForgedVersion::file_entry("f", file, data.size() + 1)}));
        expect = "do not add up";
    }
    SECTION("a file object that does not decode") {
        Hash32 file = f.add(objects::ObjectType::file, bytes_of(std::string("DVTF\x01\0\0\0", 8) + "truncated"));
        bad = f.commit(f.tree({ForgedVersion::file_entry("f", file, 3)}));
    }
    SECTION("a directory entry naming a file object") {
        Hash32 file = f.file(data);
        bad = f.commit(f.tree({ForgedVersion::dir_entry("d", file)}));
    }
    SECTION("a chunk in no pack the commit names") {
        objects::FileObject fo;
        fo.size = 5;
        fo.chunks.push_back({sha256(std::string_view("nowhere")), 5});
        Hash32 file = f.add(objects::ObjectType::file, fo.encode());
        bad = f.commit(f.tree({ForgedVersion::file_entry("f", file, 5)}));
        expect = "lies in no pack the commit names";
    }
    SECTION("an object that is here, but in a pack the commit does not name") {
        Bytes small = test::pseudo_random(3000, 8);  // below the chunker's minimum: one chunk, id = its SHA-256
        r.write("mine.bin", small);
        r.commit("mine");  // its pack holds that chunk
        REQUIRE(r.repo->store().has(sha256(small)));
        ForgedVersion g(*r.repo);
        Hash32 file = g.add(objects::ObjectType::file, [&] {
            objects::FileObject fo;
            fo.size = small.size();
            fo.chunks.push_back({sha256(small), static_cast<std::uint32_t>(small.size())});
            return fo.encode();
        }());
        bad = g.commit(g.tree({ForgedVersion::file_entry("f", file, small.size())}));
        expect = "lies in no pack the commit names";
    }
    SECTION("a name longer than NAME_MAX") {
        Hash32 file = f.file(data);
        bad = f.commit(f.tree({ForgedVersion::file_entry(std::string(300, 'n'), file, data.size())}));
        expect = "300 bytes long";
    }
    INFO(check_message(*r.repo, bad));
    CHECK(check_kind(*r.repo, bad) == ErrorKind::corrupt);
    CHECK(check_message(*r.repo, bad).find(expect) != std::string::npos);
}

TEST_CASE("check_path_fits: 255-byte names and 4095-byte paths fit, one byte more does not", "[core][version]") {
    CHECK_NOTHROW(core::check_path_fits(std::string(255, 'a')));
    CHECK_NOTHROW(core::check_path_fits("d/" + std::string(255, 'a') + "/x"));
    CHECK(kind_of([] { core::check_path_fits(std::string(256, 'a')); }) == ErrorKind::corrupt);
    CHECK(kind_of([] { core::check_path_fits("d/" + std::string(256, 'a') + "/x"); }) == ErrorKind::corrupt);
    std::string deep;
    while (deep.size() < 4095) deep += (deep.empty() ? "" : "/") + std::string(100, 'd');
    deep.resize(4095);
    if (deep.back() == '/') deep.back() = 'x';
    CHECK_NOTHROW(core::check_path_fits(deep));
    CHECK(kind_of([&] { core::check_path_fits(deep + "x"); }) == ErrorKind::corrupt);
}

TEST_CASE("fsck --repair drops a broken version: refs move back or go, reflog entries go, then gc deletes it",
          "[core][version][gc]") {
    test::CoreRepo r("version-repair");
    auto& repo = *r.repo;
    r.write("good.txt", "good\n");
    Hash32 good = r.commit("good");

    ForgedVersion f(repo);
    Bytes data = test::pseudo_random(20000, 9);
    Hash32 file = f.file(data);
    Hash32 broken = f.commit(f.tree({ForgedVersion::file_entry("f", file, 1)}));  // size disagrees
    Hash32 broken_pack = f.pack().id;
    // reachable the way a pull made it reachable, and through a branch that moved onto it
    r.set_ref("refs/remotes/swarm/fetched", broken);
    r.set_ref("refs/heads/main", broken);
    r.set_ref("refs/heads/only-broken", broken);

    auto before = core::fsck(repo, {});
    CHECK_FALSE(before.problems.empty());
    CHECK(core::gc(repo).packs_removed == 0);  // reachable: kept

    auto rep = core::fsck(repo, core::FsckOptions{true});
    for (const auto& d : rep.dropped) UNSCOPED_INFO(d.what << ": " << d.message);
    CHECK(repo.refs().read("refs/heads/main") == good);                  // back to the last sound value
    CHECK(!repo.refs().read("refs/remotes/swarm/fetched").has_value());  // never sound: deleted
    CHECK(!repo.refs().read("refs/heads/only-broken").has_value());
    CHECK(repo.refs().head().commit == good);
    for (const auto& name : repo.refs().reflog_names())
        for (const auto& e : repo.refs().reflog(name)) {
            CHECK(e.old_id != std::optional<Hash32>(broken));
            CHECK(e.new_id != std::optional<Hash32>(broken));
        }
    CHECK(rep.dropped.size() >= 3);
    CHECK(rep.problems.empty());  // what is left is sound

    auto g = core::gc(repo);
    CHECK(g.commits_removed == 1);
    CHECK(g.packs_removed == 1);
    CHECK_FALSE(fs::exists(repo.store().pack_path(broken_pack)));
    CHECK_FALSE(repo.store().has_commit(broken));
    CHECK(core::fsck(repo, {}).problems.empty());
    CHECK(repo.store().has_commit(good));
}

TEST_CASE("fsck --repair leaves a sound repository's refs alone", "[core][version][gc]") {
    test::CoreRepo r("version-repair-sound");
    r.write("a.txt", "a\n");
    Hash32 a = r.commit("a");
    r.write("b.txt", "b\n");
    Hash32 b = r.commit("b");
    r.set_ref("refs/tags/first", a);
    auto logs_before = r.repo->refs().reflog("HEAD").size();
    auto rep = core::fsck(*r.repo, core::FsckOptions{true});
    CHECK(rep.problems.empty());
    CHECK(rep.dropped.empty());
    CHECK(r.repo->refs().read("refs/heads/main") == b);
    CHECK(r.repo->refs().read("refs/tags/first") == a);
    CHECK(r.repo->refs().reflog("HEAD").size() == logs_before);
}

TEST_CASE("gc counts the bytes it freed, not (uintmax_t)-1 for a pack whose size cannot be read", "[core][gc]") {
    test::CoreRepo r("gc-bytes");
    // an empty directory named like a pack: file_size() fails on it, remove() succeeds
    fs::create_directory(r.repo->store().packs_dir() / (std::string(64, 'a') + ".pack"));
    std::vector<std::uint8_t> blob(3000, 7);
    fs::create_directories(r.repo->store().partial_dir());
    fs::create_directory(r.repo->store().partial_dir() / (std::string(64, 'b') + ".pack"));
    test::write_file(r.repo->store().partial_dir() / (std::string(64, 'c') + ".pack"), blob);
    auto g = core::gc(*r.repo);
    CHECK(g.packs_removed == 1);
    CHECK(g.partial_removed == 2);
    CHECK(g.bytes_freed == 3000);
}
