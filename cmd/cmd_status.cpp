// dvt status: what changed in the working tree since HEAD.
#include "cmd/cli.hpp"
#include "core/clone_state.hpp"
#include "core/revision.hpp"
#include "core/walk.hpp"

namespace dvt::cmd {

void register_status(CLI::App& app, Context& ctx) {
    auto porcelain = std::make_shared<bool>(false);
    auto nul = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("status", "Show files added, modified and deleted since HEAD");
    sub->add_flag("-s,--short,--porcelain", *porcelain, "One line per change: 'A path', 'M path', 'D path'");
    sub->add_flag("-z", *nul, "Short form, each entry ended by NUL and the path as it is (not quoted)");
    sub->callback([porcelain, nul, &ctx] {
        auto repo = ctx.open_repo();
        try {
            if (auto c = core::interrupted_clone(repo->root()))
                ctx.warn("this is an interrupted clone of commit " + c->hex() +
                         ": run the same dvt clone again to finish it (what it verified is kept)");
        } catch (const Error&) {  // an unreadable mark: fsck reports the repository's state
        }
        auto head = repo->refs().head();
        std::optional<objects::Commit> head_commit;
        if (head.commit) head_commit = core::load_commit(*repo, *head.commit);
        auto changes = core::worktree_changes(*repo, head_commit);
        if (ctx.json) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& d : changes) list.push_back({{"path", d.path}, {"status", status_word(d.status)}});
            ctx.print_json({{"branch", head.branch_ref ? nlohmann::json(head.branch_ref->substr(11)) : nlohmann::json(nullptr)},
                            {"head", head.commit ? nlohmann::json(head.commit->hex()) : nlohmann::json(nullptr)},
                            {"clean", changes.empty()},
                            {"changes", list}});
            return;
        }
        auto& out = *ctx.out;
        if (*nul) {
            for (const auto& d : changes) out << d.status << " " << d.path << '\0';
            return;
        }
        if (*porcelain || ctx.quiet) {
            for (const auto& d : changes) out << d.status << " " << quote_name(d.path) << "\n";
            return;
        }
        if (head.branch_ref)
            out << "On branch " << head.branch_ref->substr(11) << (head.commit ? "" : " (no commits yet)") << "\n";
        else
            out << "HEAD detached at " << head.commit->hex().substr(0, 12) << "\n";
        if (changes.empty()) {
            out << "nothing to commit, working tree clean\n";
            return;
        }
        for (const auto& d : changes) {
            std::string w = std::string(status_word(d.status)) + ":";
            w.resize(12, ' ');
            out << "\t" << w << quote_name(d.path) << "\n";
        }
    });
}

}  // namespace dvt::cmd
