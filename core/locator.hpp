// Writing a version's locator (objects/locator.hpp; docs/format.md, "Locator"): where each directory's tree, file
// objects and chunks lie in the packs the commit names, so that a partial pull fetches only what is on its paths.
#pragma once

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

// The locator of `c` built in memory (no pack written): add_locator's first half, for tests.
std::optional<objects::Locator> build_locator(Repository& repo, const objects::Commit& c);

}  // namespace dvt::core
