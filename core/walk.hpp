// The work tree walked against a stored tree, one directory at a time (status and commit): each directory of the
// work tree is read (core/worktree.hpp, WorkScanner) and merged by name with the stored tree of the same path, and
// each regular file is looked up in the stat cache in tree order (StatCacheUpdate), as git's index walk does. What
// the walk holds is the directories on the current path and the files being hashed in a batch: memory does not grow
// with the number of files, only with the number of changes reported.
//
// A directory only in the stored tree is read from the store (its files are deleted), one only in the work tree is
// walked with nothing to compare against (its files are added). Stored trees are read through the store (verified
// against their ids); the whole-version limits are the caller's to check first (core/version.hpp, measure_commit).
#pragma once

#include <optional>
#include <vector>

#include "core/ingest.hpp"
#include "core/tree.hpp"

namespace dvt::core {

struct WalkOptions {
    // Build (and store, if the ingest stores) the trees of the work tree, hashing every file the stat cache does not
    // answer for, added ones included (commit). Without it only files present on both sides are hashed (status).
    bool build = false;
    bool use_cache = true;            // the stat cache holds ids of the repository's own chunker only
    bool trust_cache = true;          // false: every file is hashed and the cache rewritten with the new ids (its rows
                                      // were cut otherwise: chunker.tensors just changed)
    bool delta_bases = false;         // pass the stored file id of the same path as a delta base (commit)
    bool record_changes = true;       // fill WalkResult::changes
    std::function<void(std::uint64_t)> progress;  // bytes of files whose ids are known (cached or hashed)
};

struct WalkResult {
    std::vector<DiffEntry> changes;  // sorted by path bytes, as diff_trees gives them
    std::size_t added = 0, modified = 0, deleted = 0;
    BuiltTree built;  // with options.build
};

// Walks the work tree of `repo` against stored tree `base` (none: everything is added). `ingest` hashes (and, for a
// commit, stores) the files; with build it also stores the trees and records what the version reaches.
WalkResult walk_worktree(Repository& repo, const std::optional<Hash32>& base, Ingest& ingest, const WalkOptions& opts);

// dvt status: the changes of the work tree since `head` (none: every file is added), files cut as `head` was
// (Repository::chunker_of) so a clean tree compares equal. The whole version is checked against the limits first
// (measure_commit). Writes the stat cache if anything in it changed (a failure to write it is ignored).
std::vector<DiffEntry> worktree_changes(Repository& repo, const std::optional<objects::Commit>& head);

}  // namespace dvt::core
