// core/maintenance gc and fsck, and core/history reachability. gc keeps every commit reachable from HEAD, a branch,
// a tag or any reflog entry (a deleted branch's reflog included: reflogs are never expired by dvt), and deletes
// whole packs that no kept commit names. The tests remove reflog files by hand (.dvt/logs, docs/format.md) to make a
// commit unreachable, and check that what a tag reaches survives and fsck is clean before and after.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "core/checkout.hpp"
#include "core/history.hpp"
#include "core/maintenance.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core_fixture.hpp"

using namespace dvt;
using dvt::test::kind_of;
namespace fs = std::filesystem;

namespace {

std::set<Hash32> as_set(const std::vector<Hash32>& v) { return {v.begin(), v.end()}; }

std::set<Hash32> packs_of(core::Repository& repo, const Hash32& commit) {
    std::set<Hash32> out;
    for (const auto& p : core::load_commit(repo, commit).packs) out.insert(p.id);
    return out;
}

// Checks fsck finds nothing wrong, printing what it found otherwise.
core::FsckResult fsck_clean(core::Repository& repo) {
    auto f = core::fsck(repo, {});
    for (const auto& p : f.problems) UNSCOPED_INFO(p.what << ": " << p.message);
    CHECK(f.problems.empty());
    return f;
}

// The bytes of stored file object `id`, read chunk by chunk from the store.
Bytes stored_bytes(core::Repository& repo, const Hash32& id) {
    Bytes out;
    for (const auto& c : repo.store().read_file_object(id).chunks) {
        Bytes b = repo.store().read(c.id);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

void checkout(core::Repository& repo, const std::string& rev) { core::checkout(repo, rev, {}); }

}  // namespace

TEST_CASE("gc: a deleted branch's objects stay while its reflog reaches them, go when it is gone; a tag keeps its own",
          "[core]") {
    test::CoreRepo r("gc");
    auto& repo = *r.repo;
    r.write("base.bin", test::pseudo_random(4096, 10));
    Hash32 a = r.commit("A");

    r.set_ref("refs/heads/feature", a);
    checkout(repo, "feature");
    const Bytes feature_bytes = test::pseudo_random(6000, 11);
    r.write("feature.bin", feature_bytes);
    Hash32 f = r.commit("F on feature");

    r.set_ref("refs/heads/release", a);
    checkout(repo, "release");
    REQUIRE_FALSE(r.exists("feature.bin"));
    const Bytes release_bytes = test::pseudo_random(5000, 12);
    r.write("release.bin", release_bytes);
    Hash32 t = r.commit("T on release");
    r.set_ref("refs/tags/v1", t);

    checkout(repo, "main");
    r.delete_ref("refs/heads/feature");
    r.delete_ref("refs/heads/release");
    REQUIRE(repo.refs().list("refs/heads/").size() == 1);

    // the objects only F reaches
    auto f_tree = core::flatten_tree(repo.store(), core::load_commit(repo, f).tree);
    Hash32 feature_file = f_tree.at("feature.bin").id;
    std::vector<Hash32> feature_chunks;
    for (const auto& c : repo.store().read_file_object(feature_file).chunks) feature_chunks.push_back(c.id);
    REQUIRE_FALSE(feature_chunks.empty());
    std::set<Hash32> kept_packs = packs_of(repo, a);
    for (const auto& p : packs_of(repo, t)) kept_packs.insert(p);
    std::set<Hash32> f_only;
    for (const auto& p : packs_of(repo, f))
        if (!kept_packs.count(p)) f_only.insert(p);
    REQUIRE_FALSE(f_only.empty());
    for (const auto& p : f_only) REQUIRE(fs::exists(repo.store().pack_path(p)));
    REQUIRE(repo.store().locate(feature_file));

    auto before = fsck_clean(repo);
    CHECK(before.commits == 3);
    CHECK(before.reachable_commits == 3);

    // 1. the deleted branch's reflog (and HEAD's) still reach F: nothing is removed
    CHECK(as_set(core::reachable_commits(repo)) == std::set<Hash32>{a, f, t});
    auto g1 = core::gc(repo);
    CHECK(g1.commits_removed == 0);
    CHECK(g1.packs_removed == 0);
    CHECK(repo.store().has_commit(f));
    for (const auto& p : f_only) CHECK(fs::exists(repo.store().pack_path(p)));
    CHECK(core::resolve_commit(repo, f.hex()) == f);
    fsck_clean(repo);

    // 2. without reflogs only main (A) and the tag (T) reach anything: F and its packs go, whole
    fs::remove_all(repo.dvt_dir() / "logs");
    CHECK(as_set(core::reachable_commits(repo)) == std::set<Hash32>{a, t});
    auto g2 = core::gc(repo);
    CHECK(g2.commits_removed == 1);
    CHECK(g2.packs_removed == f_only.size());
    CHECK(g2.packs_kept == kept_packs.size());
    CHECK(g2.bytes_freed > 0);
    CHECK_FALSE(repo.store().has_commit(f));
    CHECK(kind_of([&] { core::resolve_commit(repo, f.hex()); }) == ErrorKind::not_found);
    for (const auto& p : f_only) {
        CHECK_FALSE(fs::exists(repo.store().pack_path(p)));
        CHECK_FALSE(repo.store().pack_by_id(p));
    }
    CHECK_FALSE(repo.store().locate(feature_file));
    for (const auto& c : feature_chunks) CHECK_FALSE(repo.store().locate(c));

    // what main and the tag reach is intact: commits, packs, and every byte
    CHECK(repo.store().has_commit(a));
    CHECK(repo.store().has_commit(t));
    for (const auto& p : kept_packs) CHECK(fs::exists(repo.store().pack_path(p)));
    auto t_tree = core::flatten_tree(repo.store(), core::load_commit(repo, t).tree);
    CHECK(stored_bytes(repo, t_tree.at("release.bin").id) == release_bytes);
    CHECK(stored_bytes(repo, t_tree.at("base.bin").id) == test::pseudo_random(4096, 10));
    auto after = fsck_clean(repo);
    CHECK(after.commits == 2);
    CHECK(after.reachable_commits == 2);
    CHECK(after.packs == kept_packs.size());

    checkout(repo, "v1");
    CHECK(r.read("release.bin") == release_bytes);
    CHECK(r.read("base.bin") == test::pseudo_random(4096, 10));

    // 3. a second gc has nothing left to do
    auto g3 = core::gc(repo);
    CHECK(g3.commits_removed == 0);
    CHECK(g3.packs_removed == 0);
    CHECK(g3.bytes_freed == 0);
    fsck_clean(repo);
}

TEST_CASE("gc: a commit made on a detached HEAD is kept by the HEAD reflog alone", "[core]") {
    test::CoreRepo r("gc-detached");
    auto& repo = *r.repo;
    r.write("a.txt", "a\n");
    Hash32 a = r.commit("A");
    checkout(repo, a.hex());
    r.write("detached.bin", test::pseudo_random(3000, 20));
    Hash32 d = r.commit("D, detached");
    CHECK(repo.refs().head().commit == d);
    CHECK_FALSE(repo.refs().head().branch_ref);
    checkout(repo, "main");

    // only logs/HEAD names D
    CHECK(core::gc(repo).commits_removed == 0);
    CHECK(repo.store().has_commit(d));
    fsck_clean(repo);

    fs::remove(repo.dvt_dir() / "logs" / "HEAD");
    REQUIRE(fs::exists(repo.dvt_dir() / "logs" / "refs" / "heads" / "main"));
    auto g = core::gc(repo);
    CHECK(g.commits_removed == 1);
    CHECK(g.packs_removed >= 1);
    CHECK_FALSE(repo.store().has_commit(d));
    CHECK(repo.store().has_commit(a));
    CHECK(core::resolve_commit(repo, "main") == a);
    fsck_clean(repo);
}

TEST_CASE("gc: removes the temp files a killed pull left in partial/, not while a pull runs", "[core]") {
    test::CoreRepo r("gc-partial-temp");
    auto& repo = *r.repo;
    r.write("a.txt", "a\n");
    r.commit("A");
    fs::create_directories(repo.store().partial_dir());
    const fs::path tmp = repo.store().partial_dir() / ".tmp-resume-1234-abcd";
    test::write_file(tmp, test::text_bytes("half a resume file"));
    {
        auto pull = repo.store().try_lock_pull();  // a pull is running: its temp files are its own
        REQUIRE(pull);
        core::gc(repo);
        CHECK(fs::exists(tmp));
    }
    auto g = core::gc(repo);
    CHECK_FALSE(fs::exists(tmp));
    CHECK(g.temp_files_removed >= 1);
    fsck_clean(repo);
}

TEST_CASE("history: newest first, every commit once, stops when told; roots and reachability", "[core]") {
    test::CoreRepo r("history");
    auto& repo = *r.repo;
    r.write("f.txt", "1\n");
    Hash32 a = r.commit("A");
    r.write("f.txt", "2\n");
    Hash32 b = r.commit("B");
    r.write("f.txt", "3\n");
    Hash32 c = r.commit("C");
    // a side branch from B, committed last (so newest)
    r.set_ref("refs/heads/side", b);
    checkout(repo, "side");
    r.write("side.txt", "s\n");
    Hash32 d = r.commit("D");
    checkout(repo, "main");

    std::vector<Hash32> order;
    core::walk_history(repo, {c, d}, [&](const core::LogEntry& e) {
        order.push_back(e.id);
        return true;
    });
    CHECK(order == std::vector<Hash32>{d, c, b, a});

    order.clear();
    core::walk_history(repo, {c, c}, [&](const core::LogEntry& e) {
        order.push_back(e.id);
        return order.size() < 2;
    });
    CHECK(order == std::vector<Hash32>{c, b});

    CHECK(as_set(core::reachable_commits(repo)) == std::set<Hash32>{a, b, c, d});
    auto roots = as_set(core::root_commits(repo));
    CHECK(roots.count(c));  // HEAD and main
    CHECK(roots.count(d));  // side
}
