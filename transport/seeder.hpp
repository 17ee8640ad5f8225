// Seeder: serves a repository's commits and sealed packs as BitTorrent v2 torrents (docs/transport.md).
//
//  - pack P (length L): the torrent of objects::torrent_file(pack_torrent_name(P), L, P, pack_piece_length(L),
//    piece layer from the index database), saved at .dvt/packs/<P>.pack; info-hash = objects::pack_info_hash(P, L).
//  - commit C: name "dvt-commit", piece length 16 KiB, file 0 renamed to commits/<C> under .dvt; info-hash = C.
//  - Every torrent is added with all pieces marked present (no re-hashing at start: a pack was verified when it was
//    written, a commit file is re-hashed into its id before it is served).
//  - The info-hash libtorrent computes is compared with the id dvt derives; a mismatch is ErrorKind::internal.
//  - A partial pack (docs/format.md, "Partial packs") is served in part: the pieces its resume data lists.
//  - rescan() adds what is new and drops what gc removed; a damaged or unreadable commit or pack is skipped with a
//    warning (once), it never stops the others from being served.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "transport/seed_counts.hpp"
#include "transport/session.hpp"

namespace dvt::transport {

// The torrents, as libtorrent add parameters (exposed for tests). They verify the info-hash.
lt::add_torrent_params commit_seed_params(const objects::ObjectStore& store, const Hash32& commit_id);
lt::add_torrent_params pack_seed_params(const objects::ObjectStore& store, const objects::PackInfo& pack);
// A partial pack is served from the resume data its pull left (the pieces libtorrent verified against the pack's
// merkle tree), with download priority 0: a server never fetches. Throws not_found without resume data.
lt::add_torrent_params partial_pack_seed_params(const objects::ObjectStore& store, const objects::PackInfo& pack);

class Seeder {
public:
    using Warn = std::function<void(const std::string&)>;
    // `trackers`: announce URLs added to every torrent served (may be empty).
    Seeder(SwarmSession& session, core::Repository& repo, Warn warn = {}, std::vector<std::string> trackers = {});

    // Brings the served set in line with the repository. Returns what is being served afterwards.
    SeedCounts rescan();
    SeedCounts counts() const;
    // The torrent serving commit / pack `id` (an invalid handle when it is not served).
    lt::torrent_handle commit_handle(const Hash32& id) const;
    lt::torrent_handle pack_handle(const Hash32& id) const;

    // BEP 16 super-seeding ("initial seeding") for every torrent added from now on: the seeder offers each peer one
    // piece at a time, a piece nobody else has announced, so it uploads about one copy in all and the peers trade the
    // rest (transport-feasibility.md 2g: 1.03 copies instead of 1.7 for 8 peers). For the first seed of a new version.
    void set_super_seeding(bool on) { m_super_seed = on; }

    // Payload bytes uploaded to peers since the start, over every torrent served (also ones removed since).
    std::uint64_t bytes_uploaded() const;

    // The served torrents with peers connected now, most peers first, at most `max` of them (one status call).
    std::vector<TorrentPeers> peers_per_torrent(std::size_t max) const;
    // Peer connections that ended since the start, by reason (libtorrent's peer_disconnected_alert: the error, and
    // why libtorrent closed it when it did).
    const std::map<std::string, std::size_t>& dropped() const { return m_dropped; }

    // Reports torrent and file errors through `warn`; counts dropped connections.
    void on_alert(lt::alert* a);

    // Serves until stop() returns true: handles alerts, and rescans every `rescan_every`.
    void run(const std::function<bool()>& stop, std::chrono::milliseconds rescan_every = std::chrono::seconds(2));

private:
    void warn_once(const std::string& key, const std::string& msg);

    SwarmSession& m_session;
    core::Repository& m_repo;
    Warn m_warn;
    std::vector<std::string> m_trackers;
    bool m_super_seed = false;
    lt::torrent_handle add(lt::add_torrent_params atp);
    std::map<Hash32, lt::torrent_handle> m_commits, m_packs;
    std::set<Hash32> m_partial;  // of m_packs, those served in part
    std::set<std::string> m_warned;
    std::map<std::string, std::size_t> m_dropped;
    std::uint64_t m_uploaded_removed = 0;
    void drop(lt::torrent_handle h);
};

}  // namespace dvt::transport
