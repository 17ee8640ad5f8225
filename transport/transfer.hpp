// Transfer: the torrents of one pull in one session, and the libtorrent alert loop that drives them (internal to
// transport/; transport/fetch.cpp is its one user). docs/transport.md, "Pulling".
//
// Contract:
//  - run() polls the session until every item is done (whole torrent seeding, or every wanted piece present and
//    verified by libtorrent), the pull's deadline passes (ErrorKind::no_peers, naming each peer, tracker and what it
//    said) or PullOptions::interrupted() returns true (Interrupted).
//  - The main loop never asks a torrent for its status one by one: every 250 ms it asks libtorrent to post the status
//    of the torrents that changed (post_torrent_updates -> state_update_alert), so its work per tick follows the
//    active torrents, not the number of packs (a pull of a thousand packs made ~4,000 blocking status calls a second).
//  - libtorrent's resume data of every pack is saved every second while running (of the torrents modified since their
//    last save; a complete pack once more) and by close(), so a pull that dies resumes without fetching verified
//    pieces again. The files are written by a ResumeWriter (transport/resume_writer.hpp) on a thread of its own, in
//    batches; close() returns once they are written.
//  - A pack item with `verify` set is verified (verify_pack, transport/verify_received.hpp) on a worker as soon as it
//    is complete; finish_verifying() returns only when every such item has been verified (or failed).
//  - At most kMaxActive torrents that are not complete are in the session at once: the others wait in a queue
//    (enqueue()) and are added, in order, as earlier ones complete. A commit naming very many packs (a hostile one
//    names a million) costs a small queue entry per pack, not a torrent, and the deadline is checked between adds.
//  - At most kMaxSeeding complete packs (whole, or every wanted piece present) stay active to serve other pullers;
//    the others are paused (no connections), and a pack's writeback descriptor is closed once it is complete: a
//    pull's descriptors do not grow with the number of packs (docs/transport.md, "Descriptors"). A paused pack that
//    is then asked for more pieces (want(): a fetch in stages) is resumed within the kMaxActive bound.
//  - close() (also run by the destructor) saves the resume data, makes libtorrent write out and close the files
//    (flush_cache -> cache_flushed_alert) and removes the torrents, so the caller may read, rename or delete them.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <libtorrent/torrent_info.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "objects/pack.hpp"
#include "transport/pull.hpp"
#include "transport/resume_writer.hpp"
#include "transport/session.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

using Clock = std::chrono::steady_clock;

// What a torrent moved, libtorrent's running totals: payload received, everything received (protocol overhead
// included), payload sent to other peers; and, over a whole transfer (Transfer::traffic), the pieces that failed their
// hash check (hash_failed_alert) and the peers libtorrent banned for sending them (peer_ban_alert).
struct Traffic {
    std::int64_t payload = 0, received = 0, uploaded = 0;
    std::int64_t pieces_failed = 0;
    std::set<std::string> banned;  // "IP:PORT"
    Traffic& operator+=(const Traffic& o) {
        payload += o.payload;
        received += o.received;
        uploaded += o.uploaded;
        pieces_failed += o.pieces_failed;
        banned.insert(o.banned.begin(), o.banned.end());
        return *this;
    }
};

// "9.0 MiB of 9.1 MiB", or exact bytes when both would print the same but differ (a pull short of one piece).
std::string amount_of(std::uint64_t done, std::uint64_t total);

