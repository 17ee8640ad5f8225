#include "transport/puller.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <algorithm>
#include <cctype>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "objects/torrent_id.hpp"
#include "transport/lsd.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/http.hpp"
#include "core/tree.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Hash32 parse_commit_id(std::string_view text) {
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto h = lower.size() == 64 && std::all_of(lower.begin(), lower.end(),
                                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })
                 ? Hash32::from_hex(lower)
                 : std::nullopt;
    if (!h)
        throw Error(ErrorKind::usage,
                    "'" + std::string(text) + "' is not a commit id (a swarm fetch needs the full 64-hex-digit id)");
    if (*h == Hash32{}) throw Error(ErrorKind::usage, "the all-zero id names no commit");
    return *h;
}

namespace {

// Largest commit file a puller accepts (a commit lists packs at ~150 bytes each: this is ~100,000 packs).
constexpr std::uint64_t kMaxCommitSize = 16u << 20;

std::string mib(std::uint64_t n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
    return buf;
}

// .dvt/tmp/pull-<id>/: locked with flock on the directory itself against a concurrent pull of the same commit;
// stale contents (a killed earlier run) are cleared. The directory is removed when the object is destroyed.
class PullDir {
public:
    PullDir(const fs::path& tmp_root, const Hash32& id) : m_path(tmp_root / ("pull-" + id.hex())) {
        for (int attempt = 0; attempt < 10; ++attempt) {
            std::error_code ec;
            fs::create_directories(m_path, ec);
            if (ec) throw Error(ErrorKind::io, "cannot create " + m_path.string() + ": " + ec.message());
            int fd = ::open(m_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                if (errno == ENOENT) continue;  // removed by the pull that held it: try again
                throw_errno("cannot open " + m_path.string());
            }
            util::Fd guard(fd);
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                if (errno == EWOULDBLOCK)
                    throw Error(ErrorKind::conflict,
                                "another pull of commit " + id.hex() + " into this repository is in progress");
                throw_errno("cannot lock " + m_path.string());
            }
            struct stat a, b;
            if (::fstat(fd, &a) != 0 || ::stat(m_path.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
                continue;  // we locked a directory that was removed in between
            m_fd = std::move(guard);
            std::vector<fs::path> stale;
            for (const auto& de : fs::directory_iterator(m_path)) stale.push_back(de.path());
            for (const auto& p : stale) fs::remove_all(p);
            return;
        }
        throw Error(ErrorKind::conflict, "cannot take " + m_path.string() + " (concurrent pulls of the same commit)");
    }
    ~PullDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    PullDir(const PullDir&) = delete;
    PullDir& operator=(const PullDir&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
    util::Fd m_fd;
};

// What a torrent moved, libtorrent's running totals: payload received, everything received (protocol overhead
// included), payload sent to other peers.
struct Traffic {
    std::int64_t payload = 0, received = 0, uploaded = 0;
    Traffic& operator+=(const Traffic& o) {
        payload += o.payload;
        received += o.received;
        uploaded += o.uploaded;
        return *this;
    }
};

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
    fs::path resume;                 // packs: where libtorrent's resume data is kept (partial/<id>.resume)
    std::optional<std::vector<bool>> wanted;  // pieces to fetch; nullopt = the whole torrent
    std::uint64_t wanted_bytes = 0;
    lt::typed_bitfield<lt::piece_index_t> have;  // pieces present, as of the last refresh
    bool saving = false;
    Clock::time_point added;  // when the torrent was added to the session
    fs::path file;            // packs: the file libtorrent writes (partial/<id>.pack)
    util::Fd writeback;       // opened on the first writeback tick (Transfer::start_writeback)
    std::optional<objects::PackRef> verify;  // a pack fetched whole: verified as soon as it is complete
    std::future<objects::SealedPack> sealed;  // that verification, in the background (Transfer::start_verifying)
};

objects::SealedPack verify_pack(const fs::path& file, const objects::PackRef& ref, const Bytes& layer);
template <class F>
auto with_settle_retries(F&& f) -> decltype(f());

// The torrents of one pull, in one session: runs download phases until the items are done, with the pull's deadline,
// interruption and progress; keeps libtorrent's resume data of every pack up to date (every 2 s and at the end), so
// a pull that dies resumes without fetching verified pieces again. close() (also run by the destructor) saves the
// resume data, makes libtorrent write out and close the files (flush_cache -> cache_flushed_alert) and removes the
// torrents, so the caller may read, rename or delete the files.
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

    Item& add(Item it, lt::add_torrent_params atp) {
        // With the DHT, a pull only looks peers up (lookup_peers), it never announces: libtorrent 2.0.8 puts every
        // node that sends announce_peer (or put) into the receiver's routing table even when the sender is a
        // read-only node, so each short-lived pull would leave a dead node behind, and later lookups that reach it
        // wait 15 s for its timeout. (A pull still serves the peers that find it through the seeder, by PEX.)
        if (m_opts.dht.enabled) atp.flags |= lt::torrent_flags::disable_dht;
        atp.peers = m_opts.peers;
        atp.trackers = m_opts.trackers;
        // mirrors (BEP 19): packs at <base>/packs/<id>.pack, commits at <base>/commits/<id>/dvt-commit
        for (const auto& w : m_opts.web_seeds) {
            std::string base = w.ends_with('/') ? w : w + "/";
            atp.url_seeds.push_back(it.name == objects::kCommitTorrentName ? base + "commits/" + it.id.hex() + "/"
                                                                           : base + "packs/");
        }
        it.handle = m_s.add_torrent(std::move(atp));
        it.added = Clock::now();
        m_items.push_back(std::move(it));
        return m_items.back();
    }

    // Fetch only these pieces of `it` (the others get priority 0); what is already present stays.
    void want(Item& it, const std::vector<bool>& pieces, std::uint32_t piece_length) {
        std::vector<lt::download_priority_t> prio(pieces.size(), lt::dont_download);
        it.wanted_bytes = 0;
        for (std::size_t i = 0; i < pieces.size(); ++i)
            if (pieces[i]) {
                prio[i] = lt::default_priority;
                it.wanted_bytes += std::min<std::uint64_t>(piece_length, it.length - i * std::uint64_t{piece_length});
            }
        it.handle.prioritize_pieces(prio);
        it.wanted = pieces;
        it.done = false;
    }

