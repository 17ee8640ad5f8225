// dvt serve --listen IP:PORT, dvt clone ID DIR --peer IP:PORT..., dvt pull ID --peer IP:PORT...
// (docs/transport.md). serve runs until SIGTERM or SIGINT and then exits 0; clone and pull remove their temp data
// when interrupted and then die by the signal.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <iostream>

#include "cmd/cli.hpp"
#include "hooks/lockfile.hpp"
#include "transport/follower.hpp"
#include "transport/lsd.hpp"
#include "transport/pull.hpp"
#include "transport/remote.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "core/worktree.hpp"

namespace dvt::cmd {

namespace {

// Blocks SIGINT and SIGTERM in this thread (and every thread started afterwards, libtorrent's included), so the
// main loop can poll for them and shut down in order instead of dying mid-write.
class SignalBlock {
public:
    // Blocks SIGINT, SIGTERM and SIGUSR1 in this thread and in every thread it starts afterwards (libtorrent's): the
    // signals stay pending until take() / take_usr1() consume them.
    SignalBlock() {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGINT);
        sigaddset(&m_set, SIGTERM);
        sigemptyset(&m_usr1);
        sigaddset(&m_usr1, SIGUSR1);
        sigset_t all = m_set;
        sigaddset(&all, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &all, &m_old);
    }
    ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

    // The pending SIGINT/SIGTERM (consumed), or 0.
    int take() {
        timespec zero{0, 0};
        int s = sigtimedwait(&m_set, nullptr, &zero);
        return s > 0 ? s : 0;
    }
    // Whether a SIGUSR1 was pending (consumed).
    bool take_usr1() {
        timespec zero{0, 0};
        return sigtimedwait(&m_usr1, nullptr, &zero) > 0;
    }
    // Die by `sig` as if it had not been blocked (exit status 128+sig for the shell).
    [[noreturn]] void die(int sig) {
        std::cerr.flush();
        ::signal(sig, SIG_DFL);
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, sig);
        pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
        ::raise(sig);
        std::_Exit(128 + sig);
    }

private:
    sigset_t m_set, m_usr1, m_old;
};

// One `dvt serve` per repository: a non-blocking flock on .dvt/serve.lock, held until exit.
util::Fd lock_serve(const std::filesystem::path& dvt_dir) {
    auto p = dvt_dir / "serve.lock";
    auto lock = util::try_lock_file(p);
    if (!lock)
        throw Error(ErrorKind::conflict,
                    "this repository is already being served by another 'dvt serve' (" + p.string() + " is locked)");
    return std::move(*lock);
}

struct SwarmArgs {
    std::vector<std::string> positional;  // clone: ID DIR; pull: [REMOTE] ID
    std::vector<std::string> peers, trackers, mirrors, bootstrap;
    bool dht = false, lsd = false;
    std::string branch = "main";
    std::string upload_limit, download_limit;
    std::string listen;
    double timeout = 60;
    bool force = false;
};

void add_swarm_options(CLI::App* sub, SwarmArgs& a) {
    sub->add_option("--peer", a.peers, "A peer that serves the commit, IP:PORT (repeatable)")->allow_extra_args(false);
    sub->add_option("--tracker", a.trackers, "A BitTorrent tracker announce URL (repeatable)")->allow_extra_args(false);
    sub->add_option("--mirror", a.mirrors, "An http:// mirror (dvt push --mirror) used as a web seed (repeatable)")
        ->allow_extra_args(false);
    sub->add_option("--bootstrap", a.bootstrap, "DHT bootstrap node HOST:PORT: find peers through the DHT (repeatable)")
        ->allow_extra_args(false);
    sub->add_flag("--dht", a.dht, "Find peers through the public BitTorrent DHT");
    sub->add_flag("--lsd", a.lsd, "Find peers on the local network (BEP 14 multicast; or config lsd.enabled = true)");
    sub->add_option("--branch", a.branch, "With a dvt:// address: the published branch to fetch (default main)");
    sub->add_option("--upload-limit", a.upload_limit, "Cap on upload rate, bytes/s (e.g. 20M); applies to all peers");
    sub->add_option("--download-limit", a.download_limit, "Cap on download rate, bytes/s (e.g. 20M)");
    sub->add_option("--timeout", a.timeout, "Seconds to wait for the data before giving up (default 60)");
    sub->add_option("--listen", a.listen,
                    "Local IP[:PORT] to connect from and listen on (default: the address routing to the first peer)");
}

