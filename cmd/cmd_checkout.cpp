// dvt checkout REV [-- paths]: make the working tree (or some paths) byte-identical to that version.
#include "cmd/cli.hpp"
#include "core/checkout.hpp"
#include "core/worktree.hpp"

namespace dvt::cmd {

void register_checkout(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev;
        std::vector<std::string> paths;
        bool force = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("checkout", "Make the working tree (or some paths) match a revision");
    sub->add_option("revision", a->rev, "Branch, tag or commit")->required();
    sub->add_option("paths", a->paths, "Only these paths (also accepted after --); HEAD does not move");
    sub->add_flag("-f,--force", a->force, "Discard uncommitted changes in the way");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        core::CheckoutOptions o;
        o.force = a->force;
        auto cwd = std::filesystem::current_path();
        if (!ctx.dir.empty()) cwd = std::filesystem::absolute(ctx.dir);
        a->paths.insert(a->paths.end(), ctx.pathspec.begin(), ctx.pathspec.end());
        for (const auto& p : a->paths) o.paths.push_back(core::repo_relative(*repo, cwd, p));
        auto r = core::checkout(*repo, a->rev, o);
        if (ctx.json) {
            ctx.print_json({{"commit", r.commit.hex()},
                            {"branch", r.branch ? nlohmann::json(*r.branch) : nlohmann::json(nullptr)},
                            {"written", r.written},
                            {"deleted", r.deleted},
                            {"bytes_written", r.bytes_written}});
            return;
        }
        std::string where = r.branch ? "branch '" + *r.branch + "'" : "commit " + r.commit.hex().substr(0, 12);
        if (!o.paths.empty()) where = "paths from " + a->rev;
        ctx.info("checked out " + where + ": " + std::to_string(r.written) + " files written (" +
                 human_bytes(r.bytes_written) + "), " + std::to_string(r.deleted) + " removed");
    });
}

}  // namespace dvt::cmd