    // `on_metadata` validates a torrent whose metadata arrived from peers.
    void run(std::uint64_t base_done, std::uint64_t base_total, bool have_commit,
             const std::function<void(Item&, const lt::torrent_info&)>& on_metadata = {}) {
        auto next_status = Clock::now();
        auto next_save = Clock::now() + std::chrono::seconds(1);
        auto next_lookup = Clock::now();
        auto next_lsd = Clock::now();
        while (true) {
            m_s.poll(std::chrono::milliseconds(100), [&](lt::alert* a) { handle(a, on_metadata); });
            if (m_opts.interrupted && m_opts.interrupted()) throw Interrupted();
            if (Clock::now() >= next_status) {
                refresh();
                next_status = Clock::now() + std::chrono::milliseconds(250);
                if (m_opts.progress) {
                    PullProgress p;
                    p.done = base_done + payload_done();
                    p.total = base_total;
                    for (const auto& i : m_items) {
                        p.total += i.wanted ? i.wanted_bytes : i.length;
                        p.peers += i.peers;
                    }
                    p.have_commit = have_commit;
                    m_opts.progress(p);
                }
            }
            if (m_opts.dht.enabled && Clock::now() >= next_lookup) {
                // at once, then every 2 s while a torrent has few peers: a seeder that announced after the first
                // lookup is found only by asking again
                for (auto& i : m_items)
                    if (!i.done && i.peers < 4 && i.handle.is_valid())
                        m_s.native().dht_get_peers(lt::sha1_hash(i.handle.info_hashes().v2.data()));
                next_lookup = Clock::now() + std::chrono::seconds(2);
            }
            if (m_opts.lsd && Clock::now() >= next_lsd) {
                // a torrent announces itself on the LAN when it starts; one that has found nobody asks again (a
                // seeder that starts later, or a lost datagram), at most every 5 s
                for (auto& i : m_items)
                    if (!i.done && i.peers == 0 && i.handle.is_valid() &&
                        Clock::now() - i.added >= std::chrono::seconds(5))
                        i.handle.force_lsd_announce();
                next_lsd = Clock::now() + std::chrono::seconds(5);
            }
            if (Clock::now() >= next_save) {
                start_writeback();
                save_resume(lt::torrent_handle::only_if_modified);
                next_save = Clock::now() + std::chrono::seconds(1);
            }
            start_verifying();
            if (std::all_of(m_items.begin(), m_items.end(), [](const Item& i) { return i.done; })) break;
            if (Clock::now() >= m_deadline) timeout(have_commit);
        }
        refresh();
        start_verifying();
    }

