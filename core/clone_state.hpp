// A clone in progress (docs/format.md, ".dvt/clone"): `dvt clone` marks the repository it creates with the commit it
// clones, and removes the mark once the commit is checked out. A clone that fails or is interrupted keeps its
// repository (what was verified stays: partial packs and their resume data, or the imported version), and the same
// `dvt clone` into the same directory finds the mark and resumes (transport::clone).
//
// Contract:
//  - The mark is "dvt-clone 1\n<commit id, 64 hex>\n", written atomically; a malformed mark is ErrorKind::corrupt.
//  - interrupted_clone() reads it from `worktree`/.dvt/clone: nullopt when there is none (or no .dvt at all).
#pragma once

#include <filesystem>
#include <optional>

#include "util/hash.hpp"

namespace dvt::core {

std::optional<Hash32> interrupted_clone(const std::filesystem::path& worktree);

// `dvt_dir` is the repository's .dvt directory.
void mark_clone(const std::filesystem::path& dvt_dir, const Hash32& commit);
void unmark_clone(const std::filesystem::path& dvt_dir);

}  // namespace dvt::core
