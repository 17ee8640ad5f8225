// dvt's libtorrent disk back end (transport/disk_io.hpp), through two real sessions on loopback: a seeder on
// 127.0.0.2 and a fetcher on 127.0.0.3, each with the disk I/O every dvt session uses. Files must arrive byte-exact,
// pieces already in the file must be found by hashing them from the file, the piece layer the disk I/O reports
// must be the file's (and be reported only for files whose every piece it hashed), and the received blocks it holds
// in memory must stay bounded when the disk falls behind.
#include <catch2/catch.hpp>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/torrent_status.hpp>

#include <chrono>
#include <filesystem>
#include <functional>

#include "objects/torrent_id.hpp"
#include "transport/block_hash_guard.hpp"
#include "transport/session.hpp"
#include "util/fs.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::pseudo_random;
using dvt::test::write_file;
namespace fs = std::filesystem;

namespace {

// The torrent of `data` named like a pack (objects/torrent_id.hpp), for libtorrent, saved under `dir`.
struct PackTorrent {
    Hash32 root;
    std::uint32_t piece = 0;
    Bytes layer;
    std::string name;
    Bytes torrent;

    explicit PackTorrent(const Bytes& data) {
        objects::MerkleBuilder m;
        m.update(data.data(), data.size());
        root = m.root();
        piece = objects::pack_piece_length(data.size());
        layer = m.piece_layer(piece);
        name = objects::pack_torrent_name(root);
        torrent = objects::torrent_file(name, data.size(), root, piece, layer);
    }

    lt::add_torrent_params params(const fs::path& dir) const {
        auto atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(torrent.data()),
                                            static_cast<std::ptrdiff_t>(torrent.size())});
        atp.save_path = dir.string();
        return atp;
    }
    // As dvt serve adds a pack: every piece present (verified when written), no re-hashing.
    lt::add_torrent_params seed_params(const fs::path& dir) const {
        auto atp = params(dir);
        atp.have_pieces.resize(atp.ti->num_pieces(), true);
        return atp;
    }
};

// Runs both sessions' alert loops until the fetcher's torrent is complete; its status then.
lt::torrent_status fetch_until_done(transport::SwarmSession& seeder, transport::SwarmSession& fetcher,
                                    const lt::torrent_handle& h) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string error;
    while (std::chrono::steady_clock::now() < until) {
        seeder.poll(std::chrono::milliseconds(10), [](lt::alert*) {});
        fetcher.poll(std::chrono::milliseconds(50), [&](lt::alert* a) {
            if (auto* e = lt::alert_cast<lt::file_error_alert>(a)) error = e->message();
        });
        REQUIRE(error.empty());
        auto st = h.status();
        if (st.is_seeding) return st;
    }
    FAIL("the fetch did not complete within 60 s");
    return {};
}

// A whole transfer: `data` is seeded from 127.0.0.2 (dir/seed) and fetched on 127.0.0.3 (dir/fetch) by a session
// whose disk I/O has `opts`; `prepare` may change the fetcher's torrent (its resume state) before it is added. The
// constructor returns when the fetch is complete and flushed; the sessions stay up for questions.
struct Transfer {
    PackTorrent pt;
    transport::SwarmSession seeder;
    transport::SwarmSession fetcher;
    lt::torrent_status st;
    fs::path file;  // the fetched file

    Transfer(const fs::path& dir, const Bytes& data, transport::DiskOptions opts = {},
             const std::function<void(lt::add_torrent_params&)>& prepare = {})
        : pt(data),
          seeder(transport::parse_endpoint("127.0.0.2:0", "listen", true)),
          fetcher(transport::parse_endpoint("127.0.0.3:0", "listen", true), std::chrono::seconds(10), opts),
          file(dir / "fetch" / pt.name) {
        write_file(dir / "seed" / pt.name, data);
        seeder.add_torrent(pt.seed_params(dir / "seed"));
        auto fp = pt.params(dir / "fetch");
        if (prepare) prepare(fp);
        fp.peers = {seeder.listen_endpoint()};
        auto h = fetcher.add_torrent(std::move(fp));
        st = fetch_until_done(seeder, fetcher, h);
        h.flush_cache();  // as a pull does before it reads the file; the pieces are in it already
    }
};

}  // namespace

