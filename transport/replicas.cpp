#include "transport/replicas.hpp"

#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/load_torrent.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_status.hpp>
#include <libtorrent/torrent_info.hpp>

#include <algorithm>
#include <cstring>

#include "core/revision.hpp"
#include "objects/torrent_id.hpp"
#include "util/error.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kLookupEvery = std::chrono::seconds(2);

// .dvt/tmp/watch-<pid>/: the save path of the download-nothing torrents, removed when the object is destroyed.
class WatchDir {
public:
    explicit WatchDir(const fs::path& tmp_root) : m_path(tmp_root / ("watch-" + std::to_string(::getpid()))) {
        std::error_code ec;
        fs::create_directories(m_path, ec);
        if (ec) throw Error(ErrorKind::io, "cannot create " + m_path.string() + ": " + ec.message());
    }
    ~WatchDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    WatchDir(const WatchDir&) = delete;
    WatchDir& operator=(const WatchDir&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
};

// Nothing is downloaded (every file at priority 0) and the torrent is not announced: this session holds nothing.
void download_nothing(lt::add_torrent_params& atp, const fs::path& save_path) {
    atp.save_path = save_path.string();
    atp.file_priorities = {lt::dont_download};
    atp.flags |= lt::torrent_flags::disable_dht | lt::torrent_flags::disable_lsd;
    atp.flags &= ~(lt::torrent_flags::seed_mode | lt::torrent_flags::upload_mode | lt::torrent_flags::share_mode);
}

}  // namespace

// --- ReplicaCounter

ReplicaCounter::ReplicaCounter(SwarmSession& s)
    : m_session(s), m_self(s.listen_endpoint().address().to_string()), m_next_lookup(Clock::now()) {}

void ReplicaCounter::watch(const Hash32& version, const std::vector<lt::torrent_handle>& torrents) {
    Version& v = m_versions[version];
    for (const auto& h : torrents) {
        if (!h.is_valid() || std::find(v.torrents.begin(), v.torrents.end(), h) != v.torrents.end()) continue;
        v.torrents.push_back(h);
        v.seeds.emplace_back();
        m_by_hash[lt::sha1_hash(h.info_hashes().v2.data())] = h;
    }
}

void ReplicaCounter::on_alert(lt::alert* a) {
    // two seeds never connect on their own: connect to every peer the DHT lists, so that complete copies show up
    if (auto* gp = lt::alert_cast<lt::dht_get_peers_reply_alert>(a)) {
        if (auto it = m_by_hash.find(gp->info_hash); it != m_by_hash.end() && it->second.is_valid())
            for (const auto& ep : gp->peers())
                if (ep.address().to_string() != m_self) it->second.connect_peer(ep);
    } else if (auto* st = lt::alert_cast<lt::dht_stats_alert>(a)) {
        if (m_round_started && !m_looked_up) {
            // a lookup still waits for answers while it has nodes left to ask or requests that are not yet past the
            // short timeout; a request past it is to a node presumed gone, which can hold a lookup open for 15 s
            bool running = false;
            for (const auto& l : st->active_requests)
                if (l.type && std::strcmp(l.type, "get_peers") == 0 &&
                    (l.nodes_left > 0 || l.outstanding_requests > l.first_timeout))
                    running = true;
            m_looked_up = !running;
        }
    }
}

bool ReplicaCounter::update() {
    auto now = Clock::now();
    if (now >= m_next_lookup) {
        for (const auto& [h20, h] : m_by_hash) m_session.native().dht_get_peers(h20);
        m_next_lookup = now + kLookupEvery;
        m_round_started = true;
    }
    if (m_round_started && !m_looked_up && now >= m_next_stats) {  // has the first round of lookups finished?
        m_session.native().post_dht_stats();
        m_next_stats = now + std::chrono::milliseconds(200);
    }
    bool news = false;
    std::vector<lt::peer_info> peers;
    for (auto& [id, v] : m_versions) {
        for (std::size_t k = 0; k < v.torrents.size(); ++k) {
            if (!v.torrents[k].is_valid()) continue;
            v.torrents[k].get_peer_info(peers);
            for (const auto& p : peers) {
                std::string ip = p.ip.address().to_string();
                if (ip == m_self || (p.flags & (lt::peer_info::connecting | lt::peer_info::handshake))) continue;
                news |= v.seen.insert(ip).second;
                if (p.flags & lt::peer_info::seed) news |= v.seeds[k].insert(ip).second;
            }
        }
    }
    return news;
}

ReplicaCounter::Count ReplicaCounter::count(const Hash32& version) const {
    Count c;
    auto it = m_versions.find(version);
    if (it == m_versions.end()) return c;
    const Version& v = it->second;
    c.seen = v.seen;
    for (std::size_t k = 0; k < v.seeds.size(); ++k) {
        if (k == 0) {
            c.complete = v.seeds[0];
            continue;
        }
        std::set<std::string> both;
        for (const auto& ip : c.complete)
            if (v.seeds[k].count(ip)) both.insert(ip);
        c.complete = std::move(both);
    }
    return c;
}

