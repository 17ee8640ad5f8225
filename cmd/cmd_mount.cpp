// dvt mount REV DIR: a read-only FUSE mount of a version, in the foreground until unmounted or SIGTERM/SIGINT
// (mount/mount.hpp). Prints a line when the mount is visible and one with what was read when it ends.
#include "cmd/cli.hpp"
#include "cmd/swarm_args.hpp"
#include "mount/mount.hpp"
#include "transport/remote.hpp"

namespace dvt::cmd {

void register_mount(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev, dir;
        bool debug = false;
        SwarmArgs swarm;
        std::string remote, cache_size;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("mount", "Mount a version read-only (FUSE) without checking it out; bytes are read "
                                            "and verified on demand; runs until unmounted or interrupted");
    sub->add_option("revision", a->rev, "The version to mount (commit id, branch, tag, HEAD~N, ...)")->required();
    sub->add_option("dir", a->dir, "An existing empty directory to mount on")->required();
    sub->add_flag("--fuse-debug", a->debug, "Print libfuse's request log on stderr");
    add_swarm_options(sub, a->swarm);
    sub->add_option("--remote", a->remote,
                    "Fetch what this repository lacks from the peers, trackers and mirrors of this remote");
    sub->add_option("--cache-size", a->cache_size,
                    "With peers: bytes of fetched data kept in the repository (e.g. 2G); past it the partial packs "
                    "this mount filled are emptied and fetched again on demand (default: unbounded)");
    sub->callback([a, &ctx] {
        auto pull = parse_swarm_args(a->swarm);
        std::uint64_t cache = a->cache_size.empty() ? 0 : static_cast<std::uint64_t>(transport::parse_rate(a->cache_size, "--cache-size"));
        auto repo = ctx.open_repo();
        mount::MountOptions o;
        if (!a->remote.empty()) {
            auto r = transport::load_remote(repo->config(), a->remote);
            pull.peers.insert(pull.peers.end(), r.peers.begin(), r.peers.end());
            pull.trackers.insert(pull.trackers.end(), r.trackers.begin(), r.trackers.end());
            pull.web_seeds.insert(pull.web_seeds.end(), r.mirrors.begin(), r.mirrors.end());
        }
        if (!pull.peers.empty() || !pull.trackers.empty() || !pull.web_seeds.empty() || pull.dht.enabled || pull.lsd) {
            transport::LazyOptions lazy;
            lazy.pull = pull;
            lazy.cache_size = cache;
            o.lazy = lazy;
        } else if (!a->cache_size.empty()) {
            throw Error(ErrorKind::usage, "--cache-size needs a source of data: --peer, --tracker, --mirror or --remote");
        }
        o.mountpoint = std::filesystem::absolute(a->dir);
        o.debug = a->debug;
        o.on_ready = [&](const Hash32& commit) {
            if (ctx.json)
                ctx.print_json({{"mounted", o.mountpoint.string()}, {"commit", commit.hex()}});
            else
                *ctx.out << "mounted " << commit.hex() << " at " << o.mountpoint.string()
                          << " (read-only; unmount with 'fusermount3 -u' or Ctrl-C)\n";
            ctx.out->flush();
        };
        auto r = mount::mount_version(*repo, a->rev, o);
        if (ctx.json) {
            ctx.print_json({{"unmounted", o.mountpoint.string()},
                            {"commit", r.commit.hex()},
                            {"opens", r.stats.opens},
                            {"reads", r.stats.reads},
                            {"bytes_read", r.stats.bytes_read},
                            {"read_errors", r.stats.read_errors},
                            {"last_error", r.stats.last_error},
                            {"bytes_downloaded", r.stats.lazy ? r.stats.lazy->bytes_downloaded : 0},
                            {"objects_fetched", r.stats.lazy ? r.stats.lazy->objects_fetched : 0},
                            {"objects_read_ahead", r.stats.lazy ? r.stats.lazy->objects_read_ahead : 0},
                            {"fetches", r.stats.lazy ? r.stats.lazy->fetches : 0},
                            {"fetch_failures", r.stats.lazy ? r.stats.lazy->failures : 0},
                            {"cache_evictions", r.stats.lazy ? r.stats.lazy->evictions : 0}});
        } else {
            *ctx.out << "unmounted " << o.mountpoint.string() << ": " << r.stats.bytes_read << " bytes read in "
                      << r.stats.reads << " reads";
            if (r.stats.read_errors) *ctx.out << ", " << r.stats.read_errors << " failed (" << r.stats.last_error << ")";
            if (r.stats.lazy)
                *ctx.out << "; " << r.stats.lazy->bytes_downloaded << " bytes downloaded from peers ("
                         << r.stats.lazy->objects_fetched << " objects)";
            *ctx.out << "\n";
        }
    });
}

}  // namespace dvt::cmd