TEST_CASE("a file fetched through dvt's disk I/O is byte-exact and its piece layer is the one written",
          "[transport][disk_io]") {
    // 16 KiB pieces with a short last block (and libtorrent's pad after the file); 32 KiB pieces of two blocks
    auto size = GENERATE(std::size_t{300 * 1024 + 7}, std::size_t{(17 << 20) + 123});
    test::TempDir t("disk-io");
    Bytes data = pseudo_random(size, static_cast<unsigned>(size));
    Transfer x(t.path, data);

    CHECK(x.st.total_payload_download >= static_cast<std::int64_t>(size));
    CHECK(util::read_file(x.file) == data);
    auto layer = x.fetcher.piece_layer(x.file.string());
    REQUIRE(layer.has_value());
    CHECK(*layer == x.pt.layer);
    CHECK(objects::root_from_piece_layer(*layer, size, x.pt.piece) == x.pt.root);
    // the seeder hashed nothing (its pieces were given as present), so it has no layer to vouch for
    CHECK_FALSE(x.seeder.piece_layer((t.path / "seed" / x.pt.name).string()).has_value());
    CHECK_FALSE(x.fetcher.piece_layer((t.path / "elsewhere" / x.pt.name).string()).has_value());
}

TEST_CASE("pieces already in a file are hashed from it and not fetched again; the missing ones are",
          "[transport][disk_io]") {
    test::TempDir t("disk-io");
    std::size_t size = (4 << 20) + 5000;  // 16 KiB pieces
    Bytes data = pseudo_random(size, 11);
    // the fetcher's file holds the first 60 % (as a pull killed half-way leaves it), and nothing after
    std::size_t have = size * 6 / 10;
    write_file(t.path / "fetch" / PackTorrent(data).name,
               Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(have)));
    // it claims every piece: the file is too short for that, so every piece is checked against the file first
    Transfer x(t.path, data, {}, [](lt::add_torrent_params& fp) { fp.have_pieces.resize(fp.ti->num_pieces(), true); });

    CHECK(util::read_file(x.file) == data);
    // only what the file lacked travelled: the piece that straddles the 60 % mark and the rest (libtorrent counts the
    // last piece whole, with the pad after the file)
    CHECK(x.st.total_payload_download <= static_cast<std::int64_t>(size - have + 2 * x.pt.piece));
    CHECK(x.st.total_payload_download >= static_cast<std::int64_t>(size - have));
    // every piece was hashed in this process (from the file or from memory): the layer is known and right
    auto layer = x.fetcher.piece_layer(x.file.string());
    REQUIRE(layer.has_value());
    CHECK(*layer == x.pt.layer);
}

TEST_CASE("blocks that resume data counts as received but the file lacks are fetched again, and no peer is blamed",
          "[transport][disk_io]") {
    // As a pull killed right after saving its resume data leaves it: the blocks it had acknowledged in memory never
    // reached the file. The fetcher's file holds the first 60 % and a hole after it, to the full length.
    test::TempDir t("disk-io-resume");
    std::size_t size = (17 << 20) + 123;  // 32 KiB pieces of two blocks
    Bytes data = pseudo_random(size, 51);
    PackTorrent pt(data);
    std::size_t have = size * 6 / 10;
    fs::path f = t.path / "fetch" / pt.name;
    write_file(f, Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(have)));
    fs::resize_file(f, size);
    int whole = static_cast<int>(have / pt.piece);
    Transfer x(t.path, data, {}, [&](lt::add_torrent_params& fp) {
        fp.have_pieces.resize(fp.ti->num_pieces(), false);
        for (int p = 0; p < whole; ++p) fp.have_pieces.set_bit(lt::piece_index_t(p));
        for (int p : {whole + 3, whole + 40}) {  // the first block of two pieces in the hole: "received"
            lt::bitfield blocks(2, false);
            blocks.set_bit(0);
            fp.unfinished_pieces[lt::piece_index_t(p)] = blocks;
        }
    });

    CHECK(util::read_file(x.file) == data);
    // taken as received, those blocks (zeros) would have failed their pieces, and the seeder would have been blamed
    CHECK(x.st.total_failed_bytes == 0);
    CHECK(x.st.total_payload_download <= static_cast<std::int64_t>(size - have + 2 * pt.piece));
}