struct Item {
    std::string name;  // torrent name: "dvt-commit" or "<id>.pack"
    Hash32 id;
    std::uint64_t length = 0;  // 0 until known (a commit before its metadata)
    lt::torrent_handle handle;
    bool done = false;
    Traffic traffic;
    std::uint64_t verified = 0;  // bytes of wanted pieces present and verified (libtorrent's total_wanted_done)
    int peers = 0;
    bool kick_when_checked = false;  // added with metadata (see Transfer::handle)
    std::filesystem::path resume;                 // packs: where libtorrent's resume data is kept (partial/<id>.resume)
    std::optional<std::vector<bool>> wanted;  // pieces to fetch; nullopt = the whole torrent
    std::uint64_t wanted_bytes = 0;
    lt::typed_bitfield<lt::piece_index_t> have;  // pieces present, as of the last refresh
    lt::typed_bitfield<lt::piece_index_t> have_whole;  // the same for a torrent fetched whole (timeout message only)
    bool saving = false;
    bool saved_done = false;  // a save was asked for after it was complete: nothing changes any more
    bool has_metadata = false;  // as of the last status (only a torrent with metadata has storage)
    lt::sha1_hash dht_hash;  // its info-hash (v2, truncated) for DHT lookups, read once when added
    bool ahead = false;  // has pieces wanted in the background (want() with `ahead`): not parked
    bool parked = false;  // complete and paused: no more connections (Transfer::park_finished; fill resumes it when
                          // want() asks for pieces it lacks)
    Clock::time_point added;  // when the torrent was added to the session
    std::filesystem::path file;            // packs: the file libtorrent writes (partial/<id>.pack)
    util::Fd writeback;       // opened on the first writeback tick (Transfer::start_writeback)
    std::optional<objects::PackRef> verify;  // a pack fetched whole: verified as soon as it is complete
    std::future<objects::SealedPack> sealed;  // that verification, in the background (Transfer::start_verifying)
};

class Transfer {
public:
    Transfer(SwarmSession& s, const Hash32& commit, const PullOptions& o, Clock::time_point start,
             Clock::time_point deadline)
        : m_s(s), m_commit(commit), m_opts(o), m_start(start), m_deadline(deadline) {}
    ~Transfer() {
        try {
            close();
        } catch (...) {
        }
    }

    // At most this many torrents that are not complete at once (enqueue()).
    static constexpr std::size_t kMaxActive = 64;
    // At most this many complete whole packs stay active (serving other pullers); older ones are paused.
    static constexpr std::size_t kMaxSeeding = 32;
    // At most this many pack verifications at once (start_verifying()).
    static constexpr std::size_t kVerifyThreads = 4;

    // Starts one pack's verification and gives its future result. The default runs `verify` (verify_pack on the
    // received file) on a thread of its own; a unit test replaces it (a pool of one whose verifications are done
    // before they are returned forces the ordering in which finish_verifying() used to skip complete packs).
    using VerifyLauncher =
        std::function<std::future<objects::SealedPack>(const Item&, std::function<objects::SealedPack()> verify)>;
    void set_verification(std::size_t threads, VerifyLauncher launch) {
        m_verify_threads = std::max<std::size_t>(1, threads);
        m_launch = std::move(launch);
    }

    Item& add(Item it, lt::add_torrent_params atp);

    // Queues a torrent of `length` bytes: run() calls `start` (which calls add()) when fewer than kMaxActive
    // torrents are incomplete, before the deadline.
    void enqueue(std::uint64_t length, std::function<void()> start);

    // Fetch only these pieces of `it` (the others get priority 0); what is already present stays.
    void want(Item& it, const std::vector<bool>& pieces, std::uint32_t piece_length);
    // The same, and also the pieces of `ahead` (a libtorrent priority per piece, 1-3: below the wanted pieces' 4; 0
    // for none): fetched while the torrent is in the session, also between runs, but not waited for (run() ends when
    // `pieces` are present; a lazy reader's read-ahead). Such a torrent is never parked (park_finished).
    void want(Item& it, const std::vector<bool>& pieces, std::uint32_t piece_length,
              const std::vector<std::uint8_t>& ahead);

    // A transfer that lives across many fetches (transport/lazy_source.cpp) moves the deadline before each run(),
    // and asks for torrent status more often than every 250 ms (a read waits for the pieces it wants).
    void set_deadline(Clock::time_point start, Clock::time_point deadline) {
        m_start = start;
        m_deadline = deadline;
    }
    void set_status_interval(std::chrono::milliseconds every) { m_status_every = every; }

    // `on_metadata` validates a torrent whose metadata arrived from peers.
    void run(std::uint64_t base_done, std::uint64_t base_total, bool have_commit,
             const std::function<void(Item&, const lt::torrent_info&)>& on_metadata = {});

    // Starts verifying (verify_pack) every complete pack that asks for it, each on a thread of its own, while the
    // other packs still arrive. Its piece layer comes from dvt's disk I/O when this session hashed every piece
    // (SwarmSession::piece_layer); else the file is hashed again. The fsync waits for the disk; one pack after the
    // other at the end of the pull, verification took 1.7 s for 4 packs (8 pullers on one host).
    // At most kVerifyThreads (set_verification) at a time (a clone of 2 GB completes ~30 packs within a few seconds).
    void start_verifying();

