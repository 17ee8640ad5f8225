// Verifying a work tree against a commit: is the data on disk byte-identical to what the commit records?
// (dvt verify; docs/hooks.md, "Verifying a checkout").
#pragma once

#include <vector>

#include "core/repository.hpp"
#include "core/tree.hpp"
#include "objects/object.hpp"

namespace dvt::core {

// The work tree of `repo` as a FlatTree, every regular file re-read and hashed from its bytes (nothing is stored and
// the stat cache is neither read nor written). Symlinks carry their target. Throws io when a file cannot be read.
FlatTree hash_worktree(Repository& repo, std::optional<objects::ChunkerParams> chunker = std::nullopt);

struct VerifyResult {
    objects::Commit commit;          // the commit verified against (its file and byte counts)
    std::vector<DiffEntry> diffs;    // expected (the commit) → actual (the work tree); empty: byte-identical
    bool ok() const { return diffs.empty(); }
};

// Compares the work tree of `repo` with commit `id`. `fast`: trust the stat cache for files whose size, times and
// inode did not change (worktree_state); otherwise every file is re-hashed (hash_worktree). Differences are not an
// error; the caller decides. Throws not_found / corrupt when the commit or its trees cannot be read, io as above.
VerifyResult verify_worktree(Repository& repo, const Hash32& id, bool fast);

}  // namespace dvt::core
