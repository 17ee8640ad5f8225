// Replicas: who holds a complete copy of a version (docs/transport.md, "Replicas"). Used by `dvt push --replicas N`
// (wait until N peers hold each pushed head) and `dvt remote show NAME` (count the copies of each published ref).
//
// ReplicaCounter contract:
//  - A version is a commit and the torrents that carry it: its commit torrent and, when known, its pack torrents.
//  - Two seeds never connect on their own, so a copy is only visible once we connect to it: every 2 s each torrent is
//    looked up in the DHT (get_peers on its v2 info-hash truncated to 20 bytes, BEP 52) and every peer listed is
//    connected to. Peers on this session's own IP are neither connected to nor counted (this host's own `dvt serve`).
//  - A peer, by IP, is *seen* for a version once it is connected (handshake done) on any of its torrents, and holds a
//    *complete* copy once it has been seen as a seed (every piece) of each of them; not necessarily at the same
//    moment: a follower's download session leaves right after its copy is imported. Counts only grow.
//  - The counter reads peer lists and connects peers; it never changes what a torrent downloads or serves. It needs
//    the caller's alert loop: every alert goes to on_alert(), and update() runs after each poll.
//
// survey_published() (declared in survey.hpp, without libtorrent, for the CLI) is `dvt remote show`: it reads the refs
// a key publishes and watches their swarms through download-nothing torrents (watch_params), so the repository need not
// hold any of the data and nothing is written.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <libtorrent/sha1_hash.hpp>

#include "core/repository.hpp"
#include "transport/dht.hpp"
#include "transport/session.hpp"
#include "transport/survey.hpp"

namespace dvt::transport {

class ReplicaCounter {
public:
    // The session's DHT must be enabled by the caller (enable_dht, which also turns on the get_peers answer alerts).
    explicit ReplicaCounter(SwarmSession& s);

    // Watches `version` through `torrents` (invalid handles and torrents it already has are ignored; with none,
    // nobody is complete).
    void watch(const Hash32& version, const std::vector<lt::torrent_handle>& torrents);

    // Hands every alert of the caller's loop here (connects the peers get_peers answers list).
    void on_alert(lt::alert* a);
    // Call after each poll: starts the lookups when due and samples the peer lists. True when a peer was seen or
    // became complete for the first time.
    bool update();

    using Count = ReplicaCount;
    Count count(const Hash32& version) const;
    // The smallest complete count over the versions watched (SIZE_MAX when none is watched).
    std::size_t min_complete() const;
    // True once a DHT lookup of every torrent watched has finished (with or without peers).
    bool looked_up() const;

private:
    struct Version {
        std::vector<lt::torrent_handle> torrents;
        std::vector<std::set<std::string>> seeds;  // per torrent: IPs ever seen as its seed
        std::set<std::string> seen;
    };
    SwarmSession& m_session;
    std::string m_self;  // this session's IP
    std::map<Hash32, Version> m_versions;
    std::map<lt::sha1_hash, lt::torrent_handle> m_by_hash;  // truncated v2 info-hash -> torrent
    bool m_round_started = false, m_looked_up = false;
    std::chrono::steady_clock::time_point m_next_lookup, m_next_stats;
};

// A download-nothing torrent (every file at priority 0, not announced to the DHT or trackers) that lets a session
// see who holds commit `commit` (added by info-hash: the info dict arrives through ut_metadata) or pack `pack`
// (built from its info dict, as a puller does). libtorrent still needs a save path; nothing is ever written to it.
lt::add_torrent_params watch_params(const Hash32& commit, const std::filesystem::path& save_path);
lt::add_torrent_params watch_params(const objects::PackRef& pack, const std::filesystem::path& save_path);

}  // namespace dvt::transport
