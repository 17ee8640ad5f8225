// dvt show [REV]: a commit's header and the files it changed against its first parent.
#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"

namespace dvt::cmd {

void register_show(CLI::App& app, Context& ctx) {
    auto rev = std::make_shared<std::string>("HEAD");
    auto* sub = app.add_subcommand("show", "Show a commit and the files it changed");
    sub->add_option("revision", *rev, "Revision (default HEAD)");
    sub->callback([rev, &ctx] {
        auto repo = ctx.open_repo();
        Hash32 id = core::resolve_commit(*repo, *rev);
        auto c = core::load_commit(*repo, id);
        core::FlatTree before;
        // a shallow commit's parent may not be here (fetched from a swarm without history): changes against nothing
        bool parent_here = !c.parents.empty() && repo->store().has_commit(c.parents[0]);
        if (parent_here) before = core::flatten_tree(repo->store(), core::load_commit(*repo, c.parents[0]));
        auto changes = core::diff_trees(before, core::flatten_tree(repo->store(), c));
        if (ctx.json) {
            auto j = commit_json(id, c);
            nlohmann::json list = nlohmann::json::array();
            for (const auto& d : changes)
                list.push_back({{"path", d.path},
                                {"status", status_word(d.status)},
                                {"old_size", d.before ? nlohmann::json(d.before->size) : nlohmann::json(nullptr)},
                                {"new_size", d.after ? nlohmann::json(d.after->size) : nlohmann::json(nullptr)}});
            j["changes"] = list;
            j["parent_fetched"] = c.parents.empty() || parent_here;
            ctx.print_json(j);
            return;
        }
        auto& out = *ctx.out;
        out << "commit " << id.hex() << "\n";
        for (const auto& p : c.parents) out << "Parent: " << p.hex() << "\n";
        out << "Author: " << escape_text(c.author_name, false) << " <" << escape_text(c.author_email, false) << ">\n";
        out << "Date:   " << format_time(c.time, c.tz_offset_minutes) << "\n";
        out << "Tree:   " << c.tree.hex() << "\n";
        out << "Files:  " << c.files << " (" << human_bytes(c.bytes) << ")\n";
        out << "Packs:  " << c.packs.size() << "\n";
        if (c.git_commit)
            out << "Git:    " << escape_text(*c.git_commit, false) << (c.git_dirty.value_or(false) ? " (dirty)" : "") << "\n";
        out << "\n" << indented_message(c.message) << "\n";
        for (const auto& d : changes) {
            std::uint64_t size = d.after ? d.after->size : d.before->size;
            out << " " << d.status << " " << quote_name(d.path) << " (" << human_bytes(size) << ")\n";
        }
    });
}

}  // namespace dvt::cmd