    // Starts verifying (verify_pack) every complete pack that asks for it, each on a thread of its own, while the
    // other packs still arrive. Its piece layer comes from dvt's disk I/O when this session hashed every piece
    // (SwarmSession::piece_layer); else the file is hashed again. The fsync waits for the disk; one pack after the
    // other at the end of the pull, verification took 1.7 s for 4 packs (8 pullers on one host).
    // At most kVerifyThreads at a time (a clone of 2 GB completes ~30 packs within a few seconds).
    void start_verifying() {
        constexpr int kVerifyThreads = 4;
        int running = 0;
        for (auto& i : m_items)
            if (i.sealed.valid() && i.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ++running;
        for (auto& i : m_items) {
            if (running >= kVerifyThreads) break;
            if (!i.done || !i.verify || i.sealed.valid() || !i.handle.is_valid()) continue;
            i.sealed = std::async(std::launch::async, [file = i.file, ref = *i.verify, l = m_s.piece_layer(i.file.string())] {
                return with_settle_retries([&] { return verify_pack(file, ref, l.value_or(Bytes{})); });
            });
            ++running;
        }
    }

    // After run(): starts the verifications not started yet and waits for all of them.
    void finish_verifying() {
        while (true) {
            start_verifying();
            auto busy = std::find_if(m_items.begin(), m_items.end(), [](const Item& i) {
                return i.sealed.valid() && i.sealed.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
            });
            if (busy == m_items.end()) return;
            busy->sealed.wait();
        }
    }

    void close() {
        if (m_items.empty()) return;
        refresh();
        for (auto& i : m_items) {
            if (!i.handle.is_valid()) continue;
            m_removed += i.traffic;
            i.traffic = {};
            i.handle.pause();
        }
        save_resume({});
        std::vector<lt::torrent_handle> flushing;
        for (auto& i : m_items)
            if (i.handle.is_valid() && i.handle.status({}).has_metadata) {  // only a torrent with metadata has storage
                i.handle.flush_cache();
                flushing.push_back(i.handle);
            }
        auto until = Clock::now() + std::chrono::seconds(10);
        auto saving = [&] { return std::any_of(m_items.begin(), m_items.end(), [](const Item& i) { return i.saving; }); };
        while ((!flushing.empty() || saving()) && Clock::now() < until)
            m_s.poll(std::chrono::milliseconds(100), [&](lt::alert* a) {
                if (auto* c = lt::alert_cast<lt::cache_flushed_alert>(a)) std::erase(flushing, c->handle);
                else handle(a, {});
            });
        for (auto& i : m_items)
            if (i.handle.is_valid()) m_s.native().remove_torrent(i.handle);
        m_items.clear();
    }

    std::deque<Item>& items() { return m_items; }
    // Over every torrent of the transfer, also the ones close() removed.
    Traffic traffic() const {
        Traffic t = m_removed;
        for (const auto& i : m_items) t += i.traffic;
        return t;
    }

private:
    // Starts writing the received bytes of every pack out to disk (sync_file_range, asynchronous), so that the fsync
    // before the import (verify_pack) finds little left to write: it would otherwise write a whole pack at the end of
    // the pull, while nothing else happens (measured: 0.6 s per 256 MiB on one puller, 2.8 s with 8 on one host).
    void start_writeback() {
        for (auto& i : m_items) {
            if (i.file.empty()) continue;
            if (!i.writeback) {
                int fd = ::open(i.file.c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0) continue;  // not created yet
                i.writeback = util::Fd(fd);
            }
            (void)::sync_file_range(i.writeback.get(), 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint: errors do not matter
        }
    }

    std::uint64_t payload_done() const {
        std::uint64_t n = 0;
        for (const auto& i : m_items) n += i.verified;
        return n;
    }

    Item* find(const lt::torrent_handle& h) {
        for (auto& i : m_items)
            if (i.handle == h) return &i;
        return nullptr;
    }

    void save_resume(lt::resume_data_flags_t flags) {
        for (auto& i : m_items)
            if (!i.resume.empty() && i.handle.is_valid() && !i.saving) {
                i.saving = true;
                i.handle.save_resume_data(flags | lt::torrent_handle::save_info_dict);
            }
    }

    void handle(lt::alert* a, const std::function<void(Item&, const lt::torrent_info&)>& on_metadata) {
        if (auto* rd = lt::alert_cast<lt::save_resume_data_alert>(a)) {
            if (auto* i = find(rd->handle)) {
                i->saving = false;
                std::vector<char> buf = lt::write_resume_data_buf(rd->params);
                util::atomic_write_file(i->resume, std::string_view(buf.data(), buf.size()));
            }
        } else if (auto* rf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
            if (auto* i = find(rf->handle)) i->saving = false;  // e.g. nothing modified since the last save
        } else if (auto* f = lt::alert_cast<lt::torrent_finished_alert>(a)) {
            // "finished" means every piece with a non-zero priority: complete only when seeding
            if (auto* i = find(f->handle); i && !i->wanted && i->handle.status({}).is_seeding) i->done = true;
        } else if (auto* ck = lt::alert_cast<lt::torrent_checked_alert>(a)) {
            // libtorrent 2.0.8 puts a torrent that was added with its metadata on the session's connect list only
            // at the torrent's next one-second tick; resuming it puts it there at once (measured: the first
            // connection of a pack torrent starts ~1 s earlier). Not for a torrent added by hash: its connection
            // is already up when it gets checked, and pausing would drop it.
            if (auto* i = find(ck->handle); i && i->kick_when_checked) {
                i->kick_when_checked = false;
                i->handle.pause();
                i->handle.resume();
            }
        } else if (auto* m = lt::alert_cast<lt::metadata_received_alert>(a)) {
            if (auto* i = find(m->handle))
                if (auto ti = i->handle.torrent_file(); ti && on_metadata) on_metadata(*i, *ti);
        } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
            if (find(e->handle))
                throw Error(ErrorKind::io, "receiving commit " + m_commit.hex() + " failed: " + e->error.message() +
                                               (e->filename()[0] ? std::string(" (") + e->filename() + ")" : ""));
        } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
            if (find(fe->handle))
                throw Error(ErrorKind::io, std::string("cannot write ") + fe->filename() + ": " + fe->error.message());
        } else if (auto* d = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
            if (auto* i = find(d->handle); i && i->done) return;  // a finished torrent lets its peers go
            if (d->error == boost::asio::error::eof || d->error == boost::asio::error::connection_reset)
                m_peer_errors[endpoint_string(d->endpoint)] = "it closed the connection: it does not serve this data";
            else if (d->error)
                m_peer_errors[endpoint_string(d->endpoint)] = d->error.message();
        } else if (auto* pe = lt::alert_cast<lt::peer_error_alert>(a)) {
            if (pe->error) m_peer_errors[endpoint_string(pe->endpoint)] = pe->error.message();
        } else if (auto* c = lt::alert_cast<lt::peer_connect_alert>(a)) {
            m_connected.insert(endpoint_string(c->endpoint));
        } else if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
            std::string why = te->failure_reason()[0] ? te->failure_reason() : te->error.message();
            m_tracker_errors[te->tracker_url()] = why;
        } else if (auto* tr = lt::alert_cast<lt::tracker_reply_alert>(a)) {
            m_tracker_errors[tr->tracker_url()] = "it answered with " + std::to_string(tr->num_peers) + " peers";
        } else if (lt::alert_cast<lt::hash_failed_alert>(a)) {
            ++m_hash_failures;
        } else if (auto* gp = lt::alert_cast<lt::dht_get_peers_reply_alert>(a)) {
            for (auto& i : m_items)
                if (!i.done && i.handle.is_valid() && lt::sha1_hash(i.handle.info_hashes().v2.data()) == gp->info_hash)
                    for (const auto& ep : gp->peers())
                        if (ep != m_s.listen_endpoint()) i.handle.connect_peer(ep);
        }
    }

    void refresh() {
        for (auto& i : m_items) {
            if (!i.handle.is_valid()) continue;
            lt::torrent_status st = i.handle.status(i.wanted ? lt::torrent_handle::query_pieces : lt::status_flags_t{});
            i.traffic = {st.total_payload_download, st.total_download, st.total_payload_upload};
            i.peers = st.num_peers;
            if (!st.has_metadata) continue;
            i.verified = static_cast<std::uint64_t>(std::max<std::int64_t>(0, st.total_wanted_done));
            if (!i.wanted) {
                if (st.is_seeding) i.done = true;
                continue;
            }
            i.have = st.pieces;
            bool all = true;
            for (std::size_t p = 0; p < i.wanted->size() && all; ++p)
                if ((*i.wanted)[p] && (static_cast<int>(p) >= i.have.size() || !i.have.get_bit(lt::piece_index_t(static_cast<int>(p)))))
                    all = false;
            i.done = all;
        }
    }