TEST_CASE("under memory pressure unfinished pieces are written out early and hashed from file and memory together",
          "[transport][disk_io]") {
    // spill every unfinished piece; and spill above two piece buffers with writes held back (libtorrent stops
    // reading from the peer) above three, until under two: every byte must still arrive right
    bool stall = GENERATE(false, true);
    test::TempDir t("disk-io");
    std::size_t size = (17 << 20) + 4321;  // 32 KiB pieces: two blocks each, so pieces are often half-received
    Bytes data = pseudo_random(size, 23);
    transport::DiskOptions tight;
    tight.spill_at = stall ? 64 << 10 : 1;  // 1: any buffered block spills every unfinished piece
    tight.spill_to = stall ? 32 << 10 : 0;
    if (stall) {
        tight.stall_at = 96 << 10;
        tight.resume_at = 64 << 10;
    }
    Transfer x(t.path, data, tight);

    CHECK(util::read_file(x.file) == data);
    // no piece failed its hash (a block lost between memory and file would have made one fail and travel again)
    CHECK(x.st.total_failed_bytes == 0);
    CHECK(x.st.total_payload_download < static_cast<std::int64_t>(size + 2 * x.pt.piece));
    auto layer = x.fetcher.piece_layer(x.file.string());
    REQUIRE(layer.has_value());
    CHECK(*layer == x.pt.layer);
}

TEST_CASE("when the disk falls behind the network, the blocks held in memory stay near stall_at",
          "[transport][disk_io]") {
    // one worker that pauses 1 ms before every job: the 768 pieces (64 KiB) of 48 MiB take it at least 0.8 s, the
    // network would deliver them in a fraction of that. The fetcher's writes complete only while under 2 MiB of
    // buffers, so libtorrent stops reading from the seeder; without that, most of the file piles up in memory.
    test::TempDir t("disk-io");
    Bytes data = pseudo_random(48 << 20, 31);
    transport::DiskOptions slow;
    slow.threads = 1;
    slow.job_delay = std::chrono::milliseconds(1);
    slow.spill_at = 3 << 20;
    slow.spill_to = 1 << 20;
    slow.stall_at = 2 << 20;
    slow.resume_at = 1 << 20;
    Transfer x(t.path, data, slow);

    CHECK(util::read_file(x.file) == data);
    CHECK(x.st.total_failed_bytes == 0);
    // the stall point plus what libtorrent had already read from the socket (1 MiB buffer, doubled by the kernel)
    std::int64_t peak = x.fetcher.disk_peak_buffered();
    INFO("peak buffered " << peak << " bytes");
    CHECK(peak > 0);
    CHECK(peak <= (8 << 20));
}

namespace {

// A fetcher on 127.0.0.3 whose only peer at first is a lying seeder on 127.0.0.4: it added `data`'s torrent as dvt
// serve does (every piece present, never re-hashed), then `lie` changed its file. Once the fetcher has seen what the
// liar does (`until` says when, from the fetcher's status), an honest seeder (127.0.0.2) with `data` joins. The fetch
// must complete with `data`.
struct LyingSeeder {
    PackTorrent pt;
    transport::SwarmSession honest;
    transport::SwarmSession liar;
    transport::SwarmSession fetcher;
    lt::torrent_status st;  // the fetcher's, when `until` held
    fs::path file;
    int hash_failures = 0;
    std::vector<std::string> liar_file_errors;

