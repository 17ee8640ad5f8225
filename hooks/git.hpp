// Git integration through libgit2 (never by running git): finding the git work tree beside a dataset, the code
// provenance a dataset commit records (git HEAD and whether the tree was dirty), and git's hooks directory.
//
// Which git repository: $DVT_GIT_WORK_TREE if set (for data kept next to, not inside, the code), else the one
// libgit2 discovers upward from the starting directory (git_repository_open_ext, no GIT_DIR/GIT_WORK_TREE).
// Bare repositories count as "no work tree". docs/hooks.md describes the rules.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace dvt::hooks {

// One git_libgit2_init() per instance, matched by git_libgit2_shutdown(); nest freely.
class LibGit2 {
public:
    LibGit2();
    ~LibGit2();
    LibGit2(const LibGit2&) = delete;
    LibGit2& operator=(const LibGit2&) = delete;
};

struct GitWorkTree {
    std::filesystem::path work_dir;   // canonical, no trailing slash
    std::filesystem::path hooks_dir;  // core.hooksPath (relative to work_dir) or <common git dir>/hooks
};

// The git work tree for `start` (see above), or nullopt. A $DVT_GIT_WORK_TREE that is not a git work tree is
// ErrorKind::not_found.
std::optional<GitWorkTree> find_git_work_tree(const std::filesystem::path& start);

struct Provenance {
    std::string commit;  // HEAD's commit id: 40 hex digits (SHA-1) or 64 (SHA-256)
    bool dirty = false;  // git reports a change to a tracked file outside the dataset directory
};

// The code provenance of the dataset whose work tree is `dataset_root`: nullopt when there is no git work tree or
// its HEAD names no commit yet (unborn branch), or when $DVT_GIT_PROVENANCE is "0".
// Dirty means: a tracked file is modified, deleted, renamed or staged (index or work tree), like
// `git describe --dirty`; untracked files and submodules do not count, and neither does anything inside the dataset
// directory itself when that lies inside the git work tree (its content is what the dataset commit records).
std::optional<Provenance> git_provenance(const std::filesystem::path& dataset_root);

}  // namespace dvt::hooks
