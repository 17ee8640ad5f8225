// fsck (verify everything, optionally rebuild the index) and gc (drop what nothing reaches).
//
// gc rule (docs/format.md, "Garbage collection"): a pack is kept whole while any commit reachable from a ref, a tag,
// HEAD or a reflog entry names it; otherwise it is deleted whole. Packs are never rewritten, even when partly
// garbage, because commits name them by content (their ids are swarm addresses other peers may be seeding). A commit
// may copy the live objects of sparse packs into new packs instead of naming them (core/swarms.hpp): such an object
// lives in two packs, each kept while a reachable commit names it.
#pragma once

#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::core {

struct FsckProblem {
    std::string what;     // "pack <id>", "commit <id>", "ref refs/heads/x", "object <id>"
    std::string message;
};

struct FsckOptions {
    // Rebuild the index database from the packs, remove stale temp files; then, if problems remain, drop broken
    // versions: a ref or detached HEAD naming a commit that is missing, damaged or fails core::check_version goes
    // back to the newest sound commit its reflog names (or is deleted), and reflog entries naming such commits are
    // removed, so that gc deletes what only they reached. FsckResult::dropped lists what changed.
    bool repair = false;
};

struct FsckResult {
    std::vector<FsckProblem> problems;
    std::size_t packs = 0, objects = 0, commits = 0, reachable_commits = 0;
    std::uint64_t bytes = 0;
    std::size_t reindexed_packs = 0;
    std::size_t partial_packs = 0;        // packs held in part (docs/format.md, "Partial packs")
    std::size_t objects_not_fetched = 0;
    std::size_t shallow_commits = 0;      // commits listed in .dvt/shallow (fetched without their ancestors)  // reachable objects that live in a partial pack's missing part
    std::vector<FsckProblem> dropped;     // --repair: refs moved or deleted, reflog entries removed (what: "ref X")
};

FsckResult fsck(Repository& repo, const FsckOptions& opts);

struct GcResult {
    std::size_t commits_removed = 0, packs_removed = 0, packs_kept = 0, temp_files_removed = 0, partial_removed = 0;
    std::uint64_t bytes_freed = 0;
};

GcResult gc(Repository& repo);

}  // namespace dvt::core
