// hooks/: the dvt.lock grammar, running .dvt/hooks executables, installing and removing git hooks without losing
// the user's own, and git provenance read through libgit2 (repositories built with libgit2 here, not the git CLI).
#include <catch2/catch.hpp>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "hooks/git.hpp"
#include "hooks/githooks.hpp"
#include "hooks/lockfile.hpp"
#include "hooks/runner.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "test_support.hpp"

using namespace dvt;
namespace fs = std::filesystem;
using dvt::test::kind_of;

namespace {

void write(const fs::path& p, const std::string& text, fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    fs::permissions(p, mode);
}

std::string read(const fs::path& p) { return util::try_read_text(p).value_or("<missing>"); }

const fs::perms kExec = fs::perms::owner_all;

// A git repository with one commit of `file`, through libgit2.
std::string git_commit_file(const fs::path& dir, const std::string& file, const std::string& text) {
    hooks::LibGit2 lib;
    git_repository* repo = nullptr;
    REQUIRE(git_repository_open(&repo, dir.c_str()) == 0);
    write(dir / file, text);
    git_index* index = nullptr;
    REQUIRE(git_repository_index(&index, repo) == 0);
    REQUIRE(git_index_add_bypath(index, file.c_str()) == 0);
    REQUIRE(git_index_write(index) == 0);
    git_oid tree_id, commit_id;
    REQUIRE(git_index_write_tree(&tree_id, index) == 0);
    git_tree* tree = nullptr;
    REQUIRE(git_tree_lookup(&tree, repo, &tree_id) == 0);
    git_signature* sig = nullptr;
    REQUIRE(git_signature_new(&sig, "Unit", "unit@example.invalid", 1700000000, 0) == 0);
    git_oid parent_id;
    git_commit* parent = nullptr;
    if (git_reference_name_to_id(&parent_id, repo, "HEAD") == 0) REQUIRE(git_commit_lookup(&parent, repo, &parent_id) == 0);
    const git_commit* parents[] = {parent};
    REQUIRE(git_commit_create(&commit_id, repo, "HEAD", sig, sig, nullptr, "c", tree, parent ? 1 : 0, parents) == 0);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &commit_id);
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(index);
    git_repository_free(repo);
    return hex;
}

void git_init(const fs::path& dir) {
    hooks::LibGit2 lib;
    git_repository* repo = nullptr;
    REQUIRE(git_repository_init(&repo, dir.c_str(), 0) == 0);
    git_repository_free(repo);
}

}  // namespace

TEST_CASE("dvt.lock round-trips and refuses what it does not understand", "[hooks]") {
    hooks::LockFile l;
    l.commit = std::string(64, 'a');
    l.path = "data/train";
    l.peers = {"127.0.0.2:7001", "[::1]:7002"};
    l.trackers = {"udp://127.0.0.1:6969/announce"};
    auto text = hooks::format_lock_file(l);
    CHECK(text.find("dvt-lock 1\ncommit " + l.commit + "\npath data/train\npeer 127.0.0.2:7001\n") != std::string::npos);
    auto back = hooks::parse_lock_file(text);
    CHECK(back.commit == l.commit);
    CHECK(back.path == l.path);
    CHECK(back.peers == l.peers);
    CHECK(back.trackers == l.trackers);

    std::string c = "commit " + std::string(64, 'b') + "\n";
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 2\n" + c + "path d\n"); }) == ErrorKind::unsupported);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\n" + c + "path d\nmirror x\n"); }) == ErrorKind::unsupported);
    CHECK(kind_of([&] { hooks::parse_lock_file(c + "dvt-lock 1\npath d\n"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\npath d\n"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\n" + c); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\ncommit ABC\npath d\n"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\n" + c + "path /abs\n"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file("dvt-lock 1\n" + c + c + "path d\n"); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { hooks::parse_lock_file(""); }) == ErrorKind::corrupt);
    // comments, blank lines and CRLF are fine
    auto ok = hooks::parse_lock_file("# hi\r\n\r\ndvt-lock 1\r\n" + c + "path .\r\n");
    CHECK(ok.path == ".");
    CHECK(hooks::dataset_dir("/x/y/dvt.lock", ok) == fs::path("/x/y"));
    ok.path = "data/./sub/";
    CHECK(hooks::dataset_dir("/x/y/dvt.lock", ok) == fs::path("/x/y/data/sub"));
}

