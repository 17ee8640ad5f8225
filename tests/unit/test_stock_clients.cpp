// dvt torrent (transport/torrent_files.hpp), dvt doctor's peer-wire scan and address scopes (transport/doctor.hpp),
// and the byte amounts of a pull's timeout message (transport/transfer.hpp, amount_of).
#include <catch2/catch.hpp>

#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>
#include <iterator>

#include "core/commit.hpp"
#include "core/repository.hpp"
#include "objects/torrent_id.hpp"
#include "transport/doctor.hpp"
#include "transport/session.hpp"
#include "transport/torrent_files.hpp"
#include "transport/transfer.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::kind_of;
using dvt::test::pseudo_random;
using dvt::test::write_file;
namespace fs = std::filesystem;

TEST_CASE("dvt torrent writes the swarm's own torrents and v2 magnet links", "[transport][torrent]") {
    test::TempDir t("torrent");
    core::InitOptions io;
    io.pack_size = 1 << 20;  // several packs
    auto repo = core::Repository::init(t.path / "r", io);
    write_file(t.path / "r" / "a.bin", pseudo_random(3'000'000, 1));
    write_file(t.path / "r" / "b.txt", Bytes{'h', 'i', '\n'});
    core::CommitOptions co;
    co.message = "v1";
    Hash32 id = core::create_commit(*repo, co).id;
    auto c = repo->store().read_commit(id);
    REQUIRE(c);
    REQUIRE(c->packs.size() >= 2);

    transport::TorrentFileOptions o;
    o.trackers = {"http://127.0.0.1:6969/announce"};
    o.web_seeds = {"http://127.0.0.1:8080/mirror"};
    o.peers = {transport::parse_endpoint("127.0.0.2:7001", "peer", false)};
    auto r = transport::write_torrent_files(*repo, id, t.path / "out" / "sub", o);
    CHECK(r.commit == id);
    REQUIRE(r.torrents.size() == 1 + c->packs.size());
    CHECK(r.torrents[0].kind == "commit");
    for (std::size_t k = 0; k < r.torrents.size(); ++k) {
        const auto& tf = r.torrents[k];
        INFO(tf.file.string());
        REQUIRE(fs::exists(tf.file));
        CHECK(tf.file == t.path / "out" / "sub" / (tf.id.hex() + ".torrent"));
        // libtorrent reads the file back to the same v2 info-hash (v2 only), with the tracker and the web seed
        auto atp = lt::load_torrent_file(tf.file.string());
        REQUIRE(atp.ti);
        CHECK(atp.ti->info_hashes().has_v2());
        CHECK_FALSE(atp.ti->info_hashes().has_v1());
        CHECK(transport::from_lt(atp.ti->info_hashes().v2) == tf.info_hash);
        CHECK(atp.trackers == o.trackers);
        REQUIRE(atp.url_seeds.size() == 1);
        CHECK(tf.magnet.starts_with("magnet:?xt=urn:btmh:1220" + tf.info_hash.hex()));
        CHECK(tf.magnet.find("x.pe=127.0.0.2") != std::string::npos);
        CHECK(tf.magnet.find("tr=") != std::string::npos);
        if (k == 0) {
            CHECK(tf.info_hash == id);  // the commit id is the commit torrent's info-hash
            CHECK(tf.name == objects::kCommitTorrentName);
            CHECK(atp.url_seeds[0] == "http://127.0.0.1:8080/mirror/commits/" + id.hex() + "/");
        } else {
            const auto& p = c->packs[k - 1];
            CHECK(tf.id == p.id);
            CHECK(tf.info_hash == objects::pack_info_hash(p.id, p.length));
            CHECK(tf.name == p.id.hex() + ".pack");
            CHECK(tf.length == p.length);
            CHECK(tf.complete);
            CHECK(atp.url_seeds[0] == "http://127.0.0.1:8080/mirror/packs/");
            // a complete pack's torrent carries its piece layer (a client cannot get it from a web seed)
            if (p.length > objects::pack_piece_length(p.length)) {
                lt::torrent_info ti(tf.file.string());  // (load_torrent_file moves the layers out of ti)
                auto pieces = (p.length + objects::pack_piece_length(p.length) - 1) / objects::pack_piece_length(p.length);
                CHECK(static_cast<std::uint64_t>(ti.piece_layer(lt::file_index_t{0}).size()) == 32 * pieces);
            }
        }
    }
    // an absent commit: not_found, nothing written
    Hash32 absent = id;
    absent.bytes[0] ^= 1;
    CHECK(kind_of([&] { transport::write_torrent_files(*repo, absent, t.path / "none"); }) == ErrorKind::not_found);
    CHECK_FALSE(fs::exists(t.path / "none"));
}

