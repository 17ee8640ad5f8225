// Bounded swarms per version (docs/format.md, "Re-packing"): a commit names at most
// swarm_bound(bytes, pack.size, pack.extra-packs) packs however long the history. When the packs that hold a new
// version's objects are more, the commit's writer copies the live objects of the sparsest of them into new packs of
// its own and names those instead. Old commits keep naming the old packs, so every published version stays fetchable.
#pragma once

#include <cstdint>
#include <vector>

#include "core/repository.hpp"
#include "objects/object.hpp"

namespace dvt::core {

// ⌈bytes / pack_size⌉ + extra: the most packs a commit of `bytes` file bytes names.
std::size_t swarm_bound(std::uint64_t bytes, std::uint64_t pack_size, std::size_t extra);

// One named pack as the selection sees it.
struct PackLiveness {
    std::uint64_t length = 0;      // bytes of the pack file
    std::uint64_t live_data = 0;   // record bytes (header included) of chunks the version reaches
    std::uint64_t live_meta = 0;   // ... of trees and file objects
    bool movable = true;           // a complete pack (a partial one is never dissolved: not all of it is here)
};

// Which packs to dissolve so that the version names at most `target` packs: the movable ones in order of live
// fraction ((live_data + live_meta) / length), sparsest first (ties: fewer live bytes, then lower index), until
//     packs.size() - dissolved + ⌈copied data / pack_target⌉ + ⌈copied metadata / pack_target⌉ <= target,
// plus, once any is dissolved, every movable pack whose live fraction is below `density` (copying little of it
// saves a swarm later). Returns indexes into `packs`, ascending; empty if packs.size() <= target. If dissolving every
// movable pack cannot reach the target, all of them are returned (the best this version can do).
std::vector<std::size_t> choose_packs_to_dissolve(const std::vector<PackLiveness>& packs, std::size_t target,
                                                  std::uint64_t pack_target, double density);

struct RepackStats {
    std::size_t packs_before = 0, packs_after = 0, dissolved = 0, written = 0;
    std::uint64_t bytes_copied = 0;  // record bytes copied into new packs
    std::size_t reencoded = 0;       // delta records stored in full instead (their base's record has another depth)
};

// The packs commit-to-be `c` (complete but for its pack list: `c.packs` is what the ingest found; every object stored
// here) names: `c.packs` if they are within the bound (Repository::extra_packs()), else the kept ones plus new packs
// that hold the live objects of the dissolved ones (written through ObjectStore::write_copies / add_repacked; the
// index then points those objects to the new packs, so the next commit names them too). The new list passes the
// version check restricted to the packs it names (core/named_packs.hpp) before anything is registered; if it did not
// (records of one chunk at different chain depths), `c.packs` is kept, with a warning on stderr. Needs the
// repository write lock.
std::vector<objects::PackRef> bound_commit_packs(Repository& repo, const objects::Commit& c,
                                                 RepackStats* stats = nullptr);

}  // namespace dvt::core
