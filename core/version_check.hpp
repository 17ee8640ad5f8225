// Checking a version whole before anything trusts it: a pull checks what it received before it stores the commit,
// its packs or a ref (docs/transport.md, "Pulling", step 5); `fsck --repair` finds the versions to drop with it
// (docs/cli.md, `dvt fsck`). checkout checks the names it will create with check_path_fits().
//
// Contract:
//  - Reads only (through the object store, so objects staged with ObjectStore::stage() count as present); every object
//    read is verified against its id and decoded with the decoders' limits.
//  - check_version() throws the first problem found: ErrorKind::corrupt for anything the version gets wrong, not_found
//    for an object or pack that is absent (and not excused below), unsupported for a newer format.
//  - Work is linear in the version's objects (trees are visited once each, iteratively), whatever the tree's shape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "objects/object.hpp"
#include "objects/store.hpp"

namespace dvt::core {

// The longest name (one path component) and path a checkout creates: Linux's NAME_MAX (255 bytes) and PATH_MAX
// (4096 bytes with its terminating NUL) for the path below the work tree's root.
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxPathBytes = 4095;

// Throws ErrorKind::corrupt when a component of the repository-relative `path` is longer than kMaxNameBytes or the
// path longer than kMaxPathBytes: no filesystem could hold it (a version naming it is refused, not half checked out).
void check_path_fits(std::string_view path);

struct VersionCheckOptions {
    // Only the files below these repository-relative paths (a partial pull); empty: the whole tree.
    std::vector<std::string> paths;
    // Objects in the part of a partial pack (docs/format.md, "Partial packs") that was not fetched count as present
    // (fsck --repair, which must not call a partially pulled version broken). A pull passes false: what it asked for
    // must be here.
    bool allow_not_fetched = false;
};

// Checks commit `c` (already decoded, so its own encoding is sound) against the store:
//  - every pack it names is here (or staged) with the length and index offset it names;
//  - every tree and file object reachable (below `paths`) and every chunk of those files lies in a pack it names and
//    is present; every tree and file object decodes (verified against its id, within the decoders' limits);
//  - each file object has the size its tree entries give, its chunks add up to it, and each chunk's length in the
//    file object is the length the pack index records for it (the length a read verifies);
//  - every name fits (check_path_fits), every symlink target is shorter than PATH_MAX;
//  - the tree flattens (core::flatten_tree: the depth and entry limits of docs/format.md).
void check_version(const objects::ObjectStore& store, const objects::Commit& c, const VersionCheckOptions& opts = {});

}  // namespace dvt::core
