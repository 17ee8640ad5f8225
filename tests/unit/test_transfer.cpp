// The pull's transfer (transport/transfer.hpp): every complete pack that asks for verification is verified before
// finish_verifying() returns, whatever the order in which verifications finish, and no more than the pool's size run
// at once. The packs are real torrents in a real session (seeded from files in a temporary directory); only the
// verification itself is replaced, to control when it finishes.
#include <catch2/catch.hpp>

#include <libtorrent/load_torrent.hpp>
#include <libtorrent/read_resume_data.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "objects/pack.hpp"
#include "objects/torrent_id.hpp"
#include "transport/session.hpp"
#include "transport/transfer.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::pseudo_random;
using dvt::test::TempDir;
using dvt::test::write_file;
namespace fs = std::filesystem;

namespace {

// `n` complete packs (real packs of a few pseudo-random chunks, written with PackWriter into `dir`, seeded: every
// piece present) added to `t` as a pull adds them, each asking for verification, then marked complete as refresh()
// marks a seeding torrent.
void add_complete_packs(transport::Transfer& t, const fs::path& dir, int n, bool mark_done = true) {
    fs::create_directories(dir / "tmp");
    for (int k = 0; k < n; ++k) {
        objects::PackWriter w(dir / "tmp", dir);
        for (int c = 0; c < 3; ++c) {
            Bytes chunk = pseudo_random(7000 + 1000 * static_cast<std::size_t>(c), static_cast<unsigned>(k * 10 + c + 1));
            w.append(objects::ObjectType::chunk, sha256(chunk.data(), chunk.size()), objects::Compression::none,
                     static_cast<std::uint32_t>(chunk.size()), chunk);
        }
        objects::SealedPack sp = w.seal();
        std::string name = objects::pack_torrent_name(sp.ref.id);
        REQUIRE(sp.path == dir / name);
        auto piece = objects::pack_piece_length(sp.ref.length);
        Bytes torrent = objects::torrent_file(name, sp.ref.length, sp.ref.id, piece, sp.piece_layer);
        auto atp = lt::load_torrent_buffer(
            {reinterpret_cast<const char*>(torrent.data()), static_cast<std::ptrdiff_t>(torrent.size())});
        atp.save_path = dir.string();
        atp.have_pieces.resize(atp.ti->num_pieces(), true);
        transport::Item it;
        it.name = name;
        it.id = sp.ref.id;
        it.length = sp.ref.length;
        it.file = sp.path;
        it.verify = sp.ref;
        it.resume = dir / (sp.ref.id.hex() + ".resume");
        auto& added = t.add(std::move(it), std::move(atp));
        REQUIRE(added.handle.is_valid());
        added.done = mark_done;
    }
}

}  // namespace

TEST_CASE("finish_verifying verifies every complete pack, also when each verification ends before it is counted",
          "[transport][transfer]") {
    // The ordering that lost packs ("pack ... is still missing after the import"): more complete packs than
    // verification threads, and every started verification already finished when finish_verifying looks for running
    // ones. A pool of one whose launcher runs the verification before it returns forces it every time: the old
    // finish_verifying (return when none is running) verified one pack of twelve here.
    TempDir dir("transfer");
    transport::SwarmSession s(transport::parse_endpoint("127.0.0.1:0", "listen", true));
    transport::PullOptions o;
    auto now = transport::Clock::now();
    transport::Transfer t(s, Hash32{}, o, now, now + std::chrono::minutes(1));
    std::mutex mu;
    std::set<Hash32> verified;
    int launched = 0;
    t.set_verification(1, [&](const transport::Item& i, std::function<objects::SealedPack()>) {
        std::promise<objects::SealedPack> done;
        objects::SealedPack sp;
        sp.ref = *i.verify;
        {
            std::lock_guard g(mu);
            ++launched;
            verified.insert(i.id);
        }
        done.set_value(sp);
        return done.get_future();  // ready before start_verifying counts the running ones
    });
    constexpr int kPacks = 12;
    add_complete_packs(t, dir.path, kPacks);
    t.finish_verifying();
    CHECK(launched == kPacks);  // each once
    CHECK(verified.size() == static_cast<std::size_t>(kPacks));
    for (auto& i : t.items()) {
        REQUIRE(i.sealed.valid());
        CHECK(i.sealed.get().ref.id == i.id);
    }
}