// Checks the command line before anything else happens (usage errors come first, also outside a repository).
transport::PullOptions parse_swarm_args(const SwarmArgs& a, const std::string& commit, Hash32& id) {
    if (!commit.starts_with("dvt://")) id = transport::parse_commit_id(commit);
    transport::PullOptions o;
    for (const auto& m : a.mirrors) {
        if (!m.starts_with("http://")) throw Error(ErrorKind::usage, "mirror '" + m + "' is not an http:// URL");
        o.web_seeds.push_back(m);
    }
    o.dht = transport::dht_options(nullptr, a.bootstrap, a.dht);
    o.lsd = a.lsd;
    for (const auto& p : a.peers) o.peers.push_back(transport::parse_endpoint(p, "peer address", false));
    for (const auto& t : a.trackers) o.trackers.push_back(transport::check_tracker_url(t));
    if (!a.upload_limit.empty()) o.upload_limit = transport::parse_rate(a.upload_limit, "--upload-limit");
    if (!a.download_limit.empty()) o.download_limit = transport::parse_rate(a.download_limit, "--download-limit");
    if (!(a.timeout > 0) || !std::isfinite(a.timeout) || a.timeout > 1e7)
        throw Error(ErrorKind::usage, "--timeout must be a positive number of seconds");
    o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(a.timeout * 1000));
    if (!a.listen.empty()) {
        std::string l = a.listen;
        if (l.find(':') == std::string::npos || (l.starts_with('[') && l.ends_with(']'))) l += ":0";
        o.listen = transport::parse_endpoint(l, "listen address", true);
    }
    return o;
}

// On a terminal: "\rreceiving 12.0 MiB of 100.0 MiB (95.1 MB/s, 1 peer, ETA 1 s)". With --json: one JSON line per
// second on stderr ({"progress": {...}}), so stdout keeps exactly one result document. With -q: nothing.
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
            *err << j.dump() << std::endl;
            return;
        }
        char buf[200];
        std::snprintf(buf, sizeof buf, "\rreceiving %s of %s (%.1f MB/s, %d peer%s, ETA %.0f s)   ",
                      human_bytes(p.done).c_str(), p.have_commit ? human_bytes(p.total).c_str() : "?", rate / 1e6,
                      p.peers, p.peers == 1 ? "" : "s", eta);
        *err << buf << std::flush;
    };
}

nlohmann::json fetch_json(const transport::FetchResult& f) {
    return {{"commit", f.id.hex()},
            {"commit_fetched", f.commit_fetched},
            {"packs", f.packs_total},
            {"packs_fetched", f.packs_fetched},
            {"objects_fetched", f.objects_fetched},
            {"bytes_fetched", f.bytes_fetched},
            {"bytes_downloaded", f.bytes_downloaded},
            {"bytes_received", f.bytes_received},
            {"bytes_uploaded", f.bytes_uploaded},
            {"seconds", f.seconds},
            {"transfer_seconds", f.transfer_seconds},
            {"import_seconds", f.import_seconds}};
}

std::string fetch_summary(const transport::FetchResult& f) {
    if (!f.commit_fetched && f.packs_fetched == 0) return "everything was already here";
    char rate[64] = "";
    if (f.seconds > 0 && f.bytes_downloaded)
        std::snprintf(rate, sizeof rate, " (%.1f MB/s)", static_cast<double>(f.bytes_downloaded) / f.seconds / 1e6);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f s", f.seconds);
    return "received " + std::to_string(f.packs_fetched) + " of " + std::to_string(f.packs_total) + " packs, " +
           human_bytes(f.bytes_downloaded) + " in " + secs + rate;
}

}  // namespace