namespace {

Bytes handshake(const std::array<std::uint8_t, 20>& ih, bool ext) {
    Bytes b{19};
    std::string p = "BitTorrent protocol";
    b.insert(b.end(), p.begin(), p.end());
    std::uint8_t reserved[8] = {0, 0, 0, 0, 0, static_cast<std::uint8_t>(ext ? 0x10 : 0), 0, 0};
    b.insert(b.end(), reserved, reserved + 8);
    b.insert(b.end(), ih.begin(), ih.end());
    b.insert(b.end(), 20, 'x');
    return b;
}

void message(Bytes& b, std::uint8_t id, const std::string& payload) {
    auto len = static_cast<std::uint32_t>(payload.size() + 1);
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(len >> s));
    b.push_back(id);
    b.insert(b.end(), payload.begin(), payload.end());
}

std::string ext_handshake(const std::string& yourip, std::int64_t port, const std::string& v) {
    lt::entry e(lt::entry::dictionary_t);
    e["m"] = lt::entry(lt::entry::dictionary_t);
    e["p"] = port;
    e["v"] = v;
    e["yourip"] = yourip;
    std::string s(1, '\0');  // extended message id 0: the handshake
    lt::bencode(std::back_inserter(s), e);
    return s;
}

}  // namespace

TEST_CASE("doctor reads a peer's handshake and extension handshake, bounded", "[transport][doctor]") {
    std::array<std::uint8_t, 20> ih{};
    for (std::size_t i = 0; i < ih.size(); ++i) ih[i] = static_cast<std::uint8_t>(i * 7);
    auto scan = [&](const Bytes& b) { return transport::scan_peer_wire(b, std::span<const std::uint8_t, 20>(ih)); };

    Bytes b = handshake(ih, true);
    // in pieces: nothing is concluded before the bytes are there
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{20}, std::size_t{67}}) {
        auto s = scan(Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)));
        CHECK_FALSE(s.handshake);
        CHECK_FALSE(s.complete);
        CHECK_FALSE(s.malformed);
    }
    auto s = scan(b);
    CHECK(s.handshake);
    CHECK(s.same_torrent);
    CHECK(s.extensions);
    CHECK_FALSE(s.complete);  // its extension handshake is still to come
    message(b, 20, ext_handshake(std::string("\x0a\x00\x00\x07", 4), 6881, "qB\x01x/4.5"));
    message(b, 14, "");  // have_all
    s = scan(b);
    CHECK(s.complete);
    CHECK(s.ext_handshake);
    REQUIRE(s.yourip);
    CHECK(s.yourip->to_string() == "10.0.0.7");
    REQUIRE(s.port);
    CHECK(*s.port == 6881);
    CHECK(s.client == "qB?x/4.5");  // a control character is not passed on
    CHECK(s.has_all);
    CHECK(s.messages == 2);

    // IPv6 yourip; an out-of-range port is ignored
    Bytes b6 = handshake(ih, true);
    message(b6, 20, ext_handshake(std::string(15, '\0') + "\x01", 70000, "v"));
    s = scan(b6);
    REQUIRE(s.yourip);
    CHECK(s.yourip->to_string() == "::1");
    CHECK_FALSE(s.port);

    // another torrent; no extensions: complete after the handshake, nothing learned
    auto other = ih;
    other[0] ^= 1;
    s = scan(handshake(other, false));
    CHECK(s.complete);
    CHECK_FALSE(s.same_torrent);
    CHECK_FALSE(s.yourip);

    // not BitTorrent; a message over the bound; an extension handshake that does not decode
    s = scan(Bytes{'H', 'T', 'T', 'P', '/'});
    CHECK(s.malformed);
    Bytes big = handshake(ih, true);
    for (std::uint8_t x : {0x7f, 0xff, 0xff, 0xff}) big.push_back(x);
    s = scan(big);
    CHECK(s.malformed);
    CHECK(s.error.find("message of") != std::string::npos);
    Bytes bad = handshake(ih, true);
    message(bad, 20, std::string("\0d1:pi5", 7));
    s = scan(bad);
    CHECK(s.malformed);
    CHECK_FALSE(s.yourip);
}

