#include "objects/torrent_id.hpp"

#include <bit>
#include <cstring>

#include "util/error.hpp"

namespace dvt::objects {

void MerkleBuilder::update(const std::uint8_t* data, std::size_t n) {
    m_length += n;
    if (!m_partial.empty()) {
        std::size_t take = std::min<std::size_t>(kBlockSize - m_partial.size(), n);
        m_partial.insert(m_partial.end(), data, data + take);
        data += take;
        n -= take;
        if (m_partial.size() == kBlockSize) {
            m_leaves.push_back(sha256(m_partial.data(), m_partial.size()));
            m_partial.clear();
        }
    }
    while (n >= kBlockSize) {
        m_leaves.push_back(sha256(data, kBlockSize));
        data += kBlockSize;
        n -= kBlockSize;
    }
    if (n) m_partial.insert(m_partial.end(), data, data + n);
}

void MerkleBuilder::rewrite_first_block(std::span<const std::uint8_t> block) {
    if (block.size() != std::min<std::uint64_t>(kBlockSize, m_length))
        throw Error(ErrorKind::internal, "merkle: first block of the wrong size");
    if (!m_leaves.empty())
        m_leaves[0] = sha256(block.data(), block.size());
    else
        std::copy(block.begin(), block.end(), m_partial.begin());  // the whole stream is still in m_partial
}

std::vector<Hash32> MerkleBuilder::leaves_padded() const {
    std::vector<Hash32> v = m_leaves;
    if (!m_partial.empty()) v.push_back(sha256(m_partial.data(), m_partial.size()));
    std::size_t n = std::bit_ceil(std::max<std::size_t>(v.size(), 1));
    v.resize(n);  // zero hashes
    return v;
}

static Hash32 hash_pair(const Hash32& a, const Hash32& b) {
    std::uint8_t buf[64];
    std::memcpy(buf, a.bytes.data(), 32);
    std::memcpy(buf + 32, b.bytes.data(), 32);
    return sha256(buf, 64);
}

static void reduce(std::vector<Hash32>& layer) {
    for (std::size_t i = 0; i < layer.size() / 2; ++i) layer[i] = hash_pair(layer[2 * i], layer[2 * i + 1]);
    layer.resize(layer.size() / 2);
}

Hash32 MerkleBuilder::root() const {
    if (m_length == 0) return Hash32{};
    auto layer = leaves_padded();
    while (layer.size() > 1) reduce(layer);
    return layer[0];
}

Bytes MerkleBuilder::piece_layer(std::uint32_t piece_length) const {
    Bytes out;
    if (m_length <= piece_length) return out;
    auto layer = leaves_padded();
    for (std::uint32_t blocks = piece_length / kBlockSize; blocks > 1; blocks /= 2) reduce(layer);
    std::uint64_t pieces = (m_length + piece_length - 1) / piece_length;
    for (std::uint64_t i = 0; i < pieces; ++i) put_hash(out, layer[i]);
    return out;
}

Hash32 root_of_leaves(std::vector<Hash32> leaves) {
    while (leaves.size() > 1) reduce(leaves);
    return leaves.empty() ? Hash32{} : leaves[0];
}

Hash32 merkle_root(std::span<const std::uint8_t> data) {
    MerkleBuilder b;
    b.update(data.data(), data.size());
    return b.root();
}

Hash32 root_from_piece_layer(const Bytes& layer, std::uint64_t length, std::uint32_t piece_length) {
    std::uint64_t pieces = (length + piece_length - 1) / piece_length;
    if (length <= piece_length || layer.size() != pieces * 32)
        throw Error(ErrorKind::corrupt, "a piece layer of " + std::to_string(layer.size()) + " bytes does not fit a file of " +
                                            std::to_string(length) + " bytes");
    std::uint64_t leaves = std::bit_ceil((length + kBlockSize - 1) / kBlockSize);
    std::vector<Hash32> pad(1);  // the root of one piece of zero leaves
    for (std::uint32_t blocks = piece_length / kBlockSize; blocks > 1; blocks /= 2) {
        pad.push_back(pad[0]);
        reduce(pad);
    }
    std::vector<Hash32> v(static_cast<std::size_t>(leaves / (piece_length / kBlockSize)), pad[0]);
    for (std::uint64_t i = 0; i < pieces; ++i) std::memcpy(v[i].bytes.data(), layer.data() + i * 32, 32);
    while (v.size() > 1) reduce(v);
    return v[0];
}

std::uint32_t pack_piece_length(std::uint64_t length) {
    std::uint64_t p = kBlockSize;
    while ((length + p - 1) / p > kMaxPiecesPerPack) p *= 2;
    return static_cast<std::uint32_t>(p);
}

std::string pack_torrent_name(const Hash32& pack_id) { return pack_id.hex() + ".pack"; }

static void bstr(Bytes& out, std::string_view s) {
    put_str(out, std::to_string(s.size()));
    out.push_back(':');
    put_str(out, s);
}
static void bint(Bytes& out, std::uint64_t v) {
    out.push_back('i');
    put_str(out, std::to_string(v));
    out.push_back('e');
}

Bytes info_dict(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length) {
    Bytes out;
    out.push_back('d');
    bstr(out, "file tree");
    out.push_back('d');
    bstr(out, name);
    out.push_back('d');
    bstr(out, "");
    out.push_back('d');
    bstr(out, "length");
    bint(out, length);
    bstr(out, "pieces root");
    bstr(out, std::string_view(reinterpret_cast<const char*>(root.bytes.data()), 32));
    out.push_back('e');
    out.push_back('e');
    out.push_back('e');
    bstr(out, "meta version");
    bint(out, 2);
    bstr(out, "name");
    bstr(out, name);
    bstr(out, "piece length");
    bint(out, piece_length);
    out.push_back('e');
    return out;
}

Hash32 info_hash(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length) {
    Bytes d = info_dict(name, length, root, piece_length);
    return sha256(d.data(), d.size());
}

Hash32 commit_id_of(std::span<const std::uint8_t> commit_bytes) {
    return info_hash(kCommitTorrentName, commit_bytes.size(), merkle_root(commit_bytes), kCommitPieceLength);
}

Hash32 pack_info_hash(const Hash32& pack_id, std::uint64_t length) {
    return info_hash(pack_torrent_name(pack_id), length, pack_id, pack_piece_length(length));
}

Bytes torrent_file(const std::string& name, std::uint64_t length, const Hash32& root, std::uint32_t piece_length,
                   const Bytes& piece_layer) {
    Bytes out;
    out.push_back('d');
    bstr(out, "info");
    Bytes info = info_dict(name, length, root, piece_length);
    out.insert(out.end(), info.begin(), info.end());
    bstr(out, "piece layers");
    out.push_back('d');
    if (!piece_layer.empty()) {
        bstr(out, std::string_view(reinterpret_cast<const char*>(root.bytes.data()), 32));
        bstr(out, std::string_view(reinterpret_cast<const char*>(piece_layer.data()), piece_layer.size()));
    }
    out.push_back('e');
    out.push_back('e');
    return out;
}

}  // namespace dvt::objects
