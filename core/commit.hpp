// dvt commit: snapshot the whole working tree as a new commit on HEAD.
// Write order (docs/format.md, "Write ordering"): data packs, metadata pack, index rows, commit file, ref, reflog,
// stat cache. A crash at any point leaves every ref naming a complete commit.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/ingest.hpp"
#include "core/repository.hpp"

namespace dvt::core {

struct CommitOptions {
    std::string message;
    bool allow_empty = false;
    std::optional<std::string> git_commit;
    std::optional<bool> git_dirty;
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct CommitResult {
    Hash32 id;
    objects::Commit commit;
    IngestStats stats;
    std::size_t added = 0, modified = 0, deleted = 0;
};

// Throws ErrorKind::nothing_to_do when the tree equals HEAD's and allow_empty is false.
CommitResult create_commit(Repository& repo, const CommitOptions& opts);

}  // namespace dvt::core
