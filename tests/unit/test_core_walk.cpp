// The streaming status/commit walk (core/walk.hpp) and the stat cache file (objects/stat_cache.hpp): the walk reports
// what diff_trees reports on whole flattened trees (added, deleted, modified, type changes, nested directories, a file
// replaced by a directory and back, names that sort differently as bytes and as paths: "a.b" vs "a/"), and a commit
// built by the walk has the tree id the same files give; the stat cache file keeps rows in tree order, is rewritten
// only when something changed, re-hashes racy entries and reads a file of another layout or a damaged block as
// missing rows (rebuilt by the next write).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core/walk.hpp"
#include "core_fixture.hpp"
#include "objects/stat_cache.hpp"
#include "objects/store.hpp"

using namespace dvt;
using objects::EntryKind;
using objects::StatCacheRow;
namespace fs = std::filesystem;

namespace {

using Changes = std::vector<std::pair<std::string, char>>;
Changes summary(const std::vector<core::DiffEntry>& d) {
    Changes out;
    for (const auto& e : d) out.emplace_back(e.path, e.status);
    return out;
}

std::optional<objects::Commit> head_commit(test::CoreRepo& r) {
    auto h = r.repo->refs().head();
    if (!h.commit) return std::nullopt;
    return core::load_commit(*r.repo, *h.commit);
}

// The reference answer: both sides flattened whole (the pre-streaming way).
Changes reference(test::CoreRepo& r) {
    core::FlatTree base;
    auto c = head_commit(r);
    if (c) base = core::flatten_tree(r.repo->store(), *c);
    return summary(core::diff_trees(base, core::worktree_state(*r.repo)));
}

Changes streamed(test::CoreRepo& r) { return summary(core::worktree_changes(*r.repo, head_commit(r))); }

std::vector<std::string> cache_paths(test::CoreRepo& r) {
    std::vector<std::string> out;
    r.repo->stat_table().for_each([&](const StatCacheRow& row) { out.push_back(row.path); });
    return out;
}

// Sets a file's mtime (and so its ctime to now) `seconds_ago` in the past.
void age(test::CoreRepo& r, const std::string& rel, int seconds_ago) {
    struct timespec ts[2];
    ::clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= seconds_ago;
    ts[1] = ts[0];
    REQUIRE(::utimensat(AT_FDCWD, (r.root() / rel).c_str(), ts, 0) == 0);
}

StatCacheRow row(std::string path, std::uint64_t n) {
    StatCacheRow x;
    x.path = std::move(path);
    x.size = n;
    x.mtime_ns = 1000 + static_cast<std::int64_t>(n);
    x.ctime_ns = 2000 + static_cast<std::int64_t>(n);
    x.ino = 3000 + n;
    x.mode = 0100644;
    x.file_id = sha256(test::pseudo_random(16, static_cast<unsigned>(n)));
    x.cached_at_ns = 5000 + static_cast<std::int64_t>(n);
    return x;
}

}  // namespace

TEST_CASE("tree order puts a directory's paths right after its name, before names that extend it", "[walk]") {
    using objects::tree_order_compare;
    CHECK(tree_order_compare("a/x", "a.b") < 0);  // as bytes '.' < '/', as trees "a" < "a.b"
    CHECK(tree_order_compare("a.b", "a/x") > 0);
    CHECK(tree_order_compare("a", "a/x") < 0);
    CHECK(tree_order_compare("a/x", "a-") < 0);
    CHECK(tree_order_compare("a/x", "a/x") == 0);
    CHECK(tree_order_compare("a/x/y", "a/xy") < 0);
    CHECK(tree_order_compare("b", "a/z") > 0);
}

