#include "transport/serve.hpp"

#include "transport/dht.hpp"
#include "transport/follower.hpp"
#include "transport/http_endpoint.hpp"
#include "transport/keys.hpp"
#include "transport/lsd.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace {

// One `dvt serve` per repository: a non-blocking flock on .dvt/serve.lock, held until exit.
util::Fd lock_serve(const std::filesystem::path& dvt_dir) {
    auto p = dvt_dir / "serve.lock";
    auto lock = util::try_lock_file(p);
    if (!lock)
        throw Error(ErrorKind::conflict,
                    "this repository is already being served by another 'dvt serve' (" + p.string() + " is locked)");
    return std::move(*lock);
}

void say(const std::function<void(const std::string&)>& f, const std::string& m) {
    if (f) f(m);
}

}  // namespace

ServeResult serve(core::Repository& repo, const ServeOptions& o) {
    util::Fd serve_lock = lock_serve(repo.dvt_dir());
    auto dht = dht_options(&repo.config(), o.bootstrap, o.dht);
    if (o.follow && !dht.enabled) throw Error(ErrorKind::usage, "--follow needs the DHT: give --bootstrap or --dht");
    SwarmSession session(o.listen);
    session.set_rate_limits(o.upload_limit, 0);
    // A server's address is always explicit: "auto" port mapping does not apply, only --port-map or the config.
    auto net = net_options(&repo.config(), o.port_map);
    if (session.set_reach(net.utp, net.port_mapping == PortMapping::on, [&o](const std::string& m) { say(o.info, m); }))
        say(o.info, "asking the router to map port " + std::to_string(session.listen_endpoint().port()) +
                        " (UPnP, NAT-PMP)");
    enable_dht(session, dht);
    bool lsd = lsd_option(&repo.config(), o.lsd);
    if (lsd) enable_lsd(session);
    auto key = dht.enabled ? load_repo_key(repo.dvt_dir()) : std::nullopt;
    if (dht.enabled) {  // torrents are announced as they start: join first (the other nodes may start later)
        try {
            wait_dht_ready(session, std::chrono::seconds(5));
        } catch (const Error&) {
            say(o.warn, "no DHT node answered yet; announcing as nodes appear");
        }
    }
    Seeder seeder(session, repo, [&o](const std::string& m) { say(o.warn, m); }, o.trackers);
    seeder.set_super_seeding(o.super_seed);
    auto counts = seeder.rescan();
    std::optional<HttpEndpoint> http;
    if (o.http) http.emplace(repo, *o.http, o.lazy ? std::make_shared<LazySource>(repo, *o.lazy) : nullptr);
    if (o.ready) o.ready(ServeReady{session.listen_endpoint(), counts, http ? std::optional(http->local()) : std::nullopt});
    auto report_status = [&] {
        while (o.status_requested && o.status_requested())
            if (o.status) {
                ServeStatus st{seeder.counts(), seeder.bytes_uploaded(), seeder.peers_per_torrent(100), seeder.dropped()};
                o.status(st);
            }
    };
    auto stop = [&] { return o.should_stop && o.should_stop(); };
    if (!dht.enabled) {
        seeder.run([&] {
            report_status();
            return stop();
        });
    } else {
        // A DHT server also keeps records alive: the key holder republishes its refs, a follower re-puts the records
        // it follows (signature unchanged) and fetches every new version (docs/transport.md, "Replicas").
        Follower follower(repo, session, dht, key, o.follow, o.follow_branch, o.follow_interval,
                          [&o](const std::string& m) { say(o.warn, m); },
                          [&o](const std::string& m) { say(o.info, m); });
        follower.upload_limit = o.upload_limit;
        follower.lsd = lsd;
        seeder.run([&] {
            report_status();
            if (stop()) return true;
            follower.tick();
            return false;
        });
    }
    return ServeResult{seeder.bytes_uploaded()};
}

}  // namespace dvt::transport
