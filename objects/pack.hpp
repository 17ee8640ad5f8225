// Pack files: the unit of storage and of transfer (one pack = one file of its own BitTorrent v2 torrent).
//
// Grammar (all integers little-endian; docs/format.md "Packs" has the full text):
//   pack    = header record* index footer
//   header  = "DVTPACK\0" u32 version(1 or 2) u32 reserved(=0)                                    16 bytes
//   record  = u8 type u8 compression u16 depth u32 raw_len u32 stored_len  stored[stored_len]
//   index   = entry* sorted by id, unique
//   entry   = id[32] u64 offset(of the record header) u32 stored_len u32 raw_len u8 type u8 compression u16 depth
//                                                                                                         52 bytes
//   footer  = "DVTPIDX\0" u64 index_offset u64 count u32 version u32 reserved(=0) sha256(index)[32]     64 bytes
// depth is 0 except for a delta record (compression 2, a chunk; docs/format.md "Delta records"), where it is its
// chain depth 1..kMaxDeltaDepth. A pack holding a delta record is version 2 (header and footer); any other pack is
// version 1, byte for byte as format 1 wrote it.
// A pack's id is the BEP 52 merkle root of all its bytes. A pack is written once, in record order, sealed with its
// index and footer, and never modified: its bytes are determined by the records appended, nothing else (no time,
// no randomness), so the same records in the same order always give the same pack id.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <span>
#include <vector>

#include "objects/codec.hpp"
#include "objects/object.hpp"
#include "objects/torrent_id.hpp"
#include "util/fs.hpp"

namespace dvt::objects {

constexpr std::uint32_t kPackVersion = 1;       // a pack without delta records
constexpr std::uint32_t kPackVersionDelta = 2;  // a pack with at least one (format version 2)
constexpr std::size_t kPackHeaderSize = 16;
constexpr std::size_t kRecordHeaderSize = 12;
constexpr std::size_t kIndexEntrySize = 52;
constexpr std::size_t kFooterSize = 64;

struct PackEntry {
    Hash32 id;
    std::uint64_t offset = 0;  // of the record header
    std::uint32_t stored_len = 0;
    std::uint32_t raw_len = 0;
    ObjectType type = ObjectType::chunk;
    Compression compression = Compression::none;
    std::uint16_t depth = 0;  // delta chain depth (compression zstd_delta), else 0
};

struct SealedPack {
    PackRef ref;              // id, length, index offset
    std::filesystem::path path;
    std::vector<PackEntry> entries;  // sorted by id
    Bytes piece_layer;        // BEP 52 piece layer for pack_piece_length(length)
};

// Writes one pack into `tmp_dir`; seal() moves it to `<packs_dir>/<id>.pack`.
// Contract: append() never reorders; records with the same id may not be appended twice (caller deduplicates).
// If the process dies before seal() returns, only a temp file is left behind (removed by gc); the pack directory
// never holds a partial pack.
class PackWriter {
public:
    PackWriter(std::filesystem::path tmp_dir, std::filesystem::path packs_dir);
    ~PackWriter();
    PackWriter(const PackWriter&) = delete;
    PackWriter& operator=(const PackWriter&) = delete;

    // Returns the record offset. `depth`: the chain depth of a delta record (compression zstd_delta), else 0; the
    // first delta record makes the pack version 2.
    std::uint64_t append(ObjectType type, const Hash32& id, Compression c, std::uint32_t raw_len,
                         std::span<const std::uint8_t> stored, std::uint16_t depth = 0);
    std::uint64_t size() const { return m_offset; }
    std::size_t count() const { return m_entries.size(); }
    SealedPack seal();

private:
    void emit(const std::uint8_t* p, std::size_t n);
    void flush();

