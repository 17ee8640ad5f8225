// Swarm transport, in one process: a SwarmSession on 127.0.0.2 seeds a repository, another on 127.0.0.3 fetches a
// commit from it through the puller API. Files must come out byte-identical, fsck must be clean, an incremental
// pull must fetch only the new packs, and failures must leave the repository untouched.
#include <catch2/catch.hpp>

#include <libtorrent/torrent_info.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "core/checkout.hpp"
#include "core/commit.hpp"
#include "core/maintenance.hpp"
#include "objects/torrent_id.hpp"
#include "transport/pull.hpp"
#include "transport/seeder.hpp"
#include "transport/session.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "seeder_fixture.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::pseudo_random;
using dvt::test::RunningSeeder;
using dvt::test::kind_of;
using dvt::test::write_file;
namespace fs = std::filesystem;

namespace {

Bytes text(std::size_t lines, const std::string& tag) {
    std::string s;
    for (std::size_t i = 0; i < lines; ++i) s += tag + "," + std::to_string(i) + "," + std::to_string(i * 7919 % 10007) + "\n";
    return Bytes(s.begin(), s.end());
}

// path -> bytes of every regular file below root (except .dvt)
std::map<std::string, Bytes> snapshot(const fs::path& root) {
    std::map<std::string, Bytes> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        if (it->path().filename() == ".dvt") {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) out[fs::relative(it->path(), root).string()] = util::read_file(it->path());
    }
    return out;
}

core::InitOptions small_packs() {
    core::InitOptions o;
    o.pack_size = 1 << 20;  // several packs for a few MiB
    return o;
}

Hash32 commit_all(core::Repository& repo, const std::string& msg) {
    core::CommitOptions o;
    o.message = msg;
    return core::create_commit(repo, o).id;
}

}  // namespace

TEST_CASE("addresses and commit ids given on the command line are checked", "[transport]") {
    auto ep = transport::parse_endpoint("127.0.0.2:6881", "peer", false);
    CHECK(ep.address().to_string() == "127.0.0.2");
    CHECK(ep.port() == 6881);
    CHECK(transport::endpoint_string(transport::parse_endpoint("[::1]:80", "peer", false)) == "[::1]:80");
    for (const char* bad : {"127.0.0.2", "127.0.0.2:", "127.0.0.2:99999", "localhost:80", "0.0.0.0:80", "1.2.3:80",
                            "::1:80", "[::1]80", "127.0.0.2:0", "127.0.0.2:80x"})
        CHECK(kind_of([&] { transport::parse_endpoint(bad, "peer", false); }) == ErrorKind::usage);
    CHECK(transport::parse_endpoint("127.0.0.2:0", "listen", true).port() == 0);

    std::string id(64, 'a');
    CHECK(transport::parse_commit_id(id).hex() == id);
    CHECK(transport::parse_commit_id(std::string(64, 'A')).hex() == id);
    for (std::string bad : {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'g'), std::string("HEAD")})
        CHECK(kind_of([&] { transport::parse_commit_id(bad); }) == ErrorKind::usage);
}

TEST_CASE("one parser reads every --listen address: IP, IP:PORT, [v6], [v6]:PORT", "[transport]") {
    using transport::parse_listen_address;
    CHECK(transport::endpoint_string(parse_listen_address("127.0.0.2")) == "127.0.0.2:0");
    CHECK(transport::endpoint_string(parse_listen_address("127.0.0.2:7001")) == "127.0.0.2:7001");
    CHECK(transport::endpoint_string(parse_listen_address("127.0.0.2:0")) == "127.0.0.2:0");
    CHECK(transport::endpoint_string(parse_listen_address("[::1]")) == "[::1]:0");
    CHECK(transport::endpoint_string(parse_listen_address("[::1]:7001")) == "[::1]:7001");
    CHECK(parse_listen_address("[fe80::1]").address().is_v6());
    for (const char* bad : {"", "localhost", "localhost:80", "0.0.0.0", "[::]", "::1", "::1:80", "[::1", "[::1]80",
                            "127.0.0.2:", "127.0.0.2:99999", "1.2.3", "127.0.0.2:80x", "[127.0.0.1]"})
        CHECK(kind_of([&] { parse_listen_address(bad); }) == ErrorKind::usage);
    // dvt serve: the port must be written (0 still picks a free one)
    CHECK(parse_listen_address("127.0.0.2:0", true).port() == 0);
    CHECK(parse_listen_address("[::1]:7001", true).port() == 7001);
    for (const char* bad : {"127.0.0.2", "[::1]"})
        CHECK(kind_of([&] { parse_listen_address(bad, true); }) == ErrorKind::usage);
    // the message names what was written, not the port added to it
    try {
        parse_listen_address("localhost");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("'localhost'") != std::string::npos);
        CHECK(std::string(e.what()).find("[IPv6] or [IPv6]:PORT") != std::string::npos);
    }
}

