// dvt checkout: make the working tree (or some paths) byte-identical to a commit.
//
// Safety rules (each tested): tree entries are validated when trees are read (no "..", "/", ".dvt", ".git" names);
// files are created with openat() relative to directory descriptors opened with O_NOFOLLOW, so no write goes through
// a symlink; a file with uncommitted changes (or an untracked file in the way) is never overwritten or deleted
// unless `force`. Files are written to a temp name and renamed into place, so a crash never leaves a torn file.
#pragma once

#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::core {

struct CheckoutOptions {
    bool force = false;
    std::vector<std::string> paths;  // repository-relative; empty = the whole tree (and HEAD moves)
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
