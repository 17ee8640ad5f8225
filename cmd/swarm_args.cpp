#include "cmd/swarm_args.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "transport/dht_options.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void add_peer_option(CLI::App* sub, std::vector<std::string>& peers, const std::string& help) {
    sub->add_option("--peer", peers, help)->allow_extra_args(false);
}

std::vector<transport::Endpoint> peer_endpoints(const std::vector<std::string>& peers) {
    std::vector<transport::Endpoint> out;
    for (const auto& p : peers) out.push_back(transport::parse_endpoint(p, "peer address", false));
    return out;
}

void add_swarm_options(CLI::App* sub, SwarmArgs& a) {
    add_peer_option(sub, a.peers, "A peer that serves the commit, IP:PORT (repeatable)");
    sub->add_option("--tracker", a.trackers, "A BitTorrent tracker announce URL (repeatable)")->allow_extra_args(false);
    sub->add_option("--mirror", a.mirrors, "An http:// or https:// mirror (dvt push --mirror) used as a web seed (repeatable)")
        ->allow_extra_args(false);
    sub->add_option("--bootstrap", a.bootstrap, "DHT bootstrap node HOST:PORT: find peers through the DHT (repeatable)")
        ->allow_extra_args(false);
    sub->add_flag("--dht", a.dht, "Find peers through the public BitTorrent DHT");
    sub->add_flag("--lsd", a.lsd, "Find peers on the local network (BEP 14 multicast; or config lsd.enabled = true)");
    sub->add_flag("--port-map", a.port_map,
                  "Ask the router to forward the listen port (UPnP, NAT-PMP; default: only with --dht/--lsd and no "
                  "--listen; config net.port-mapping)");
    sub->add_option("--branch", a.branch, "With a dvt:// address: the published branch to fetch (default main)");
    sub->add_option("--upload-limit", a.upload_limit, "Cap on upload rate, bytes/s (e.g. 20M); applies to all peers");
    sub->add_option("--download-limit", a.download_limit, "Cap on download rate, bytes/s (e.g. 20M)");
    sub->add_option("--timeout", a.timeout, "Seconds to wait for the data before giving up (default 60)");
    sub->add_option("--commit-torrent", a.commit_torrent,
                    "The commit's .torrent file (dvt torrent): for peers that do not send a torrent's info dict");
    sub->add_option("--listen", a.listen,
                    "Local IP[:PORT] to connect from and listen on (default: the address routing to the first peer)");
}

transport::PullOptions parse_swarm_args(const SwarmArgs& a) {
    transport::PullOptions o;
    for (const auto& m : a.mirrors) {
        o.web_seeds.push_back(transport::check_mirror_url(m));
    }
    o.dht = transport::dht_options(nullptr, a.bootstrap, a.dht);
    o.lsd = a.lsd;
    if (a.port_map) o.net.port_mapping = transport::PortMapping::on;
    o.peers = peer_endpoints(a.peers);
    for (const auto& t : a.trackers) o.trackers.push_back(transport::check_tracker_url(t));
    if (!a.upload_limit.empty()) o.upload_limit = transport::parse_rate(a.upload_limit, "--upload-limit");
    if (!a.download_limit.empty()) o.download_limit = transport::parse_rate(a.download_limit, "--download-limit");
    o.timeout = checked_seconds(a.timeout, "--timeout", 0.001, kMaxNetworkTimeout);
    if (!a.listen.empty()) o.listen = transport::parse_listen_address(a.listen);
    o.commit_torrent = a.commit_torrent;
    return o;
}

