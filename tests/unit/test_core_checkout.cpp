// core/checkout: whole-tree checkouts restore every byte, mode and symlink of a commit and remove what it does not
// have; uncommitted changes and untracked files in the way are refused (ErrorKind::conflict) unless forced; a
// checkout of some paths changes only those paths and leaves HEAD where it was.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/checkout.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core_fixture.hpp"
#include "forge_version.hpp"

using namespace dvt;
using dvt::test::kind_of;
namespace fs = std::filesystem;
using Snapshot = std::map<std::string, std::string>;

namespace {

// v1 and v2 on main; HEAD at v2, work tree clean.
struct TwoVersions {
    test::CoreRepo r{"checkout"};
    Hash32 v1, v2;
    Snapshot s1, s2;
    TwoVersions() {
        r.write("a.bin", test::pseudo_random(4096, 1));
        r.write("dir/b.txt", "b\n");
        r.write("dir/sub/c.txt", "c\n");
        r.write("run.sh", "#!/bin/sh\n");
        r.set_executable("run.sh", true);
        r.symlink("link", "a.bin");
        v1 = r.commit("v1");
        s1 = r.snapshot();

        r.write("a.bin", test::pseudo_random(5000, 2));
        r.remove("dir/sub");
        r.write("dir/b2.txt", "b2\n");
        r.write("new/deep/x.txt", "x\n");
        r.set_executable("run.sh", false);
        r.remove("link");
        r.write("link", "a file now\n");
        v2 = r.commit("v2");
        s2 = r.snapshot();
    }
    core::CheckoutResult checkout(const std::string& rev, bool force = false, std::vector<std::string> paths = {}) {
        core::CheckoutOptions o;
        o.force = force;
        o.paths = std::move(paths);
        return core::checkout(*r.repo, rev, o);
    }
    ErrorKind checkout_fails(const std::string& rev, bool force = false, std::vector<std::string> paths = {}) {
        return kind_of([&] { checkout(rev, force, std::move(paths)); });
    }
    refs::Head head() { return r.repo->refs().head(); }
    // the work tree holds exactly `commit`'s tree (by the stat cache and hashing)
    bool clean_at(const Hash32& commit) {
        auto tree = core::flatten_tree(r.repo->store(), core::load_commit(*r.repo, commit).tree);
        return core::diff_trees(tree, core::worktree_state(*r.repo)).empty();
    }
};

std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

TEST_CASE("checkout: an older commit restores bytes, modes and symlinks exactly and removes what it lacks", "[core]") {
    TwoVersions t;
    REQUIRE(t.s1 != t.s2);

    auto res = t.checkout(t.v1.hex());
    CHECK(t.r.snapshot() == t.s1);
    CHECK(t.r.is_executable("run.sh"));
    CHECK(fs::is_symlink(t.r.root() / "link"));
    CHECK(fs::read_symlink(t.r.root() / "link") == "a.bin");
    CHECK_FALSE(t.r.exists("dir/b2.txt"));
    CHECK_FALSE(t.r.exists("new"));  // directories emptied by the checkout are removed
    CHECK(t.clean_at(t.v1));
    CHECK(res.commit == t.v1);
    CHECK_FALSE(res.branch);
    CHECK(res.written == 4);  // a.bin, dir/sub/c.txt, run.sh (mode), link (type)
    CHECK(res.deleted == 2);  // dir/b2.txt, new/deep/x.txt
    CHECK(res.bytes_written == 4096 + 2 + 10);
    // a commit id detaches HEAD
    CHECK_FALSE(t.head().branch_ref);
    CHECK(t.head().commit == t.v1);

    // back to the branch: HEAD names it again
    res = t.checkout("main");
    CHECK(t.r.snapshot() == t.s2);
    CHECK_FALSE(t.r.is_executable("run.sh"));
    CHECK_FALSE(fs::is_symlink(t.r.root() / "link"));
    CHECK_FALSE(t.r.exists("dir/sub"));
    CHECK(t.clean_at(t.v2));
    REQUIRE(res.branch);
    CHECK(*res.branch == "main");
    CHECK(t.head().branch_ref == std::optional<std::string>("refs/heads/main"));
    CHECK(t.head().commit == t.v2);

    // nothing to do the second time
    res = t.checkout("main");
    CHECK(res.written == 0);
    CHECK(res.deleted == 0);
    CHECK(t.r.snapshot() == t.s2);

    // HEAD~1 is v1 again, by revision syntax
    t.checkout("HEAD~1");
    CHECK(t.r.snapshot() == t.s1);
}

TEST_CASE("checkout: a file deleted by hand is restored; untracked files elsewhere are left alone", "[core]") {
    TwoVersions t;
    t.r.remove("dir/b.txt");
    t.r.write("notes/untracked.txt", "mine\n");
    t.r.write("dir/untracked.txt", "mine too\n");
    auto res = t.checkout(t.v1.hex());
    CHECK(str(t.r.read("dir/b.txt")) == "b\n");
    CHECK(str(t.r.read("notes/untracked.txt")) == "mine\n");
    CHECK(str(t.r.read("dir/untracked.txt")) == "mine too\n");
    auto snap = t.r.snapshot();
    snap.erase("notes/untracked.txt");
    snap.erase("dir/untracked.txt");
    CHECK(snap == t.s1);

    // the untracked file keeps new/ (which v2 has and v1 lacks) alive on the way back and forth
    t.r.write("new/mine.txt", "keep\n");
    t.checkout("main");
    t.checkout(t.v1.hex());
    CHECK(str(t.r.read("new/mine.txt")) == "keep\n");
    CHECK_FALSE(t.r.exists("new/deep"));
}

TEST_CASE("checkout: uncommitted changes are refused with conflict unless forced", "[core]") {
    TwoVersions t;

    SECTION("a modified file the target changes") {
        t.r.write("a.bin", "local edit\n");
        auto before = t.r.snapshot();
        CHECK(t.checkout_fails(t.v1.hex()) == ErrorKind::conflict);
        CHECK(t.r.snapshot() == before);  // nothing written or removed
        CHECK(t.head().branch_ref == std::optional<std::string>("refs/heads/main"));
        CHECK(t.head().commit == t.v2);

        auto res = t.checkout(t.v1.hex(), true);
        CHECK(t.r.snapshot() == t.s1);
        CHECK(res.commit == t.v1);
        CHECK(t.head().commit == t.v1);
    }
    SECTION("a modified file the target deletes") {
        t.r.write("dir/b2.txt", "edited\n");
        auto before = t.r.snapshot();
        CHECK(t.checkout_fails(t.v1.hex()) == ErrorKind::conflict);
        CHECK(t.r.snapshot() == before);
        t.checkout(t.v1.hex(), true);
        CHECK(t.r.snapshot() == t.s1);
    }
    SECTION("an executable bit changed by hand on a file the target changes") {
        t.r.set_executable("a.bin", true);
        CHECK(t.checkout_fails(t.v1.hex()) == ErrorKind::conflict);
        CHECK(t.head().commit == t.v2);
    }
    SECTION("an untracked file where the target has a different file") {
        t.checkout(t.v1.hex());
        t.r.write("dir/b2.txt", "untracked, not v2's bytes\n");
        CHECK(t.checkout_fails("main") == ErrorKind::conflict);
        CHECK(str(t.r.read("dir/b2.txt")) == "untracked, not v2's bytes\n");
        CHECK(t.head().commit == t.v1);
        t.checkout("main", true);
        CHECK(t.r.snapshot() == t.s2);
    }
    SECTION("an untracked file with the target's bytes is not a conflict") {
        t.checkout(t.v1.hex());
        t.r.write("dir/b2.txt", "b2\n");
        t.checkout("main");
        CHECK(t.r.snapshot() == t.s2);
    }
    SECTION("an untracked file where the target needs a directory") {
        t.checkout(t.v1.hex());
        t.r.write("new", "a file named like v2's directory\n");
        CHECK(t.checkout_fails("main") == ErrorKind::conflict);
        CHECK(str(t.r.read("new")) == "a file named like v2's directory\n");
        t.checkout("main", true);
        CHECK(t.r.snapshot() == t.s2);
    }
}

TEST_CASE("checkout of some paths changes only them and leaves HEAD unmoved", "[core]") {
    TwoVersions t;
    t.r.write("run.sh", "#!/bin/sh\n# local, uncommitted\n");  // outside the paths: neither a conflict nor touched

    auto res = t.checkout(t.v1.hex(), false, {"dir"});
    CHECK_FALSE(res.branch);
    CHECK(res.commit == t.v1);
    CHECK(res.written == 1);  // dir/sub/c.txt
    CHECK(res.deleted == 1);  // dir/b2.txt
    CHECK(str(t.r.read("dir/sub/c.txt")) == "c\n");
    CHECK_FALSE(t.r.exists("dir/b2.txt"));
    CHECK(str(t.r.read("dir/b.txt")) == "b\n");
    // everything else is as it was
    CHECK(t.r.read("a.bin") == test::pseudo_random(5000, 2));
    CHECK(str(t.r.read("new/deep/x.txt")) == "x\n");
    CHECK(str(t.r.read("run.sh")) == "#!/bin/sh\n# local, uncommitted\n");
    CHECK(str(t.r.read("link")) == "a file now\n");
    CHECK(t.head().branch_ref == std::optional<std::string>("refs/heads/main"));
    CHECK(t.head().commit == t.v2);

    // a single file
    t.checkout(t.v1.hex(), false, {"a.bin"});
    CHECK(t.r.read("a.bin") == test::pseudo_random(4096, 1));
    CHECK(str(t.r.read("link")) == "a file now\n");
    CHECK(t.head().commit == t.v2);

    // a path in neither version matches nothing: not_found, nothing changed
    auto before = t.r.snapshot();
    CHECK(t.checkout_fails(t.v1.hex(), false, {"no/such/path"}) == ErrorKind::not_found);
    CHECK(t.r.snapshot() == before);
    CHECK(t.head().commit == t.v2);

    // a path only HEAD has is removed (v1 lacks new/)
    t.checkout(t.v1.hex(), false, {"new"});
    CHECK_FALSE(t.r.exists("new"));
    CHECK(t.head().commit == t.v2);

    // and the whole of main again (files restored from v1 that main lacks are untracked now, so they stay)
    t.checkout("main", true);
    auto now = t.r.snapshot();
    for (const auto& [path, bytes] : t.s2) {
        INFO(path);
        CHECK(now[path] == bytes);
    }
}

TEST_CASE("checkout: a file and a directory of the same name swap places", "[core]") {
    test::CoreRepo r("checkout-swap");
    r.write("x", "x is a file\n");
    r.write("keep.txt", "k\n");
    Hash32 file_version = r.commit("x file");
    r.remove("x");
    r.write("x/y/z.txt", "x is a directory\n");
    Hash32 dir_version = r.commit("x directory");

    core::checkout(*r.repo, file_version.hex(), {});
    CHECK(fs::is_regular_file(r.root() / "x"));
    CHECK(r.snapshot() == Snapshot{{"keep.txt", "k\n"}, {"x", "x is a file\n"}});

    core::checkout(*r.repo, dir_version.hex(), {});
    CHECK(r.snapshot() == Snapshot{{"keep.txt", "k\n"}, {"x/y/z.txt", "x is a directory\n"}});
}

TEST_CASE("checkout: an unknown revision changes nothing", "[core]") {
    TwoVersions t;
    CHECK(t.checkout_fails("no-such-branch") == ErrorKind::not_found);
    CHECK(t.checkout_fails("HEAD~5") == ErrorKind::not_found);
    CHECK(t.r.snapshot() == t.s2);
    CHECK(t.head().branch_ref == std::optional<std::string>("refs/heads/main"));
    CHECK(t.head().commit == t.v2);
}

TEST_CASE("checkout --force never writes through a symlink standing where the tree has a directory", "[core]") {
    TwoVersions t;
    t.checkout(t.v1.hex());
    fs::path outside = t.r.dir.path / "outside";
    fs::create_directories(outside);
    t.r.symlink("new", outside.string());  // v2 has new/deep/x.txt

    CHECK(t.checkout_fails("main") == ErrorKind::conflict);
    CHECK(fs::is_symlink(t.r.root() / "new"));

    t.checkout("main", true);
    CHECK(fs::is_empty(outside));
    CHECK_FALSE(fs::is_symlink(t.r.root() / "new"));
    CHECK(fs::is_directory(fs::symlink_status(t.r.root() / "new")));
    CHECK(t.r.snapshot() == t.s2);
}

// HEAD has dir/sub/c.txt (tracked) and the target has a file where HEAD has the directory "dir/sub"; an untracked
// file inside dir/sub keeps the directory from being replaced. The plan looks at what stands on disk there, so the
// conflict is found before anything is deleted or written.
TEST_CASE("checkout: a conflict found while writing leaves the work tree as it was", "[core]") {
    test::CoreRepo r("checkout-late-conflict");
    r.write("dir/sub", "sub is a file here\n");
    r.write("a.txt", "a1\n");
    Hash32 file_version = r.commit("dir/sub is a file");
    r.remove("dir/sub");
    r.write("dir/sub/c.txt", "c\n");
    r.write("a.txt", "a2\n");
    Hash32 dir_version = r.commit("dir/sub is a directory");
    r.write("dir/sub/untracked.txt", "mine\n");
    auto before = r.snapshot();

    CHECK(kind_of([&] { core::checkout(*r.repo, file_version.hex(), {}); }) == ErrorKind::conflict);
    CHECK(r.repo->refs().head().commit == dir_version);
    CHECK(str(r.read("dir/sub/untracked.txt")) == "mine\n");  // never lost
    // refused means nothing changed: no tracked file removed, no file of the target written
    CHECK(r.exists("dir/sub/c.txt"));
    CHECK(str(r.read("a.txt")) == "a2\n");
    CHECK(r.snapshot() == before);
}

namespace {

// Flips a byte in the middle of the stored record of object `id` (the pack is read-only: made writable for this).
void damage_object(core::Repository& repo, const Hash32& id) {
    auto loc = repo.store().locate(id);
    REQUIRE(loc);
    auto info = repo.store().pack(loc->pack_num);
    REQUIRE(info);
    fs::path p = repo.store().file_of(*info);
    fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    auto at = static_cast<std::streamoff>(loc->entry.offset + objects::kRecordHeaderSize + loc->entry.stored_len / 2);
    f.seekg(at);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(at);
    f.write(&c, 1);
}

}  // namespace

// v1 -> v2 modifies a.bin, deletes old.txt and adds new/dir/n.txt; the chunk of v2's a.bin is damaged on disk. The
// checkout writes the new file first (nothing removed yet), then verifies a.bin's chunks before deleting or replacing
// anything: it fails, takes the new file and its directories back, and leaves the work tree and HEAD as they were.
TEST_CASE("checkout: a damaged chunk is found before any file is deleted or replaced", "[core]") {
    test::CoreRepo r("checkout-damaged");
    Bytes a1 = test::pseudo_random(3000, 1), a2 = test::pseudo_random(3000, 2), x = test::pseudo_random(3000, 3);
    r.write("a.bin", a1);
    r.write("old.txt", "old\n");
    r.write("keep.txt", "keep\n");
    Hash32 v1 = r.commit("v1");
    r.write("a.bin", a2);
    r.remove("old.txt");
    r.write("new/dir/n.txt", "new\n");
    r.write("new/x.bin", x);
    Hash32 v2 = r.commit("v2");
    core::checkout(*r.repo, v1.hex(), {});
    auto before = r.snapshot();
    SECTION("the damaged chunk replaces a file") { damage_object(*r.repo, sha256(a2)); }
    SECTION("the damaged chunk is of a new file") { damage_object(*r.repo, sha256(x)); }
    CHECK(kind_of([&] { core::checkout(*r.repo, v2.hex(), {}); }) == ErrorKind::corrupt);
    CHECK(r.snapshot() == before);
    CHECK_FALSE(r.exists("new"));
    CHECK(r.repo->refs().head().commit == v1);
}

// A version naming a file no filesystem can hold (a 300-byte name), or a file object whose size disagrees with its
// tree entry, is refused before the checkout deletes the files the version lacks.
TEST_CASE("checkout: a version with an impossible name or an inconsistent file is refused before anything changes",
          "[core]") {
    test::CoreRepo r("checkout-hostile");
    r.write("mine.txt", "mine\n");
    Hash32 v1 = r.commit("v1");
    auto before = r.snapshot();
    test::ForgedVersion f(*r.repo);
    const std::string text = "data\n";
    Bytes data(text.begin(), text.end());
    Hash32 file = f.file(data);
    std::vector<objects::TreeEntry> entries{test::ForgedVersion::file_entry("ok.txt", file, data.size())};
    SECTION("a name of 300 bytes") { entries.push_back(test::ForgedVersion::file_entry(std::string(300, 'n'), file, data.size())); }
    SECTION("a tree entry's size differs from its file object's") {
        entries.push_back(test::ForgedVersion::file_entry("z.txt", file, 1));
    }
    Hash32 bad = f.commit(f.tree(entries));
    CHECK(kind_of([&] { core::checkout(*r.repo, bad.hex(), {}); }) == ErrorKind::corrupt);
    CHECK(r.snapshot() == before);
    CHECK(r.repo->refs().head().commit == v1);
}

// An ignored file (not in the work tree scan) stands where the target needs a directory: a conflict found by the plan,
// before the tracked file the target lacks is deleted.
TEST_CASE("checkout: an ignored file in the way of a directory is a conflict before anything is deleted", "[core]") {
    test::CoreRepo r("checkout-ignored");
    r.write("x.txt", "x\n");
    r.write("out/file.txt", "built\n");
    Hash32 with_out = r.commit("with out/");
    r.remove("out");
    r.write("gone.txt", "gone\n");
    r.commit("without out/");
    r.write(".dvtignore", "out\n");
    r.write("out", "mine, ignored\n");
    auto before = r.snapshot();
    CHECK(kind_of([&] { core::checkout(*r.repo, with_out.hex(), {}); }) == ErrorKind::conflict);
    CHECK(r.snapshot() == before);
    core::CheckoutOptions forced;
    forced.force = true;
    core::checkout(*r.repo, with_out.hex(), forced);
    CHECK(str(r.read("out/file.txt")) == "built\n");
    CHECK_FALSE(r.exists("gone.txt"));
}
