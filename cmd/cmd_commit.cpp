// dvt commit -m MSG: snapshot the whole working tree; prints the full commit id.
#include <chrono>
#include <cstdio>

#include "cmd/cli.hpp"
#include "core/commit.hpp"

namespace dvt::cmd {

void register_commit(CLI::App& app, Context& ctx) {
    struct Args {
        std::string message;
        bool allow_empty = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("commit", "Record a snapshot of the whole working tree");
    sub->add_option("-m,--message", a->message, "Commit message")->required();
    sub->add_flag("--allow-empty", a->allow_empty, "Commit even if nothing changed");
    sub->callback([a, &ctx] {
        auto repo = ctx.open_repo();
        core::CommitOptions o;
        o.message = a->message;
        o.allow_empty = a->allow_empty;
        auto start = std::chrono::steady_clock::now();
        auto last = start;
        if (ctx.progress_enabled())
            o.progress = [&](std::uint64_t done, std::uint64_t total) {
                auto now = std::chrono::steady_clock::now();
                if (now - last < std::chrono::milliseconds(200) && done < total) return;
                last = now;
                double secs = std::chrono::duration<double>(now - start).count();
                std::fprintf(stderr, "\rdvt: committing %s / %s (%.0f MB/s)   ", human_bytes(done).c_str(),
                             human_bytes(total).c_str(), secs > 0 ? done / 1e6 / secs : 0.0);
            };
        auto r = core::create_commit(*repo, o);
        if (ctx.progress_enabled()) std::fprintf(stderr, "\r\033[K");
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        auto head = repo->refs().head();
        if (ctx.json) {
            auto j = commit_json(r.id, r.commit);
            j["branch"] = head.branch_ref ? nlohmann::json(head.branch_ref->substr(11)) : nlohmann::json(nullptr);
            j["changes"] = {{"added", r.added}, {"modified", r.modified}, {"deleted", r.deleted}};
            j["stats"] = {{"files_hashed", r.stats.files_hashed},       {"bytes_hashed", r.stats.bytes_hashed},
                          {"chunks_new", r.stats.chunks_new},           {"chunks_delta", r.stats.chunks_delta},
                          {"chunks_full_no_previous", r.stats.chunks_full_no_previous},
                          {"chunks_full_no_base", r.stats.chunks_full_no_base},
                          {"chunks_full_rejected", r.stats.chunks_full_rejected},
                          {"bytes_base_read", r.stats.bytes_base_read},
                          {"bytes_new", r.stats.bytes_new_raw},
                          {"bytes_new_stored", r.stats.bytes_new_stored}, {"packs_written", r.stats.packs_written},
                          {"seconds", secs}};
            j["repack"] = {{"packs_before", r.repack.packs_before}, {"packs_after", r.repack.packs_after},
                           {"dissolved", r.repack.dissolved},       {"written", r.repack.written},
                           {"bytes_copied", r.repack.bytes_copied}, {"reencoded", r.repack.reencoded}};
            ctx.print_json(j);
            return;
        }
        *ctx.out << r.id.hex() << "\n";
        char line[256];
        std::snprintf(line, sizeof line, "[%s] %zu added, %zu modified, %zu deleted; %s hashed, %s new (%s stored) in %.2f s",
                      head.branch_ref ? head.branch_ref->substr(11).c_str() : "detached HEAD", r.added, r.modified,
                      r.deleted, human_bytes(r.stats.bytes_hashed).c_str(), human_bytes(r.stats.bytes_new_raw).c_str(),
                      human_bytes(r.stats.bytes_new_stored).c_str(), secs);
        ctx.info(line);
        if (r.repack.dissolved) {
            std::snprintf(line, sizeof line, "re-packed: %zu sparse packs dissolved, %s copied into %zu new; the commit names %zu packs",
                          r.repack.dissolved, human_bytes(r.repack.bytes_copied).c_str(), r.repack.written,
                          r.repack.packs_after);
            ctx.info(line);
        }
    });
}

}  // namespace dvt::cmd