TEST_CASE("a session listens on the explicit address; a busy port is a network error", "[transport]") {
    transport::SwarmSession a(transport::parse_endpoint("127.0.0.2:0", "listen", true));
    CHECK(a.listen_endpoint().address().to_string() == "127.0.0.2");
    CHECK(a.listen_endpoint().port() != 0);
    CHECK(kind_of([&] { transport::SwarmSession b(a.listen_endpoint()); }) == ErrorKind::network);
}

TEST_CASE("the seeder's torrents have dvt's swarm identities", "[transport]") {
    test::TempDir t("transport");
    auto repo = core::Repository::init(t.path / "a", small_packs());
    write_file(t.path / "a/data.bin", pseudo_random(3 << 20, 1));
    auto id = commit_all(*repo, "v1");
    auto c = transport::commit_seed_params(repo->store(), id);
    CHECK(transport::from_lt(c.ti->info_hashes().v2) == id);
    CHECK(c.renamed_files.at(lt::file_index_t{0}) == "commits/" + id.hex());
    CHECK(c.have_pieces.all_set());
    auto packs = repo->store().packs();
    REQUIRE(packs.size() >= 3);
    for (const auto& p : packs) {
        auto atp = transport::pack_seed_params(repo->store(), p);
        CHECK(transport::from_lt(atp.ti->info_hashes().v2) == objects::pack_info_hash(p.ref.id, p.ref.length));
        CHECK(atp.ti->files().file_name(lt::file_index_t{0}) == objects::pack_torrent_name(p.ref.id));
        CHECK(atp.ti->piece_length() == static_cast<int>(objects::pack_piece_length(p.ref.length)));
        CHECK(atp.have_pieces.all_set());
        CHECK(fs::path(atp.save_path) == repo->store().packs_dir());
    }
}

