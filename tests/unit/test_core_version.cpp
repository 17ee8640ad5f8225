// core/version: the rules over a whole version (docs/format.md, "Limits" and "Tree"), and the walks that check them
// without recursion: tree depth (256 works, 257 and a 30,000-deep chain are refused without a crash), path length,
// the paths of a version (DAG-aware: a 5.6 KB "DAG bomb" is refused after a few reads), directory sizes, empty
// subtrees, the commit's files and bytes, file sizes and chunk lengths (checkout, flatten, fsck and check_version
// agree). Hostile versions are built as an attacker would: valid ids, hostile content.
#include <catch2/catch.hpp>

#include <map>

#include "core/checkout.hpp"
#include "core/maintenance.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core_fixture.hpp"
#include "objects/limits.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::kind_of;
using dvt::test::message_of;
namespace fs = std::filesystem;

namespace {

// Objects in memory, with a count of tree reads (to show that a walk reads each distinct tree once).
struct MapObjects : core::VersionObjects {
    std::map<Hash32, Bytes> trees, files;
    std::map<Hash32, std::uint32_t> chunk_lengths;
    mutable std::size_t tree_reads = 0;

    Hash32 put_tree(const Tree& t) {
        Bytes b = t.encode();
        Hash32 id = sha256(b);
        trees[id] = b;
        return id;
    }
    Hash32 put_file(const FileObject& f) {
        Bytes b = f.encode();
        Hash32 id = sha256(b);
        files[id] = b;
        return id;
    }
    Tree tree(const Hash32& id) const override {
        ++tree_reads;
        auto it = trees.find(id);
        if (it == trees.end()) throw Error(ErrorKind::not_found, "tree " + id.hex());
        return Tree::decode(it->second);
    }
    FileObject file(const Hash32& id) const override {
        auto it = files.find(id);
        if (it == files.end()) throw Error(ErrorKind::not_found, "file " + id.hex());
        return FileObject::decode(it->second);
    }
    std::optional<PackEntry> chunk(const Hash32& id) const override {
        auto it = chunk_lengths.find(id);
        if (it == chunk_lengths.end()) return std::nullopt;
        return PackEntry{id, 16, it->second, it->second, ObjectType::chunk, Compression::none};
    }
};

Hash32 id_of(char c) {
    Hash32 x;
    x.bytes.fill(static_cast<std::uint8_t>(c));
    return x;
}

TreeEntry file_entry(const std::string& name, std::uint64_t size, const Hash32& id = id_of('f')) {
    return TreeEntry{name, EntryKind::file, size, id, {}};
}
TreeEntry dir_entry(const std::string& name, std::uint64_t size, const Hash32& id) {
    return TreeEntry{name, EntryKind::directory, size, id, {}};
}

// A chain of `depth` directories named `name` with one file of 1 byte at the bottom; returns the root tree.
template <class Put>
Hash32 chain(Put put, std::size_t depth, const std::string& name = "d") {
    Tree leaf;
    leaf.entries = {file_entry("f", 1)};
    Hash32 id = put(leaf);
    for (std::size_t i = 0; i < depth; ++i) {
        Tree t;
        t.entries = {dir_entry(name, 1, id)};
        id = put(t);
    }
    return id;
}

// The "DAG bomb": `depth` levels of trees whose two entries name the same subtree; 2^depth files of 1 byte.
Hash32 dag_bomb(MapObjects& o, std::size_t depth) {
    Tree leaf;
    leaf.entries = {file_entry("f", 1)};
    Hash32 id = o.put_tree(leaf);
    std::uint64_t size = 1;
    for (std::size_t i = 0; i < depth; ++i) {
        Tree t;
        t.entries = {dir_entry("a", size, id), dir_entry("b", size, id)};
        size *= 2;
        id = o.put_tree(t);
    }
    return id;
}

// Writes `records` into one new pack of the repository (raw, uncompressed) and registers it; returns its ref.
PackRef store_pack(core::Repository& repo, const std::vector<std::pair<ObjectType, Bytes>>& records) {
    PackWriter w(repo.store().tmp_dir(), repo.store().packs_dir());
    std::set<Hash32> seen;
    for (const auto& [type, raw] : records) {
        Hash32 id = sha256(raw);
        if (!seen.insert(id).second) continue;
        w.append(type, id, Compression::none, static_cast<std::uint32_t>(raw.size()), raw);
    }
    auto sealed = w.seal();
    PackRef ref = sealed.ref;
    repo.store().add_packs({sealed});
    return ref;
}

// A commit of `tree` naming `packs`, stored and put on refs/heads/<branch>; `files`/`bytes` as given.
Hash32 store_commit(test::CoreRepo& r, const Hash32& tree, std::vector<PackRef> packs, std::uint64_t files,
                    std::uint64_t bytes, const std::string& branch = "hostile") {
    Commit c;
    c.tree = tree;
    c.author_name = "Mallory";
    c.author_email = "m@example.org";
    c.time = 1700000000;
    c.files = files;
    c.bytes = bytes;
    c.chunker = ChunkerParams{};
    std::sort(packs.begin(), packs.end(), [](const PackRef& a, const PackRef& b) { return a.id < b.id; });
    c.packs = std::move(packs);
    c.message = "hostile\n";
    Bytes raw = c.encode();
    Hash32 id = commit_id_of(raw);
    r.repo->store().write_commit(id, raw);
    r.set_ref("refs/heads/" + branch, id);
    return id;
}

bool has_problem(const core::FsckResult& f, const std::string& needle) {
    for (const auto& p : f.problems)
        if (p.message.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("version walks: 256 nested directories work, 257 are refused, 30,000 refused without recursion", "[version]") {
    MapObjects o;
    auto put = [&](const Tree& t) { return o.put_tree(t); };
    Hash32 ok = chain(put, kMaxTreeDepth);
    auto s = core::measure_tree(o, ok);
    CHECK(s.depth == kMaxTreeDepth);
    CHECK(s.files == 1);
    CHECK(s.dirs == kMaxTreeDepth);
    CHECK(s.longest == 2 * kMaxTreeDepth + 1);  // "d/d/.../f"
    Hash32 over = chain(put, kMaxTreeDepth + 1);
    CHECK(kind_of([&] { core::measure_tree(o, over); }) == ErrorKind::corrupt);
    Hash32 deep = chain(put, 30000);
    o.tree_reads = 0;
    CHECK(message_of([&] { core::measure_tree(o, deep); }).find("deeper than the limit") != std::string::npos);
    CHECK(o.tree_reads <= kMaxTreeDepth + 1);  // refused as soon as the chain passes the limit
}

TEST_CASE("version walks: a DAG bomb is refused after a few reads; a shared subtree is read once", "[version]") {
    MapObjects o;
    // 2^20 paths from 20 levels: within the limits, measured with 21 reads
    Hash32 fine = dag_bomb(o, 20);
    o.tree_reads = 0;
    auto s = core::measure_tree(o, fine);
    CHECK(s.files == (1u << 20));
    CHECK(s.bytes == (1u << 20));
    CHECK(o.tree_reads == 21);
    // 2^32 paths in 33 trees (5.6 KB of objects with real ids): refused when the count passes 2^26
    Hash32 bomb = dag_bomb(o, 32);
    std::size_t bytes = 0;
    for (const auto& [id, b] : o.trees) bytes += b.size();
    CHECK(bytes < 8000);
    o.tree_reads = 0;
    CHECK(message_of([&] { core::measure_tree(o, bomb); }).find("paths below it") != std::string::npos);
    CHECK(o.tree_reads <= 33);
}

TEST_CASE("version walks: the paths of a version, exactly at the limit and one over", "[version]") {
    // root: 32,768 directories naming A, and 32,768 files; A: 1,023 directories naming F; F: one file.
    // paths = 32768 x (1 + 1023 x 2) + 32768 = 2^26
    MapObjects o;
    Tree f;
    f.entries = {file_entry("x", 1)};
    Hash32 fid = o.put_tree(f);
    Tree a;
    char name[16];
    for (int i = 0; i < 1023; ++i) {
        std::snprintf(name, sizeof name, "a%04d", i);
        a.entries.push_back(dir_entry(name, 1, fid));
    }
    Hash32 aid = o.put_tree(a);
    auto root = [&](int extra_files) {
        Tree t;
        for (int i = 0; i < 32768; ++i) {
            std::snprintf(name, sizeof name, "d%05d", i);
            t.entries.push_back(dir_entry(name, 1023, aid));
        }
        for (int i = 0; i < 32768 + extra_files; ++i) {
            std::snprintf(name, sizeof name, "f%05d", i);
            t.entries.push_back(file_entry(name, 0));
        }
        return o.put_tree(t);
    };
    auto s = core::measure_tree(o, root(0));
    CHECK(s.files + s.dirs == kMaxVersionEntries);
    CHECK(s.files == (1u << 25));
    CHECK(kind_of([&] { core::measure_tree(o, root(1)); }) == ErrorKind::corrupt);
}

TEST_CASE("version walks: path length, directory sizes, empty subtrees, the commit's files and bytes", "[version]") {
    MapObjects o;
    // a path of exactly 4,095 bytes is fine, 4,096 is not: 15 directories of 255 bytes and a file name
    std::string d255(255, 'd');
    auto long_path = [&](std::size_t file_name) {
        Tree leaf;
        leaf.entries = {file_entry(std::string(file_name, 'f'), 1)};
        Hash32 id = o.put_tree(leaf);
        for (int i = 0; i < 15; ++i) {
            Tree t;
            t.entries = {dir_entry(d255, 1, id)};
            id = o.put_tree(t);
        }
        return id;
    };
    CHECK(core::measure_tree(o, long_path(4095 - 15 * 256)).longest == 4095);
    CHECK(message_of([&] { core::measure_tree(o, long_path(4096 - 15 * 256)); }).find("longer than") != std::string::npos);

    Tree leaf;
    leaf.entries = {file_entry("a", 3), file_entry("b", 4)};
    Hash32 lid = o.put_tree(leaf);
    Tree good;
    good.entries = {dir_entry("d", 7, lid), file_entry("e", 5)};
    Hash32 gid = o.put_tree(good);
    auto s = core::measure_tree(o, gid);
    CHECK(s.files == 3);
    CHECK(s.dirs == 1);
    CHECK(s.bytes == 12);
    Tree wrong = good;
    wrong.entries[0].size = 8;  // the directory says 8 bytes, holds 7
    CHECK(message_of([&] { core::measure_tree(o, o.put_tree(wrong)); }).find("has size 8 but holds 7") != std::string::npos);
    Tree empty;
    Hash32 eid = o.put_tree(empty);
    CHECK(core::measure_tree(o, eid).files == 0);  // the root of an empty commit
    Tree holds_empty;
    holds_empty.entries = {dir_entry("e", 0, eid)};
    CHECK(message_of([&] { core::measure_tree(o, o.put_tree(holds_empty)); }).find("empty directory") != std::string::npos);
    // the same empty tree named again after it was measured as a root (memo shared): still refused as a subtree
    core::TreeShapes memo;
    core::measure_tree(o, eid, &memo);
    CHECK(kind_of([&] { core::measure_tree(o, o.put_tree(holds_empty), &memo); }) == ErrorKind::corrupt);
    // sizes that would overflow 64 bits
    Tree huge;
    huge.entries = {file_entry("a", UINT64_MAX), file_entry("b", 2)};
    CHECK(kind_of([&] { core::measure_tree(o, o.put_tree(huge)); }) == ErrorKind::corrupt);

    Commit c;
    c.tree = gid;
    c.files = 3;
    c.bytes = 12;
    CHECK(core::measure_commit(o, c).files == 3);
    c.files = 4;
    CHECK(message_of([&] { core::measure_commit(o, c); }).find("states 4 files") != std::string::npos);
    c.files = 3;
    c.bytes = 11;
    CHECK(kind_of([&] { core::measure_commit(o, c); }) == ErrorKind::corrupt);
}

TEST_CASE("check_version: file sizes, chunk lengths, chunk types and the chunker max", "[version]") {
    MapObjects o;
    FileObject f;
    f.chunks = {{id_of('1'), 10}, {id_of('2'), 20}};
    f.size = 30;
    Hash32 fid = o.put_file(f);
    o.chunk_lengths[id_of('1')] = 10;
    o.chunk_lengths[id_of('2')] = 20;
    Tree t;
    t.entries = {file_entry("a", 30, fid), file_entry("b", 30, fid)};
    Commit c;
    c.tree = o.put_tree(t);
    c.files = 2;
    c.bytes = 60;
    c.chunker = ChunkerParams{};
    auto r = core::check_version(o, c, {});
    CHECK(r.file_objects == 1);
    CHECK(r.chunks == 2);
    // a chunk whose manifest length (10) differs from its real length (100,000)
    o.chunk_lengths[id_of('1')] = 100000;
    CHECK(message_of([&] { core::check_version(o, c, {}); }).find("its manifest says 10") != std::string::npos);
    o.chunk_lengths[id_of('1')] = 10;
    // a tree entry whose size disagrees with the file object (and two entries that disagree with each other)
    Tree t2 = t;
    t2.entries[1].size = 31;
    Commit c2 = c;
    c2.tree = o.put_tree(t2);
    c2.bytes = 61;
    CHECK(kind_of([&] { core::check_version(o, c2, {}); }) == ErrorKind::corrupt);
    Tree t3;
    t3.entries = {file_entry("a", 31, fid)};
    Commit c3 = c;
    c3.tree = o.put_tree(t3);
    c3.files = 1;
    c3.bytes = 31;
    CHECK(message_of([&] { core::check_version(o, c3, {}); }).find("holds 30 bytes but its tree entry says 31") !=
          std::string::npos);
    // an absent chunk: corrupt for a whole version, fine when only some paths were fetched
    o.chunk_lengths.erase(id_of('2'));
    CHECK(kind_of([&] { core::check_version(o, c, {}); }) == ErrorKind::corrupt);
    core::VersionCheckOptions partial;
    partial.require_chunks = false;
    CHECK(core::check_version(o, c, partial).chunks == 1);
    o.chunk_lengths[id_of('2')] = 20;
    // a format-2 commit's chunks are at most its chunker max; a format-1 commit states none
    FileObject big;
    big.chunks = {{id_of('3'), 70000}};
    big.size = 70000;
    o.chunk_lengths[id_of('3')] = 70000;
    Tree t4;
    t4.entries = {file_entry("big", 70000, o.put_file(big))};
    Commit c4 = c;
    c4.tree = o.put_tree(t4);
    c4.files = 1;
    c4.bytes = 70000;
    CHECK(message_of([&] { core::check_version(o, c4, {}); }).find("chunker max 65536") != std::string::npos);
    c4.chunker = ChunkerParams{4096, 16384, 131072};
    CHECK(core::check_version(o, c4, {}).chunks == 1);
    c4.format = 1;
    c4.chunker.reset();
    CHECK(core::check_version(o, c4, {}).chunks == 1);
}

TEST_CASE("hostile trees in a repository: flatten, checkout and fsck refuse them without crashing", "[version]") {
    test::CoreRepo r("version-deep");
    r.write("keep.txt", "mine\n");
    Hash32 mine = r.commit("mine");
    auto before = r.snapshot();

    // a 30,000-deep chain (a 3.6 MB pack in the issue) and a 256-deep one, each in a pack of its own, valid ids
    Bytes one = {'x'};
    FileObject fo;
    fo.chunks = {{sha256(one), 1}};
    fo.size = 1;
    Bytes fob = fo.encode();
    auto chain_pack = [&](std::size_t depth, Hash32& root) {
        std::vector<std::pair<ObjectType, Bytes>> records{{ObjectType::chunk, one}, {ObjectType::file, fob}};
        Tree leaf;
        leaf.entries = {file_entry("f", 1, sha256(fob))};
        Bytes b = leaf.encode();
        records.emplace_back(ObjectType::tree, b);
        Hash32 id = sha256(b);
        for (std::size_t i = 0; i < depth; ++i) {
            Tree t;
            t.entries = {dir_entry("d", 1, id)};
            b = t.encode();
            records.emplace_back(ObjectType::tree, b);
            id = sha256(b);
        }
        root = id;
        return store_pack(*r.repo, records);
    };
    Hash32 ok_root, deep_root;
    PackRef ok_pack = chain_pack(kMaxTreeDepth, ok_root);
    PackRef deep_pack = chain_pack(30000, deep_root);
    Hash32 ok = store_commit(r, ok_root, {ok_pack}, 1, 1, "ok");
    Hash32 deep = store_commit(r, deep_root, {deep_pack}, 1, 1, "deep");

    // 256 deep: flattened, checked out, and back
    auto flat = core::flatten_tree(r.repo->store(), core::load_commit(*r.repo, ok));
    REQUIRE(flat.size() == 1);
    CHECK(flat.begin()->first.size() == 2 * kMaxTreeDepth + 1);
    core::checkout(*r.repo, "ok", {});
    CHECK(r.read(flat.begin()->first) == one);
    core::checkout(*r.repo, "main", {});
    CHECK(r.snapshot() == before);

    // 30,000 deep: corrupt everywhere, the work tree untouched
    CHECK(kind_of([&] { core::flatten_tree(r.repo->store(), core::load_commit(*r.repo, deep)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { core::flatten_tree(r.repo->store(), deep_root); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { core::checkout(*r.repo, "deep", {}); }) == ErrorKind::corrupt);
    CHECK(r.snapshot() == before);
    CHECK(r.repo->refs().head().commit == mine);
    auto f = core::fsck(*r.repo, {});
    CHECK(has_problem(f, "deeper than the limit"));
    // once the hostile ref is gone (and its reflog), gc drops what only it reached and fsck is clean again
    r.delete_ref("refs/heads/deep");
    fs::remove_all(r.repo->dvt_dir() / "logs" / "refs" / "heads" / "deep");
    auto g = core::gc(*r.repo);
    CHECK(g.packs_removed == 1);
    CHECK(!fs::exists(r.repo->store().pack_path(deep_pack.id)));
    CHECK(fs::exists(r.repo->store().pack_path(ok_pack.id)));
    auto clean = core::fsck(*r.repo, {});
    for (const auto& p : clean.problems) UNSCOPED_INFO(p.what << ": " << p.message);
    CHECK(clean.problems.empty());
}

TEST_CASE("hostile content in a repository: a wrong chunk length or file size is refused by checkout and fsck",
          "[version]") {
    test::CoreRepo r("version-lengths");
    r.write("keep.txt", "mine\n");
    r.commit("mine");

    Bytes data = test::pseudo_random(60000, 5);
    Hash32 chunk = sha256(data);
    auto commit_file = [&](std::uint32_t manifest_len, std::uint64_t entry_size, const std::string& branch) {
        FileObject f;
        f.chunks = {{chunk, manifest_len}};
        f.size = manifest_len;
        Bytes fb = f.encode();
        Tree t;
        t.entries = {file_entry("data.bin", entry_size, sha256(fb))};
        Bytes tb = t.encode();
        PackRef p = store_pack(*r.repo, {{ObjectType::chunk, data}, {ObjectType::file, fb}, {ObjectType::tree, tb}});
        return store_commit(r, sha256(tb), {p}, 1, entry_size, branch);
    };
    Hash32 good = commit_file(60000, 60000, "good");
    Hash32 short_manifest = commit_file(10, 10, "short");   // the manifest says 10 bytes, the chunk has 60,000
    Hash32 wrong_size = commit_file(60000, 59999, "size");  // the tree entry says 59,999, the file object 60,000

    core::StoreObjects objs(r.repo->store());
    CHECK(core::check_version(objs, core::load_commit(*r.repo, good), {}).chunks == 1);
    CHECK(kind_of([&] { core::check_version(objs, core::load_commit(*r.repo, short_manifest), {}); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { core::check_version(objs, core::load_commit(*r.repo, wrong_size), {}); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { core::checkout(*r.repo, "short", {}); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { core::checkout(*r.repo, "size", {}); }) == ErrorKind::corrupt);
    CHECK(!r.exists("data.bin"));  // (that nothing else is touched first is the checkout's planning, not tested here)
    auto f = core::fsck(*r.repo, {});
    CHECK(has_problem(f, "its file object says 10"));
    CHECK(has_problem(f, "file size differs from its tree entry"));
    core::checkout(*r.repo, "good", {});
    CHECK(r.read("data.bin") == data);
}

TEST_CASE("chunker of a commit: a version cut with other parameters compares clean, and commits on it keep them",
          "[version][core]") {
    core::InitOptions big;
    big.chunker = ChunkerParams{16384, 65536, 262144};
    test::CoreRepo origin("chunker-origin", big);
    Bytes blob = test::pseudo_random(3 << 20, 9);
    origin.write("blob.bin", blob);
    origin.write("a.txt", "a\n");
    Hash32 v1 = origin.commit("v1");
    Commit c1 = core::load_commit(*origin.repo, v1);
    REQUIRE(c1.chunker);
    CHECK(*c1.chunker == big.chunker);
    CHECK(c1.format == 2);

    // a repository with the default parameters gets v1's packs and commit (as a pull does) and checks it out
    test::CoreRepo other("chunker-other");
    for (const auto& p : c1.packs)
        fs::copy_file(origin.repo->store().pack_path(p.id), other.repo->store().pack_path(p.id));
    other.repo->store().reconcile();
    Bytes raw = origin.repo->store().read_commit_bytes(v1);
    other.repo->store().write_commit(v1, raw);
    other.set_ref("refs/heads/pulled", v1);
    core::checkout(*other.repo, "pulled", {});
    CHECK(other.read("blob.bin") == blob);
    // compared as v1 was cut: clean; cut with the repository's defaults the 3 MiB file would differ
    auto flat = core::flatten_tree(other.repo->store(), c1);
    CHECK(core::diff_trees(flat, core::worktree_state(*other.repo, {}, other.repo->chunker_of(c1))).empty());
    CHECK(core::diff_trees(flat, core::worktree_state(*other.repo)).size() == 1);
    // nothing changed: nothing to commit; a change: the new commit keeps v1's parameters and re-uses its chunks
    CHECK(kind_of([&] { other.commit("same"); }) == ErrorKind::nothing_to_do);
    other.write("b.txt", "b\n");
    auto r = other.commit_result("v2");
    REQUIRE(r.commit.chunker);
    CHECK(*r.commit.chunker == big.chunker);
    CHECK(r.stats.chunks_new == 1);  // b.txt only
    auto f = core::fsck(*other.repo, {});
    for (const auto& p : f.problems) UNSCOPED_INFO(p.what << ": " << p.message);
    CHECK(f.problems.empty());
}

TEST_CASE("repository formats: format 1 writes version-1 commits and becomes format 2 on a version-2 commit",
          "[version][core]") {
    core::InitOptions o;
    o.format = 1;
    test::CoreRepo r("format-1", o);
    CHECK(r.repo->format() == 1);
    r.write("a.txt", "a\n");
    Hash32 v1 = r.commit("v1");
    Bytes raw = r.repo->store().read_commit_bytes(v1);
    CHECK(std::string(raw.begin(), raw.begin() + 13) == "dvt-commit 1\n");
    Commit c = core::load_commit(*r.repo, v1);
    CHECK(c.format == 1);
    CHECK(!c.chunker);
    CHECK(r.repo->chunker_of(c) == r.repo->chunker_params());  // a version-1 commit: the repository's parameters
    r.repo->accept_commit_format(1);
    CHECK(r.repo->format() == 1);
    r.repo->accept_commit_format(2);
    CHECK(r.repo->format() == 2);
    auto reopened = core::Repository::open(r.root());
    CHECK(reopened->format() == 2);
    CHECK(kind_of([&] { r.repo->accept_commit_format(3); }) == ErrorKind::unsupported);
    r.write("b.txt", "b\n");
    CHECK(core::load_commit(*r.repo, r.commit("v2")).format == 2);
    core::InitOptions bad;
    bad.format = 3;
    CHECK(kind_of([&] { test::CoreRepo x("format-3", bad); }) == ErrorKind::usage);
}
