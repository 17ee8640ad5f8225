// core/tree: diff_trees on hand-built flat trees and on trees of real commits (added, deleted, modified, executable
// bit, symlink <-> file type changes, nested directories), flatten_tree with path limits, build_trees reproducing a
// commit's tree id, and worktree_state agreeing with the committed tree.
#include <catch2/catch.hpp>

#include <utility>

#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core_fixture.hpp"

using namespace dvt;
using objects::EntryKind;
namespace fs = std::filesystem;

namespace {

core::FlatEntry file(const std::string& content, EntryKind kind = EntryKind::file) {
    return core::FlatEntry{kind, content.size(), sha256(content.data(), content.size()), {}};
}
core::FlatEntry link(const std::string& target) { return core::FlatEntry{EntryKind::symlink, target.size(), Hash32{}, target}; }

using Changes = std::vector<std::pair<std::string, char>>;
Changes summary(const std::vector<core::DiffEntry>& d) {
    Changes out;
    for (const auto& e : d) out.emplace_back(e.path, e.status);
    return out;
}

std::vector<std::string> paths(const core::FlatTree& t) {
    std::vector<std::string> out;
    for (const auto& [p, e] : t) out.push_back(p);
    return out;
}

// A tree with a file at the top, an executable, a symlink, three levels of directories and a sibling "dir2" whose
// name starts with "dir".
void write_v1(test::CoreRepo& r) {
    r.write("top.txt", "top\n");
    r.write("run.sh", "#!/bin/sh\necho hi\n");
    r.set_executable("run.sh", true);
    r.symlink("link", "top.txt");
    r.write("dir/a.txt", "a\n");
    r.write("dir/sub/b.bin", test::pseudo_random(3000, 7));
    r.write("dir/sub/deeper/c.txt", "c\n");
    r.write("dir/sub/deeper/same-as-top.txt", "top\n");
    r.write("dir2/y.txt", "y\n");
    r.write("other/x.txt", "x\n");
}

core::FlatTree flat(test::CoreRepo& r, const Hash32& commit, const std::vector<std::string>& limits = {}) {
    return core::flatten_tree(r.repo->store(), core::load_commit(*r.repo, commit).tree, limits);
}

}  // namespace

TEST_CASE("tree diff: added, deleted, modified, executable bit and type changes, sorted by path", "[core]") {
    core::FlatTree a{
        {"same.txt", file("same")},
        {"gone.txt", file("gone")},
        {"edit.txt", file("v1")},
        {"tool", file("#!", EntryKind::executable)},
        {"script", file("#!")},
        {"f2l", file("was a file")},
        {"l2f", link("target")},
        {"l2l", link("old")},
        {"x2l", file("exe", EntryKind::executable)},
        {"d/e/f/deep.txt", file("deep")},
        {"d/e/keep.txt", file("keep")},
    };
    core::FlatTree b{
        {"same.txt", file("same")},
        {"new.txt", file("new")},
        {"edit.txt", file("v2")},
        {"tool", file("#!")},                           // executable bit cleared
        {"script", file("#!", EntryKind::executable)},  // executable bit set
        {"f2l", link("same.txt")},
        {"l2f", file("target")},
        {"l2l", link("new")},
        {"x2l", link("exe")},
        {"d/e/f/deep.txt", file("deeper")},
        {"d/e/keep.txt", file("keep")},
        {"d/e/f/g/added.txt", file("added")},
    };
    auto d = core::diff_trees(a, b);
    CHECK(summary(d) == Changes{{"d/e/f/deep.txt", 'M'},
                                {"d/e/f/g/added.txt", 'A'},
                                {"edit.txt", 'M'},
                                {"f2l", 'T'},
                                {"gone.txt", 'D'},
                                {"l2f", 'T'},
                                {"l2l", 'M'},
                                {"new.txt", 'A'},
                                {"script", 'M'},
                                {"tool", 'M'},
                                {"x2l", 'T'}});
    for (const auto& e : d) {
        INFO(e.path);
        CHECK(e.before.has_value() == (e.status != 'A'));
        CHECK(e.after.has_value() == (e.status != 'D'));
        if (e.before) CHECK(e.before->same_content(a.at(e.path)));
        if (e.after) CHECK(e.after->same_content(b.at(e.path)));
    }

    // the reverse diff swaps A and D and keeps M and T
    auto r = core::diff_trees(b, a);
    REQUIRE(r.size() == d.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        INFO(r[i].path);
        CHECK(r[i].path == d[i].path);
        char want = d[i].status == 'A' ? 'D' : d[i].status == 'D' ? 'A' : d[i].status;
        CHECK(r[i].status == want);
    }

    CHECK(core::diff_trees(a, a).empty());
    CHECK(core::diff_trees({}, {}).empty());
    auto all_added = core::diff_trees({}, b);
    CHECK(all_added.size() == b.size());
    for (const auto& e : all_added) CHECK(e.status == 'A');
}

