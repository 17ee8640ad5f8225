// dvt checkout: make the working tree (or some paths) byte-identical to a commit.
//
// Safety rules (each tested): tree entries are validated when trees are read (no "..", "/", ".dvt", ".git" names);
// files are created with openat() relative to directory descriptors opened with O_NOFOLLOW, so no write goes through
// a symlink; a file with uncommitted changes (or an untracked file in the way) is never overwritten or deleted
// unless `force`. Files are written to a temp name and renamed into place, so a crash never leaves a torn file.
// Nothing is deleted or replaced before everything the checkout will write is known to be obtainable and valid: the
// plan checks what stands on disk, every name (core/named_packs.hpp, check_path_fits), every file object and the
// presence and length of every chunk; the files whose place is free are written first and the chunks of the others
// read and verified; a failure up to there takes the new files back (ErrorKind::corrupt / not_found / conflict, the
// work tree and HEAD as they were). Then come the deletions and replacements (checkout.cpp, checkout_locked).
#pragma once

#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::core {

struct CheckoutOptions {
    bool force = false;
    std::vector<std::string> paths;  // repository-relative; empty = the whole tree (and HEAD moves)
    // A fast-forward (dvt pull): the branch HEAD names moves to the checked-out commit, compare-and-swap from HEAD's
    // commit, with `advance_message` in its reflog, and HEAD stays on it. It is one ref write after the work tree is
    // written, so a kill leaves either the old branch (the next pull finishes the job) or the new one, never HEAD
    // detached. If the branch moved meanwhile, HEAD is detached at the commit instead (as for any other id).
    bool advance_branch = false;
    std::string advance_message;
};

struct CheckoutResult {
    Hash32 commit;
    std::optional<std::string> branch;  // set when HEAD now names a branch
    std::size_t written = 0, deleted = 0;
    std::uint64_t bytes_written = 0;
    double seconds = 0;  // wall time of the checkout
};

CheckoutResult checkout(Repository& repo, const std::string& rev, const CheckoutOptions& opts);

}  // namespace dvt::core