TEST_CASE("the streaming status agrees with the flattened diff: added, deleted, modified, types, nesting", "[walk]") {
    test::CoreRepo r("walk-status");
    CHECK(streamed(r).empty());  // an empty work tree, no commit
    r.write("a.b", "dot\n");
    r.write("a/x", "x\n");
    r.write("a/sub/deep/y", "y\n");
    r.write("a-", "dash\n");
    r.write("keep/k", "k\n");
    r.write("gone/g1", "g1\n");
    r.write("gone/sub/g2", "g2\n");
    r.write("f2d", "file that becomes a directory\n");
    r.write("d2f/inner", "directory that becomes a file\n");
    r.write("exe", "#!/bin/sh\n");
    r.write("link2file", "target\n");
    r.symlink("s", "a.b");
    CHECK(streamed(r) == reference(r));  // all added
    CHECK(streamed(r).size() == 12);
    r.commit("v1");
    CHECK(streamed(r).empty());
    CHECK(streamed(r).empty());  // from the stat cache

    r.write("a/x", "x changed\n");
    r.write("a/sub/deep/new", "new\n");
    r.write("a.c", "new beside a.b\n");
    r.remove("gone");
    r.remove("f2d");
    r.write("f2d/now", "inside\n");
    r.remove("d2f");
    r.write("d2f", "now a file\n");
    r.set_executable("exe", true);
    r.remove("link2file");
    r.symlink("link2file", "a.b");
    r.remove("s");
    r.symlink("s", "a-");
    r.write("empty-dir/.keep-not", "");
    r.remove("empty-dir/.keep-not");  // an empty directory: not tracked
    Changes want{{"a.c", 'A'},         {"a/sub/deep/new", 'A'}, {"a/x", 'M'},     {"d2f", 'A'},
                 {"d2f/inner", 'D'},   {"exe", 'M'},            {"f2d", 'D'},     {"f2d/now", 'A'},
                 {"gone/g1", 'D'},     {"gone/sub/g2", 'D'},    {"link2file", 'T'}, {"s", 'M'}};
    CHECK(streamed(r) == want);
    CHECK(reference(r) == want);
    CHECK(streamed(r) == want);  // again, with what the first call cached

    // the commit built by the walk has what the work tree holds, and is clean afterwards
    auto res = r.commit_result("v2");
    CHECK(res.added == 4);
    CHECK(res.deleted == 4);
    CHECK(res.modified == 4);
    CHECK(streamed(r).empty());
    CHECK(reference(r).empty());
    auto flat = core::flatten_tree(r.repo->store(), res.commit);
    CHECK(flat.count("a/sub/deep/y") == 1);
    CHECK(flat.count("empty-dir") == 0);
    CHECK(flat.at("link2file").kind == EntryKind::symlink);
    CHECK(flat.at("exe").kind == EntryKind::executable);
    CHECK(res.commit.files == flat.size());
}

TEST_CASE("the walk's commit has the tree id build_trees gives the same files, with and without the cache",
          "[walk]") {
    test::CoreRepo r("walk-commit");
    r.write("a.b", "dot\n");
    r.write("a/x", "x\n");
    r.write("a/b/c", test::pseudo_random(70000, 3));
    r.write("z", "z\n");
    r.symlink("l", "z");
    auto c1 = r.commit_result("v1");
    // the same tree through the flat path (scan + build_trees)
    auto entries = core::scan_worktree(r.root());
    core::Ingest ingest(*r.repo, false);
    std::vector<const core::WorkEntry*> files;
    for (const auto& e : entries)
        if (e.kind != EntryKind::symlink) files.push_back(&e);
    auto hashed = ingest.add_files(files);
    std::vector<Hash32> ids(entries.size());
    for (std::size_t i = 0, k = 0; i < entries.size(); ++i)
        if (entries[i].kind != EntryKind::symlink) ids[i] = hashed[k++];
    CHECK(core::build_trees(ingest, entries, ids).root == c1.commit.tree);

    // a change deep down: the unchanged subtrees keep their ids
    r.write("a/b/c", test::pseudo_random(70000, 4));
    auto c2 = r.commit_result("v2");
    CHECK(c2.modified == 1);
    auto t1 = r.repo->store().read_tree(c1.commit.tree);
    auto t2 = r.repo->store().read_tree(c2.commit.tree);
    CHECK(t1.find("a.b")->id == t2.find("a.b")->id);
    CHECK(t1.find("a")->id != t2.find("a")->id);
    // nothing changed: nothing to commit
    CHECK(test::kind_of([&] { r.commit("v3"); }) == ErrorKind::nothing_to_do);
    // the stat cache lost: the same commit again from hashing everything
    fs::remove(r.repo->dvt_dir() / "stat-cache");
    CHECK(test::kind_of([&] { r.commit("v3"); }) == ErrorKind::nothing_to_do);
    CHECK(cache_paths(r) == std::vector<std::string>{"a/b/c", "a/x", "a.b", "z"});
}