    [[noreturn]] void timeout(bool have_commit) {
        refresh();
        std::string peers;
        for (const auto& p : m_opts.peers) {
            std::string ep = endpoint_string(p);
            auto err = m_peer_errors.find(ep);
            peers += (peers.empty() ? "" : ", ") + ep;
            if (err != m_peer_errors.end()) peers += " (" + err->second + ")";
            else if (m_connected.count(ep)) peers += " (connected)";
        }
        for (const auto& t : m_opts.trackers) {
            peers += (peers.empty() ? "tracker " : ", tracker ") + t;
            if (auto e = m_tracker_errors.find(t); e != m_tracker_errors.end()) peers += " (" + e->second + ")";
        }
        if (m_opts.dht.enabled) peers += (peers.empty() ? "" : ", ") + std::string("DHT");
        if (m_opts.lsd) peers += (peers.empty() ? "" : ", ") + std::string("LAN discovery");
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_deadline - m_start).count();
        std::string msg;
        if (!have_commit) {
            msg = "no peer delivered commit " + m_commit.hex() + " within " + std::to_string(secs) + " s";
        } else {
            std::uint64_t total = 0;
            for (const auto& i : m_items) total += i.wanted ? i.wanted_bytes : i.length;
            msg = "timed out after " + std::to_string(secs) + " s with " + mib(payload_done()) + " of " + mib(total) +
                  " of commit " + m_commit.hex().substr(0, 12) + " received (kept: a later pull resumes)";
        }
        msg += " (peers: " + peers + ")";
        if (m_hash_failures) msg += "; " + std::to_string(m_hash_failures) + " pieces failed verification";
        throw Error(ErrorKind::no_peers, msg);
    }

    SwarmSession& m_s;
    Hash32 m_commit;
    const PullOptions& m_opts;
    Clock::time_point m_start, m_deadline;
    std::deque<Item> m_items;
    Traffic m_removed;  // of the torrents close() removed
    std::map<std::string, std::string> m_peer_errors;
    std::set<std::string> m_connected;
    std::map<std::string, std::string> m_tracker_errors;
    int m_hash_failures = 0;
};

lt::add_torrent_params pack_params(const objects::PackRef& p) {
    // A torrent made of the info dictionary alone: libtorrent fetches the piece layers from peers (BEP 52 hash
    // requests) and checks them against the pieces root, which is the pack id.
    Bytes t;
    put_str(t, "d4:info");
    Bytes info = objects::info_dict(objects::pack_torrent_name(p.id), p.length, p.id, objects::pack_piece_length(p.length));
    t.insert(t.end(), info.begin(), info.end());
    t.push_back('e');
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(t.data()), static_cast<std::ptrdiff_t>(t.size())});
    } catch (const std::exception& e) {
        throw Error(ErrorKind::internal, "libtorrent cannot load the torrent of pack " + p.id.hex() + ": " + e.what());
    }
    if (!atp.ti || from_lt(atp.ti->info_hashes().v2) != objects::pack_info_hash(p.id, p.length))
        throw Error(ErrorKind::internal, "libtorrent's info-hash for pack " + p.id.hex() + " differs from dvt's");
    return atp;
}

// A downloaded pack, verified: its bytes hash to the id, it has the length and index the commit names.
// libtorrent's own mmap disk I/O marked a piece as present once it had hashed it from its store buffer, with the write
// into the file still queued (measured: 10 of 72 pullers in 4- and 8-puller swarms read a stale block right after
// completion). dvt's disk I/O (transport/disk_io.hpp) writes before it reports a hash, but a read that fails
// verification is still retried for a while before the data is called corrupt: in-flight writes land within
// milliseconds, a really bad file stays bad.
template <class F>
auto with_settle_retries(F&& f) -> decltype(f()) {
    auto until = Clock::now() + std::chrono::seconds(5);
    for (int attempt = 0;; ++attempt) {
        try {
            return f();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt || Clock::now() >= until) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 5 ? 20 : 200));
        }
    }
}

// The merkle root of a downloaded pack is checked in one of two ways. With `layer` empty, the whole file is read and
// hashed again. With `layer` (from dvt's disk I/O, when it hashed and wrote every piece during this pull:
// SwarmSession::piece_layer), the layer is checked against the id instead: each piece's hash in it was computed from
// the very buffer that was then written into the file, so the file holds verified bytes and a second pass is not
// needed. (A pack with pieces from resume data has no such layer: those were hashed by an earlier process and, after a
// power loss, may not be on disk.) Either way the length, the index and its offset are checked and the file fsynced.
objects::SealedPack verify_pack(const fs::path& file, const objects::PackRef& ref, const Bytes& layer) {
    std::string what = "pack " + ref.id.hex() + " received from the swarm";
    std::uint32_t piece = objects::pack_piece_length(ref.length);
    if (!layer.empty() && objects::root_from_piece_layer(layer, ref.length, piece) != ref.id)
        throw Error(ErrorKind::corrupt, what + ": its piece layer does not hash to its id");
    util::Fd fd = util::open_read(file);
    std::uint64_t len = util::file_size(fd.get());
    if (len != ref.length)
        throw Error(ErrorKind::corrupt, what + " has " + std::to_string(len) + " bytes, the commit names " +
                                            std::to_string(ref.length));
    objects::SealedPack s;
    s.ref = ref;
    if (layer.empty()) {
        objects::MerkleBuilder m;
        Bytes buf(4 << 20);
        for (std::uint64_t off = 0; off < len;) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), len - off));
            util::pread_all(fd.get(), buf.data(), n, off, file.string());
            m.update(buf.data(), n);
            off += n;
        }
        if (m.root() != ref.id) throw Error(ErrorKind::corrupt, what + " does not hash to its id");
        s.piece_layer = m.piece_layer(piece);
    } else {
        s.piece_layer = layer;
    }
    objects::PackIndex pi = objects::read_pack_index(fd.get(), what);
    if (pi.length != ref.length || pi.index_offset != ref.index_offset)
        throw Error(ErrorKind::corrupt, what + ": its index offset differs from the one the commit names");
    util::fsync_fd(fd.get(), file.string());
    s.entries = std::move(pi.entries);
    return s;
}