TEST_CASE("a repository is fetched through the swarm byte-identical, then incrementally", "[transport]") {
    test::TempDir t("transport");
    auto a = core::Repository::init(t.path / "a", small_packs());
    write_file(t.path / "a/data/blob.bin", pseudo_random((3 << 20) + 12345, 2));
    write_file(t.path / "a/data/small.bin", pseudo_random(4096, 3));
    write_file(t.path / "a/docs/readme.txt", text(3, "readme"));
    write_file(t.path / "a/docs/table.csv", text(20000, "table"));
    write_file(t.path / "a/empty.dat", {});
    ::chmod((t.path / "a/docs/readme.txt").c_str(), 0755);
    auto v1 = commit_all(*a, "v1");

    RunningSeeder seed(a->root(), "127.0.0.2");
    CHECK(seed.seeder.counts().commits == 1);
    CHECK(seed.seeder.counts().packs == a->store().packs().size());

    auto b = core::Repository::init(t.path / "b", core::InitOptions{});
    transport::SwarmSession puller(transport::parse_endpoint("127.0.0.3:0", "listen", true));
    transport::PullOptions opts;
    opts.peers = {seed.session.listen_endpoint()};
    opts.timeout = std::chrono::seconds(60);

    auto r1 = transport::fetch(puller, *b, v1, opts, [&] {
        b->refs().update("refs/heads/main", std::nullopt, v1, "test: fetched");
    });
    CHECK(r1.commit_fetched);
    CHECK(r1.packs_fetched == r1.packs_total);
    // every pack of the version, but not its locator's (not part of the version: a whole pull does not fetch it,
    // docs/format.md "Locator")
    auto c1 = a->store().read_commit(v1);
    REQUIRE(c1);
    REQUIRE(c1->locator);
    CHECK(r1.packs_total == a->store().packs().size() - 1);
    CHECK(b->store().packs().size() == r1.packs_total);
    CHECK_FALSE(b->store().pack_by_id(c1->locator->pack));
    CHECK(r1.bytes_downloaded >= r1.bytes_fetched);
    core::checkout(*b, "main", core::CheckoutOptions{});
    CHECK(snapshot(t.path / "b") == snapshot(t.path / "a"));
    CHECK(fs::status(t.path / "b/docs/readme.txt").permissions() == fs::status(t.path / "a/docs/readme.txt").permissions());
    CHECK(!fs::exists(b->store().tmp_dir() / ("pull-" + v1.hex())));
    auto f1 = core::fsck(*b, core::FsckOptions{});
    for (const auto& p : f1.problems) UNSCOPED_INFO(p.what << ": " << p.message);
    CHECK(f1.problems.empty());
    for (const auto& p : b->store().packs())
        CHECK((fs::status(b->store().pack_path(p.ref.id)).permissions() & fs::perms::all) == fs::perms(0444));

    // v2: a small change; only the new packs travel.
    {
        auto blob = util::read_file(t.path / "a/data/blob.bin");
        for (std::size_t i = 0; i < 4096; ++i) blob[1000000 + i] ^= 0x5a;
        write_file(t.path / "a/data/blob.bin", blob);
        write_file(t.path / "a/docs/new.txt", text(10, "new"));
    }
    auto v2 = commit_all(*a, "v2");
    // the seeder picks v2 up on its next rescan (every 200 ms here)
    auto r2 = transport::fetch(puller, *b, v2, opts);
    CHECK(r2.packs_fetched > 0);
    CHECK(r2.packs_fetched < r2.packs_total);
    CHECK(r2.bytes_downloaded < (1u << 20) + 200000);
    CHECK(r2.bytes_downloaded < r1.bytes_downloaded / 2);
    core::checkout(*b, v2.hex(), core::CheckoutOptions{});
    CHECK(snapshot(t.path / "b") == snapshot(t.path / "a"));
    auto f2 = core::fsck(*b, core::FsckOptions{});
    for (const auto& p : f2.problems) UNSCOPED_INFO(p.what << ": " << p.message);
    CHECK(f2.problems.empty());
}

TEST_CASE("a commit nobody serves times out with no_peers and changes nothing", "[transport]") {
    test::TempDir t("transport");
    auto a = core::Repository::init(t.path / "a", core::InitOptions{});
    write_file(t.path / "a/x.txt", text(10, "x"));
    commit_all(*a, "v1");
    RunningSeeder seed(a->root(), "127.0.0.2");

    auto b = core::Repository::init(t.path / "b", core::InitOptions{});
    transport::SwarmSession puller(transport::parse_endpoint("127.0.0.3:0", "listen", true));
    transport::PullOptions opts;
    opts.timeout = std::chrono::seconds(2);
    Hash32 unknown = sha256(std::string_view("nobody has this"));

    auto before_packs = b->store().packs().size();
    SECTION("a peer that does not have it") {
        opts.peers = {seed.session.listen_endpoint()};
    }
    SECTION("a peer that is not there") {
        opts.peers = {transport::parse_endpoint("127.0.0.9:9", "peer", false)};
    }
    auto start = std::chrono::steady_clock::now();
    CHECK(kind_of([&] { transport::fetch(puller, *b, unknown, opts); }) == ErrorKind::no_peers);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK(!b->store().has_commit(unknown));
    CHECK(b->store().packs().size() == before_packs);
    CHECK(fs::is_empty(b->store().tmp_dir()));
}

