// dvt push [--bootstrap IP:PORT]... [--dht] [--listen IP[:PORT]] [--replicas N] [--timeout S]
//          [--mirror DIR] [--mirror-url URL]
// Publishes refs/heads/* and refs/tags/* as signed records in the DHT, exports an HTTP mirror, and optionally seeds
// until N other peers hold complete copies (docs/transport.md, "Signed refs", "HTTP mirrors", "Replicas").
#include <signal.h>

#include <chrono>
#include <cmath>
#include <map>

#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "hooks/runner.hpp"
#include "transport/dht.hpp"
#include "transport/follower.hpp"
#include "transport/keys.hpp"
#include "transport/mirror.hpp"
#include "transport/replicas.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

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
        // A `dvt serve` of this repository with the DHT and the key publishes moved refs itself within 2 s; pushing
        // through it leaves no dead DHT node behind (transport::wait_server_published). Otherwise put them here.
        auto by_server =
            transport::wait_server_published(*repo, refs, std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10)));
        transport::SwarmSession session(listen);
        dht.read_only = true;  // push is short-lived: do not leave a dead entry in other nodes' routing tables
        transport::enable_dht(session, dht);
        std::vector<transport::Published> published;
        if (by_server) {
            published = std::move(*by_server);
            out["published_by"] = "server";
        } else {
            transport::wait_dht_ready(session, timeout);
            std::vector<std::string> skipped;
            auto items = transport::ref_items(refs, repo->config().get_or("mirror.url", ""), &skipped);
            for (const auto& name : skipped) ctx.warn(name + " is longer than 64 bytes and cannot be published");
            published = transport::put_items(session, *key, items, timeout);
            if (!published.empty()) published.pop_back();  // the ref list
            out["published_by"] = "push";
        }
        std::map<std::string, Hash32> commit_of(refs.begin(), refs.end());
        for (const auto& p : published) {
            std::string commit = commit_of.at(p.salt).hex();
            out["refs"].push_back({{"ref", p.salt}, {"commit", commit}, {"seq", p.seq}, {"nodes", p.nodes}});
            ctx.info("published " + p.salt + " = " + commit.substr(0, 12) + " (seq " + std::to_string(p.seq) + ", " +
                     std::to_string(p.nodes) + " DHT nodes" + (by_server ? ", by the running dvt serve)" : ")"));
        }
        out["url"] = "dvt://" + key->public_hex();

        // 3. replicas: seed the pushed heads until N other peers are seeds of each of their torrents
        if (a->replicas > 0) {
            transport::Seeder seeder(session, *repo);
            seeder.rescan();
            transport::ReplicaCounter counter(session);
            for (const auto& r : refs) {
                if (!r.first.starts_with("refs/heads/")) continue;
                std::vector<lt::torrent_handle> hs{seeder.commit_handle(r.second)};
                for (const auto& p : core::load_commit(*repo, r.second).packs) hs.push_back(seeder.pack_handle(p.id));
                counter.watch(r.second, hs);
            }
            auto deadline = std::chrono::steady_clock::now() + timeout;
            std::size_t have = 0;
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            sigaddset(&set, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &set, nullptr);
            while (true) {
                session.poll(std::chrono::milliseconds(50), [&](lt::alert* al) {
                    seeder.on_alert(al);
                    counter.on_alert(al);
                });
                counter.update();
                auto now_have = counter.min_complete();
                if (now_have >= static_cast<std::size_t>(a->replicas)) {
                    have = now_have;
                    break;
                }
                if (now_have != have)  // progress: a copy was completed
                    ctx.info(std::to_string(now_have) + " of " + std::to_string(a->replicas) +
                             " peers hold a complete copy so far");
                have = now_have;
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
