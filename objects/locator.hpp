// The locator of a version (format 2; docs/format.md, "Locator"): for each directory of the version, the byte ranges
// of the commit's packs that hold its tree, the file objects of its files and their chunks (with every record of
// their delta chains). A partial pull reads it to fetch only what lies on its paths instead of every pack's index
// and every tree. It is a hint: every object read through it is verified against its id, and an object it does not
// lead to is looked up the old way (the pack indexes).
//
// Grammar (little-endian; stored as the raw bytes of a chunk record in a pack the commit names, reached from the
// commit's `locator <id> <pack id>` header, id = SHA-256 of these bytes):
//   locator = "DVTL" v 00 00 00 | u32 k | k x pack_id[32] | u32 n | n x dir      v: locator version, 2 (or 1)
//             pack ids strictly increasing, each one of the commit's packs; dirs strictly increasing in tree order
//   dir     = u16 path_len | path | u32 m | m x extent                      (version 2)
//           | u16 path_len | path | u32 m | m x extent | u32 d | d x id[32]  (version 1)
//             path: "" (the root) or names joined by '/', each a valid tree entry name, at most 4,095 bytes
//   extent  = u8 type (1 chunk, 2 file object, 3 tree) | u32 pack | u64 offset | u64 length
//             pack: index into the locator's pack ids; 16 <= offset, 12 <= length,
//             offset + length <= that pack's index offset; extents strictly increasing by (type, pack, offset) and
//             not overlapping within one (type, pack)
//   ids:      (version 1 only) the ids of the delta records among the records of the dir's type-1 extents, in scan
//             order. Readers ignore them: a delta record's id is derived by decoding it against its verified base
//             (transport/fetch.cpp), so version 2 leaves them out (they made a locator grow with every chain link).
// The whole record is at most kMaxChunkSize bytes (it is a chunk), which bounds every count.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "objects/object.hpp"

namespace dvt::objects {

struct LocatorExtent {
    ObjectType type = ObjectType::chunk;  // chunk, file or tree
    std::uint32_t pack = 0;               // index into Locator::packs
    std::uint64_t offset = 0;             // of the first record's header
    std::uint64_t length = 0;             // to the end of the last record
    bool operator==(const LocatorExtent&) const = default;
};

struct LocatorDir {
    std::string path;  // "" for the root
    std::vector<LocatorExtent> extents;
    std::vector<Hash32> delta_ids;  // version 1 only (read, never used; see above)
    bool operator==(const LocatorDir&) const = default;
};

constexpr std::uint8_t kLocatorVersion = 2;  // what dvt writes; it reads 1 and 2

struct Locator {
    std::uint8_t version = kLocatorVersion;
    std::vector<Hash32> packs;     // the packs the extents name (sorted, unique; each named by the commit)
    std::vector<LocatorDir> dirs;  // in tree order of their paths

    Bytes encode() const;  // throws internal if it breaks a rule decode() checks (without the packs), or if a
                           // version-2 locator carries delta ids
    // Accepts only the canonical encoding; `packs`: the commit's pack list, which must hold every pack id of the
    // locator, each extent within its pack's records (an empty list skips those checks: the fuzz target and
    // encode()). Anything else is corrupt.
    static Locator decode(std::span<const std::uint8_t> b, const std::vector<PackRef>& packs);
    // The entry of directory `path`, or nullptr.
    const LocatorDir* find(std::string_view path) const;
};

}  // namespace dvt::objects