    std::filesystem::path m_tmp_path;
    std::filesystem::path m_packs_dir;
    util::Fd m_fd;
    Bytes m_buf;
    std::uint64_t m_offset = 0;
    MerkleBuilder m_merkle;
    std::vector<PackEntry> m_entries;
    Bytes m_first_block;  // the pack's first kBlockSize bytes: the header's version is patched into them at seal()
    std::uint32_t m_version = kPackVersion;
    bool m_sealed = false;
};

// Reads and checks a pack's footer and index (not the records). Throws corrupt / unsupported.
struct PackIndex {
    std::uint32_t version = kPackVersion;
    std::uint64_t length = 0;
    std::uint64_t index_offset = 0;
    std::vector<PackEntry> entries;
};
PackIndex read_pack_index(int fd, const std::string& what);
PackIndex parse_pack_index(std::span<const std::uint8_t> index_and_footer, std::uint64_t pack_length,
                           const std::string& what);

// Throws corrupt if the entry's sizes exceed the limits (objects/limits.hpp) or its stored length exceeds its raw
// length, or it breaks the delta rules an entry alone shows (a delta that is not a chunk, depth outside
// 1..kMaxDeltaDepth, a non-delta with depth != 0). Every reader checks this before it sizes a buffer from an entry.
void check_entry_limits(const PackEntry& e, const std::string& what);

// Reads one record at `e.offset`, checks its header against the index entry, decodes it and verifies its SHA-256
// against e.id. `out` receives the raw bytes. A delta record needs `base`: the raw bytes of its base chunk, which the
// caller has verified against the base id the record names (record_delta_base); without one it is corrupt.
void read_record(int fd, const PackEntry& e, Bytes& out, const std::string& what,
                 std::span<const std::uint8_t> base = {}, const Hash32* base_id = nullptr);

// The same check for a record already in memory: `record` starts at the record header (12 + stored_len bytes).
void decode_record_bytes(std::span<const std::uint8_t> record, const PackEntry& e, Bytes& out, const std::string& what,
                         std::span<const std::uint8_t> base = {}, const Hash32* base_id = nullptr);

// The same checks and decoding for a full (non-delta) record in memory, without verifying SHA-256 against e.id: for
// hints only (ObjectStore::read_unverified); a delta record is ErrorKind::internal.
void decode_record_unverified(std::span<const std::uint8_t> record, const PackEntry& e, Bytes& out,
                              const std::string& what);

// The base id a delta record names, read from its header and the first 32 stored bytes (the header is checked
// against `e`; a base id equal to e.id is corrupt).
Hash32 record_delta_base(int fd, const PackEntry& e, const std::string& what);
Hash32 record_delta_base_bytes(std::span<const std::uint8_t> record_prefix, const PackEntry& e, const std::string& what);

// Delta chains (docs/format.md, "Delta records"). Where a record lies: an open pack file and its index entry.
struct RecordAt {
    int fd = -1;
    PackEntry entry;
    std::string what;  // for messages ("pack #3", "pack <id>")
    // Keeps `fd` open while the record is in use, when its owner may close it otherwise (the object store's bounded
    // cache of open pack files); empty when the caller keeps the file open itself.
    std::shared_ptr<const void> keep_open = nullptr;
};
// Finds the record of a base id: nullopt if it is not here (the chain cannot be read: ErrorKind::not_found).
using RecordFinder = std::function<std::optional<RecordAt>(const Hash32&)>;
// Verified raw bytes of chunks decoded recently, keyed by id (with their chain depth); optional.
class ChunkCache {
public:
    explicit ChunkCache(std::size_t max_bytes) : m_max(max_bytes) {}
    std::shared_ptr<const Bytes> get(const Hash32& id, std::uint16_t* depth) const;
    void put(const Hash32& id, std::uint16_t depth, const Bytes& raw);
    void clear();

private:
    struct Item {
        std::shared_ptr<const Bytes> raw;
        std::uint16_t depth;
        std::list<Hash32>::iterator pos;
    };
    std::size_t m_max, m_bytes = 0;
    mutable std::mutex m_mutex;
    mutable std::list<Hash32> m_lru;  // most recent first
    std::unordered_map<Hash32, Item, Hash32Hasher> m_items;
};
// The rules a delta record's base must keep (docs/format.md, "Delta records"): a chunk, of depth exactly one less, and
// for a tensor delta of the same length; corrupt otherwise. `who` names the delta in the message ("delta chunk <id>").
void check_delta_base(const std::string& who, const PackEntry& delta, const Hash32& base_id, const PackEntry& base,
                      const std::string& what);
// Reads the chunk at `top` (any record; a delta is resolved through `find`): walks the chain down iteratively (at
// most kMaxDeltaDepth steps), checking each base is a chunk of depth exactly one less, then decodes from the bottom
// up, each level verified against its id before it serves as a prefix. Holds at most two chunks' raw bytes at a time.
// A base that `find` cannot supply is ErrorKind::not_found ("base ... of delta chunk ... is missing"); every rule
// broken is corrupt.
void read_chain(const RecordAt& top, const RecordFinder& find, Bytes& out, ChunkCache* cache = nullptr);

// Recomputes the pack's merkle root (the pack id). Used by fsck and by pack verification.
Hash32 compute_pack_id(int fd, std::uint64_t length);

}  // namespace dvt::objects
