// dvt serve as a library function: seed a repository's commits and packs until told to stop (docs/transport.md,
// "Serving", "DHT", "LAN discovery", "Replicas").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "transport/endpoint.hpp"
#include "transport/keys.hpp"
#include "transport/lazy_source.hpp"
#include "transport/paths.hpp"
#include "transport/seed_counts.hpp"

namespace dvt::transport {

struct ServeReady {
    Endpoint listen;    // the address and port actually listened on (the real port when 0 was asked for)
    SeedCounts counts;  // what is served at the start
    std::optional<Endpoint> http;  // where the HTTP endpoint listens (with ServeOptions::http)
};

struct ServeStatus {
    SeedCounts counts;
    std::uint64_t bytes_uploaded = 0;  // payload bytes sent to peers since the start
    std::vector<TorrentPeers> torrents;  // the torrents with peers connected now, most peers first (at most 100)
    std::map<std::string, std::size_t> dropped;  // connections that ended since the start, by reason
};

struct ServeOptions {
    Endpoint listen;                       // explicit IP and port (0: any free port); parse_listen_address(t, true)
    std::vector<std::string> trackers;     // announce URLs, already checked (check_tracker_url)
    std::int64_t upload_limit = 0;         // bytes/s for every peer, 0 = unlimited
    std::vector<std::string> bootstrap;    // --bootstrap nodes; with `dht`, as dht_options() reads them with the config
    bool dht = false;                      // --dht
    bool lsd = false;                      // --lsd (or config lsd.enabled)
    bool port_map = false;                 // --port-map (or config net.port-mapping = true; transport/reach.hpp)
    std::optional<PublicKey> follow;  // be a replica of this published repository (needs the DHT)
    std::string follow_branch = "main";
    std::chrono::milliseconds follow_interval = std::chrono::seconds(10);
    bool super_seed = false;               // BEP 16 for every torrent (Seeder::set_super_seeding)
    std::optional<Endpoint> http;          // --http: the versions over HTTP too (transport/http_endpoint.hpp)
    std::optional<LazyOptions> lazy;       // --http with --peer: what the repository lacks, from those peers

    std::function<void(const ServeReady&)> ready;         // once, when listening and every torrent is added
    std::function<bool()> status_requested;               // polled; true: `status` is called (again until false)
    std::function<void(const ServeStatus&)> status;
    std::function<void(const std::string&)> warn, info;   // one-line messages (a damaged pack, a follower's news)
    std::function<bool()> should_stop;                    // polled about every 50 ms; true ends the loop
};

struct ServeResult {
    std::uint64_t bytes_uploaded = 0;
};

// Takes .dvt/serve.lock (one server per repository), opens a session on `o.listen` with the upload cap, joins the
// DHT (dht_options(config, o.bootstrap, o.dht); waits up to 5 s for a node, else warns and goes on) and LAN
// discovery (lsd_option(config, o.lsd)) when asked, adds every commit and pack as a torrent (Seeder), reports
// `ready`, then serves until should_stop() — rescanning for new commits and packs, and with the DHT also doing a
// Follower's duties (republishing the key holder's refs, following `o.follow`). Returns what was uploaded.
// Throws conflict (another `dvt serve` holds the repository), usage (--follow without the DHT; a bad config value),
// network (cannot listen on `o.listen` or `o.http`).
ServeResult serve(core::Repository& repo, const ServeOptions& o);

}  // namespace dvt::transport
