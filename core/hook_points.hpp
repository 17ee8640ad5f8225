// Hook points of commands that live outside core's own operations (docs/hooks.md). core/commit.cpp and
// core/checkout.cpp run their hooks (pre/post-commit, post-checkout) themselves.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::core {

// After a pull moved the work tree from `old_head` (nullopt: an unborn HEAD) to commit `id`: runs
// .dvt/hooks/post-pull if there is one (hooks::hook_present), with DVT_OLD_COMMIT, DVT_NEW_COMMIT, DVT_BRANCH (HEAD's
// branch, "" when detached), DVT_PULL_PATHS (the pulled paths, one per line; empty for a whole pull) and on stdin one
// line "<A|M|D|T> <path>" per path that differs between the two commits' trees (under `paths` only, for a partial
// pull). A post-pull hook only reports: a non-zero exit is a warning on stderr (hooks::warn_hook_failed), never an
// error. Throws not_found / corrupt when a commit or tree cannot be read, io when the hook cannot be started.
void run_post_pull_hook(Repository& repo, const std::optional<Hash32>& old_head, const Hash32& id,
                        const std::vector<std::string>& paths);

}  // namespace dvt::core
