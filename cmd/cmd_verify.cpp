// dvt verify [REV]: is the checked-out data byte-identical to the pinned commit (dvt.lock), or to REV / HEAD?
// Every file is re-read and re-hashed (no stat cache unless --fast); exit 0 only if identical, else 5.
#include "cmd/cli.hpp"
#include "core/revision.hpp"
#include "core/verify.hpp"
#include "hooks/lockfile.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

namespace fs = std::filesystem;

void register_verify(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev;
        bool fast = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand(
        "verify", "Check that the data on disk is byte-identical to the pinned commit (dvt.lock), or to REV/HEAD");
    sub->add_option("revision", a->rev, "Verify against this revision of the current repository instead of dvt.lock");
    sub->add_flag("--fast", a->fast, "Trust the stat cache for files whose size, times and inode did not change");
    sub->callback([a, &ctx] {
        fs::path start = ctx.dir.empty() ? fs::current_path() : fs::absolute(ctx.dir);
        std::optional<fs::path> lock_path;
        std::unique_ptr<core::Repository> repo;
        Hash32 id;
        if (a->rev.empty()) lock_path = hooks::lock_file_path(start);
        if (lock_path && !fs::exists(*lock_path)) lock_path.reset();  // a git tree without a pin: verify HEAD
        if (lock_path) {
            auto lock = hooks::read_lock_file(*lock_path);
            fs::path dir = hooks::dataset_dir(*lock_path, lock);
            if (!fs::exists(dir / ".dvt" / "config"))
                throw Error(ErrorKind::not_a_repository, "no dvt repository at " + dir.string() + ", pinned in " +
                                                             lock_path->string() + " (run 'dvt pull')");
            Context c = ctx;
            c.dir = dir.string();
            repo = c.open_repo();
            id = *Hash32::from_hex(lock.commit);
            if (!repo->store().read_commit(id))
                throw Error(ErrorKind::not_found, "the pinned commit " + lock.commit + " is not in " + dir.string() +
                                                      " (run 'dvt pull')");
        } else {
            repo = ctx.open_repo();
            id = core::resolve_commit(*repo, a->rev.empty() ? "HEAD" : a->rev);
        }
        auto v = core::verify_worktree(*repo, id, a->fast);
        const auto& commit = v.commit;
        const auto& diffs = v.diffs;
        auto head = repo->refs().head();
        bool ok = v.ok();
        if (ctx.json) {
            nlohmann::json probs = nlohmann::json::array();
            for (const auto& d : diffs) probs.push_back({{"path", d.path}, {"status", status_word(d.status)}});
            ctx.print_json({{"ok", ok},
                            {"commit", id.hex()},
                            {"path", repo->root().string()},
                            {"lock_file", lock_path ? nlohmann::json(lock_path->string()) : nlohmann::json(nullptr)},
                            {"head", head.commit ? nlohmann::json(head.commit->hex()) : nlohmann::json(nullptr)},
                            {"head_matches", head.commit == id},
                            {"files", commit.files},
                            {"bytes", commit.bytes},
                            {"mode", a->fast ? "fast" : "full"},
                            {"problems", probs}});
        } else {
            for (const auto& d : diffs) *ctx.out << d.status << " " << quote_name(d.path) << "\n";
            if (ok)
                ctx.info("verified: " + repo->root().string() + " is byte-identical to " + id.hex().substr(0, 12) +
                         " (" + std::to_string(commit.files) + " files, " + human_bytes(commit.bytes) + ")" +
                         (head.commit == id ? "" : "; note: HEAD is not that commit"));
        }
        if (!ok) {
            if (!ctx.json)
                *ctx.err << "dvt: error: " << diffs.size() << " paths differ from " << id.hex().substr(0, 12)
                         << " (first: " << status_word(diffs.front().status) << " " << quote_name(diffs.front().path) << ")\n";
            ctx.exit_status = exit_code(ErrorKind::corrupt);
        }
    });
}

}  // namespace dvt::cmd