bool is_ancestor(core::Repository& repo, const Hash32& ancestor, const Hash32& of) {
    std::set<Hash32> seen{of};
    std::vector<Hash32> stack{of};
    while (!stack.empty()) {
        Hash32 c = stack.back();
        stack.pop_back();
        if (c == ancestor) return true;
        auto commit = repo.store().read_commit(c);  // nullopt past a shallow boundary
        if (!commit) continue;
        for (const auto& p : commit->parents)
            if (seen.insert(p).second) stack.push_back(p);
    }
    return false;
}

}  // namespace

std::unique_ptr<SwarmSession> open_session(const PullOptions& opts) {
    if (opts.peers.empty() && opts.trackers.empty() && opts.web_seeds.empty() && !opts.dht.enabled && !opts.lsd)
        throw Error(ErrorKind::usage,
                    "no peer, tracker, mirror, DHT or LAN discovery given (use --peer IP:PORT, --tracker URL, "
                    "--bootstrap IP:PORT, --dht, --lsd, or a remote)");
    Endpoint listen;
    if (opts.listen) {
        listen = *opts.listen;
    } else if (!opts.peers.empty()) {
        listen = Endpoint(local_address_towards(opts.peers.front()), 0);
    } else if (auto a = opts.trackers.empty() ? std::nullopt : tracker_address(opts.trackers.front())) {
        listen = Endpoint(local_address_towards(Endpoint(*a, 80)), 0);
    } else if (auto w = opts.web_seeds.empty() ? std::nullopt : tracker_address(opts.web_seeds.front())) {
        listen = Endpoint(local_address_towards(Endpoint(*w, 80)), 0);
    } else if (auto node = opts.dht.enabled ? first_bootstrap_address(opts.dht) : std::nullopt) {
        listen = Endpoint(local_address_towards(*node), 0);
    } else if (opts.lsd) {
        listen = Endpoint(lsd_local_address(), 0);
    } else {
        throw Error(ErrorKind::usage, "give --listen IP: no peer, tracker or bootstrap node is an IP address");
    }
    auto s = std::make_unique<SwarmSession>(listen);
    s->set_rate_limits(opts.upload_limit, opts.download_limit);
    if (opts.lsd) enable_lsd(*s);
    if (opts.dht.enabled) {
        DhtOptions d = opts.dht;
        d.read_only = true;  // a pull is short-lived
        enable_dht(*s, d);
        wait_dht_ready(*s, std::min<std::chrono::milliseconds>(opts.timeout, std::chrono::seconds(30)));
    }
    return s;
}

Hash32 resolve_published(const lt::dht::public_key& pk, const std::string& ref, const PullOptions& opts,
                         std::vector<std::string>& web_seeds, const std::function<void(const std::string&)>& warn) {
    if (!opts.dht.enabled) throw Error(ErrorKind::usage, "a dvt:// address needs the DHT: give --bootstrap HOST:PORT or --dht");
    PullOptions o = opts;
    o.peers.clear();
    o.trackers.clear();
    o.web_seeds.clear();
    auto session = open_session(o);
    auto r = resolve_ref(*session, pk, ref, opts.timeout, warn);
    auto seeds = record_web_seeds(r.answer.item);
    web_seeds.insert(web_seeds.end(), seeds.begin(), seeds.end());
    return r.commit;
}

bool have_paths(core::Repository& repo, const Hash32& id, const std::vector<std::string>& paths) {
    auto& store = repo.store();
    auto c = store.read_commit(id);
    if (!c) return false;
    try {
        auto flat = core::flatten_tree(store, c->tree, paths);
        if (flat.empty()) return false;
        for (const auto& [path, fe] : flat) {
            if (fe.kind == objects::EntryKind::symlink || fe.kind == objects::EntryKind::directory) continue;
            for (const auto& ch : store.read_file_object(fe.id).chunks)
                if (!store.locate(ch.id)) return false;
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::not_found) return false;
        throw;
    }
    return true;
}

bool have_everything(core::Repository& repo, const Hash32& id) {
    auto& store = repo.store();
    if (!store.has_commit(id)) return false;
    auto c = store.read_commit(id);
    for (const auto& p : c->packs) {
        auto have = store.pack_by_id(p.id);
        if (!have || have->partial) return false;
    }
    return true;
}

