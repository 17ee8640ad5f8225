// `dvt hooks install|uninstall`: git hooks (post-checkout, post-merge) that keep the dataset pinned in dvt.lock
// checked out after `git checkout`, `git switch` and `git pull` (docs/hooks.md).
//
// Contract:
//  - The hooks go into git's hooks directory as libgit2 reports it (core.hooksPath, else <common git dir>/hooks).
//  - Never clobber: a hook the user already has is renamed to "<hook>.dvt-chained" (bytes and mode unchanged) and
//    dvt's hook runs it first, with the same arguments, and stops with its exit status if it fails.
//  - dvt's hook is recognised by its marker line (kHookMarker); install over it is idempotent.
//  - Uninstall removes only files carrying the marker and renames "<hook>.dvt-chained" back: what was there before
//    install is restored exactly. A hook without the marker is never touched.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dvt::hooks {

inline constexpr const char* kGitHookNames[] = {"post-checkout", "post-merge"};
inline constexpr const char* kHookMarker = "# dvt-managed-hook v1";
inline constexpr const char* kChainedSuffix = ".dvt-chained";

struct GitHookState {
    std::string name;
    bool installed = false;  // the hook file is dvt's
    bool chained = false;    // a user hook is kept as <name>.dvt-chained
    bool user_hook = false;  // a hook that is not dvt's is in place (dvt's is not installed)
};

// The text of dvt's hook `name`; `dvt_exe` is the dvt binary the hook calls first (then `dvt` from PATH).
std::string git_hook_script(const std::string& name, const std::filesystem::path& dvt_exe);

// Installs every hook of kGitHookNames into `hooks_dir` (created if missing). Throws conflict when a
// "<hook>.dvt-chained" exists next to a hook that is not dvt's (an earlier install was half undone by hand).
std::vector<GitHookState> install_git_hooks(const std::filesystem::path& hooks_dir, const std::filesystem::path& dvt_exe);

// Removes dvt's hooks and restores chained ones. Returns the state of each hook before removal.
std::vector<GitHookState> uninstall_git_hooks(const std::filesystem::path& hooks_dir);

std::vector<GitHookState> git_hooks_state(const std::filesystem::path& hooks_dir);

}  // namespace dvt::hooks
