// dvt branch / dvt tag: list, create and delete branches and tags.
#include "cmd/cli.hpp"
#include "core/revision.hpp"

namespace dvt::cmd {

namespace {
void ref_command(CLI::App& app, Context& ctx, const std::string& kind) {
    struct Args {
        std::string name, start = "HEAD", del;
        bool force = false;
    };
    auto a = std::make_shared<Args>();
    const std::string prefix = kind == "branch" ? "refs/heads/" : "refs/tags/";
    auto* sub = app.add_subcommand(kind, kind == "branch" ? "List, create or delete branches" : "List, create or delete tags");
    sub->add_option("name", a->name, "Name to create (lists when omitted)");
    sub->add_option("start", a->start, "Revision it points at (default HEAD)");
    sub->add_option("-d,--delete", a->del, "Delete this " + kind);
    sub->add_flag("-f,--force", a->force, "Move it if it exists");
    sub->callback([a, &ctx, kind, prefix] {
        auto repo = ctx.open_repo();
        auto& refs = repo->refs();
        auto head = refs.head();
        if (!a->del.empty()) {
            if (!refs::valid_ref_name(a->del)) throw Error(ErrorKind::usage, "invalid " + kind + " name '" + a->del + "'");
            auto lock = repo->write_lock();
            auto cur = refs.read(prefix + a->del);
            if (!cur) throw Error(ErrorKind::not_found, kind + " '" + a->del + "' not found");
            if (kind == "branch" && head.branch_ref == prefix + a->del)
                throw Error(ErrorKind::conflict, "cannot delete the branch you are on ('" + a->del + "')");
            refs.update(prefix + a->del, cur, std::nullopt, kind + ": deleted");
            if (ctx.json) ctx.print_json({{"deleted", a->del}, {"commit", cur->hex()}});
            else ctx.info("deleted " + kind + " " + a->del + " (was " + cur->hex().substr(0, 12) + ")");
            return;
        }
        if (!a->name.empty()) {
            if (!refs::valid_ref_name(a->name)) throw Error(ErrorKind::usage, "invalid " + kind + " name '" + a->name + "'");
            auto lock = repo->write_lock();
            Hash32 target = core::resolve_commit(*repo, a->start);
            auto cur = refs.read(prefix + a->name);
            if (cur && !a->force) throw Error(ErrorKind::conflict, kind + " '" + a->name + "' already exists");
            refs.update(prefix + a->name, cur, target, kind + ": created from " + a->start);
            if (ctx.json) ctx.print_json({{"name", a->name}, {"commit", target.hex()}});
            else ctx.info(kind + " " + a->name + " -> " + target.hex());
            return;
        }
        nlohmann::json list = nlohmann::json::array();
        for (const auto& [name, id] : refs.list(prefix)) {
            std::string shortname = name.substr(prefix.size());
            bool current = head.branch_ref && *head.branch_ref == name;
            if (ctx.json) {
                nlohmann::json j = {{"name", shortname}, {"commit", id.hex()}};
                if (kind == "branch") j["current"] = current;
                list.push_back(j);
            } else {
                *ctx.out << (kind == "branch" ? (current ? "* " : "  ") : "") << shortname << " " << id.hex() << "\n";
            }
        }
        if (ctx.json) ctx.print_json({{kind == "branch" ? "branches" : "tags", list}});
    });
}
}  // namespace

void register_branch(CLI::App& app, Context& ctx) { ref_command(app, ctx, "branch"); }
void register_tag(CLI::App& app, Context& ctx) { ref_command(app, ctx, "tag"); }

}  // namespace dvt::cmd