std::function<void(const transport::PullProgress&)> progress_printer(const Context& ctx) {
    bool tty = ctx.progress_enabled();
    if (!tty && !(ctx.json && !ctx.quiet)) return {};
    auto start = std::chrono::steady_clock::now();
    auto last = start - std::chrono::seconds(1);
    std::ostream* err = ctx.err;
    return [start, last, err, tty](const transport::PullProgress& p) mutable {
        auto now = std::chrono::steady_clock::now();
        double s = std::chrono::duration<double>(now - start).count();
        double rate = s > 0 ? static_cast<double>(p.done) / s : 0;
        double eta = p.have_commit && rate > 0 && p.total > p.done ? static_cast<double>(p.total - p.done) / rate : 0;
        if (!tty) {
            if (now - last < std::chrono::seconds(1)) return;
            last = now;
            nlohmann::json j = {{"progress",
                                 {{"bytes", p.done},
                                  {"total", p.have_commit ? nlohmann::json(p.total) : nlohmann::json(nullptr)},
                                  {"rate", static_cast<std::uint64_t>(rate)},
                                  {"peers", p.peers},
                                  {"eta_seconds", static_cast<std::uint64_t>(eta)},
                                  {"elapsed_seconds", s}}}};
            *err << json_text(j) << std::endl;
            return;
        }
        char buf[200];
        std::snprintf(buf, sizeof buf, "\rreceiving %s of %s (%.1f MB/s, %d peer%s, ETA %.0f s)   ",
                      human_bytes(p.done).c_str(), p.have_commit ? human_bytes(p.total).c_str() : "?", rate / 1e6,
                      p.peers, p.peers == 1 ? "" : "s", eta);
        *err << buf << std::flush;
    };
}

namespace {

nlohmann::json sources_json(const transport::FetchResult& f) {
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : f.paths)
        peers.push_back({{"peer", p.peer}, {"via", p.via}, {"found", p.found}, {"holepunched", p.holepunched},
                         {"bytes", p.bytes}});
    auto t = transport::path_totals(f.paths);
    return {{"peers", peers},
            {"tcp", t.tcp},
            {"utp", t.utp},
            {"mirror", t.mirror},
            {"holepunched", t.holepunched},
            {"incoming", t.incoming},
            {"port_mapped", f.port_mapped},
            {"round_trip_ms", f.round_trip_ms},
            {"request_queue_seconds", f.request_queue_seconds}};
}

}  // namespace

nlohmann::json fetch_json(const transport::FetchResult& f) {
    return {{"commit", f.id.hex()},
            {"sources", sources_json(f)},
            {"commit_fetched", f.commit_fetched},
            {"packs", f.packs_total},
            {"packs_fetched", f.packs_fetched},
            {"packs_partial", f.packs_partial},
            {"objects_fetched", f.objects_fetched},
            {"bytes_fetched", f.bytes_fetched},
            {"bytes_needed", f.bytes_needed},
            {"bytes_downloaded", f.bytes_downloaded},
            {"bytes_received", f.bytes_received},
            {"bytes_uploaded", f.bytes_uploaded},
            {"pieces_failed", f.pieces_failed},
            {"peers_banned", f.peers_banned},
            {"seconds", f.seconds},
            {"transfer_seconds", f.transfer_seconds},
            {"import_seconds", f.import_seconds}};
}

std::string fetch_summary(const transport::FetchResult& f) {
    if (!f.commit_fetched && f.packs_fetched == 0 && f.packs_partial == 0) return "everything was already here";
    char rate[64] = "";
    if (f.seconds > 0 && f.bytes_downloaded)
        std::snprintf(rate, sizeof rate, " (%.1f MB/s)", static_cast<double>(f.bytes_downloaded) / f.seconds / 1e6);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f s", f.seconds);
    std::string part = f.packs_partial ? " (" + std::to_string(f.packs_partial) + " more in part)" : "";
    std::string by;
    for (const auto& p : f.paths) {
        by += (by.empty() ? "; by path: " : ", ") + human_bytes(p.bytes) + " from " + p.peer;
        if (p.via != "http") by += " (" + std::string(p.via == "utp" ? "uTP" : "TCP") + ", " + p.found +
                                   (p.holepunched ? ", hole-punched" : "") + ")";
        else by += " (mirror)";
    }
    std::string bad;
    if (f.pieces_failed) {
        bad = "; " + std::to_string(f.pieces_failed) + (f.pieces_failed == 1 ? " piece" : " pieces") +
              " failed verification and were fetched again";
        if (!f.peers_banned.empty()) {
            bad += " (banned:";
            for (const auto& p : f.peers_banned) bad += " " + p;
            bad += ")";
        }
    }
    return "received " + std::to_string(f.packs_fetched) + " of " + std::to_string(f.packs_total) + " packs" + part + ", " +
           human_bytes(f.bytes_downloaded) + " in " + secs + rate + bad + by;
}

}  // namespace dvt::cmd
