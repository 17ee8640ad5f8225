// dvt commit: snapshot the whole working tree as a new commit on HEAD.
// Write order (docs/format.md, "Write ordering"): data packs, metadata pack, index rows, commit file, ref, reflog.
// The stat cache is rewritten at the end of the walk, before the packs are sealed: a row may then name a file whose
// objects a crash never stored, which costs nothing (its id is still the file's id; a commit re-validates every
// cached id). A crash at any point leaves every ref naming a complete commit.
//
// Code provenance and hooks (docs/hooks.md): unless told otherwise, the commit records the git HEAD of the git work
// tree around the dataset and whether it was dirty (hooks::git_provenance, libgit2). The pre-commit hook
// (.dvt/hooks/pre-commit) runs with the write lock held, before the work tree is scanned, with the changed paths on
// stdin; a non-zero exit is ErrorKind::hook_rejected and nothing is written. post-commit runs after the ref moved
// and the lock is released; its exit status only produces a warning.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/ingest.hpp"
#include "core/repository.hpp"
#include "core/swarms.hpp"

namespace dvt::core {

struct CommitOptions {
    std::string message;
    bool allow_empty = false;
    std::optional<std::string> git_commit;
    std::optional<bool> git_dirty;
    bool detect_git = true;  // fill git_commit/git_dirty from the git work tree when git_commit is not given
    bool run_hooks = true;   // run .dvt/hooks/pre-commit and post-commit if present (and $DVT_NO_HOOKS is unset)
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct CommitResult {
    Hash32 id;
    objects::Commit commit;
    IngestStats stats;
    RepackStats repack;  // what bounding the commit's packs did (core/swarms.hpp)
    std::size_t added = 0, modified = 0, deleted = 0;
};

// Throws ErrorKind::nothing_to_do when the tree equals HEAD's and allow_empty is false.
CommitResult create_commit(Repository& repo, const CommitOptions& opts);

}  // namespace dvt::core