TEST_CASE("a seeder serving damaged pack bytes gets nothing into the puller's repository", "[transport]") {
    test::TempDir t("transport");
    auto a = core::Repository::init(t.path / "a", small_packs());
    write_file(t.path / "a/blob.bin", pseudo_random(3 << 20, 5));
    auto v1 = commit_all(*a, "v1");
    // damage the largest pack on the seeder's disk (the seeder trusts its packs and does not re-hash them)
    auto packs = a->store().packs();
    auto big = *std::max_element(packs.begin(), packs.end(),
                                 [](const auto& x, const auto& y) { return x.ref.length < y.ref.length; });
    {
        std::fstream f(a->store().pack_path(big.ref.id), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(big.ref.length / 2));
        const char junk[64] = "this is not the byte sequence the pack id promises";
        f.write(junk, sizeof junk);
    }
    RunningSeeder seed(a->root(), "127.0.0.2");

    auto b = core::Repository::init(t.path / "b", core::InitOptions{});
    transport::SwarmSession puller(transport::parse_endpoint("127.0.0.3:0", "listen", true));
    transport::PullOptions opts;
    opts.peers = {seed.session.listen_endpoint()};
    opts.timeout = std::chrono::seconds(4);
    std::string message;
    try {
        transport::fetch(puller, *b, v1, opts);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::no_peers);
        message = e.what();
    }
    INFO(message);
    CHECK(message.find("failed verification") != std::string::npos);
    CHECK(!b->store().has_commit(v1));
    CHECK(b->store().packs().empty());
    CHECK(fs::is_empty(b->store().packs_dir()));
    CHECK(fs::is_empty(b->store().tmp_dir()));
}

TEST_CASE("clone and pull: refs, fast-forward and an incremental pull", "[transport]") {
    test::TempDir t("transport");
    auto a = core::Repository::init(t.path / "a", small_packs());
    write_file(t.path / "a/blob.bin", pseudo_random(2 << 20, 4));
    auto v1 = commit_all(*a, "v1");
    RunningSeeder seed(a->root(), "127.0.0.2");

    transport::PullOptions opts = seed.pull_options(std::chrono::seconds(60));

    // a non-empty destination is refused before anything happens
    fs::create_directories(t.path / "full");
    write_file(t.path / "full/x", text(1, "x"));
    CHECK(kind_of([&] { transport::clone(v1, t.path / "full", opts); }) == ErrorKind::conflict);

    auto c = transport::clone(v1, t.path / "c", opts);
    CHECK(c.checkout.branch == std::optional<std::string>("main"));
    CHECK(snapshot(t.path / "c") == snapshot(t.path / "a"));

    write_file(t.path / "a/more.txt", text(100, "more"));
    auto v2 = commit_all(*a, "v2");
    auto repo = core::Repository::open(t.path / "c");
    auto p = transport::pull(*repo, v2, opts, false);
    CHECK(p.fast_forward);
    CHECK(p.checkout.branch == std::optional<std::string>("main"));
    CHECK(repo->refs().read("refs/heads/main") == v2);
    CHECK(repo->refs().read("refs/remotes/swarm/fetched") == v2);
    CHECK(p.fetch.packs_fetched < p.fetch.packs_total);
    CHECK(snapshot(t.path / "c") == snapshot(t.path / "a"));
    CHECK(core::fsck(*repo, core::FsckOptions{}).problems.empty());

    // pulling what is already here needs no peer at all
    transport::PullOptions nobody;
    nobody.peers = {transport::parse_endpoint("127.0.0.9:9", "peer", false)};
    auto again = transport::pull(*repo, v2, nobody, false);
    CHECK(again.fetch.packs_fetched == 0);

    // a failed clone leaves nothing behind
    transport::PullOptions short_opts = opts;
    short_opts.timeout = std::chrono::seconds(1);
    CHECK(kind_of([&] { transport::clone(sha256(std::string_view("absent")), t.path / "d", short_opts); }) ==
          ErrorKind::no_peers);
    CHECK(!fs::exists(t.path / "d"));
}