TEST_CASE("the transfer's verifications run on workers, at most the pool's size at once, and all of them end",
          "[transport][transfer]") {
    // The real verification (verify_pack on the received file: its merkle root against the pack id, its index and
    // records), each slowed down so that they overlap: at most two at a time, and every pack verified.
    TempDir dir("transfer");
    transport::SwarmSession s(transport::parse_endpoint("127.0.0.1:0", "listen", true));
    transport::PullOptions o;
    auto now = transport::Clock::now();
    transport::Transfer t(s, Hash32{}, o, now, now + std::chrono::minutes(1));
    std::atomic<int> running{0}, most{0}, started{0};
    t.set_verification(2, [&](const transport::Item&, std::function<objects::SealedPack()> verify) {
        ++started;
        return std::async(std::launch::async, [&, verify = std::move(verify)] {
            int now_running = ++running;
            for (int m = most; now_running > m && !most.compare_exchange_weak(m, now_running);) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            --running;
            return verify();
        });
    });
    constexpr int kPacks = 7;
    add_complete_packs(t, dir.path, kPacks);
    t.finish_verifying();
    CHECK(started == kPacks);
    CHECK(most <= 2);
    CHECK(most >= 1);
    for (auto& i : t.items()) {
        REQUIRE(i.sealed.valid());
        auto sp = i.sealed.get();
        CHECK(sp.ref == *i.verify);
        CHECK(sp.entries.size() == 3);
    }
}

TEST_CASE("run() learns from the session's status updates which packs are complete, and close() leaves every pack's "
          "resume data on disk", "[transport][transfer]") {
    // The packs are seeds from the start; nothing marks them done but the status the transfer gets from libtorrent
    // (one call for all at the start of run(), then state_update_alerts). close() saves each pack's resume data,
    // written by the transfer's ResumeWriter, and returns only once the files are there, each listing every piece.
    TempDir dir("transfer");
    transport::SwarmSession s(transport::parse_endpoint("127.0.0.1:0", "listen", true));
    transport::PullOptions o;
    auto now = transport::Clock::now();
    transport::Transfer t(s, Hash32{}, o, now, now + std::chrono::seconds(30));
    constexpr int kPacks = 40;
    add_complete_packs(t, dir.path, kPacks, false);
    std::vector<std::pair<fs::path, int>> expect;
    for (auto& i : t.items()) {
        CHECK_FALSE(i.done);
        expect.emplace_back(i.resume, 0);
    }
    auto t0 = transport::Clock::now();
    t.run(0, 0, true);  // a pack never marked complete would end in no_peers at the deadline (30 s)
    CHECK(transport::Clock::now() - t0 < std::chrono::seconds(20));
    std::size_t k = 0;
    for (auto& i : t.items()) {
        CHECK(i.done);
        CHECK(i.has_metadata);
        CHECK(i.verified == i.length);
        expect[k++].second = i.handle.torrent_file()->num_pieces();
    }
    t.close();
    CHECK(t.items().empty());
    for (const auto& [path, pieces] : expect) {
        auto text = util::try_read_text(path);
        REQUIRE(text);
        lt::error_code ec;
        auto atp = lt::read_resume_data({text->data(), static_cast<std::ptrdiff_t>(text->size())}, ec);
        REQUIRE_FALSE(ec);
        CHECK(atp.have_pieces.size() == pieces);
        CHECK(atp.have_pieces.count() == pieces);
    }
    // no temp file of the writer is left beside them
    for (const auto& e : fs::directory_iterator(dir.path))
        CHECK_FALSE(e.path().filename().string().starts_with(".tmp-"));
}