    // After run(): starts the verifications not started yet and waits for all of them.
    void finish_verifying();

    void close();

    std::deque<Item>& items() { return m_items; }
    // Over every torrent of the transfer, also the ones close() removed, as of the last status (run(), close(), or
    // update_status(): a lazy source's torrents download between runs).
    Traffic traffic() const;
    void update_status() { refresh(); }

private:
    // Starts writing the received bytes of every pack out to disk (sync_file_range, asynchronous), so that the fsync
    // before the import (verify_pack) finds little left to write: it would otherwise write a whole pack at the end of
    // the pull, while nothing else happens (measured: 0.6 s per 256 MiB on one puller, 2.8 s with 8 on one host).
    void start_writeback();

    std::uint64_t payload_done() const;

    Item* find(const lt::torrent_handle& h);

    void save_resume(lt::resume_data_flags_t flags);

    void handle(lt::alert* a, const std::function<void(Item&, const lt::torrent_info&)>& on_metadata);

    // Asks libtorrent for the status of the torrents changed since the last ask (handled as state_update_alert).
    void request_updates();
    // The status of every torrent of the transfer now, in one call (at the end of run(), timeout(), close()).
    void refresh();
    void apply(const lt::torrent_status& st);

    [[noreturn]] void timeout(bool have_commit);

    // Records, for the incomplete items (`all`; else only those that made no progress since the last call), which of
    // their missing wanted pieces each connected peer lacks (get_peer_info). Called by timeout() only: called every
    // second while running, these blocking calls stalled LAN-discovery pulls (t112: 2 pieces never arrived), so a
    // peer that left earlier is known to lack data only when libtorrent let it go for that reason
    // (not_interested_upload_only, handle()).
    void note_missing(bool all);

    // Pauses the complete whole packs beyond the kMaxSeeding most recently added: each would keep its connection to
    // every peer (close_redundant_connections is off, transport/session.cpp), so a pull's sockets, and the server's,
    // would grow with the number of packs past the common limit of 1,024 descriptors. A paused pack is still
    // verified and imported.
    void park_finished();

    // Starts queued torrents while fewer than kMaxActive are incomplete and the deadline has not passed.
    void fill();

    struct Pending {
        std::uint64_t length;
        std::function<void()> start;
    };
    std::deque<Pending> m_pending;
    std::uint64_t m_pending_bytes = 0;

    SwarmSession& m_s;
    Hash32 m_commit;
    const PullOptions& m_opts;
    Clock::time_point m_start, m_deadline;
    std::deque<Item> m_items;
    std::unordered_map<lt::torrent_handle, Item*> m_by_handle;  // into m_items (a deque: push_back keeps them valid)
    ResumeWriter m_resume;
    Traffic m_removed;  // of the torrents close() removed
    std::map<std::string, std::string> m_peer_errors;
    std::set<std::string> m_connected;
    struct Lack {
        std::size_t pieces = 0;  // missing wanted pieces it did not have, at the last look
        std::string pack;        // the first torrent it lacked them of ("dvt-commit" or "<id>.pack")
    };
    std::map<std::string, Lack> m_lacks;                 // by peer "IP:PORT"
    std::map<const Item*, std::uint64_t> m_last_verified;  // note_missing: progress at its last call
    std::set<std::string> m_banned;
    std::map<std::string, std::string> m_tracker_errors;
    int m_hash_failures = 0;
    std::size_t m_verify_threads = kVerifyThreads;
    std::chrono::milliseconds m_status_every{250};
    VerifyLauncher m_launch;  // empty: std::async
};

// fetch.cpp, also used by lazy_source.cpp: the torrent of a pack being fetched into partial/ (from its resume data, a
// mirror's .torrent, or its info dict alone), and the pieces of a pack of `length` bytes (pieces of `piece` bytes)
// that hold the byte ranges (offset, length).
lt::add_torrent_params pack_fetch_params(objects::ObjectStore& store, const objects::PackRef& p,
                                         const std::vector<std::string>& web_seeds, Clock::time_point deadline);
std::vector<bool> pieces_for(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges, std::uint64_t length,
                             std::uint32_t piece);

}  // namespace dvt::transport