TEST_CASE("dvt.lock cannot name a dataset outside its own directory (#15 item 7)", "[hooks]") {
    std::string head = "dvt-lock 1\ncommit " + std::string(64, 'b') + "\n";
    for (const char* bad : {"..", "../..", "../data", "data/../../x", "a/..", "/abs", "//x", "d\x1b[2J", ""}) {
        INFO(bad);
        CHECK(kind_of([&] { hooks::parse_lock_file(head + "path " + bad + "\n"); }) == ErrorKind::corrupt);
        hooks::LockFile l;
        l.commit = std::string(64, 'c');
        l.path = bad;
        CHECK(kind_of([&] { hooks::format_lock_file(l); }) == ErrorKind::usage);  // dvt pin does not write one
        CHECK(kind_of([&] { hooks::dataset_dir("/x/y/dvt.lock", l); }) == ErrorKind::corrupt);
    }
    for (const char* good : {".", "data", "data/train", "..data", "a..b/c", "./x"}) {
        INFO(good);
        CHECK(hooks::parse_lock_file(head + "path " + good + "\n").path == good);
    }

    // a symlink committed next to the lock file cannot lead the path outside: resolved, it must stay inside
    test::TempDir t("hooks");
    fs::path proj = t.path / "proj", outside = t.path / "outside";
    fs::create_directories(proj / "inner" / "data");
    fs::create_directories(outside);
    fs::create_symlink("../outside", proj / "escape");
    fs::create_symlink("/", proj / "root");
    fs::create_symlink("inner/data", proj / "ok-link");
    hooks::LockFile l;
    l.commit = std::string(64, 'c');
    for (const char* bad : {"escape", "escape/new/dir", "root/tmp"}) {
        INFO(bad);
        l.path = bad;
        CHECK(kind_of([&] { hooks::dataset_dir(proj / "dvt.lock", l); }) == ErrorKind::corrupt);
    }
    l.path = "ok-link";  // a symlink that stays inside is fine
    CHECK(hooks::dataset_dir(proj / "dvt.lock", l) == proj / "ok-link");
    l.path = "inner/not-yet";  // a dataset directory that does not exist yet (initialised by dvt pull)
    CHECK(hooks::dataset_dir(proj / "dvt.lock", l) == proj / "inner" / "not-yet");
    CHECK_FALSE(fs::exists(outside / "new"));
}

TEST_CASE("a dvt hook gets its environment and stdin, and its exit status comes back", "[hooks]") {
    test::TempDir t("hooks");
    fs::path dvt = t.path / ".dvt";
    fs::create_directories(dvt);
    hooks::HookCall call;
    call.name = "pre-commit";
    call.work_tree = t.path;
    call.dvt_dir = dvt;
    call.old_commit = std::string(64, '1');
    call.branch = "main";
    call.env = {{"DVT_EXTRA", "x y"}};
    call.input = "A a.txt\nM dir/b c.txt\n";
    ::unsetenv("DVT_NO_HOOKS");

    CHECK_FALSE(hooks::run_hook(call).has_value());  // no hook: nothing runs
    write(hooks::hook_path(dvt, "pre-commit"),
          "#!/bin/sh\n{ pwd; echo \"$DVT_HOOK|$DVT_OLD_COMMIT|$DVT_NEW_COMMIT|$DVT_BRANCH|$DVT_EXTRA|$DVT_DIR\"; cat; } > out.txt\n"
          "echo to-stdout\nexit 3\n",
          kExec);
    auto st = hooks::run_hook(call);
    REQUIRE(st.has_value());
    CHECK(*st == 3);
    CHECK(read(t.path / "out.txt") == t.path.string() + "\npre-commit|" + call.old_commit + "||main|x y|" + dvt.string() +
                                          "\nA a.txt\nM dir/b c.txt\n");

    ::setenv("DVT_NO_HOOKS", "1", 1);
    CHECK_FALSE(hooks::hook_present(dvt, "pre-commit"));
    CHECK_FALSE(hooks::run_hook(call).has_value());
    ::setenv("DVT_NO_HOOKS", "0", 1);
    CHECK(hooks::hook_present(dvt, "pre-commit"));
    ::unsetenv("DVT_NO_HOOKS");

    // a hook killed by a signal reports 128+N; one that is not executable is skipped
    write(hooks::hook_path(dvt, "pre-commit"), "#!/bin/sh\nkill -TERM $$\n", kExec);
    CHECK(hooks::run_hook(call) == 128 + 15);
    write(hooks::hook_path(dvt, "pre-commit"), "#!/bin/sh\nexit 0\n");
    CHECK_FALSE(hooks::run_hook(call).has_value());
    // a hook that ignores a large stdin does not block
    call.input = std::string(4 << 20, 'x');
    write(hooks::hook_path(dvt, "pre-commit"), "#!/bin/sh\nexit 0\n", kExec);
    CHECK(hooks::run_hook(call) == 0);
}

