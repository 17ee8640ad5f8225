// Swarm identities: dvt's own BEP 52 derivation must equal what libtorrent's create_torrent produces (v2_only,
// no_attributes) for the same bytes, so a commit id is the info-hash peers will find in a swarm.
#include <catch2/catch.hpp>

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "objects/object.hpp"
#include "objects/torrent_id.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::pseudo_random;
namespace fs = std::filesystem;

namespace {
// What libtorrent says the v2 info-hash (and pieces root, piece layer) of `data` named `name` is.
struct LtResult {
    Hash32 info_hash, root;
    Bytes piece_layer;
};
LtResult libtorrent_view(const Bytes& data, const std::string& name, int piece_length) {
    test::TempDir dir("torrent-id");
    {
        std::ofstream f(dir.path / name, std::ios::binary);
        f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    }
    lt::file_storage fs;
    lt::add_files(fs, (dir.path / name).string(), lt::create_torrent::v2_only | lt::create_torrent::no_attributes);
    lt::create_torrent t(fs, piece_length, lt::create_torrent::v2_only | lt::create_torrent::no_attributes);
    lt::error_code ec;
    lt::set_piece_hashes(t, dir.path.string(), ec);
    REQUIRE(!ec);
    std::vector<char> buf;
    lt::bencode(std::back_inserter(buf), t.generate());
    lt::torrent_info ti(buf, lt::from_span);
    LtResult r;
    auto v2 = ti.info_hashes().v2;
    std::memcpy(r.info_hash.bytes.data(), v2.data(), 32);
    auto root = ti.files().root(lt::file_index_t{0});
    std::memcpy(r.root.bytes.data(), root.data(), 32);
    auto layer = ti.piece_layer(lt::file_index_t{0});
    put_bytes(r.piece_layer, layer.data(), static_cast<std::size_t>(layer.size()));
    return r;
}
}  // namespace

TEST_CASE("merkle root equals libtorrent's pieces root for edge-case sizes", "[torrent_id]") {
    for (std::size_t n : {std::size_t{1}, std::size_t{16383}, std::size_t{16384}, std::size_t{16385},
                          std::size_t{100000}, std::size_t{3 * 16384 + 5}, std::size_t{1 << 20}}) {
        Bytes data = pseudo_random(n, static_cast<unsigned>(n));
        auto lt = libtorrent_view(data, "blob", 16384);
        INFO("size " << n);
        CHECK(merkle_root(data) == lt.root);
    }
}

TEST_CASE("commit id equals libtorrent's v2 info-hash of the commit file", "[torrent_id]") {
    Commit c;
    c.tree.bytes.fill(7);
    c.author_name = "t";
    c.author_email = "t@example.org";
    c.time = 1;
    c.message = "hello\n";
    for (int i = 0; i < 600; ++i) {  // > 16 KiB, so the commit spans several pieces
        PackRef p;
        p.id.bytes.fill(0);
        p.id.bytes[0] = static_cast<std::uint8_t>(i >> 8);
        p.id.bytes[1] = static_cast<std::uint8_t>(i);
        p.length = 1000 + i;
        p.index_offset = 10;
        c.packs.push_back(p);
    }
    for (Bytes b : {c.encode(), Commit{}.encode()}) {
        auto lt = libtorrent_view(b, kCommitTorrentName, kCommitPieceLength);
        CHECK(commit_id_of(b) == lt.info_hash);
    }
}

TEST_CASE("pack info-hash and piece layer equal libtorrent's", "[torrent_id]") {
    for (std::size_t n : {std::size_t{5000}, std::size_t{3 << 20}, std::size_t{(20 << 20) + 12345}}) {
        Bytes data = pseudo_random(n, 3);
        Hash32 root = merkle_root(data);
        std::uint32_t pl = pack_piece_length(n);
        auto lt = libtorrent_view(data, pack_torrent_name(root), static_cast<int>(pl));
        INFO("size " << n << " piece length " << pl);
        CHECK(pack_info_hash(root, n) == lt.info_hash);
        MerkleBuilder m;
        m.update(data.data(), data.size());
        if (n > pl) {
            CHECK(m.piece_layer(pl) == lt.piece_layer);
        } else {
            // BEP 52 omits the layer of a one-piece file from the .torrent; libtorrent reports the root instead
            CHECK(m.piece_layer(pl).empty());
            CHECK(Bytes(root.bytes.begin(), root.bytes.end()) == lt.piece_layer);
        }
    }
}

TEST_CASE("root_from_piece_layer rebuilds the pack id from a piece layer and rejects a wrong one", "[torrent_id]") {
    // lengths around piece and power-of-two boundaries, several piece lengths
    for (std::size_t n : {std::size_t{16385}, std::size_t{3 << 20}, std::size_t{(3 << 20) + 1}, std::size_t{(20 << 20) + 12345},
                          std::size_t{1100 * 16384}}) {
        Bytes data = pseudo_random(n, 5);
        MerkleBuilder m;
        m.update(data.data(), data.size());
        for (std::uint32_t pl : {pack_piece_length(n), std::uint32_t{16384}, std::uint32_t{65536}}) {
            if (n <= pl) continue;
            INFO("size " << n << " piece length " << pl);
            Bytes layer = m.piece_layer(pl);
            CHECK(root_from_piece_layer(layer, n, pl) == m.root());
            layer[layer.size() / 2] ^= 1;  // one bit of one piece hash
            CHECK(root_from_piece_layer(layer, n, pl) != m.root());
            layer.resize(layer.size() - 32);
            CHECK_THROWS_AS(root_from_piece_layer(layer, n, pl), Error);
        }
    }
    CHECK_THROWS_AS(root_from_piece_layer(Bytes{}, 5000, 16384), Error);  // a one-piece file has no layer
}

TEST_CASE("pack piece length rule keeps at most 1024 pieces", "[torrent_id]") {
    CHECK(pack_piece_length(1) == 16384);
    CHECK(pack_piece_length(16ull << 20) == 16384);
    CHECK(pack_piece_length((16ull << 20) + 1) == 32768);
    CHECK(pack_piece_length(64ull << 20) == 65536);
    CHECK(pack_piece_length(1ull << 30) == 1 << 20);
}

TEST_CASE("torrent_file loads in libtorrent with the expected info-hash", "[torrent_id]") {
    Bytes data = pseudo_random(200000, 9);
    MerkleBuilder m;
    m.update(data.data(), data.size());
    Hash32 root = m.root();
    Bytes tf = torrent_file(pack_torrent_name(root), data.size(), root, pack_piece_length(data.size()),
                            m.piece_layer(pack_piece_length(data.size())));
    lt::torrent_info ti({reinterpret_cast<const char*>(tf.data()), static_cast<std::ptrdiff_t>(tf.size())},
                        lt::from_span);
    Hash32 ih;
    std::memcpy(ih.bytes.data(), ti.info_hashes().v2.data(), 32);
    CHECK(ih == pack_info_hash(root, data.size()));
    CHECK(ti.num_pieces() == static_cast<int>((data.size() + 16383) / 16384));
}