void register_serve(CLI::App& app, Context& ctx) {
    struct Args {
        std::string listen, upload_limit, follow, follow_branch = "main";
        std::vector<std::string> trackers, bootstrap;
        bool dht = false, super_seed = false, lsd = false;
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
    sub->add_option("--follow", a->follow, "Be a replica of dvt://<key>: fetch every version it publishes");
    sub->add_option("--follow-branch", a->follow_branch, "The branch to follow (default main)");
    sub->add_option("--follow-interval", a->follow_interval, "Seconds between looks for a new version (default 10)");
    sub->add_flag("--super-seed", a->super_seed,
                  "Initial seeding (BEP 16): upload each piece about once and let the peers trade the rest");
    sub->callback([a, &ctx] {
        auto ep = transport::parse_endpoint(a->listen, "listen address", true);
        std::optional<lt::dht::public_key> follow;
        if (!a->follow.empty()) follow = transport::parse_repo_url(a->follow);
        if (!(a->follow_interval > 0)) throw Error(ErrorKind::usage, "--follow-interval must be positive");
        std::vector<std::string> trackers;
        for (const auto& t : a->trackers) trackers.push_back(transport::check_tracker_url(t));
        std::int64_t up = a->upload_limit.empty() ? 0 : transport::parse_rate(a->upload_limit, "--upload-limit");
        auto repo = ctx.open_repo();
        util::Fd serve_lock = lock_serve(repo->dvt_dir());
        SignalBlock signals;
        auto dht = transport::dht_options(&repo->config(), a->bootstrap, a->dht);
        if (follow && !dht.enabled) throw Error(ErrorKind::usage, "--follow needs the DHT: give --bootstrap or --dht");
        transport::SwarmSession session(ep);
        session.set_rate_limits(up, 0);
        transport::enable_dht(session, dht);
        bool lsd = transport::lsd_option(&repo->config(), a->lsd);
        if (lsd) transport::enable_lsd(session);
        auto key = dht.enabled ? transport::load_repo_key(repo->dvt_dir()) : std::nullopt;
        if (dht.enabled) {  // torrents are announced as they start: join first (the other nodes may start later)
            try {
                transport::wait_dht_ready(session, std::chrono::seconds(5));
            } catch (const Error&) {
                ctx.warn("no DHT node answered yet; announcing as nodes appear");
            }
        }
        std::ostream* err = ctx.err;
        bool quiet = ctx.quiet;
        transport::Seeder seeder(
            session, *repo,
            [err, quiet](const std::string& msg) {
                if (!quiet) *err << "dvt: warning: " << msg << std::endl;
            },
            trackers);
        seeder.set_super_seeding(a->super_seed);
        auto counts = seeder.rescan();
        const auto& at = session.listen_endpoint();
        if (ctx.json)
            ctx.print_json({{"listen", transport::endpoint_string(at)},
                            {"address", at.address().to_string()},
                            {"port", at.port()},
                            {"commits", counts.commits},
                            {"packs", counts.packs},
                            {"partial_packs", counts.partial_packs}});
        else
            *ctx.out << "serving " << counts.commits << " commits and " << counts.packs << " packs on "
                     << transport::endpoint_string(at) << "\n";
        ctx.out->flush();
        int sig = 0;
        // SIGUSR1 prints a status line (like dd's): what has been uploaded so far, without stopping
        auto status_on_usr1 = [&] {
            while (signals.take_usr1()) {
                auto c = seeder.counts();
                if (ctx.json)
                    ctx.print_json({{"status", "serving"}, {"bytes_uploaded", seeder.bytes_uploaded()},
                                    {"commits", c.commits}, {"packs", c.packs}, {"partial_packs", c.partial_packs}});
                else
                    *ctx.out << "serving " << c.commits << " commits and " << c.packs << " packs, "
                             << human_bytes(seeder.bytes_uploaded()) << " uploaded\n";
                ctx.out->flush();
            }
        };
        if (!dht.enabled) {
            seeder.run([&] {
                status_on_usr1();
                return (sig = signals.take()) != 0;
            });
        } else {
            // A DHT server also keeps records alive: the key holder republishes its refs, a follower re-puts the
            // records it follows (signature unchanged) and fetches every new version (docs/transport.md, "Replicas").
            transport::Follower follower(*repo, session, dht, key, follow, a->follow_branch,
                                         std::chrono::milliseconds(static_cast<std::int64_t>(a->follow_interval * 1000)),
                                         [&ctx](const std::string& m) { ctx.warn(m); },
                                         [&ctx](const std::string& m) { ctx.info(m); });
            follower.upload_limit = up;
            follower.lsd = lsd;
            seeder.run([&] {
                status_on_usr1();
                if ((sig = signals.take()) != 0) return true;
                follower.tick();
                return false;
            });
        }
        std::string how = sig == SIGINT ? "SIGINT" : "SIGTERM";
        if (ctx.json)
            ctx.print_json({{"stopped", how}, {"bytes_uploaded", seeder.bytes_uploaded()}});
        else
            ctx.info("dvt serve: stopped (" + how + "), " + human_bytes(seeder.bytes_uploaded()) + " uploaded");
    });
}

void register_clone(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<SwarmArgs>();
    auto* sub = app.add_subcommand("clone", "Create a repository in DIR from a commit fetched from peers");
    sub->add_option("commit dir", a->positional, "The commit id (64 hex digits) and the new directory")
        ->required()
        ->expected(2);
    add_swarm_options(sub, *a);
    sub->callback([a, &ctx] {
        Hash32 id;
        auto opts = parse_swarm_args(*a, a->positional[0], id);
        if (opts.peers.empty() && opts.trackers.empty() && opts.web_seeds.empty() && !opts.dht.enabled && !opts.lsd)
            throw Error(ErrorKind::usage,
                        "clone needs --peer IP:PORT, --tracker URL, --mirror URL, the DHT (--bootstrap) or --lsd");
        std::optional<transport::Remote> origin;
        if (a->positional[0].starts_with("dvt://")) {  // a published repository: its branch through the DHT
            auto pk = transport::parse_repo_url(a->positional[0]);
            std::vector<std::string> seeds;
            id = transport::resolve_published(pk, "refs/heads/" + a->branch, opts, seeds,
                                              [&ctx](const std::string& w) { ctx.warn(w); });
            opts.web_seeds.insert(opts.web_seeds.end(), seeds.begin(), seeds.end());
            origin = transport::Remote{"origin", "dvt://" + transport::public_hex(pk), opts.peers, opts.trackers,
                                       opts.web_seeds, opts.dht.bootstrap};
        }
        std::filesystem::path dir = a->positional[1];
        if (!ctx.dir.empty() && dir.is_relative()) dir = std::filesystem::path(ctx.dir) / dir;
        SignalBlock signals;
        int caught = 0;
        opts.interrupted = [&] { return (caught = signals.take()) != 0; };
        opts.progress = progress_printer(ctx);
        bool tty = ctx.progress_enabled();
        transport::CloneResult r;
        try {
            r = transport::clone(id, dir, opts);
        } catch (const transport::Interrupted&) {
            if (tty) *ctx.err << "\n";
            signals.die(caught);
        } catch (...) {
            if (tty) *ctx.err << "\n";
            throw;
        }
        if (tty) *ctx.err << "\n";
        if (origin) {  // remember where it came from: `dvt pull` then follows the published branch
            auto repo = core::Repository::open(r.root);
            auto lock = repo->write_lock();
            transport::save_remote(repo->config(), *origin);
            repo->config().set("remote.origin.branch", a->branch);
            repo->save_config();
        }
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["path"] = r.root.string();
            j["branch"] = "main";
            j["written"] = r.checkout.written;
            j["bytes_written"] = r.checkout.bytes_written;
            j["checkout_seconds"] = r.checkout.seconds;
            ctx.print_json(j);
            return;
        }
        ctx.info("cloned commit " + id.hex().substr(0, 12) + " into " + r.root.string() + ": " +
                 fetch_summary(r.fetch) + "; " + std::to_string(r.checkout.written) + " files written (" +
                 human_bytes(r.checkout.bytes_written) + ")");
    });
}

