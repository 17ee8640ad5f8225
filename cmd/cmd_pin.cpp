// dvt pin [REV]: write dvt.lock (the dataset commit, its path and where to fetch it) into the git work tree, to be
// committed with the code. (The lock-file side of `dvt pull` without a commit id: transport::resolve_pull_source.)
// docs/hooks.md.
#include <unistd.h>

#include "cmd/cli.hpp"
#include "cmd/swarm_args.hpp"
#include "core/revision.hpp"
#include "hooks/git.hpp"
#include "hooks/lockfile.hpp"
#include "transport/remote.hpp"
#include "transport/endpoint.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

namespace fs = std::filesystem;

namespace {

std::string relative_path(const fs::path& to, const fs::path& from_dir) {
    auto canon = [](const fs::path& p) {
        std::error_code ec;
        auto c = fs::weakly_canonical(p, ec);
        return ec ? p.lexically_normal() : c;
    };
    std::string r = canon(to).lexically_relative(canon(from_dir)).generic_string();
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    return r.empty() ? "." : r;
}

}  // namespace

void register_pin(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev = "HEAD", file, remote;
        std::vector<std::string> peers, trackers;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("pin", "Write dvt.lock (this dataset's commit and where to get it) into the git work tree");
    sub->add_option("revision", a->rev, "The commit to pin (default HEAD)");
    sub->add_option("--file", a->file, "Lock file to write (default: dvt.lock at the root of the git work tree)");
    add_peer_option(sub, a->peers, "A peer that serves the commit, IP:PORT (repeatable)");
    sub->add_option("--tracker", a->trackers, "A tracker announce URL (repeatable)")->allow_extra_args(false);
    sub->add_option("--remote", a->remote, "Copy the peers and trackers of this remote (default: origin, if saved)");
    sub->callback([a, &ctx] {
        hooks::LockFile lock;
        for (const auto& p : peer_endpoints(a->peers)) lock.peers.push_back(transport::endpoint_string(p));
        for (const auto& t : a->trackers) lock.trackers.push_back(transport::check_tracker_url(t));
        auto repo = ctx.open_repo();
        lock.commit = core::resolve_commit(*repo, a->rev).hex();

        fs::path file;
        if (!a->file.empty()) file = fs::absolute(a->file);
        else if (auto p = hooks::lock_file_path(repo->root())) file = *p;
        else
            throw Error(ErrorKind::not_found, "no git work tree around " + repo->root().string() +
                                                  " to hold dvt.lock (use --file PATH, or DVT_GIT_WORK_TREE)");
        lock.path = relative_path(repo->root(), file.parent_path());

        if (lock.peers.empty() && lock.trackers.empty()) {
            auto remote = a->remote.empty() ? transport::default_remote(repo->config(), false)
                                            : std::optional<std::string>(a->remote);
            if (remote) {
                auto r = transport::load_remote(repo->config(), *remote);
                for (const auto& p : r.peers) lock.peers.push_back(transport::endpoint_string(p));
                lock.trackers = r.trackers;
            } else if (fs::exists(file)) {  // re-pinning keeps where the data was said to be
                try {
                    auto old = hooks::read_lock_file(file);
                    lock.peers = old.peers;
                    lock.trackers = old.trackers;
                } catch (const Error&) {
                }
            }
        } else if (!a->remote.empty()) {
            throw Error(ErrorKind::usage, "--remote cannot be combined with --peer or --tracker");
        }
        hooks::write_lock_file(file, lock);
        if (ctx.json) {
            ctx.print_json({{"lock_file", file.string()},
                            {"commit", lock.commit},
                            {"path", lock.path},
                            {"peers", lock.peers},
                            {"trackers", lock.trackers}});
            return;
        }
        *ctx.out << lock.commit << "\n";
        ctx.info("pinned " + lock.commit.substr(0, 12) + " (path " + lock.path + ", " +
                 std::to_string(lock.peers.size()) + " peers, " + std::to_string(lock.trackers.size()) +
                 " trackers) in " + file.string() + "; commit that file to git");
    });
}

}  // namespace dvt::cmd