TEST_CASE("the stat cache: rows in tree order, merged, rewritten only on change, stale rows dropped", "[walk]") {
    test::CoreRepo r("walk-cache");
    r.repo->stat_table().merge({row("z", 1), row("a/b", 2), row("a.b", 3), row("B", 4)});
    r.repo->stat_table().merge({row("a/b", 7)}, {"z"});  // replaces a/b, drops z
    std::vector<StatCacheRow> got;
    r.repo->stat_table().for_each([&](const StatCacheRow& x) { got.push_back(x); });
    REQUIRE(got.size() == 3);
    CHECK(got[0].path == "B");
    CHECK(got[1].path == "a/b");  // tree order: "a/..." before "a.b"
    CHECK(got[2].path == "a.b");
    auto want = row("a/b", 7);
    CHECK(got[1].size == want.size);
    CHECK(got[1].mtime_ns == want.mtime_ns);
    CHECK(got[1].ctime_ns == want.ctime_ns);
    CHECK(got[1].ino == want.ino);
    CHECK(got[1].mode == want.mode);
    CHECK(got[1].file_id == want.file_id);
    CHECK(got[1].cached_at_ns == want.cached_at_ns);

    // find() in order and out of order
    objects::StatCacheReader rd(r.repo->stat_table().path());
    CHECK(rd.find("A") == nullptr);
    REQUIRE(rd.find("a/b") != nullptr);
    CHECK(rd.find("a/c") == nullptr);
    CHECK(rd.find("a.b")->size == 3);
    CHECK(rd.find("B")->size == 4);  // out of order: read again
    CHECK(rd.rewinds() == 1);

    // many rows: several blocks, prefixes shared
    std::vector<StatCacheRow> many;
    for (int i = 0; i < 30000; ++i) many.push_back(row("dir" + std::to_string(i % 7) + "/file-" + std::to_string(i), i));
    r.repo->stat_table().merge(many);
    std::size_t n = 0;
    std::string prev;
    r.repo->stat_table().for_each([&](const StatCacheRow& x) {
        if (n) CHECK(objects::tree_order_less(prev, x.path));
        prev = x.path;
        ++n;
    });
    CHECK(n == 30003);
    CHECK(fs::file_size(r.repo->stat_table().path()) > objects::kStatBlockBytes);
}

