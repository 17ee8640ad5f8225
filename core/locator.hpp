// Writing a version's locator (objects/locator.hpp; docs/format.md, "Locator"): where each directory's tree, file
// objects and chunks lie in the packs the commit names, so that a partial pull fetches only what is on its paths.
#pragma once

#include <cstddef>
#include <optional>

#include "core/repository.hpp"
#include "objects/locator.hpp"
#include "objects/object.hpp"

namespace dvt::core {

// Builds the locator of version `c` (whose pack list is final) from the index database and writes it as the one
// chunk record of a pack of its own, sealed into packs/ and registered; adds that pack to c.packs and sets
// c.locator. Objects whose index row lies in a pack the commit does not name are left out (a puller finds them the
// old way). Writes nothing for a format-1 commit, or when the locator would exceed a chunk's limit. Needs the write
// lock.
void add_locator(Repository& repo, objects::Commit& c);

// Whether add_locator() writes one for `c`: a format-2 commit and config pack.locator 1 or unset (0: none; another
// value is a usage error).
bool will_write_locator(Repository& repo, const objects::Commit& c);

// incremental: from the first parent's locator where it can (a directory whose tree did not change keeps its entry,
// a changed one has the records of the files that went taken out of it and those of the new files put in: the cost
// is per changed file, not per file of each changed directory); from_scratch: every object of the version located
// (what incremental must equal but for the one case core/locator.cpp's patch() names).
enum class LocatorBuild { incremental, from_scratch };

// How build_locator made each directory's entry.
struct LocatorStats {
    std::size_t kept = 0;     // the parent's, unchanged (a directory whose tree did not change, and those below it)
    std::size_t patched = 0;  // the parent's with the changed files' records taken out and put in
    std::size_t built = 0;    // every object of the directory located
};

// The locator of `c` built in memory (no pack written): add_locator's first half, for tests.
std::optional<objects::Locator> build_locator(Repository& repo, const objects::Commit& c,
                                              LocatorBuild how = LocatorBuild::incremental,
                                              LocatorStats* stats = nullptr);

}  // namespace dvt::core
