// dvt log [REV]: commits newest first, with id, author, date, message, files and bytes.
#include "cmd/cli.hpp"
#include "core/history.hpp"
#include "core/revision.hpp"

namespace dvt::cmd {

void register_log(CLI::App& app, Context& ctx) {
    struct Args {
        std::vector<std::string> revs;
        int max = -1;
        bool oneline = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("log", "Show commit history, newest first");
    sub->add_option("revision", a->revs, "Start from these revisions (default HEAD)");
    sub->add_option("-n,--max-count", a->max, "Show at most N commits");
    sub->add_flag("--oneline", a->oneline, "One line per commit");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        std::vector<Hash32> starts;
        if (a->revs.empty()) {
            auto h = repo->refs().head();
            if (h.commit) starts.push_back(*h.commit);
        }
        for (const auto& r : a->revs) starts.push_back(core::resolve_commit(*repo, r));
        nlohmann::json list = nlohmann::json::array();
        int shown = 0;
        auto& out = *ctx.out;
        core::walk_history(*repo, starts, [&](const core::LogEntry& e) {
            if (a->max >= 0 && shown >= a->max) return false;
            ++shown;
            const auto& c = e.commit;
            std::string subject = escape_text(c.message.substr(0, c.message.find('\n')), false);
            if (ctx.json) {
                list.push_back(commit_json(e.id, c));
            } else if (a->oneline) {
                out << e.id.hex().substr(0, 12) << " " << subject << "\n";
            } else {
                out << "commit " << e.id.hex() << "\n";
                if (c.parents.size() > 1) {
                    out << "Merge:";
                    for (const auto& p : c.parents) out << " " << p.hex().substr(0, 12);
                    out << "\n";
                }
                out << "Author: " << escape_text(c.author_name, false) << " <" << escape_text(c.author_email, false) << ">\n";
                out << "Date:   " << format_time(c.time, c.tz_offset_minutes) << "\n";
                out << "Files:  " << c.files << " (" << human_bytes(c.bytes) << ", " << c.bytes << " bytes)\n";
                if (c.git_commit)
                    out << "Git:    " << escape_text(*c.git_commit, false) << (c.git_dirty.value_or(false) ? " (dirty)" : "")
                        << "\n";
                out << "\n" << indented_message(c.message) << "\n";
            }
            return true;
        });
        if (ctx.json) ctx.print_json({{"commits", list}});
    });
}

}  // namespace dvt::cmd