namespace {

// One pull at a time per repository: a non-blocking flock on .dvt/pull.lock (gc leaves partial packs alone while it is
// held, since the commit that will name them is not written yet).
util::Fd lock_pull(const fs::path& dvt_dir) {
    auto p = dvt_dir / "pull.lock";
    auto lock = util::try_lock_file(p);
    if (!lock) throw Error(ErrorKind::conflict, "another pull into this repository is in progress (" + p.string() + ")");
    return std::move(*lock);
}

// The torrent of a pack being fetched into partial/: from its resume data when an earlier pull left some (pieces it
// verified are not fetched again), else from the info dict alone.
lt::add_torrent_params pack_fetch_params(const objects::ObjectStore& store, const objects::PackRef& p,
                                         const std::vector<std::string>& web_seeds) {
    auto fresh = pack_params(p);
    auto expected = fresh.ti->info_hashes();
    if (auto text = util::try_read_text(store.resume_path(p.id))) {
        lt::error_code ec;
        auto atp = lt::read_resume_data({text->data(), static_cast<std::ptrdiff_t>(text->size())}, ec);
        if (!ec && atp.ti && atp.ti->info_hashes() == expected) {
            atp.save_path = store.partial_dir().string();
            atp.peers.clear();
            atp.trackers.clear();
            atp.tracker_tiers.clear();
            atp.url_seeds.clear();
            atp.piece_priorities.clear();  // a partial pull saved its own; this pull sets what it wants
            atp.file_priorities.clear();
            atp.flags &= ~(lt::torrent_flags::seed_mode | lt::torrent_flags::upload_mode | lt::torrent_flags::share_mode);
            return atp;
        }
    }
    std::error_code ec;
    fs::remove(store.partial_path(p.id), ec);  // nothing trustworthy says which of its pieces are good
    fresh.save_path = store.partial_dir().string();
    // A mirror also serves the pack's .torrent (with its piece layer), which a web seed alone cannot supply; it is
    // used only if it describes exactly this pack (same info-hash; libtorrent checks the layer against the root).
    for (const auto& w : web_seeds) {
        std::string base = w.ends_with('/') ? w : w + "/";
        auto r = util::http_get(base + "packs/" + p.id.hex() + ".torrent", std::chrono::seconds(10), 1 << 20);
        if (r.status != 200) continue;
        try {
            auto atp = lt::load_torrent_buffer(
                {reinterpret_cast<const char*>(r.body.data()), static_cast<std::ptrdiff_t>(r.body.size())});
            if (atp.ti && atp.ti->info_hashes() == expected) {
                atp.save_path = fresh.save_path;
                atp.trackers.clear();
                atp.url_seeds.clear();
                return atp;
            }
        } catch (const std::exception&) {
        }
    }
    return fresh;
}

std::vector<bool> pieces_for(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges, std::uint64_t length,
                             std::uint32_t piece) {
    std::vector<bool> out(static_cast<std::size_t>((length + piece - 1) / piece), false);
    for (const auto& [off, len] : ranges) {
        if (len == 0) continue;
        for (std::uint64_t p = off / piece; p <= (off + len - 1) / piece && p < out.size(); ++p) out[p] = true;
    }
    return out;
}

struct PackFetch {
    objects::PackRef ref;
    Item* item = nullptr;
    std::uint32_t piece = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // byte ranges wanted so far
    std::vector<objects::PackEntry> entries;                      // its index (partial pulls)
    std::int64_t num = 0;                                         // its row (partial pulls)
};

// Reads the objects `want` from the partial file of `pf`, verifies each against its id and indexes them.
std::uint64_t import_objects(objects::ObjectStore& store, const PackFetch& pf, const std::vector<objects::PackEntry>& want) {
    if (want.empty()) return 0;
    util::Fd fd = util::open_read(store.partial_path(pf.ref.id));
    Bytes out;
    std::uint64_t bytes = 0;
    std::string what = "pack " + pf.ref.id.hex() + " received from the swarm";
    for (const auto& e : want) {
        with_settle_retries([&] { objects::read_record(fd.get(), e, out, what); });  // corrupt unless it hashes to its id
        bytes += objects::kRecordHeaderSize + e.stored_len;
    }
    util::fsync_fd(fd.get(), what);
    std::lock_guard g(store.index().mutex());
    SQLite::Transaction tx(store.index().db());
    store.add_partial_objects(pf.num, want);
    tx.commit();
    return bytes;
}

}  // namespace