TEST_CASE("status rewrites the stat cache only when something changed and drops rows of files gone", "[walk]") {
    test::CoreRepo r("walk-rewrite");
    for (int i = 0; i < 5; ++i) r.write("d/f" + std::to_string(i), "content " + std::to_string(i) + "\n");
    r.write("d.txt", "dot\n");
    for (int i = 0; i < 5; ++i) age(r, "d/f" + std::to_string(i), 10);
    age(r, "d.txt", 10);
    r.commit("v1");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // ctimes more than 1 s old: rows not racy
    fs::remove(r.repo->dvt_dir() / "stat-cache");
    CHECK(streamed(r).empty());  // hashes everything, writes the cache
    CHECK(cache_paths(r) == std::vector<std::string>{"d/f0", "d/f1", "d/f2", "d/f3", "d/f4", "d.txt"});
    struct stat before {};
    REQUIRE(::stat((r.repo->dvt_dir() / "stat-cache").c_str(), &before) == 0);
    CHECK(streamed(r).empty());
    struct stat after {};
    REQUIRE(::stat((r.repo->dvt_dir() / "stat-cache").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // nothing changed: not rewritten

    r.remove("d/f2");
    CHECK(streamed(r) == Changes{{"d/f2", 'D'}});
    CHECK(cache_paths(r) == std::vector<std::string>{"d/f0", "d/f1", "d/f3", "d/f4", "d.txt"});
}

TEST_CASE("a racy stat cache entry is re-hashed: same size, same second, new content", "[walk]") {
    test::CoreRepo r("walk-racy");
    r.write("f", "aaaa\n");
    r.commit("v1");
    CHECK(streamed(r).empty());  // caches f, written less than a second ago: racy
    // same size, and the same mtime as before (a change within the same tick)
    struct stat st {};
    REQUIRE(::stat((r.root() / "f").c_str(), &st) == 0);
    r.write("f", "bbbb\n");
    struct timespec ts[2] = {st.st_mtim, st.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, (r.root() / "f").c_str(), ts, 0) == 0);
    CHECK(streamed(r) == Changes{{"f", 'M'}});

    // an old file is answered from the cache (its row is not racy): a forged row proves the cache is used
    r.write("g", "gggg\n");
    age(r, "g", 10);
    r.commit("v2");
    CHECK(streamed(r).empty());
    CHECK(streamed(r).empty());
    std::vector<StatCacheRow> rows;
    r.repo->stat_table().for_each([&](const StatCacheRow& x) { rows.push_back(x); });
    for (auto& x : rows)
        if (x.path == "g") {
            x.file_id = sha256(std::string("not g"));
            x.cached_at_ns = core::now_ns() + 10'000'000'000;  // not racy, whatever g's ctime
        }
    fs::remove(r.repo->stat_table().path());
    r.repo->stat_table().merge(rows);
    CHECK(streamed(r) == Changes{{"g", 'M'}});
}

TEST_CASE("a stat cache of another layout or with a damaged block is not trusted and is rebuilt", "[walk]") {
    test::CoreRepo r("walk-layout");
    r.write("g", "gggg\n");
    age(r, "g", 10);
    r.commit("v1");
    CHECK(streamed(r).empty());
    auto path = r.repo->stat_table().path();
    std::vector<StatCacheRow> rows;
    r.repo->stat_table().for_each([&](const StatCacheRow& x) { rows.push_back(x); });
    REQUIRE(rows.size() == 1);

    // a forged answer in a file whose layout number is not this dvt's: ignored, and replaced by a good file
    rows[0].file_id = sha256(std::string("not g"));
    rows[0].cached_at_ns = core::now_ns() + 10'000'000'000;  // not racy, whatever g's ctime
    fs::remove(path);
    r.repo->stat_table().merge(rows);
    Bytes b = util::read_file(path);
    b[8] = 9;  // the layout number
    fs::remove(path);
    test::write_file(path, b);
    CHECK(cache_paths(r).empty());
    CHECK(streamed(r).empty());  // re-hashed: g is unchanged
    CHECK(cache_paths(r) == std::vector<std::string>{"g"});
    CHECK(util::read_file(path)[8] == objects::kStatCacheLayout);

    // a damaged byte in a block: the block's hash does not match, its rows are not used
    fs::remove(path);
    r.repo->stat_table().merge(rows);  // the forged row again, layout right
    CHECK(streamed(r) == Changes{{"g", 'M'}});  // (proves the forged row is read when intact)
    fs::remove(path);
    r.repo->stat_table().merge(rows);
    b = util::read_file(path);
    b[b.size() - 1] ^= 1;
    fs::remove(path);
    test::write_file(path, b);
    objects::StatCacheReader rd(path);
    CHECK(rd.next() == nullptr);
    CHECK(rd.damaged());
    CHECK(streamed(r).empty());
    CHECK(cache_paths(r) == std::vector<std::string>{"g"});

    // the SQLite table of the old layout is not read at all
    CHECK(streamed(r).empty());
}

TEST_CASE("a commit takes an unchanged file's id from the stat cache only while its packs are here; else it re-hashes",
          "[walk][scale]") {
    test::CoreRepo r("walk-reach");
    r.write("a.bin", test::pseudo_random(50000, 11));
    age(r, "a.bin", 10);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // its ctime too: the row the commit writes is trusted
    Hash32 v1 = r.commit("v1");
    auto c1 = core::load_commit(*r.repo, v1);
    auto& store = r.repo->store();
    auto a_entry = core::flatten_tree(store, c1).at("a.bin");
    auto a_file = store.read_file_object(a_entry.id);
    REQUIRE(!a_file.chunks.empty());
    const Hash32 chunk = a_file.chunks.front().id;
    const Hash32 data_pack = store.pack(store.locate(chunk)->pack_num)->ref.id;

    // a.bin unchanged: its id comes from the stat cache, its packs from file_packs; only b.txt is hashed
    r.write("b.txt", "b1\n");
    auto v2 = r.commit_result("v2");
    CHECK(v2.stats.files_hashed == 1);
    CHECK(std::any_of(v2.commit.packs.begin(), v2.commit.packs.end(),
                      [&](const objects::PackRef& p) { return p.id == data_pack; }));
    // v1's pack holds a.bin's chunk and file object (and v1's tree); v2's tree lies in the pack v2 wrote
    auto tree2 = store.locate(v2.commit.tree);
    REQUIRE(tree2);
    auto tree2_pack = store.pack(tree2->pack_num);
    REQUIRE(tree2_pack);
    REQUIRE(tree2_pack->ref.id != data_pack);

    // the pack holding a.bin's chunk is deleted behind the stat cache's back: the repository forgets it when opened
    fs::path pack_file = store.pack_path(data_pack);
    const fs::path root = r.root();
    r.repo.reset();
    REQUIRE(fs::remove(pack_file));
    r.repo = core::Repository::open(root);
    auto& s2 = r.repo->store();
    REQUIRE_FALSE(s2.has(chunk));

    // a.bin's cached row and file_packs row still name it: the commit must not trust them; it reads a.bin again and
    // stores its chunk anew, and names no pack that is gone
    r.write("b.txt", "b2\n");
    auto v3 = r.commit_result("v3");
    CHECK(v3.stats.files_hashed == 2);
    CHECK(s2.has(chunk));
    for (const auto& p : v3.commit.packs) {
        INFO(p.id.hex());
        CHECK(fs::exists(s2.pack_path(p.id)));
    }
    auto loc = s2.locate(chunk);
    REQUIRE(loc);
    const Hash32 new_home = s2.pack(loc->pack_num)->ref.id;
    CHECK(std::any_of(v3.commit.packs.begin(), v3.commit.packs.end(),
                      [&](const objects::PackRef& p) { return p.id == new_home; }));
    CHECK(s2.read(chunk).size() == a_file.chunks.front().size);

    // and the next commit takes a.bin from the cache again (its new file_packs row)
    r.write("b.txt", "b3\n");
    CHECK(r.commit_result("v4").stats.files_hashed == 1);
}

TEST_CASE("an index snapshot answers as the store does, as the index was at its first lookup", "[walk][scale]") {
    test::CoreRepo r("walk-snapshot");
    r.write("a.bin", test::pseudo_random(30000, 12));
    Hash32 v1 = r.commit("v1");
    auto& store = r.repo->store();
    const Hash32 tree1 = core::load_commit(*r.repo, v1).tree;
    {
        objects::IndexSnapshot snap(store);
        auto a = snap.locate(tree1), b = store.locate(tree1);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->pack_num == b->pack_num);
        CHECK(a->entry.offset == b->entry.offset);
        CHECK(a->entry.stored_len == b->entry.stored_len);
        auto info = snap.pack_by_id(store.pack(a->pack_num)->ref.id);
        REQUIRE(info);
        CHECK(info->num == a->pack_num);
        CHECK_FALSE(snap.pack_by_id(sha256(std::string("no such pack"))));
        auto a_id = core::flatten_tree(store, core::load_commit(*r.repo, v1)).at("a.bin").id;
        CHECK(snap.file_packs(a_id) == store.file_packs(a_id));
        CHECK(snap.file_packs(a_id).has_value());

        // a commit made meanwhile is not seen by this snapshot, and is by a new one
        r.write("c.bin", test::pseudo_random(30000, 13));
        Hash32 v2 = r.commit("v2");
        const Hash32 tree2 = core::load_commit(*r.repo, v2).tree;
        CHECK(store.locate(tree2));
        CHECK_FALSE(snap.locate(tree2));
        objects::IndexSnapshot fresh(store);
        CHECK(fresh.locate(tree2));
    }
    CHECK(store.locate(tree1));  // the connection went back to the pool in order
}
