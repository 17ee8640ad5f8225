// dvt diff [A [B]] [--stat] [-- paths]: files added, removed and modified between two revisions (or a revision and
// the working tree), with sizes.
#include <cstdio>

#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core/worktree.hpp"

namespace dvt::cmd {

struct DiffSummary {
    std::size_t added = 0, deleted = 0, modified = 0;
    std::uint64_t bytes_added = 0, bytes_deleted = 0;
};

static void print_diff(const Context& ctx, const std::string& from, const std::string& to,
                       const std::vector<core::DiffEntry>& changes, bool stat, bool nul) {
    DiffSummary s;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : changes) {
        std::uint64_t before = d.before ? d.before->size : 0, after = d.after ? d.after->size : 0;
        if (d.status == 'A') ++s.added;
        else if (d.status == 'D') ++s.deleted;
        else ++s.modified;
        if (after > before) s.bytes_added += after - before;
        else s.bytes_deleted += before - after;
        nlohmann::json j = {{"path", d.path}, {"status", status_word(d.status)}};
        j["old_size"] = d.before ? nlohmann::json(before) : nlohmann::json(nullptr);
        j["new_size"] = d.after ? nlohmann::json(after) : nlohmann::json(nullptr);
        list.push_back(j);
    }
    if (ctx.json) {
        ctx.print_json({{"from", from},
                        {"to", to},
                        {"changes", list},
                        {"summary",
                         {{"added", s.added}, {"deleted", s.deleted}, {"modified", s.modified},
                          {"bytes_added", s.bytes_added}, {"bytes_deleted", s.bytes_deleted}}}});
        return;
    }
    auto& out = *ctx.out;
    for (const auto& d : changes) {
        if (nul) {  // git's --name-status -z: status NUL path NUL
            out << d.status << '\0' << d.path << '\0';
            continue;
        }
        if (!stat) {
            out << d.status << "\t" << quote_name(d.path) << "\n";
            continue;
        }
        std::string sizes;
        if (d.status == 'A') sizes = "+" + human_bytes(d.after->size);
        else if (d.status == 'D') sizes = "-" + human_bytes(d.before->size);
        else sizes = human_bytes(d.before->size) + " -> " + human_bytes(d.after->size);
        out << " " << d.status << " " << quote_name(d.path) << " | " << sizes << "\n";
    }
    if (stat) {
        char line[256];
        std::snprintf(line, sizeof line, " %zu files changed: %zu added, %zu removed, %zu modified (+%s, -%s)\n",
                      changes.size(), s.added, s.deleted, s.modified, human_bytes(s.bytes_added).c_str(),
                      human_bytes(s.bytes_deleted).c_str());
        out << line;
    }
}

void register_diff(CLI::App& app, Context& ctx) {
    struct Args {
        std::vector<std::string> revs;
        bool stat = false, nul = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("diff", "List files that differ between two revisions, or a revision and the working tree");
    sub->add_option("revisions", a->revs, "Zero, one or two revisions (default: HEAD and the working tree)")->expected(0, 2);
    sub->add_flag("--stat", a->stat, "Show sizes and a summary");
    sub->add_flag("-z", a->nul, "Each entry as status NUL path NUL (the path not quoted); not with --stat");
    sub->callback([a, &ctx] {
        if (a->nul && a->stat) throw Error(ErrorKind::usage, "-z cannot be combined with --stat");
        auto repo = ctx.open_repo();
        std::vector<std::string> limits;
        auto cwd = std::filesystem::current_path();
        if (!ctx.dir.empty()) cwd = std::filesystem::absolute(ctx.dir);
        for (const auto& p : ctx.pathspec) limits.push_back(core::repo_relative(*repo, cwd, p));
        auto tree_of = [&](const std::string& rev) {
            return core::flatten_tree(repo->store(), core::load_commit(*repo, core::resolve_commit(*repo, rev)), limits);
        };
        if (a->revs.size() == 2) {
            print_diff(ctx, a->revs[0], a->revs[1], core::diff_trees(tree_of(a->revs[0]), tree_of(a->revs[1])), a->stat,
                       a->nul);
        } else {
            std::string from = a->revs.empty() ? "HEAD" : a->revs[0];
            core::FlatTree base;
            std::optional<objects::ChunkerParams> chunker;  // the work tree cut as `from` was
            if (from != "HEAD" || repo->refs().head().commit) {
                auto c = core::load_commit(*repo, core::resolve_commit(*repo, from));
                base = core::flatten_tree(repo->store(), c, limits);
                chunker = repo->chunker_of(c);
            }
            print_diff(ctx, from, "worktree", core::diff_trees(base, core::worktree_state(*repo, limits, chunker)), a->stat,
                       a->nul);
        }
    });
}

}  // namespace dvt::cmd
