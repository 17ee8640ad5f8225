// The documented limits of the repository format (docs/format.md, "Limits"): every decoder and every walk over
// stored objects checks these before it allocates or descends, so a hash-valid but hostile version cannot exhaust
// memory or the stack. A value above a limit is ErrorKind::corrupt when read (nothing is stored or checked out), and
// a work tree that would exceed one is refused by `dvt commit` before anything is written.
//
// Why these values (the table in docs/format.md repeats them):
//  - a record (chunk, file object, tree) of 64 MiB at most: a hostile record decoded in full costs about four times
//    that (raw bytes, decoded objects, chunk locations) and stays under the 512 MB a pull may use; it allows 1,864,134
//    chunks per file (28 GiB at the default 16 KiB average chunk, 114 GiB at --chunk-avg 65536) and 1M tree entries;
//  - a chunk of 16 MiB at most: the largest `chunker.max` the chunker accepts;
//  - 1,048,576 entries per tree, tree depth 256, paths of 4,095 bytes (Linux PATH_MAX less its NUL);
//  - 2^26 (67,108,864) paths per version (files, symlinks and directories), the largest `files` a commit may state;
//  - a commit file of 16 MiB at most (what a puller has always accepted), naming at most 131,072 packs (a pack line
//    is at most 94 bytes: 12 MiB; 8 TiB of packs at the default pack size) and 1,024 parents;
//  - a delta chain (docs/format.md, "Delta records") of depth 64 at most: reading a chunk then costs at most 65
//    record reads and zstd decodes (the writer's default `pack.delta-depth` is lower, see core/config.hpp);
//  - a pack of 2^34 bytes (16 GiB) at most and 4,194,304 objects at most (its index then takes 208 MiB).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dvt::objects {

constexpr std::uint32_t kMaxChunkSize = 16u << 20;          // raw bytes of one chunk
constexpr std::uint32_t kMaxRecordSize = 64u << 20;         // raw (and stored) bytes of any pack record
constexpr std::uint32_t kMaxFileChunks = (kMaxRecordSize - 20) / 36;  // chunks of one file object (1,864,134)
constexpr std::uint32_t kMaxTreeEntries = 1u << 20;         // entries of one tree
constexpr std::uint32_t kMaxTreeDepth = 256;                // directories from the root tree to the deepest entry
constexpr std::size_t kMaxPathLength = 4095;                // bytes of a path in a version ("a/b/c")
constexpr std::uint64_t kMaxVersionEntries = 1ull << 26;    // files + symlinks + directories of one version
constexpr std::uint64_t kMaxCommitSize = 16ull << 20;       // bytes of a commit file
constexpr std::size_t kMaxCommitPacks = 1u << 17;           // pack lines of one commit
constexpr std::size_t kMaxCommitParents = 1024;             // parent lines of one commit
constexpr std::uint16_t kMaxDeltaDepth = 64;              // chain depth of a delta record
constexpr std::uint64_t kMaxPackLength = 1ull << 34;        // bytes of one pack
constexpr std::uint64_t kMaxPackObjects = 1ull << 22;       // index entries of one pack
// The largest useful `pack.size`: a pack is sealed once it reaches its target, so it can exceed the target by one
// record and its index; with this target it stays below kMaxPackLength.
constexpr std::uint64_t kMaxPackTarget = 8ull << 30;
static_assert(kMaxPackTarget + kMaxRecordSize + 12 + kMaxPackObjects * 52 + 64 <= kMaxPackLength);

}  // namespace dvt::objects