FetchResult fetch(SwarmSession& session, core::Repository& repo, const Hash32& id, const PullOptions& opts,
                  const std::function<void()>& on_import) {
    auto& store = repo.store();
    FetchResult res;
    res.id = id;
    auto start = Clock::now();
    auto deadline = start + opts.timeout;
    util::Fd pull_lock = lock_pull(repo.dvt_dir());
    PullDir dir(store.tmp_dir(), id);

    // 1. The commit: from the store, or by its info-hash alone (the info dict arrives through ut_metadata and is
    //    checked against the info-hash by libtorrent), then re-hashed into its id by us.
    Bytes commit_bytes;
    Traffic traffic;
    std::string mirror_errors;
    if (!store.has_commit(id))
        for (const auto& w : opts.web_seeds) {  // a mirror serves the commit file as is; its id checks it
            std::string base = w.ends_with('/') ? w : w + "/";
            auto r = util::http_get(base + "commits/" + id.hex() + "/" + objects::kCommitTorrentName,
                                    std::chrono::seconds(10), kMaxCommitSize);
            if (r.status == 200 && objects::commit_id_of(r.body) == id) {
                commit_bytes = std::move(r.body);
                res.commit_fetched = true;
                res.bytes_fetched += commit_bytes.size();
                break;
            }
            mirror_errors += (mirror_errors.empty() ? "" : "; ") + w + ": " +
                             (r.status == 200 ? "the file does not hash to the commit id" : r.error);
        }
    if (!mirror_errors.empty() && commit_bytes.empty() && opts.peers.empty() && opts.trackers.empty() &&
        !opts.dht.enabled)
        throw Error(ErrorKind::network, "mirror unreachable or without commit " + id.hex() + " (" + mirror_errors + ")");
    if (!commit_bytes.empty()) {
    } else if (store.has_commit(id)) {
        commit_bytes = store.read_commit_bytes(id);
    } else {
        Transfer t(session, id, opts, start, deadline);
        lt::add_torrent_params atp;
        atp.info_hashes.v2 = to_lt(id);
        atp.name = objects::kCommitTorrentName;
        atp.save_path = dir.path().string();
        Item commit_item;
        commit_item.name = objects::kCommitTorrentName;
        commit_item.id = id;
        t.add(std::move(commit_item), std::move(atp));
        fs::path file;
        t.run(0, 0, false, [&](Item& i, const lt::torrent_info& ti) {
            // one real file (libtorrent may append a pad file), named dvt-commit, of a sane size
            const auto& files = ti.files();
            int real = 0;
            for (auto f : files.file_range())
                if (!files.pad_file_at(f)) ++real;
            if (real != 1 || files.pad_file_at(lt::file_index_t{0}) ||
                files.file_name(lt::file_index_t{0}) != objects::kCommitTorrentName ||
                static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0})) > kMaxCommitSize)
                throw Error(ErrorKind::corrupt, id.hex() + " names a torrent that is not a dvt commit");
            i.length = static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0}));
            file = files.file_path(lt::file_index_t{0}, dir.path().string());
        });
        t.close();
        traffic += t.traffic();
        if (file.empty()) file = dir.path() / objects::kCommitTorrentName;
        commit_bytes = with_settle_retries([&] {
            Bytes b = util::read_file(file);
            if (objects::commit_id_of(b) != id)
                throw Error(ErrorKind::corrupt, "the commit received for " + id.hex() + " does not hash to its id");
            return b;
        });
        res.commit_fetched = true;
        res.bytes_fetched += commit_bytes.size();
    }
    try {
        res.commit = objects::Commit::decode(commit_bytes);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (commit " + id.hex() + ")");
    }
    res.packs_total = res.commit.packs.size();

    // 2. The packs it names that we do not have complete, all at once, into partial/ (docs/format.md, "Partial
    //    packs"), each from its resume data or its info dict alone.
    std::vector<PackFetch> fetches;
    for (const auto& p : res.commit.packs) {
        auto have = store.pack_by_id(p.id);
        if (have && !have->partial) continue;
        PackFetch pf;
        pf.ref = p;
        pf.piece = objects::pack_piece_length(p.length);
        fetches.push_back(pf);
    }
    const bool partial = !opts.paths.empty();
    std::uint64_t base = res.commit_fetched ? commit_bytes.size() : 0;
    std::vector<std::pair<fs::path, objects::SealedPack>> verified;
    if (!fetches.empty()) {
        std::error_code ec;
        fs::create_directories(store.partial_dir(), ec);
        if (ec) throw Error(ErrorKind::io, "cannot create " + store.partial_dir().string() + ": " + ec.message());
        Transfer t(session, id, opts, start, deadline);
        for (auto& pf : fetches) {
            Item it;
            it.name = objects::pack_torrent_name(pf.ref.id);
            it.id = pf.ref.id;
            it.length = pf.ref.length;
            it.kick_when_checked = true;
            it.resume = store.resume_path(pf.ref.id);
            it.file = store.partial_path(pf.ref.id);
            auto atp = pack_fetch_params(store, pf.ref, opts.web_seeds);
            if (!partial) it.verify = pf.ref;
            pf.item = &t.add(std::move(it), std::move(atp));
        }
        auto want_more = [&](PackFetch& pf, std::uint64_t off, std::uint64_t len) { pf.ranges.emplace_back(off, len); };
        auto apply = [&] {
            for (auto& pf : fetches) t.want(*pf.item, pieces_for(pf.ranges, pf.ref.length, pf.piece), pf.piece);
        };
        if (!partial) {
            t.run(base, base, true);
        } else {
            // 2a. every pack's index (its tail), checked against the footer's SHA-256
            for (auto& pf : fetches) {
                want_more(pf, 0, objects::kPackHeaderSize);
                want_more(pf, pf.ref.index_offset, pf.ref.length - pf.ref.index_offset);
            }
            apply();
            t.run(base, base, true);
            for (auto& pf : fetches) {
                util::Fd fd = util::open_read(store.partial_path(pf.ref.id));
                objects::PackIndex pi = with_settle_retries(
                    [&] { return objects::read_pack_index(fd.get(), "pack " + pf.ref.id.hex() + " received from the swarm"); });
                if (pi.length != pf.ref.length || pi.index_offset != pf.ref.index_offset)
                    throw Error(ErrorKind::corrupt, "pack " + pf.ref.id.hex() + ": its index differs from what the commit names");
                pf.entries = std::move(pi.entries);
                pf.num = store.add_partial_pack(pf.ref).num;
            }
            // 2b. the trees and file objects not yet here
            std::map<Hash32, std::pair<PackFetch*, objects::PackEntry>> where;
            std::vector<std::vector<objects::PackEntry>> meta(fetches.size());
            for (std::size_t k = 0; k < fetches.size(); ++k)
                for (const auto& e : fetches[k].entries) {
                    where.emplace(e.id, std::make_pair(&fetches[k], e));
                    if (e.type != objects::ObjectType::chunk && !store.locate(e.id)) {
                        want_more(fetches[k], e.offset, objects::kRecordHeaderSize + e.stored_len);
                        meta[k].push_back(e);
                    }
                }
            apply();
            t.run(base, base, true);
            for (std::size_t k = 0; k < fetches.size(); ++k) res.bytes_fetched += import_objects(store, fetches[k], meta[k]);
            // 2c. the chunks of the files under the paths
            auto flat = core::flatten_tree(store, res.commit.tree, opts.paths);
            if (flat.empty())
                throw Error(ErrorKind::not_found, "no path of commit " + id.hex().substr(0, 12) + " matches the paths given");
            std::vector<std::vector<objects::PackEntry>> chunks(fetches.size());
            std::set<Hash32> seen;
            for (const auto& [path, fe] : flat) {
                if (fe.kind == objects::EntryKind::symlink || fe.kind == objects::EntryKind::directory) continue;
                for (const auto& c : store.read_file_object(fe.id).chunks) {
                    if (!seen.insert(c.id).second || store.locate(c.id)) continue;
                    auto w = where.find(c.id);
                    if (w == where.end())
                        throw Error(ErrorKind::corrupt, "commit " + id.hex() + " names no pack holding chunk " + c.id.hex() +
                                                            " of '" + path + "'");
                    auto& [pf, e] = w->second;
                    want_more(*pf, e.offset, objects::kRecordHeaderSize + e.stored_len);
                    chunks[static_cast<std::size_t>(pf - fetches.data())].push_back(e);
                }
            }
            apply();
            t.run(base, base, true);
            for (std::size_t k = 0; k < fetches.size(); ++k) {
                res.bytes_fetched += import_objects(store, fetches[k], chunks[k]);
                res.objects_fetched += meta[k].size() + chunks[k].size();
            }
        }
        // 3. Whole packs: every byte verified (BEP 52 merkle root = id, index, length) before the pack is used, from
        //    the piece hashes dvt's disk I/O computed from the bytes it wrote, or else by hashing the file again. Each
        //    pack's verification started when it was complete (Transfer::start_verifying); wait for all of them.
        auto waited = Clock::now();
        t.finish_verifying();
        std::vector<std::pair<const PackFetch*, std::future<objects::SealedPack>>> sealed;
        for (auto& pf : fetches)
            if (pf.item->sealed.valid()) sealed.emplace_back(&pf, std::move(pf.item->sealed));
        res.transfer_seconds = std::chrono::duration<double>(waited - start).count();
        t.close();
        traffic += t.traffic();
        for (auto& [pf, result] : sealed) {
            fs::path file = store.partial_path(pf->ref.id);
            try {
                verified.emplace_back(file, result.get());
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::corrupt) {  // start over next time rather than trust those pieces
                    fs::remove(file, ec);
                    fs::remove(store.resume_path(pf->ref.id), ec);
                }
                throw;
            }
            res.bytes_fetched += pf->ref.length;
        }
    }
    res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    res.bytes_downloaded = static_cast<std::uint64_t>(traffic.payload);
    res.bytes_received = static_cast<std::uint64_t>(traffic.received);
    res.bytes_uploaded = static_cast<std::uint64_t>(traffic.uploaded);
    res.packs_fetched = verified.size();
    auto import_start = Clock::now();

    // 4. Import (docs/format.md, "Write ordering"): complete packs renamed from partial/ into packs/ and the
    //    directory fsynced, then their index rows in one transaction, then the commit file; all under the repository
    //    write lock.
    auto lock = repo.write_lock();
    for (auto& [file, sp] : verified) {
        fs::path dest = store.pack_path(sp.ref.id);
        sp.path = dest;
        if (::chmod(file.c_str(), 0444) != 0) throw_errno("cannot chmod " + file.string());
        if (::access(dest.c_str(), F_OK) == 0) continue;  // imported meanwhile (same bytes: same id)
        if (::rename(file.c_str(), dest.c_str()) != 0) throw_errno("cannot move a pack into " + dest.string());
    }
    if (!verified.empty()) {
        util::fsync_dir(store.packs_dir());
        {
            std::lock_guard g(store.index().mutex());
            SQLite::Transaction tx(store.index().db());
            for (const auto& [file, sp] : verified) store.add_pack(sp);
            tx.commit();
        }
        std::error_code ec;
        for (const auto& [file, sp] : verified) {
            fs::remove(file, ec);  // only if the rename was skipped
            fs::remove(store.resume_path(sp.ref.id), ec);
        }
    }
    if (!partial)
        for (const auto& p : res.commit.packs) {
            auto have = store.pack_by_id(p.id);
            if (!have || have->partial)
                throw Error(ErrorKind::internal, "pack " + p.id.hex() + " is still missing after the import");
        }
    store.write_commit(id, commit_bytes);
    for (const auto& parent : res.commit.parents)
        if (!store.has_commit(parent)) {  // fetched without its history (docs/format.md, ".dvt/shallow")
            repo.add_shallow(id);
            break;
        }
    if (on_import) on_import();
    res.import_seconds = std::chrono::duration<double>(Clock::now() - import_start).count();
    return res;
}