TEST_CASE("tree diff between two commits: nested directories, exec bit, symlink replaced by a file", "[core]") {
    test::CoreRepo r("tree-diff");
    write_v1(r);
    Hash32 v1 = r.commit("v1");

    auto t1 = flat(r, v1);
    CHECK(paths(t1) == std::vector<std::string>{"dir/a.txt", "dir/sub/b.bin", "dir/sub/deeper/c.txt",
                                                "dir/sub/deeper/same-as-top.txt", "dir2/y.txt", "link", "other/x.txt",
                                                "run.sh", "top.txt"});
    CHECK(t1.at("run.sh").kind == EntryKind::executable);
    CHECK(t1.at("top.txt").kind == EntryKind::file);
    CHECK(t1.at("link").kind == EntryKind::symlink);
    CHECK(t1.at("link").target == "top.txt");
    CHECK(t1.at("link").id.is_zero());
    CHECK(t1.at("dir/sub/b.bin").size == 3000);
    CHECK(t1.at("top.txt").size == 4);
    CHECK(t1.at("dir/sub/deeper/same-as-top.txt").id == t1.at("top.txt").id);  // same bytes, same file object
    CHECK(t1.at("dir/a.txt").id != t1.at("top.txt").id);

    r.write("dir/a.txt", "a, edited\n");
    r.set_executable("run.sh", false);
    r.remove("link");
    r.write("link", "now a file\n");
    r.remove("dir/sub/deeper/c.txt");
    r.write("dir/new.txt", "new\n");
    r.write("dir/sub/deeper/deepest/z.txt", "z\n");
    r.remove("other");
    auto res = r.commit_result("v2");
    Hash32 v2 = res.id;

    auto t2 = flat(r, v2);
    Changes want{{"dir/a.txt", 'M'},          {"dir/new.txt", 'A'}, {"dir/sub/deeper/c.txt", 'D'},
                 {"dir/sub/deeper/deepest/z.txt", 'A'}, {"link", 'T'}, {"other/x.txt", 'D'}, {"run.sh", 'M'}};
    CHECK(summary(core::diff_trees(t1, t2)) == want);
    CHECK(res.added == 2);
    CHECK(res.deleted == 2);
    CHECK(res.modified == 3);
    CHECK(t2.at("run.sh").kind == EntryKind::file);
    CHECK(t2.at("run.sh").id == t1.at("run.sh").id);  // only the mode changed
    CHECK(t2.at("link").kind == EntryKind::file);
}

TEST_CASE("flatten_tree with path limits: a directory, a file, several, and paths that match nothing", "[core]") {
    test::CoreRepo r("tree-limits");
    write_v1(r);
    Hash32 v1 = r.commit("v1");
    using V = std::vector<std::string>;

    CHECK(paths(flat(r, v1, {"dir"})) ==
          V{"dir/a.txt", "dir/sub/b.bin", "dir/sub/deeper/c.txt", "dir/sub/deeper/same-as-top.txt"});
    CHECK(paths(flat(r, v1, {"dir/sub"})) == V{"dir/sub/b.bin", "dir/sub/deeper/c.txt", "dir/sub/deeper/same-as-top.txt"});
    CHECK(paths(flat(r, v1, {"dir/sub/deeper"})) == V{"dir/sub/deeper/c.txt", "dir/sub/deeper/same-as-top.txt"});
    CHECK(paths(flat(r, v1, {"dir/sub/b.bin"})) == V{"dir/sub/b.bin"});
    CHECK(paths(flat(r, v1, {"link"})) == V{"link"});
    CHECK(paths(flat(r, v1, {"top.txt", "dir2"})) == V{"dir2/y.txt", "top.txt"});
    CHECK(paths(flat(r, v1, {"dir/a.txt", "other"})) == V{"dir/a.txt", "other/x.txt"});

    // entries keep their data under a limit
    auto one = flat(r, v1, {"dir/sub/b.bin"});
    CHECK(one.at("dir/sub/b.bin").size == 3000);
    CHECK(one.at("dir/sub/b.bin").id == flat(r, v1).at("dir/sub/b.bin").id);

    // a name prefix is not a path prefix, and nothing lies below a file
    CHECK(flat(r, v1, {"nothing"}).empty());
    CHECK(flat(r, v1, {"di"}).empty());
    CHECK(flat(r, v1, {"dir/su"}).empty());
    CHECK(flat(r, v1, {"dir/sub/b.bin/x"}).empty());
    CHECK(flat(r, v1, {"top"}).empty());
    CHECK(flat(r, v1, {"nothing", "dir/a.txt"}).size() == 1);
    // no limits, or an empty limit, is the whole tree
    CHECK(flat(r, v1, {}).size() == 9);
    CHECK(flat(r, v1, {""}).size() == 9);
}

