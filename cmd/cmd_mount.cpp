// dvt mount REV DIR: a read-only FUSE mount of a version, in the foreground until unmounted or SIGTERM/SIGINT
// (mount/mount.hpp). Prints a line when the mount is visible and one with what was read when it ends.
#include "cmd/cli.hpp"
#include "mount/mount.hpp"

namespace dvt::cmd {

void register_mount(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev, dir;
        bool debug = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("mount", "Mount a version read-only (FUSE) without checking it out; bytes are read "
                                            "and verified on demand; runs until unmounted or interrupted");
    sub->add_option("revision", a->rev, "The version to mount (commit id, branch, tag, HEAD~N, ...)")->required();
    sub->add_option("dir", a->dir, "An existing empty directory to mount on")->required();
    sub->add_flag("--fuse-debug", a->debug, "Print libfuse's request log on stderr");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        mount::MountOptions o;
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
                            {"last_error", r.stats.last_error}});
        } else {
            *ctx.out << "unmounted " << o.mountpoint.string() << ": " << r.stats.bytes_read << " bytes read in "
                      << r.stats.reads << " reads";
            if (r.stats.read_errors) *ctx.out << ", " << r.stats.read_errors << " failed (" << r.stats.last_error << ")";
            *ctx.out << "\n";
        }
    });
}

}  // namespace dvt::cmd