CloneResult clone(const Hash32& id, const fs::path& dir, const PullOptions& opts) {
    std::error_code ec;
    bool existed = fs::exists(dir, ec);
    if (existed && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)))
        throw Error(ErrorKind::conflict, "destination '" + dir.string() + "' already exists and is not empty");
    auto session = open_session(opts);  // before creating anything: a listen failure leaves no trace

    struct Undo {  // on failure: remove what the clone created (all of DIR, or what it put into an empty DIR)
        fs::path path;
        bool keep_dir;
        bool active = true;
        ~Undo() {
            if (!active) return;
            std::error_code e;
            if (!keep_dir) {
                fs::remove_all(path, e);
                return;
            }
            std::vector<fs::path> entries;
            for (const auto& de : fs::directory_iterator(path, e)) entries.push_back(de.path());
            for (const auto& p : entries) fs::remove_all(p, e);
        }
    } undo{dir, existed};

    CloneResult res;
    auto repo = core::Repository::init(dir, core::InitOptions{});
    res.root = repo->root();
    res.fetch = fetch(*session, *repo, id, opts, [&] {
        repo->refs().update("refs/heads/main", std::nullopt, id, "clone: " + id.hex() + " from the swarm");
    });
    session.reset();  // close the swarm before writing the work tree
    res.checkout = core::checkout(*repo, "main", core::CheckoutOptions{});
    undo.active = false;
    return res;
}

PullResult pull(core::Repository& repo, const Hash32& id, const PullOptions& opts, bool force) {
    PullResult res;
    auto record = [&] {  // keeps the commit reachable (gc) from the moment it is imported
        auto old = repo.refs().read("refs/remotes/swarm/fetched");
        if (old != id) repo.refs().update("refs/remotes/swarm/fetched", old, id, "pull: " + id.hex());
    };
    if (have_everything(repo, id) || (!opts.paths.empty() && have_paths(repo, id, opts.paths))) {
        res.fetch.id = id;
        res.fetch.commit = *repo.store().read_commit(id);
        res.fetch.packs_total = res.fetch.commit.packs.size();
        auto lock = repo.write_lock();
        record();
    } else {
        auto session = open_session(opts);
        res.fetch = fetch(*session, repo, id, opts, record);
    }

    auto head = repo.refs().head();
    core::CheckoutOptions co;
    co.force = force;
    if (!opts.paths.empty()) {  // like `dvt checkout <id> -- PATHS`: those paths only, HEAD does not move
        co.paths = opts.paths;
        res.checkout = core::checkout(repo, id.hex(), co);
        res.checkout.branch = head.branch_ref ? std::optional<std::string>(head.branch_ref->substr(11)) : std::nullopt;
        return res;
    }
    std::string branch = head.branch_ref ? head.branch_ref->substr(std::string("refs/heads/").size()) : "";
    if (head.branch_ref && head.commit == id) {
        res.checkout = core::checkout(repo, branch, co);  // already there: restore the tree, stay on the branch
        return res;
    }
    res.checkout = core::checkout(repo, id.hex(), co);  // HEAD detached at the commit
    bool ff = head.branch_ref && (!head.commit || is_ancestor(repo, *head.commit, id));
    if (ff) {
        auto lock = repo.write_lock();
        try {
            repo.refs().update(*head.branch_ref, head.commit, id, "pull: fast-forward to " + id.hex());
            repo.refs().set_head_branch(*head.branch_ref, "pull: back on " + branch);
            res.fast_forward = true;
            res.checkout.branch = branch;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::conflict) throw;  // the branch moved meanwhile: stay detached
        }
    }
    return res;
}

}  // namespace dvt::transport