TEST_CASE("doctor names address scopes", "[transport][doctor]") {
    auto scope = [](const char* a) { return transport::address_scope(boost::asio::ip::make_address(a)); };
    CHECK(scope("127.0.0.2") == "loopback");
    CHECK(scope("::1") == "loopback");
    CHECK(scope("10.1.2.3") == "private");
    CHECK(scope("172.16.0.1") == "private");
    CHECK(scope("172.32.0.1") == "public");
    CHECK(scope("192.168.1.1") == "private");
    CHECK(scope("100.64.0.1") == "private");
    CHECK(scope("100.128.0.1") == "public");
    CHECK(scope("169.254.3.4") == "link-local");
    CHECK(scope("fd00::1") == "private");
    CHECK(scope("fe80::1") == "link-local");
    CHECK(scope("8.8.8.8") == "public");
    CHECK(scope("2001:db8::1") == "public");
    CHECK(scope("::ffff:192.168.0.1") == "private");
}

TEST_CASE("doctor probes a peer over loopback and reports what it saw", "[transport][doctor]") {
    // a listening socket that is not BitTorrent (a SwarmSession of our own on 127.0.0.2 with no torrent closes the
    // connection after our handshake); and a port nobody listens on
    transport::SwarmSession peer(transport::parse_endpoint("127.0.0.2:0", "listen", true));
    transport::DoctorOptions o;
    o.listen = transport::parse_listen_address("127.0.0.3");
    o.peers = {peer.listen_endpoint()};
    o.timeout = std::chrono::seconds(3);
    auto r = transport::doctor(o);
    REQUIRE(r.listen);
    CHECK(r.listen->address().to_string() == "127.0.0.3");
    CHECK(r.listen->port() != 0);
    CHECK(r.listen_scope == "loopback");
    CHECK(r.port_mapping == "off");
    REQUIRE(r.peers.size() == 1);
    CHECK(r.peers[0].connected);
    CHECK_FALSE(r.peers[0].wire.same_torrent);
    CHECK(r.peers[0].error.find("closed the connection") != std::string::npos);
    CHECK(r.nat == "unknown");
    // the port the session listens on is taken: doctor reports it instead of failing
    transport::DoctorOptions busy;
    busy.listen = peer.listen_endpoint();
    auto rb = transport::doctor(busy);
    CHECK_FALSE(rb.listen);
    CHECK_FALSE(rb.listen_error.empty());
}

TEST_CASE("a pull's amounts show exact bytes when they would look complete", "[transport]") {
    CHECK(transport::amount_of(1 << 20, 3 << 20) == "1.0 MiB of 3.0 MiB");
    CHECK(transport::amount_of(9568256, 9568256) == "9.1 MiB of 9.1 MiB");
    CHECK(transport::amount_of(9568256 - 32768, 9568256) == "9535488 of 9568256 bytes (32768 missing)");
    CHECK(transport::amount_of(0, 0) == "0.0 MiB of 0.0 MiB");
}
