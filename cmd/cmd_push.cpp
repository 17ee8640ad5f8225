// dvt push [--bootstrap IP:PORT]... [--dht] [--listen IP[:PORT]] [--replicas N] [--timeout S]
//          [--mirror DIR] [--mirror-url URL]
// Publishes refs/heads/* and refs/tags/* as signed records in the DHT, exports an HTTP mirror, and optionally seeds
// until N other peers hold complete copies (docs/transport.md, "Signed refs", "HTTP mirrors", "Replicas").
#include <signal.h>

#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/peer_info.hpp>

#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "hooks/runner.hpp"
#include "transport/dht.hpp"
#include "transport/keys.hpp"
#include "transport/mirror.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

namespace {

// Peers (by IP) that are seeds of torrent `h` right now.
std::set<std::string> seeds_of(const lt::torrent_handle& h) {
    std::vector<lt::peer_info> peers;
    h.get_peer_info(peers);
    std::set<std::string> seeds;
    for (const auto& p : peers)
        if (p.flags & lt::peer_info::seed) seeds.insert(p.ip.address().to_string());
    return seeds;
}

}  // namespace

void register_push(CLI::App& app, Context& ctx) {
    struct Args {
        std::vector<std::string> bootstrap;
        bool dht = false;
        std::string listen, mirror, mirror_url;
        int replicas = 0;
        double timeout = 120;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("push", "Publish branches and tags as signed DHT records; export a mirror; wait for replicas");
    sub->add_option("--bootstrap", a->bootstrap, "DHT bootstrap node HOST:PORT (repeatable; default: config dht.bootstrap)")
        ->allow_extra_args(false);
    sub->add_flag("--dht", a->dht, "Use the public BitTorrent DHT (when no bootstrap node is configured)");
    sub->add_option("--listen", a->listen, "Local IP[:PORT] for the DHT and seeding (default: towards the first node)");
    sub->add_option("--replicas", a->replicas, "Seed until this many other peers hold a complete copy of every pushed head");
    sub->add_option("--timeout", a->timeout, "Seconds to wait for the DHT and for --replicas (default 120)");
    sub->add_option("--mirror", a->mirror, "Also export commits and packs to this directory (for any HTTP server)");
    sub->add_option("--mirror-url", a->mirror_url, "The URL that serves --mirror DIR; published with the refs as a web seed");
    sub->callback([a, &ctx] {
        if (!(a->timeout > 0) || !std::isfinite(a->timeout)) throw Error(ErrorKind::usage, "--timeout must be positive");
        if (a->replicas < 0) throw Error(ErrorKind::usage, "--replicas must be 0 or more");
        if (!a->mirror_url.empty() && !a->mirror_url.starts_with("http://"))
            throw Error(ErrorKind::usage, "--mirror-url must be an http:// URL");
        auto repo = ctx.open_repo();
        auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(a->timeout * 1000));
        auto dht = transport::dht_options(&repo->config(), a->bootstrap, a->dht);
        std::vector<std::pair<std::string, Hash32>> refs;
        for (const char* prefix : {"refs/heads/", "refs/tags/"})
            for (const auto& r : repo->refs().list(prefix)) refs.push_back(r);
        if (refs.empty()) throw Error(ErrorKind::nothing_to_do, "no branch or tag to push (commit first)");
        {  // .dvt/hooks/pre-push: one line "<ref> <commit>" per ref on stdin; non-zero aborts before anything is sent
            hooks::HookCall call;
            call.name = "pre-push";
            call.work_tree = repo->root();
            call.dvt_dir = repo->dvt_dir();
            for (const auto& [name, id] : refs) call.input += name + " " + id.hex() + "\n";
            auto head = repo->refs().head();
            if (head.commit) call.new_commit = head.commit->hex();
            if (head.branch_ref) call.branch = head.branch_ref->substr(11);
            if (auto st = hooks::run_hook(call); st && *st != 0)
                throw Error(ErrorKind::hook_rejected, "the pre-push hook rejected the push (exit " + std::to_string(*st) + ")");
        }
        nlohmann::json out = {{"refs", nlohmann::json::array()}};

        // 1. the mirror
        if (!a->mirror.empty()) {
            std::vector<Hash32> commits;
            for (const auto& r : refs) commits.push_back(r.second);
            std::filesystem::path dir = a->mirror;
            if (!ctx.dir.empty() && dir.is_relative()) dir = std::filesystem::path(ctx.dir) / dir;
            auto m = transport::export_mirror(*repo, commits, dir);
            out["mirror"] = {{"path", dir.string()}, {"commits_written", m.commits}, {"packs_written", m.packs},
                             {"bytes_written", m.bytes}};
            ctx.info("mirror " + dir.string() + ": " + std::to_string(m.commits) + " commits and " +
                     std::to_string(m.packs) + " packs written (" + human_bytes(m.bytes) + ")");
        }
        if (!a->mirror_url.empty()) {
            auto lock = repo->write_lock();
            repo->config().set("mirror.url", a->mirror_url);
            repo->save_config();
        }
        if (!dht.enabled) {
            if (a->mirror.empty())
                throw Error(ErrorKind::usage, "nothing to push to: give --bootstrap HOST:PORT or --dht (or set "
                                              "dht.bootstrap), or --mirror DIR");
            if (ctx.json) ctx.print_json(out);
            return;
        }

        // 2. signed records
        auto key = transport::load_repo_key(repo->dvt_dir());
        if (!key) throw Error(ErrorKind::not_found, "this repository has no publisher key (dvt key generate)");
        transport::Endpoint listen;
        if (!a->listen.empty()) {
            std::string l = a->listen;
            if (l.find(':') == std::string::npos) l += ":0";
            listen = transport::parse_endpoint(l, "listen address", true);
        } else if (auto node = transport::first_bootstrap_address(dht)) {
            listen = transport::Endpoint(transport::local_address_towards(*node), 0);
        } else {
            throw Error(ErrorKind::usage, "give --listen IP (no bootstrap node is an IP address)");
        }
        transport::SwarmSession session(listen);
        dht.read_only = true;  // push is short-lived: do not leave a dead entry in other nodes' routing tables
        transport::enable_dht(session, dht);
        transport::wait_dht_ready(session, timeout);
        std::vector<std::string> skipped;
        auto items = transport::ref_items(refs, repo->config().get_or("mirror.url", ""), &skipped);
        for (const auto& name : skipped) ctx.warn(name + " is longer than 64 bytes and cannot be published");
        auto published = transport::put_items(session, *key, items, timeout);
        for (std::size_t i = 0; i + 1 < published.size(); ++i) {  // the last item is the ref list
            std::string commit = transport::decode_ref_value(items[i].second)->hex();
            out["refs"].push_back({{"ref", published[i].salt}, {"commit", commit},
                                   {"seq", published[i].seq}, {"nodes", published[i].nodes}});
            ctx.info("published " + published[i].salt + " = " + commit.substr(0, 12) + " (seq " +
                     std::to_string(published[i].seq) + ", " + std::to_string(published[i].nodes) + " DHT nodes)");
        }
        out["url"] = "dvt://" + key->public_hex();

        // 3. replicas: seed the pushed heads until N other peers are seeds of each of their torrents
        if (a->replicas > 0) {
            transport::Seeder seeder(session, *repo);
            seeder.rescan();
            std::set<Hash32> heads;
            for (const auto& r : refs)
                if (r.first.starts_with("refs/heads/")) heads.insert(r.second);
            auto deadline = std::chrono::steady_clock::now() + timeout;
            std::size_t have = 0;
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            sigaddset(&set, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &set, nullptr);
            // a peer counts once it has been seen holding every piece of every torrent of the head (it may leave
            // right after: a follower's download session closes once its copy is verified and imported)
            std::map<std::pair<Hash32, int>, std::set<std::string>> seen;  // (head, torrent #) -> complete peers
            auto next_lookup = std::chrono::steady_clock::now();
            const std::string self = session.listen_endpoint().address().to_string();
            {  // get_peers answers (dht_operation alerts) tell where the followers are
                lt::settings_pack sp;
                sp.set_int(lt::settings_pack::alert_mask, session.settings(session.listen_endpoint()).get_int(
                                                              lt::settings_pack::alert_mask) |
                                                              static_cast<int>(lt::alert_category::dht_operation));
                session.native().apply_settings(std::move(sp));
            }
            std::map<lt::sha1_hash, lt::torrent_handle> by_hash;
            while (true) {
                session.poll(std::chrono::milliseconds(50), [&](lt::alert* al) {
                    seeder.on_alert(al);
                    // two seeds never connect on their own: connect to every peer the DHT lists for the head's
                    // torrents, so complete copies show up in the swarm's piece availability
                    if (auto* gp = lt::alert_cast<lt::dht_get_peers_reply_alert>(al))
                        if (auto it = by_hash.find(gp->info_hash); it != by_hash.end() && it->second.is_valid())
                            for (const auto& ep : gp->peers())
                                if (ep.address().to_string() != self) it->second.connect_peer(ep);
                });
                have = SIZE_MAX;
                bool lookup = std::chrono::steady_clock::now() >= next_lookup;
                for (const auto& h : heads) {
                    std::vector<lt::torrent_handle> hs{seeder.commit_handle(h)};
                    const objects::Commit c = core::load_commit(*repo, h);
                    for (const auto& p : c.packs) hs.push_back(seeder.pack_handle(p.id));
                    std::optional<std::set<std::string>> all;
                    for (std::size_t k = 0; k < hs.size(); ++k) {
                        if (!hs[k].is_valid()) continue;
                        if (lookup) {  // find followers' servers, which seed it too
                            lt::sha1_hash h20(hs[k].info_hashes().v2.data());
                            by_hash[h20] = hs[k];
                            session.native().dht_get_peers(h20);
                        }
                        auto& acc = seen[{h, static_cast<int>(k)}];
                        for (const auto& ip : seeds_of(hs[k]))
                            if (ip != self) acc.insert(ip);  // not this repository's own `dvt serve`
                        if (!all) {
                            all = acc;
                        } else {
                            std::set<std::string> both;
                            for (const auto& x : *all)
                                if (acc.count(x)) both.insert(x);
                            all = both;
                        }
                    }
                    have = std::min(have, all ? all->size() : std::size_t{0});
                }
                if (lookup) next_lookup = std::chrono::steady_clock::now() + std::chrono::seconds(2);
                if (have >= static_cast<std::size_t>(a->replicas)) break;
                timespec zero{0, 0};
                if (sigtimedwait(&set, nullptr, &zero) > 0) throw Error(ErrorKind::no_peers, "interrupted while waiting for replicas");
                if (std::chrono::steady_clock::now() >= deadline)
                    throw Error(ErrorKind::no_peers, "only " + std::to_string(have) + " of " +
                                                         std::to_string(a->replicas) + " peers hold a complete copy after " +
                                                         std::to_string(static_cast<int>(a->timeout)) + " s");
            }
            out["replicas"] = have;
            ctx.info(std::to_string(have) + " peers hold a complete copy");
        }
        if (ctx.json) ctx.print_json(out);
    });
}

}  // namespace dvt::cmd