TEST_CASE("build_trees over the scanned work tree reproduces the committed tree id", "[core]") {
    test::CoreRepo r("tree-build");
    write_v1(r);
    auto res = r.commit_result("v1");

    auto entries = core::scan_worktree(r.root());
    REQUIRE(entries.size() == 9);
    std::vector<const core::WorkEntry*> files;
    for (const auto& e : entries)
        if (e.kind != EntryKind::symlink) files.push_back(&e);
    core::Ingest ingest(*r.repo, false);  // nothing stored: ids only
    auto hashed = ingest.add_files(files);
    std::vector<Hash32> ids(entries.size());
    for (std::size_t i = 0, k = 0; i < entries.size(); ++i)
        if (entries[i].kind != EntryKind::symlink) ids[i] = hashed[k++];
    auto built = core::build_trees(ingest, entries, ids);
    CHECK(built.root == res.commit.tree);
    CHECK(built.files == 9);
    CHECK(built.files == res.commit.files);
    CHECK(built.bytes == res.commit.bytes);

    // one byte different anywhere deep changes the root
    r.write("dir/sub/deeper/c.txt", "C\n");
    auto entries2 = core::scan_worktree(r.root());
    std::vector<const core::WorkEntry*> files2;
    for (const auto& e : entries2)
        if (e.kind != EntryKind::symlink) files2.push_back(&e);
    core::Ingest ingest2(*r.repo, false);
    auto hashed2 = ingest2.add_files(files2);
    std::vector<Hash32> ids2(entries2.size());
    for (std::size_t i = 0, k = 0; i < entries2.size(); ++i)
        if (entries2[i].kind != EntryKind::symlink) ids2[i] = hashed2[k++];
    CHECK(core::build_trees(ingest2, entries2, ids2).root != res.commit.tree);
}

TEST_CASE("worktree_state matches the committed tree until the work tree changes", "[core]") {
    test::CoreRepo r("tree-worktree");
    write_v1(r);
    Hash32 v1 = r.commit("v1");
    auto committed = flat(r, v1);

    CHECK(core::diff_trees(committed, core::worktree_state(*r.repo)).empty());
    CHECK(core::diff_trees(committed, core::worktree_state(*r.repo)).empty());  // second call (stat cache) agrees

    r.write("dir/a.txt", "b\n");  // same size, other bytes
    r.set_executable("top.txt", true);
    r.remove("dir2");
    r.write("untracked/u.txt", "u\n");
    CHECK(summary(core::diff_trees(committed, core::worktree_state(*r.repo))) ==
          Changes{{"dir/a.txt", 'M'}, {"dir2/y.txt", 'D'}, {"top.txt", 'M'}, {"untracked/u.txt", 'A'}});
    CHECK(summary(core::diff_trees(flat(r, v1, {"dir"}), core::worktree_state(*r.repo, {"dir"}))) ==
          Changes{{"dir/a.txt", 'M'}});
}

TEST_CASE("commit: an unchanged work tree is nothing_to_do unless allow_empty; counts follow the tree diff", "[core]") {
    test::CoreRepo r("tree-commit");
    r.write("a.txt", "a\n");
    r.write("d/b.txt", "b\n");
    auto first = r.commit_result("first");
    CHECK(first.added == 2);
    CHECK(first.commit.parents.empty());
    CHECK(first.commit.files == 2);
    CHECK(first.commit.bytes == 4);

    CHECK(test::kind_of([&] { r.commit("again"); }) == ErrorKind::nothing_to_do);
    CHECK(r.repo->refs().head().commit == first.id);

    auto empty = r.commit_result("empty", true);
    CHECK(empty.commit.tree == first.commit.tree);
    REQUIRE(empty.commit.parents.size() == 1);
    CHECK(empty.commit.parents[0] == first.id);
    CHECK(r.repo->refs().head().commit == empty.id);

    // a symlink is committed as its target
    r.symlink("d/l", "b.txt");
    auto with_link = r.commit_result("link");
    CHECK(with_link.added == 1);
    auto t = core::flatten_tree(r.repo->store(), with_link.commit.tree);
    CHECK(t.at("d/l").kind == EntryKind::symlink);
    CHECK(t.at("d/l").target == "b.txt");
}
