#include "hooks/githooks.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::hooks {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

bool exists_nofollow(const fs::path& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

bool is_dvt_hook(const fs::path& p) {
    auto text = util::try_read_text(p);
    return text && text->find(std::string("\n") + kHookMarker + "\n") != std::string::npos;
}

GitHookState state_of(const fs::path& dir, const std::string& name) {
    GitHookState s;
    s.name = name;
    fs::path hook = dir / name;
    s.installed = exists_nofollow(hook) && is_dvt_hook(hook);
    s.user_hook = exists_nofollow(hook) && !s.installed;
    s.chained = exists_nofollow(dir / (name + kChainedSuffix));
    return s;
}

}  // namespace

std::string git_hook_script(const std::string& name, const fs::path& dvt_exe) {
    std::string s = "#!/bin/sh\n";
    s += kHookMarker;
    s += "\n";
    s += "# Installed by `dvt hooks install`; `dvt hooks uninstall` removes it and restores the hook it chains.\n"
         "# After git " + std::string(name == "post-merge" ? "pull/merge" : "checkout/switch") +
         ", brings the dataset pinned in dvt.lock in step with it (docs/hooks.md).\n"
         "# Do not edit: put your own commands in " + name + kChainedSuffix + " (run first, with the same arguments).\n";
    s += "chained=\"$(dirname \"$0\")/" + name + kChainedSuffix + "\"\n";
    s += "if [ -x \"$chained\" ]; then \"$chained\" \"$@\" || exit $?; fi\n";
    if (name == "post-checkout") s += "[ \"$3\" = 1 ] || exit 0  # a file checkout, not a branch switch\n";
    s += "dvt=" + shell_quote(dvt_exe.string()) + "\n";
    s += "[ -x \"$dvt\" ] || dvt=dvt\n";
    s += "lock=\"${DVT_PIN_FILE:-dvt.lock}\"\n";
    s += "[ -f \"$lock\" ] || exit 0  # this code commit pins no dataset\n";
    s += "if ! \"$dvt\" pull </dev/null; then\n"
         "    echo \"dvt: the dataset was not brought in step with $lock (see the error above); fix that, then run 'dvt pull'\" >&2\n"
         "    exit 1\n"
         "fi\n";
    return s;
}

std::vector<GitHookState> git_hooks_state(const fs::path& dir) {
    std::vector<GitHookState> out;
    for (const char* n : kGitHookNames) out.push_back(state_of(dir, n));
    return out;
}

std::vector<GitHookState> install_git_hooks(const fs::path& dir, const fs::path& dvt_exe) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw_error_code(ec, "cannot create " + dir.string());
    auto before = git_hooks_state(dir);
    for (const auto& s : before)  // check everything before changing anything
        if (s.user_hook && s.chained)
            throw Error(ErrorKind::conflict, (dir / s.name).string() + " is not dvt's hook but " + s.name +
                                                 kChainedSuffix + " exists too; move one of them away first");
    std::vector<GitHookState> out;
    for (auto s : before) {
        fs::path hook = dir / s.name;
        if (s.user_hook) {
            fs::path chained = dir / (s.name + kChainedSuffix);
            if (::rename(hook.c_str(), chained.c_str()) != 0) throw_errno("cannot rename " + hook.string());
            s.chained = true;
        }
        util::atomic_write_file(hook, git_hook_script(s.name, dvt_exe), 0755);
        s.installed = true;
        s.user_hook = false;
        out.push_back(s);
    }
    util::fsync_dir(dir);
    return out;
}

std::vector<GitHookState> uninstall_git_hooks(const fs::path& dir) {
    auto before = git_hooks_state(dir);
    if (!util::path_is_directory(dir)) return before;
    for (const auto& s : before) {
        if (!s.installed) continue;  // never touch a hook that is not dvt's (nor its would-be chained file)
        fs::path hook = dir / s.name;
        fs::path chained = dir / (s.name + kChainedSuffix);
        if (s.chained) {
            if (::rename(chained.c_str(), hook.c_str()) != 0) throw_errno("cannot restore " + hook.string());
        } else if (::unlink(hook.c_str()) != 0) {
            throw_errno("cannot remove " + hook.string());
        }
    }
    util::fsync_dir(dir);
    return before;
}

}  // namespace dvt::hooks