    LyingSeeder(const fs::path& dir, const Bytes& data, const std::function<void(const fs::path&)>& lie,
                const std::function<bool(const lt::torrent_status&)>& until)
        : pt(data),
          honest(transport::parse_endpoint("127.0.0.2:0", "listen", true)),
          liar(transport::parse_endpoint("127.0.0.4:0", "listen", true)),
          fetcher(transport::parse_endpoint("127.0.0.3:0", "listen", true)),
          file(dir / "fetch" / pt.name) {
        write_file(dir / "honest" / pt.name, data);
        write_file(dir / "liar" / pt.name, data);
        honest.add_torrent(pt.seed_params(dir / "honest"));
        auto lh = liar.add_torrent(pt.seed_params(dir / "liar"));
        auto poll_all = [&](std::chrono::milliseconds wait) {
            honest.poll(std::chrono::milliseconds(1), [](lt::alert*) {});
            liar.poll(std::chrono::milliseconds(1), [&](lt::alert* a) {
                if (auto* e = lt::alert_cast<lt::file_error_alert>(a)) liar_file_errors.push_back(e->error.message());
            });
            fetcher.poll(wait, [&](lt::alert* a) {
                if (lt::alert_cast<lt::hash_failed_alert>(a)) ++hash_failures;
            });
        };
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!lh.status().is_seeding && std::chrono::steady_clock::now() < deadline)
            poll_all(std::chrono::milliseconds(10));
        REQUIRE(lh.status().is_seeding);
        lie(dir / "liar" / pt.name);
        auto fp = pt.params(dir / "fetch");
        fp.peers = {liar.listen_endpoint()};
        auto h = fetcher.add_torrent(std::move(fp));
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!until(h.status()) && std::chrono::steady_clock::now() < deadline)
            poll_all(std::chrono::milliseconds(20));
        st = h.status();
        REQUIRE(until(st));
        h.connect_peer(honest.listen_endpoint());
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!h.status().is_seeding && std::chrono::steady_clock::now() < deadline)
            poll_all(std::chrono::milliseconds(20));
        h.flush_cache();
        poll_all(std::chrono::milliseconds(200));
        REQUIRE(h.status().is_seeding);
    }
};

}  // namespace

TEST_CASE("a peer whose data fails verification cannot crash the fetcher; the file still arrives from an honest one",
          "[transport][disk_io][lying]") {
    // One piece of one block (a commit): libtorrent 2.0.8 crashed on a null pointer here. 32 KiB pieces (two blocks),
    // damaged past piece 512: it wrote past the end of its table of piece-hash requests (block_hash_guard.hpp).
    auto size = GENERATE(std::size_t{9000}, std::size_t{(17 << 20) + 123});
    test::TempDir t("disk-io-lying");
    Bytes data = pseudo_random(size, static_cast<unsigned>(size) + 1);
    auto flip_two_bytes = [&](const fs::path& f) {  // as the issue had it, in the liar's file
        Bytes served = data;
        for (std::size_t at : {size - 2, size / 2 + 1}) served[at] ^= 0x5a;
        write_file(f, served);
    };
    auto before = transport::block_hash_guard_counts();
    LyingSeeder x(t.path, data, flip_two_bytes, [](const lt::torrent_status& s) { return s.total_failed_bytes > 0; });

    CHECK(util::read_file(x.file) == data);
    CHECK(x.hash_failures > 0);
    auto after = transport::block_hash_guard_counts();
    // every failed piece queued a block-hash request, and each was dropped before it could go out
    CHECK(after.dropped > before.dropped);
    CHECK(after.misfired == before.misfired);
}

TEST_CASE("a seeder whose file was truncated while served fails the reads past its end instead of sending zeros",
          "[transport][disk_io][lying]") {
    test::TempDir t("disk-io-short");
    std::size_t size = (4 << 20) + 5000;  // 16 KiB pieces
    Bytes data = pseudo_random(size, 41);
    std::size_t kept = size / 2 + 100;  // mid-piece
    auto truncate = [&](const fs::path& f) { fs::resize_file(f, kept); };
    auto whole_pieces_kept = static_cast<int>(kept / PackTorrent(data).piece);
    // the liar alone: every piece it still holds whole arrives; it refuses the rest (file error "End of file")
    LyingSeeder x(t.path, data, truncate, [&](const lt::torrent_status& s) {
        return s.num_pieces >= whole_pieces_kept;
    });

    CHECK(util::read_file(x.file) == data);
    // zeros for the missing bytes would have failed verification
    CHECK(x.hash_failures == 0);
    REQUIRE_FALSE(x.liar_file_errors.empty());
    CHECK(x.liar_file_errors.front() == "End of file");
}
