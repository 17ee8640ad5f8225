// Pack files: the unit of storage and of transfer (one pack = one file of its own BitTorrent v2 torrent).
//
// Grammar (all integers little-endian; docs/format.md "Packs" has the full text):
//   pack    = header record* index footer
//   header  = "DVTPACK\0" u32 version(=1) u32 reserved(=0)                                        16 bytes
//   record  = u8 type u8 compression u16 reserved(=0) u32 raw_len u32 stored_len  stored[stored_len]
//   index   = entry* sorted by id, unique
//   entry   = id[32] u64 offset(of the record header) u32 stored_len u32 raw_len u8 type u8 compression u16 0   52 bytes
//   footer  = "DVTPIDX\0" u64 index_offset u64 count u32 version(=1) u32 reserved(=0) sha256(index)[32]  64 bytes
// A pack's id is the BEP 52 merkle root of all its bytes. A pack is written once, in record order, sealed with its
// index and footer, and never modified: its bytes are determined by the records appended, nothing else (no time,
// no randomness), so the same records in the same order always give the same pack id.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "objects/codec.hpp"
#include "objects/object.hpp"
#include "objects/torrent_id.hpp"
#include "util/fs.hpp"

namespace dvt::objects {

constexpr std::uint32_t kPackVersion = 1;
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

    // Returns the record offset.
    std::uint64_t append(ObjectType type, const Hash32& id, Compression c, std::uint32_t raw_len,
                         std::span<const std::uint8_t> stored);
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
    bool m_sealed = false;
};

// Reads and checks a pack's footer and index (not the records). Throws corrupt / unsupported.
struct PackIndex {
    std::uint64_t length = 0;
    std::uint64_t index_offset = 0;
    std::vector<PackEntry> entries;
};
PackIndex read_pack_index(int fd, const std::string& what);
PackIndex parse_pack_index(std::span<const std::uint8_t> index_and_footer, std::uint64_t pack_length,
                           const std::string& what);

// Throws corrupt if the entry's sizes exceed the limits (objects/limits.hpp) or its stored length exceeds its raw
// length. Every reader checks this before it sizes a buffer from an index entry.
void check_entry_limits(const PackEntry& e, const std::string& what);

// Reads one record at `e.offset`, checks its header against the index entry, decodes it and verifies its SHA-256
// against e.id. `out` receives the raw bytes.
void read_record(int fd, const PackEntry& e, Bytes& out, const std::string& what);

// The same check for a record already in memory: `record` starts at the record header (12 + stored_len bytes).
void decode_record_bytes(std::span<const std::uint8_t> record, const PackEntry& e, Bytes& out, const std::string& what);

// Recomputes the pack's merkle root (the pack id). Used by fsck and by pack verification.
Hash32 compute_pack_id(int fd, std::uint64_t length);

}  // namespace dvt::objects
