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
#include "transport/puller.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::cmd {

namespace {

// Blocks SIGINT and SIGTERM in this thread (and every thread started afterwards, libtorrent's included), so the
// main loop can poll for them and shut down in order instead of dying mid-write.
class SignalBlock {
public:
    SignalBlock() {
        sigemptyset(&m_set);
        sigaddset(&m_set, SIGINT);
        sigaddset(&m_set, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
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
    sigset_t m_set, m_old;
};

// One `dvt serve` per repository: a non-blocking flock on .dvt/serve.lock, held until exit.
util::Fd lock_serve(const std::filesystem::path& dvt_dir) {
    auto p = dvt_dir / "serve.lock";
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot open " + p.string());
    util::Fd g(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw Error(ErrorKind::conflict,
                        "this repository is already being served by another 'dvt serve' (" + p.string() + " is locked)");
        throw_errno("cannot lock " + p.string());
    }
    return g;
}

struct SwarmArgs {
    std::string commit;
    std::string dir;
    std::vector<std::string> peers;
    std::string listen;
    double timeout = 60;
    bool force = false;
};

void add_swarm_options(CLI::App* sub, SwarmArgs& a) {
    sub->add_option("--peer", a.peers, "A peer that serves the commit, IP:PORT (repeatable)")
        ->required()
        ->allow_extra_args(false);
    sub->add_option("--timeout", a.timeout, "Seconds to wait for the data before giving up (default 60)");
    sub->add_option("--listen", a.listen,
                    "Local IP[:PORT] to connect from and listen on (default: the address routing to the first peer)");
}

// Checks the command line before anything else happens (usage errors come first, also outside a repository).
transport::PullOptions parse_swarm_args(const SwarmArgs& a, Hash32& id) {
    id = transport::parse_commit_id(a.commit);
    transport::PullOptions o;
    for (const auto& p : a.peers) o.peers.push_back(transport::parse_endpoint(p, "peer address", false));
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

// "\rreceiving 12.0 MiB of 100.0 MiB (95.1 MB/s, 1 peer)" on a terminal.
std::function<void(const transport::PullProgress&)> progress_printer(const Context& ctx) {
    if (!ctx.progress_enabled()) return {};
    auto start = std::chrono::steady_clock::now();
    std::ostream* err = ctx.err;
    return [start, err](const transport::PullProgress& p) {
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double rate = s > 0 ? static_cast<double>(p.done) / s / 1e6 : 0;
        char buf[160];
        std::snprintf(buf, sizeof buf, "\rreceiving %s of %s (%.1f MB/s, %d peer%s)   ", human_bytes(p.done).c_str(),
                      p.have_commit ? human_bytes(p.total).c_str() : "?", rate, p.peers, p.peers == 1 ? "" : "s");
        *err << buf << std::flush;
    };
}

nlohmann::json fetch_json(const transport::FetchResult& f) {
    return {{"commit", f.id.hex()},
            {"commit_fetched", f.commit_fetched},
            {"packs", f.packs_total},
            {"packs_fetched", f.packs_fetched},
            {"bytes_fetched", f.bytes_fetched},
            {"bytes_downloaded", f.bytes_downloaded},
            {"bytes_received", f.bytes_received},
            {"seconds", f.seconds}};
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
    auto listen = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("serve", "Seed this repository's commits and packs to the swarm until stopped");
    sub->add_option("--listen", *listen, "IP:PORT to listen on (an explicit address; port 0 picks a free one)")
        ->required();
    sub->callback([listen, &ctx] {
        auto ep = transport::parse_endpoint(*listen, "listen address", true);
        auto repo = ctx.open_repo();
        util::Fd serve_lock = lock_serve(repo->dvt_dir());
        SignalBlock signals;
        transport::SwarmSession session(ep);
        std::ostream* err = ctx.err;
        bool quiet = ctx.quiet;
        transport::Seeder seeder(session, *repo, [err, quiet](const std::string& msg) {
            if (!quiet) *err << "dvt: warning: " << msg << std::endl;
        });
        auto counts = seeder.rescan();
        const auto& at = session.listen_endpoint();
        if (ctx.json)
            ctx.print_json({{"listen", transport::endpoint_string(at)},
                            {"address", at.address().to_string()},
                            {"port", at.port()},
                            {"commits", counts.commits},
                            {"packs", counts.packs}});
        else
            *ctx.out << "serving " << counts.commits << " commits and " << counts.packs << " packs on "
                     << transport::endpoint_string(at) << "\n";
        ctx.out->flush();
        int sig = 0;
        seeder.run([&] { return (sig = signals.take()) != 0; });
        ctx.info(std::string("dvt serve: stopped (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
    });
}

void register_clone(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<SwarmArgs>();
    auto* sub = app.add_subcommand("clone", "Create a repository in DIR from a commit fetched from peers");
    sub->add_option("commit", a->commit, "The commit id (64 hex digits)")->required();
    sub->add_option("dir", a->dir, "New directory (must not exist or be empty)")->required();
    add_swarm_options(sub, *a);
    sub->callback([a, &ctx] {
        Hash32 id;
        auto opts = parse_swarm_args(*a, id);
        std::filesystem::path dir = a->dir;
        if (!ctx.dir.empty() && dir.is_relative()) dir = std::filesystem::path(ctx.dir) / dir;
        SignalBlock signals;
        int caught = 0;
        opts.interrupted = [&] { return (caught = signals.take()) != 0; };
        opts.progress = progress_printer(ctx);
        transport::CloneResult r;
        try {
            r = transport::clone(id, dir, opts);
        } catch (const transport::Interrupted&) {
            if (opts.progress) *ctx.err << "\n";
            signals.die(caught);
        }
        if (opts.progress) *ctx.err << "\n";
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["path"] = r.root.string();
            j["branch"] = "main";
            j["written"] = r.checkout.written;
            j["bytes_written"] = r.checkout.bytes_written;
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
    auto* sub = app.add_subcommand("pull", "Fetch a commit from peers (only the packs missing here) and check it out");
    sub->add_option("commit", a->commit, "The commit id (64 hex digits)")->required();
    add_swarm_options(sub, *a);
    sub->add_flag("-f,--force", a->force, "Discard uncommitted changes in the way of the checkout");
    sub->callback([a, &ctx] {
        Hash32 id;
        auto opts = parse_swarm_args(*a, id);
        auto repo = ctx.open_repo();
        SignalBlock signals;
        int caught = 0;
        opts.interrupted = [&] { return (caught = signals.take()) != 0; };
        opts.progress = progress_printer(ctx);
        transport::PullResult r;
        try {
            r = transport::pull(*repo, id, opts, a->force);
        } catch (const transport::Interrupted&) {
            if (opts.progress) *ctx.err << "\n";
            repo.reset();
            signals.die(caught);
        }
        if (opts.progress) *ctx.err << "\n";
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["branch"] = r.checkout.branch ? nlohmann::json(*r.checkout.branch) : nlohmann::json(nullptr);
            j["fast_forward"] = r.fast_forward;
            j["written"] = r.checkout.written;
            j["deleted"] = r.checkout.deleted;
            j["bytes_written"] = r.checkout.bytes_written;
            ctx.print_json(j);
            return;
        }
        std::string where = r.checkout.branch ? "branch '" + *r.checkout.branch + "'" +
                                                    (r.fast_forward ? " (fast-forward)" : "")
                                              : "detached HEAD";
        ctx.info("pulled commit " + id.hex().substr(0, 12) + " (" + where + "): " + fetch_summary(r.fetch) + "; " +
                 std::to_string(r.checkout.written) + " files written, " + std::to_string(r.checkout.deleted) +
                 " removed");
    });
}

}  // namespace dvt::cmd
