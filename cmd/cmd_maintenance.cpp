// dvt fsck [--repair], dvt gc, dvt config.
#include "cmd/cli.hpp"
#include "core/maintenance.hpp"

namespace dvt::cmd {

void register_fsck(CLI::App& app, Context& ctx) {
    auto repair = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("fsck", "Re-hash and check everything; non-zero exit and a list if anything is wrong");
    sub->add_flag("--repair", *repair,
                  "Rebuild the index database from the packs first (it is only a cache); then make broken versions "
                  "unreachable (refs naming them move back or go), so that gc can delete them");
    sub->callback([repair, &ctx] {
        auto repo = ctx.open_repo();
        auto r = core::fsck(*repo, core::FsckOptions{*repair});
        if (ctx.json) {
            nlohmann::json probs = nlohmann::json::array();
            for (const auto& p : r.problems) probs.push_back({{"object", p.what}, {"message", p.message}});
            nlohmann::json dropped = nlohmann::json::array();
            for (const auto& d : r.dropped) dropped.push_back({{"what", d.what}, {"message", d.message}});
            ctx.print_json({{"ok", r.problems.empty()},
                            {"packs", r.packs},
                            {"objects", r.objects},
                            {"commits", r.commits},
                            {"reachable_commits", r.reachable_commits},
                            {"bytes", r.bytes},
                            {"reindexed_packs", r.reindexed_packs},
                            {"partial_packs", r.partial_packs},
                            {"objects_not_fetched", r.objects_not_fetched},
                            {"shallow_commits", r.shallow_commits},
                            {"problems", probs},
                            {"dropped", dropped}});
        } else {
            for (const auto& d : r.dropped) *ctx.out << "dropped: " << escape_text(d.what + ": " + d.message, false) << "\n";
            for (const auto& p : r.problems) *ctx.out << escape_text(p.what + ": " + p.message, false) << "\n";
            ctx.info("checked " + std::to_string(r.packs) + " packs (" + human_bytes(r.bytes) + "), " +
                     std::to_string(r.objects) + " objects, " + std::to_string(r.commits) + " commits (" +
                     std::to_string(r.reachable_commits) + " reachable)" +
                     (r.partial_packs ? ", " + std::to_string(r.partial_packs) + " partial packs (" +
                                            std::to_string(r.objects_not_fetched) + " reachable objects not fetched)"
                                      : "") +
                     (*repair ? "; index rebuilt from " + std::to_string(r.reindexed_packs) + " packs" : "") + ": " +
                     (r.problems.empty() ? "ok" : std::to_string(r.problems.size()) + " problems"));
        }
        if (!r.problems.empty()) {
            if (!ctx.json)
                *ctx.err << "dvt: error: " << r.problems.size() << " problems found (first: "
                         << escape_text(r.problems.front().what + ": " + r.problems.front().message, false) << ")\n";
            ctx.exit_status = exit_code(ErrorKind::corrupt);
        }
    });
}

void register_gc(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("gc", "Delete commits and packs that no ref, tag or reflog reaches");
    sub->callback([&ctx] {
        auto repo = ctx.open_repo();
        auto r = core::gc(*repo);
        if (ctx.json)
            ctx.print_json({{"commits_removed", r.commits_removed},
                            {"packs_removed", r.packs_removed},
                            {"packs_kept", r.packs_kept},
                            {"partial_packs_removed", r.partial_removed},
                            {"bytes_freed", r.bytes_freed},
                            {"temp_files_removed", r.temp_files_removed}});
        else
            ctx.info("gc: removed " + std::to_string(r.commits_removed) + " commits and " +
                     std::to_string(r.packs_removed) + " packs (" + human_bytes(r.bytes_freed) + "); kept " +
                     std::to_string(r.packs_kept) + " packs");
    });
}

void register_config(CLI::App& app, Context& ctx) {
    struct Args {
        std::string key, value;
        bool unset = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("config", "Read or set a repository setting (e.g. user.name)");
    sub->add_option("key", a->key, "section.key")->required();
    sub->add_option("value", a->value, "New value");
    sub->add_flag("--unset", a->unset, "Remove the setting");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        static const std::set<std::string> frozen = {"core.format", "chunker.min", "chunker.avg", "chunker.max"};
        if ((a->unset || !a->value.empty()) && frozen.count(a->key))
            throw Error(ErrorKind::usage, a->key + " is fixed when the repository is created");
        if (a->unset || !a->value.empty()) {
            auto lock = repo->write_lock();
            if (a->unset) repo->config().unset(a->key);
            else repo->config().set(a->key, a->value);
            repo->save_config();
            return;
        }
        auto v = repo->config().get(a->key);
        if (!v) throw Error(ErrorKind::not_found, "config key '" + a->key + "' is not set");
        if (ctx.json) ctx.print_json({{"key", a->key}, {"value", *v}});
        else *ctx.out << *v << "\n";
    });
}

}  // namespace dvt::cmd