void register_pull(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<SwarmArgs>();
    auto* sub = app.add_subcommand(
        "pull", "Fetch a commit from peers (only what is missing here) and check it out, or only some paths (-- PATHS)");
    sub->add_option("remote commit", a->positional,
                    "[REMOTE] and the commit id (64 hex digits); none: the commit pinned in dvt.lock (docs/hooks.md)")
        ->expected(0, 2);
    add_swarm_options(sub, *a);
    sub->add_flag("-f,--force", a->force, "Discard uncommitted changes in the way of the checkout");
    sub->callback([a, &ctx] {
        std::optional<transport::Remote> follow;  // `dvt pull` in a clone of a dvt:// repository: its latest version
        if (a->positional.empty() && !hooks::lock_file_path(ctx.dir.empty() ? std::filesystem::current_path()
                                                                            : std::filesystem::absolute(ctx.dir))) {
            std::unique_ptr<core::Repository> repo;
            try {
                repo = ctx.open_repo();
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::not_a_repository) throw;  // no repository: the dvt.lock path reports it
            }
            if (repo && repo->config().get("remote.origin.url")) {
                follow = transport::load_remote(repo->config(), "origin");
                a->branch = repo->config().get_or("remote.origin.branch", a->branch);
                a->positional = {follow->url};
            }
        }
        if (a->positional.empty()) {  // in a git work tree: the commit, directory and peers pinned in dvt.lock
            auto pin = pinned_pull(ctx);
            a->positional = {pin.commit};
            ctx.dir = pin.dir.string();
            if (a->peers.empty() && a->trackers.empty()) {
                a->peers = pin.peers;
                a->trackers = pin.trackers;
            }
        }
        Hash32 id;
        auto opts = parse_swarm_args(*a, a->positional.back(), id);
        auto repo = ctx.open_repo();
        auto old_head = repo->refs().head().commit;
        std::optional<std::string> remote;
        if (a->positional.size() == 2) remote = a->positional[0];
        else if (opts.peers.empty() && opts.trackers.empty() && !follow &&
                 (repo->config().get("remote.origin.peers") || repo->config().get("remote.origin.trackers") ||
                  repo->config().get("remote.origin.mirrors")))
            remote = "origin";
        if (remote) {
            auto r = transport::load_remote(repo->config(), *remote);
            opts.peers.insert(opts.peers.end(), r.peers.begin(), r.peers.end());
            opts.trackers.insert(opts.trackers.end(), r.trackers.begin(), r.trackers.end());
            opts.web_seeds.insert(opts.web_seeds.end(), r.mirrors.begin(), r.mirrors.end());
            if (!opts.dht.enabled && !r.bootstrap.empty()) opts.dht = transport::dht_options(nullptr, r.bootstrap, false);
            if (a->positional.back().starts_with("dvt://") == false && !r.url.empty() && !opts.dht.enabled)
                opts.dht = transport::dht_options(&repo->config(), {}, true);
        }
        if (!opts.dht.enabled) opts.dht = transport::dht_options(&repo->config(), {}, false);
        opts.lsd = transport::lsd_option(&repo->config(), opts.lsd);
        if (a->positional.back().starts_with("dvt://")) {
            if (follow && !opts.dht.enabled) opts.dht = transport::dht_options(nullptr, follow->bootstrap, true);
            if (follow) {
                opts.peers.insert(opts.peers.end(), follow->peers.begin(), follow->peers.end());
                opts.web_seeds.insert(opts.web_seeds.end(), follow->mirrors.begin(), follow->mirrors.end());
            }
            std::vector<std::string> seeds;
            id = transport::resolve_published(transport::parse_repo_url(a->positional.back()), "refs/heads/" + a->branch,
                                              opts, seeds, [&ctx](const std::string& w) { ctx.warn(w); });
            opts.web_seeds.insert(opts.web_seeds.end(), seeds.begin(), seeds.end());
        }
        auto cwd = std::filesystem::current_path();
        if (!ctx.dir.empty()) cwd = std::filesystem::absolute(ctx.dir);
        for (const auto& p : ctx.pathspec) opts.paths.push_back(core::repo_relative(*repo, cwd, p));
        SignalBlock signals;
        int caught = 0;
        opts.interrupted = [&] { return (caught = signals.take()) != 0; };
        opts.progress = progress_printer(ctx);
        bool tty = ctx.progress_enabled();
        transport::PullResult r;
        try {
            r = transport::pull(*repo, id, opts, a->force);
        } catch (const transport::Interrupted&) {
            if (tty) *ctx.err << "\n";
            repo.reset();
            signals.die(caught);
        } catch (...) {
            if (tty) *ctx.err << "\n";
            throw;
        }
        if (tty) *ctx.err << "\n";
        run_post_pull_hook(*repo, old_head, id, opts.paths);
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["branch"] = r.checkout.branch ? nlohmann::json(*r.checkout.branch) : nlohmann::json(nullptr);
            j["fast_forward"] = r.fast_forward;
            j["paths"] = ctx.pathspec;
            j["written"] = r.checkout.written;
            j["deleted"] = r.checkout.deleted;
            j["bytes_written"] = r.checkout.bytes_written;
            j["checkout_seconds"] = r.checkout.seconds;
            ctx.print_json(j);
            return;
        }
        std::string where = !ctx.pathspec.empty() ? "paths checked out, HEAD unchanged"
                            : r.checkout.branch   ? "branch '" + *r.checkout.branch + "'" +
                                                      (r.fast_forward ? " (fast-forward)" : "")
                                                  : "detached HEAD";
        ctx.info("pulled commit " + id.hex().substr(0, 12) + " (" + where + "): " + fetch_summary(r.fetch) + "; " +
                 std::to_string(r.checkout.written) + " files written, " + std::to_string(r.checkout.deleted) +
                 " removed");
    });
}

}  // namespace dvt::cmd
