// dvt pull [[REMOTE] ID|dvt://KEY] [--peer IP:PORT]... [-- PATHS] (transport::resolve_pull_source, transport::pull;
// docs/transport.md). Removes its temp data when interrupted and then dies by the signal.
#include <iostream>

#include "cmd/cli.hpp"
#include "cmd/signals.hpp"
#include "cmd/swarm_args.hpp"
#include "transport/remote.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

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
        if (!a->positional.empty() && !a->positional.back().starts_with("dvt://"))
            transport::parse_commit_id(a->positional.back());  // usage errors first
        transport::PullRequest req;
        req.options = parse_swarm_args(*a);
        req.positional = a->positional;
        req.branch = a->branch;
        req.dir = ctx.dir;
        req.paths = ctx.pathspec;
        req.open = [&ctx](const std::filesystem::path& dir) {
            Context c = ctx;
            c.dir = dir.string();
            return c.open_repo();
        };
        req.info = [&ctx](const std::string& m) { ctx.info(m); };
        req.warn = [&ctx](const std::string& m) { ctx.warn(m); };
        auto src = transport::resolve_pull_source(std::move(req));
        auto& repo = src.repo;
        SignalBlock signals;
        int caught = 0;
        src.options.interrupted = [&] { return (caught = signals.take()) != 0; };
        src.options.progress = progress_printer(ctx);
        bool tty = ctx.progress_enabled();
        transport::PullResult r;
        try {
            r = transport::pull(*repo, src.id, src.options, a->force);
        } catch (const transport::Interrupted&) {
            if (tty) *ctx.err << "\n";
            repo.reset();
            signals.die(caught);
        } catch (...) {
            if (tty) *ctx.err << "\n";
            throw;
        }
        if (tty) *ctx.err << "\n";
        const std::size_t between = r.gap && r.fast_forward ? r.gap->result.between_missing : 0;
        if (r.gap && !r.fast_forward && ctx.pathspec.empty()) {
            const auto& g = *r.gap;
            std::string why;
            switch (g.result.outcome) {
                case core::AncestryOutcome::not_descendant:
                    why = "it does not descend from the branch's commit (every line of its history was followed to "
                          "its root, " + std::to_string(g.result.fetched) + " commit files fetched)";
                    break;
                case core::AncestryOutcome::limit:
                    why = "its ancestry was not proven within the walk's limit (" +
                          std::to_string(g.result.fetched) + " commit files fetched)";
                    break;
                case core::AncestryOutcome::incomplete:
                    why = "its ancestry could not be proven: " + std::to_string(g.result.unavailable) +
                          " commit files could not be fetched (" + g.error + ")";
                    break;
                case core::AncestryOutcome::too_old:
                    why = "its ancestry was not found: every line of its history ended at a root or at a commit dated "
                          "more than a day before the branch's commit (" + std::to_string(g.result.fetched) +
                          " commit files fetched)";
                    break;
                case core::AncestryOutcome::found:
                    why = "the branch moved meanwhile";
                    break;
            }
            ctx.warn("not a fast-forward: " + why + "; HEAD is detached at " + src.id.hex().substr(0, 12));
        }
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["branch"] = r.checkout.branch ? nlohmann::json(*r.checkout.branch) : nlohmann::json(nullptr);
            j["fast_forward"] = r.fast_forward;
            j["commits_between"] = between;
            j["ancestry"] = r.gap ? nlohmann::json{{"outcome", core::to_string(r.gap->result.outcome)},
                                                   {"commits_fetched", r.gap->result.fetched},
                                                   {"commits_unavailable", r.gap->result.unavailable},
                                                   {"commits_between", r.gap->result.between},
                                                   {"bytes_fetched", r.gap->bytes},
                                                   {"seconds", r.gap->seconds}}
                                  : nlohmann::json(nullptr);
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
                                                      (!r.fast_forward ? ""
                                                       : between ? " (fast-forward across " + std::to_string(between) +
                                                                       " commits not here, fetched to prove it)"
                                                                 : " (fast-forward)")
                                                  : "detached HEAD";
        ctx.info("pulled commit " + src.id.hex().substr(0, 12) + " (" + where + "): " + fetch_summary(r.fetch) + "; " +
                 std::to_string(r.checkout.written) + " files written, " + std::to_string(r.checkout.deleted) +
                 " removed");
    });
}

}  // namespace dvt::cmd