std::size_t ReplicaCounter::min_complete() const {
    std::size_t n = SIZE_MAX;
    for (const auto& [id, v] : m_versions) n = std::min(n, count(id).complete.size());
    return n;
}

bool ReplicaCounter::looked_up() const { return m_looked_up; }

// --- download-nothing torrents

lt::add_torrent_params watch_params(const Hash32& commit, const fs::path& save_path) {
    lt::add_torrent_params atp;
    atp.info_hashes.v2 = to_lt(commit);
    atp.name = objects::kCommitTorrentName;
    download_nothing(atp, save_path);
    return atp;
}

lt::add_torrent_params watch_params(const objects::PackRef& pack, const fs::path& save_path) {
    // the pack's torrent as a puller adds it: the info dictionary alone (docs/transport.md, "Torrents")
    Bytes info = objects::info_dict(objects::pack_torrent_name(pack.id), pack.length, pack.id,
                                    objects::pack_piece_length(pack.length));
    std::string t = "d4:info";
    t.append(reinterpret_cast<const char*>(info.data()), info.size());
    t += 'e';
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({t.data(), static_cast<std::ptrdiff_t>(t.size())});
    } catch (const std::exception& e) {
        throw Error(ErrorKind::internal, "libtorrent cannot load the torrent of pack " + pack.id.hex() + ": " + e.what());
    }
    if (!atp.ti || from_lt(atp.ti->info_hashes().v2) != objects::pack_info_hash(pack.id, pack.length))
        throw Error(ErrorKind::internal, "libtorrent's info-hash for pack " + pack.id.hex() + " differs from dvt's");
    download_nothing(atp, save_path);
    return atp;
}

// --- dvt remote show

std::vector<PublishedRef> survey_published(core::Repository& repo, const PublicKey& pk,
                                           const SurveyOptions& o, const std::function<void(const std::string&)>& warn) {
    WatchDir dir(repo.store().tmp_dir());  // declared before the session: removed after libtorrent let go of it
    SwarmSession s(o.listen);
    DhtOptions dht = o.dht;
    dht.read_only = true;  // short-lived: leave no dead entry in other nodes' routing tables
    enable_dht(s, dht);
    wait_dht_ready(s, o.timeout);

    // 1. what the key publishes
    auto list = get_item(
        s, pk, kRefListSalt, [](const lt::entry& v) { return decode_ref_list(v).has_value(); },
        std::chrono::milliseconds(1500), o.timeout, warn);
    if (!list)
        throw Error(ErrorKind::not_found, "dvt://" + public_hex(pk) + " publishes no ref list in the DHT (nothing " +
                                              "pushed, or its records expired; looked for " +
                                              std::to_string(o.timeout.count() / 1000) + " s)");
    std::vector<PublishedRef> out;
    const std::vector<std::string> names = *decode_ref_list(list->item);
    for (const auto& name : names) {
        try {
            auto r = resolve_ref(s, pk, name, o.timeout, warn);
            out.push_back(PublishedRef{name, r.commit, r.seq, 0, {}});
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
            if (warn) warn(std::string(e.what()) + ": left out");
        }
    }

    // 2. who holds each version: its commit torrent, and its packs' when the commit is here to name them
    ReplicaCounter counter(s);
    std::map<Hash32, lt::torrent_handle> added;  // info-hash -> torrent (versions share packs)
    auto add = [&](const Hash32& key, lt::add_torrent_params atp) {
        auto it = added.find(key);
        if (it != added.end()) return it->second;
        atp.peers.insert(atp.peers.end(), o.peers.begin(), o.peers.end());
        return added[key] = s.add_torrent(std::move(atp));
    };
    std::map<Hash32, std::size_t> torrents;
    for (const auto& r : out) {
        if (torrents.count(r.commit)) continue;
        std::vector<lt::torrent_handle> hs{add(r.commit, watch_params(r.commit, dir.path()))};
        if (repo.store().has_commit(r.commit)) {
            try {
                // not the locator's pack: a whole pull does not fetch it (docs/format.md, "Locator")
                auto c = core::load_commit(repo, r.commit);
                for (const auto& p : c.packs)
                    if (!(c.locator && p.id == c.locator->pack))
                        hs.push_back(add(objects::pack_info_hash(p.id, p.length), watch_params(p, dir.path())));
            } catch (const Error& e) {
                if (warn) warn("commit " + r.commit.hex() + " here cannot be read (" + e.what() + "): watching its " +
                               "commit torrent only");
                hs.resize(1);
            }
        }
        counter.watch(r.commit, hs);
        torrents[r.commit] = hs.size();
    }
    auto start = Clock::now();
    auto deadline = start + o.timeout;
    auto last_news = start;
    while (!out.empty() && Clock::now() < deadline) {
        s.poll(std::chrono::milliseconds(50), [&](lt::alert* a) { counter.on_alert(a); });
        if (counter.update()) last_news = Clock::now();
        if (counter.looked_up() && Clock::now() - last_news >= o.settle) break;
    }
    for (auto& r : out) {
        r.torrents = torrents[r.commit];
        r.copies = counter.count(r.commit);
    }
    return out;
}

}  // namespace dvt::transport
