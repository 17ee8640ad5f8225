// BitTorrent v2 (BEP 52) identities of dvt's transferable files: commits and packs.
//
// A commit or pack is the single file of a v2-only torrent whose info dictionary is fully determined by the file's
// bytes (docs/format.md, "Swarm identities"):
//   {"file tree": {NAME: {"": {"length": L, "pieces root": R}}}, "meta version": 2, "name": NAME, "piece length": P}
// R is the BEP 52 merkle root over 16 KiB blocks (leaf layer padded with zero hashes to a power of two).
//   commit: NAME = "dvt-commit", P = 16384;               commit id = SHA-256(bencoded info dict) = v2 info-hash
//   pack:   NAME = "<R hex>.pack", P = pack_piece_length(L); pack id = R; info-hash = SHA-256(info dict)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::objects {

constexpr std::uint32_t kBlockSize = 16 * 1024;
constexpr std::uint32_t kCommitPieceLength = 16 * 1024;
constexpr std::uint32_t kMaxPiecesPerPack = 1024;
inline constexpr const char* kCommitTorrentName = "dvt-commit";

// Incremental BEP 52 merkle tree over a byte stream.
class MerkleBuilder {
public:
    void update(const std::uint8_t* data, std::size_t n);
    std::uint64_t length() const { return m_length; }
    // Replaces the stream's first min(kBlockSize, length()) bytes (already fed) by `block`, e.g. a header patched
    // once the rest is known. Throws internal if `block` has another size.
    void rewrite_first_block(std::span<const std::uint8_t> block);
    // Root over everything fed so far (zero hash for an empty stream).
    Hash32 root() const;
    // The piece layer for `piece_length` (a power of two >= 16 KiB): one hash per piece, concatenated. Empty when the
    // file fits in one piece (BEP 52 omits the layer then).
    Bytes piece_layer(std::uint32_t piece_length) const;

private:
    std::vector<Hash32> leaves_padded() const;
    std::vector<Hash32> m_leaves;
    Bytes m_partial;
    std::uint64_t m_length = 0;
};

Hash32 merkle_root(std::span<const std::uint8_t> data);

// The root over `leaves` (a power of two of them, e.g. one piece's block hashes padded with zero hashes): each layer
// is SHA-256 of pairs of the one below, as BEP 52 builds its trees.
Hash32 root_of_leaves(std::vector<Hash32> leaves);

// The merkle root of a file of `length` bytes (> piece_length) from its piece layer (pieces padded, as BEP 52 does,
// with the root of a piece of zero leaf hashes). Throws ErrorKind::corrupt when the layer has the wrong size.
Hash32 root_from_piece_layer(const Bytes& layer, std::uint64_t length, std::uint32_t piece_length);

std::uint32_t pack_piece_length(std::uint64_t length);
std::string pack_torrent_name(const Hash32& pack_id);

// Bencoded v2 info dictionary, and its SHA-256 (the v2 info-hash).
Bytes info_dict(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length);
Hash32 info_hash(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length);

Hash32 commit_id_of(std::span<const std::uint8_t> commit_bytes);
Hash32 pack_info_hash(const Hash32& pack_id, std::uint64_t length);

// A complete .torrent (info + piece layers), as a seeder hands it to libtorrent.
Bytes torrent_file(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length,
                   const Bytes& piece_layer);

}  // namespace dvt::objects
