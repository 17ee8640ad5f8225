// dvt hooks install | uninstall | list: the git hooks that keep the pinned dataset in step with the code
// (hooks/githooks.hpp), and which dvt hooks (.dvt/hooks/) a repository has. docs/hooks.md.
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cli.hpp"
#include "hooks/git.hpp"
#include "hooks/githooks.hpp"
#include "hooks/runner.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

namespace fs = std::filesystem;

namespace {

hooks::GitWorkTree git_tree(const Context& ctx) {
    fs::path start = ctx.dir.empty() ? fs::current_path() : fs::absolute(ctx.dir);
    auto w = hooks::find_git_work_tree(start);
    if (!w) throw Error(ErrorKind::not_found, "no git work tree at or above " + start.string());
    return *w;
}

fs::path self_exe() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path("dvt") : p;
}

nlohmann::json states_json(const std::vector<hooks::GitHookState>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& s : v)
        a.push_back({{"name", s.name}, {"installed", s.installed}, {"chained", s.chained}, {"user_hook", s.user_hook}});
    return a;
}

}  // namespace

void register_hooks(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("hooks", "Install or remove the git hooks that keep the pinned dataset checked out");
    sub->require_subcommand(1);

    auto* install = sub->add_subcommand("install", "Add post-checkout and post-merge git hooks (existing hooks are chained)");
    install->callback([&ctx] {
        auto w = git_tree(ctx);
        auto r = hooks::install_git_hooks(w.hooks_dir, self_exe());
        if (ctx.json) {
            ctx.print_json({{"hooks_dir", w.hooks_dir.string()}, {"hooks", states_json(r)}});
            return;
        }
        for (const auto& s : r)
            ctx.info("installed " + (w.hooks_dir / s.name).string() +
                     (s.chained ? " (your hook runs first, kept as " + s.name + hooks::kChainedSuffix + ")" : ""));
    });

    auto* uninstall = sub->add_subcommand("uninstall", "Remove dvt's git hooks and restore the hooks they chained");
    uninstall->callback([&ctx] {
        auto w = git_tree(ctx);
        auto r = hooks::uninstall_git_hooks(w.hooks_dir);
        if (ctx.json) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& s : r)
                a.push_back({{"name", s.name}, {"removed", s.installed}, {"restored", s.installed && s.chained}});
            ctx.print_json({{"hooks_dir", w.hooks_dir.string()}, {"hooks", a}});
            return;
        }
        for (const auto& s : r) {
            if (!s.installed) ctx.info(s.name + ": not dvt's, left alone");
            else ctx.info("removed " + (w.hooks_dir / s.name).string() + (s.chained ? " (your hook restored)" : ""));
        }
    });

    auto* list = sub->add_subcommand("list", "Show dvt's git hooks and this repository's dvt hooks");
    list->callback([&ctx] {
        fs::path start = ctx.dir.empty() ? fs::current_path() : fs::absolute(ctx.dir);
        auto w = hooks::find_git_work_tree(start);
        std::vector<hooks::GitHookState> git;
        if (w) git = hooks::git_hooks_state(w->hooks_dir);
        nlohmann::json dvt_hooks = nlohmann::json::array();
        std::unique_ptr<core::Repository> repo;
        try {
            repo = ctx.open_repo();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_a_repository) throw;
        }
        if (repo)
            for (const char* n : hooks::kHookNames) {
                auto p = hooks::hook_path(repo->dvt_dir(), n);
                struct stat st;
                if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
                dvt_hooks.push_back({{"name", n}, {"path", p.string()}, {"executable", ::access(p.c_str(), X_OK) == 0}});
            }
        if (ctx.json) {
            ctx.print_json({{"hooks_dir", w ? nlohmann::json(w->hooks_dir.string()) : nlohmann::json(nullptr)},
                            {"git_hooks", states_json(git)},
                            {"dvt_hooks", dvt_hooks},
                            {"disabled", hooks::hooks_disabled()}});
            return;
        }
        auto& out = *ctx.out;
        if (w)
            for (const auto& s : git)
                out << "git " << s.name << ": "
                    << (s.installed ? (s.chained ? "dvt (chains your hook)" : "dvt") : s.user_hook ? "yours (not dvt's)" : "none")
                    << "\n";
        else
            out << "no git work tree\n";
        for (const auto& h : dvt_hooks)
            out << "dvt " << h["name"].get<std::string>() << ": " << h["path"].get<std::string>()
                << (h["executable"].get<bool>() ? "" : " (not executable: ignored)") << "\n";
        if (hooks::hooks_disabled()) out << "DVT_NO_HOOKS is set: dvt hooks do not run\n";
    });
}

}  // namespace dvt::cmd
