// dvt hooks: executables in .dvt/hooks/<name>, run like git's hooks (docs/hooks.md).
//
// Contract:
//  - A hook runs only if .dvt/hooks/<name> exists and is executable (a file that exists but is not executable is
//    skipped with one warning), and $DVT_NO_HOOKS is unset or "0".
//  - It runs in the repository's work tree root, with the caller's environment plus the DVT_HOOK_* variables below,
//    its stdin reading `input` (one line per changed path: "<A|M|D|T> <path>"), its stdout sent to dvt's stderr
//    (stdout of dvt stays one result or one JSON document), signals at their defaults, no terminal input.
//  - run_hook() waits for it and returns its exit status (128+N when killed by signal N); nullopt when no hook ran.
//  - Hooks never prompt: stdin is the list, not the terminal.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dvt::hooks {

// The hook names dvt runs (docs/hooks.md). pre-* hooks can abort the command; post-* hooks only report.
inline constexpr const char* kHookNames[] = {"pre-commit", "post-commit", "pre-push", "post-checkout", "post-pull"};

struct HookCall {
    std::string name;                        // e.g. "pre-commit"
    std::filesystem::path work_tree;         // the repository root (cwd of the hook, DVT_WORK_TREE)
    std::filesystem::path dvt_dir;           // <work_tree>/.dvt (DVT_DIR)
    std::string old_commit, new_commit;      // 64 hex or "" (DVT_OLD_COMMIT, DVT_NEW_COMMIT)
    std::string branch;                      // current branch or "" when detached (DVT_BRANCH)
    std::vector<std::pair<std::string, std::string>> env;  // more DVT_* variables for this hook
    std::string input;                       // stdin
};

// Whether hooks are switched off for this process ($DVT_NO_HOOKS set and not "0").
bool hooks_disabled();

// Whether a hook `name` would be considered at all: hooks are on and .dvt/hooks/<name> is a regular file. Callers
// use it to skip preparing a hook's input (e.g. the list of changed paths) when there is no hook.
bool hook_present(const std::filesystem::path& dvt_dir, const std::string& name);

// The path .dvt/hooks/<name> would have.
std::filesystem::path hook_path(const std::filesystem::path& dvt_dir, const std::string& name);

// Runs the hook if there is one (see the contract above). Throws io if it cannot be started.
std::optional<int> run_hook(const HookCall& call);

// Stderr warning for a post-* hook that failed (its exit status does not change dvt's).
void warn_hook_failed(const std::string& name, int status);

}  // namespace dvt::hooks