TEST_CASE("git hooks install chains the user's hook and uninstall restores it exactly", "[hooks]") {
    test::TempDir t("hooks");
    fs::path dir = t.path / "hooks";
    std::string user = "#!/bin/sh\necho user hook \"$@\"\n";
    write(dir / "post-checkout", user, kExec);

    auto r = hooks::install_git_hooks(dir, "/opt/dvt bin/dvt");
    REQUIRE(r.size() == 2);
    CHECK(r[0].name == "post-checkout");
    CHECK(r[0].chained);
    CHECK_FALSE(r[1].chained);
    CHECK(read(dir / "post-checkout.dvt-chained") == user);
    auto script = read(dir / "post-checkout");
    CHECK(script.find(hooks::kHookMarker) != std::string::npos);
    CHECK(script.find("dvt='/opt/dvt bin/dvt'") != std::string::npos);
    CHECK(::access((dir / "post-merge").c_str(), X_OK) == 0);

    // idempotent: a second install keeps the chained hook and does not chain dvt's own
    hooks::install_git_hooks(dir, "/usr/bin/dvt");
    CHECK(read(dir / "post-checkout.dvt-chained") == user);
    CHECK_FALSE(fs::exists(dir / "post-checkout.dvt-chained.dvt-chained"));
    auto state = hooks::git_hooks_state(dir);
    CHECK((state[0].installed && state[0].chained && state[1].installed && !state[1].chained));

    hooks::uninstall_git_hooks(dir);
    CHECK(read(dir / "post-checkout") == user);
    CHECK(::access((dir / "post-checkout").c_str(), X_OK) == 0);
    CHECK_FALSE(fs::exists(dir / "post-checkout.dvt-chained"));
    CHECK_FALSE(fs::exists(dir / "post-merge"));

    // a user hook installed after dvt's would be left alone by uninstall; a stray chained file blocks install
    write(dir / "post-merge", "#!/bin/sh\n", kExec);
    write(dir / "post-merge.dvt-chained", "#!/bin/sh\n", kExec);
    CHECK(kind_of([&] { hooks::install_git_hooks(dir, "dvt"); }) == ErrorKind::conflict);
    CHECK(read(dir / "post-checkout") == user);  // nothing changed
    hooks::uninstall_git_hooks(dir);
    CHECK(read(dir / "post-merge") == "#!/bin/sh\n");
}

TEST_CASE("git provenance through libgit2: HEAD, dirty tracked files, the dataset directory excluded", "[hooks]") {
    test::TempDir t("hooks");
    ::unsetenv("DVT_GIT_WORK_TREE");
    ::unsetenv("DVT_GIT_PROVENANCE");
    fs::path data = t.path / "data";
    fs::create_directories(data);
    CHECK_FALSE(hooks::git_provenance(data).has_value());  // no git repository
    git_init(t.path);
    CHECK_FALSE(hooks::git_provenance(data).has_value());  // unborn HEAD
    auto c1 = git_commit_file(t.path, "train.py", "print(1)\n");
    auto p = hooks::git_provenance(data);
    REQUIRE(p.has_value());
    CHECK(p->commit == c1);
    CHECK_FALSE(p->dirty);

    write(t.path / "notes.txt", "untracked\n");  // untracked files do not make it dirty
    write(data / "x.csv", "1,2\n");
    CHECK_FALSE(hooks::git_provenance(data)->dirty);
    write(t.path / "train.py", "print(2)\n");  // a tracked change does
    CHECK(hooks::git_provenance(data)->dirty);
    auto c2 = git_commit_file(t.path, "train.py", "print(2)\n");
    CHECK(hooks::git_provenance(data)->commit == c2);
    CHECK_FALSE(hooks::git_provenance(data)->dirty);

    // tracked files inside the dataset directory are the dataset's business
    git_commit_file(t.path, "data/x.csv", "1,2\n");
    write(data / "x.csv", "3,4\n");
    CHECK_FALSE(hooks::git_provenance(data)->dirty);
    CHECK(hooks::git_provenance(t.path)->dirty);  // ...unless the dataset is the git work tree itself

    auto w = hooks::find_git_work_tree(data);
    REQUIRE(w.has_value());
    CHECK(w->work_dir == fs::canonical(t.path));
    CHECK(w->hooks_dir == fs::canonical(t.path) / ".git" / "hooks");

    ::setenv("DVT_GIT_PROVENANCE", "0", 1);
    CHECK_FALSE(hooks::git_provenance(data).has_value());
    ::unsetenv("DVT_GIT_PROVENANCE");

    test::TempDir other("hooks-other");  // data next to the code: DVT_GIT_WORK_TREE points at it
    ::setenv("DVT_GIT_WORK_TREE", t.path.c_str(), 1);
    CHECK(hooks::git_provenance(other.path)->commit != "");
    ::setenv("DVT_GIT_WORK_TREE", other.path.c_str(), 1);
    CHECK(kind_of([&] { hooks::git_provenance(other.path); }) == ErrorKind::not_found);
    ::unsetenv("DVT_GIT_WORK_TREE");
}
