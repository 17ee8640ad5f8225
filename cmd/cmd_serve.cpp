// dvt serve --listen IP:PORT (transport/serve.hpp; docs/transport.md). Runs until SIGTERM or SIGINT and then exits 0;
// SIGUSR1 prints a status line.
#include <iostream>

#include "cmd/cli.hpp"
#include "cmd/signals.hpp"
#include "cmd/swarm_args.hpp"
#include "transport/keys.hpp"
#include "transport/serve.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_serve(CLI::App& app, Context& ctx) {
    struct Args {
        std::string listen, upload_limit, follow, follow_branch = "main", http;
        std::vector<std::string> trackers, bootstrap, peers;
        std::string cache_size;
        double timeout = 60;
        bool dht = false, super_seed = false, lsd = false, port_map = false;
        double follow_interval = 10;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("serve", "Seed this repository's commits and packs to the swarm until stopped");
    sub->add_option("--listen", a->listen, "IP:PORT to listen on (an explicit address; port 0 picks a free one)")
        ->required();
    sub->add_option("--tracker", a->trackers, "Announce every commit and pack to this tracker (repeatable)")
        ->allow_extra_args(false);
    sub->add_option("--upload-limit", a->upload_limit, "Cap on upload rate, bytes/s (e.g. 20M); applies to all peers");
    sub->add_option("--bootstrap", a->bootstrap, "Join the DHT through this node HOST:PORT (repeatable)")
        ->allow_extra_args(false);
    sub->add_flag("--dht", a->dht, "Join the public BitTorrent DHT");
    sub->add_flag("--lsd", a->lsd, "Announce on the local network (BEP 14 multicast; or config lsd.enabled = true)");
    sub->add_flag("--port-map", a->port_map,
                  "Ask the router to forward the listen port (UPnP, NAT-PMP; or config net.port-mapping = true)");
    sub->add_option("--follow", a->follow, "Be a replica of dvt://<key>: fetch every version it publishes");
    sub->add_option("--follow-branch", a->follow_branch, "The branch to follow (default main)");
    sub->add_option("--follow-interval", a->follow_interval, "Seconds between looks for a new version (default 10)");
    sub->add_option("--http", a->http,
                    "Also serve the versions over HTTP on [IP:]PORT (GET /<commit>/<path>, Range, JSON listings; "
                    "loopback unless an address is given)");
    add_peer_option(sub, a->peers,
                    "With --http: fetch what this repository lacks from this peer IP:PORT on demand (repeatable)");
    sub->add_option("--timeout", a->timeout,
                    "With --peer: seconds a read waits for the peers before failing with 504 (default 60)");
    sub->add_option("--cache-size", a->cache_size,
                    "With --peer: bytes of fetched data kept in the repository (e.g. 2G); past it the partial packs "
                    "filled are emptied and fetched again on demand (default: unbounded)");
    sub->add_flag("--super-seed", a->super_seed,
                  "Initial seeding (BEP 16): upload each piece about once and let the peers trade the rest");
    sub->callback([a, &ctx] {
        transport::ServeOptions o;
        o.listen = transport::parse_listen_address(a->listen, true);
        if (!a->follow.empty()) o.follow = transport::parse_repo_url(a->follow);
        auto follow_interval = checked_seconds(a->follow_interval, "--follow-interval", 0.001, kMaxNetworkTimeout);
        for (const auto& t : a->trackers) o.trackers.push_back(transport::check_tracker_url(t));
        if (!a->upload_limit.empty()) o.upload_limit = transport::parse_rate(a->upload_limit, "--upload-limit");
        o.bootstrap = a->bootstrap;
        o.dht = a->dht;
        o.lsd = a->lsd;
        o.port_map = a->port_map;
        o.follow_branch = a->follow_branch;
        o.follow_interval = follow_interval;
        o.super_seed = a->super_seed;
        if (!a->http.empty()) o.http = transport::parse_http_address(a->http);
        if (!a->peers.empty()) {
            if (!o.http) throw Error(ErrorKind::usage, "--peer needs --http (lazy reads from peers through the HTTP endpoint)");
            transport::LazyOptions lazy;
            lazy.pull.peers = peer_endpoints(a->peers);
            lazy.pull.timeout = checked_seconds(a->timeout, "--timeout", 0.001, kMaxNetworkTimeout);
            if (!a->cache_size.empty())
                lazy.cache_size = static_cast<std::uint64_t>(transport::parse_rate(a->cache_size, "--cache-size"));
            o.lazy = lazy;
        } else if (!a->cache_size.empty()) {
            throw Error(ErrorKind::usage, "--cache-size needs --peer");
        }
        o.warn = [&ctx](const std::string& m) { ctx.warn(m); };
        o.info = [&ctx](const std::string& m) { ctx.info(m); };
        o.ready = [&ctx](const transport::ServeReady& r) {
            const auto& at = r.listen;
            if (ctx.json)
                ctx.print_json({{"listen", transport::endpoint_string(at)},
                                {"address", at.address().to_string()},
                                {"port", at.port()},
                                {"commits", r.counts.commits},
                                {"packs", r.counts.packs},
                                {"partial_packs", r.counts.partial_packs},
                                {"http", r.http ? nlohmann::json(transport::endpoint_string(*r.http)) : nlohmann::json(nullptr)}});
            else
                *ctx.out << "serving " << r.counts.commits << " commits and " << r.counts.packs << " packs on "
                         << transport::endpoint_string(at)
                         << (r.http ? ", HTTP on http://" + transport::endpoint_string(*r.http) + "/" : std::string()) << "\n";
            ctx.out->flush();
        };
        // SIGUSR1 prints a status line (like dd's): what has been uploaded so far, without stopping
        o.status = [&ctx](const transport::ServeStatus& s) {
            const auto& c = s.counts;
            int peers = 0;
            for (const auto& t : s.torrents) peers += t.peers;
            if (ctx.json) {
                nlohmann::json torrents = nlohmann::json::array();
                for (const auto& t : s.torrents)
                    torrents.push_back({{"kind", t.commit ? "commit" : "pack"}, {"id", t.id.hex()}, {"peers", t.peers}});
                ctx.print_json({{"status", "serving"}, {"bytes_uploaded", s.bytes_uploaded}, {"commits", c.commits},
                                {"packs", c.packs}, {"partial_packs", c.partial_packs}, {"torrents", torrents},
                                {"dropped", s.dropped}});
            } else {
                *ctx.out << "serving " << c.commits << " commits and " << c.packs << " packs, "
                         << human_bytes(s.bytes_uploaded) << " uploaded, " << peers << " peer connections on "
                         << s.torrents.size() << " torrents";
                std::string dropped;
                for (const auto& [why, n] : s.dropped) dropped += (dropped.empty() ? "" : ", ") + std::to_string(n) + " " + why;
                if (!dropped.empty()) *ctx.out << "; connections ended: " << dropped;
                *ctx.out << "\n";
            }
            ctx.out->flush();
        };
        auto repo = ctx.open_repo();
        SignalBlock signals;
        int sig = 0;
        o.status_requested = [&] { return signals.take_usr1(); };
        o.should_stop = [&] { return (sig = signals.take()) != 0; };
        auto r = transport::serve(*repo, o);
        std::string how = sig == SIGINT ? "SIGINT" : "SIGTERM";
        if (ctx.json)
            ctx.print_json({{"stopped", how}, {"bytes_uploaded", r.bytes_uploaded}});
        else
            ctx.info("dvt serve: stopped (" + how + "), " + human_bytes(r.bytes_uploaded) + " uploaded");
    });
}

}  // namespace dvt::cmd
