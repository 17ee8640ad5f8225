#include "hooks/runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "util/error.hpp"
#include "util/fs.hpp"

extern char** environ;

namespace dvt::hooks {

namespace fs = std::filesystem;

bool hooks_disabled() {
    const char* v = std::getenv("DVT_NO_HOOKS");
    return v && *v && std::string(v) != "0";
}

fs::path hook_path(const fs::path& dvt_dir, const std::string& name) { return dvt_dir / "hooks" / name; }

bool hook_present(const fs::path& dvt_dir, const std::string& name) {
    if (hooks_disabled()) return false;
    struct stat st;
    return ::stat(hook_path(dvt_dir, name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void warn_hook_failed(const std::string& name, int status) {
    std::fprintf(stderr, "dvt: warning: the %s hook exited with status %d\n", name.c_str(), status);
}

namespace {

// stdin for the hook: an unlinked temp file holding `input`, so a hook that does not read it never blocks dvt.
util::Fd input_fd(const fs::path& dvt_dir, const std::string& input) {
    fs::path dir = dvt_dir / "tmp";
    std::error_code ec;
    fs::create_directories(dir, ec);
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {  // O_TMPFILE unsupported by this filesystem: a named temp file, unlinked at once
        fs::path p = util::temp_path(dir, "hook-input");
        fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0) throw_errno("cannot create a temp file in " + dir.string());
        ::unlink(p.c_str());
    }
    util::Fd g(fd);
    util::write_all(fd, input.data(), input.size(), "hook input");
    if (::lseek(fd, 0, SEEK_SET) != 0) throw_errno("cannot rewind the hook input");
    return g;
}

class SpawnActions {
public:
    SpawnActions() { posix_spawn_file_actions_init(&a); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&a); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    posix_spawn_file_actions_t a;
};
class SpawnAttr {
public:
    SpawnAttr() { posix_spawnattr_init(&a); }
    ~SpawnAttr() { posix_spawnattr_destroy(&a); }
    SpawnAttr(const SpawnAttr&) = delete;
    SpawnAttr& operator=(const SpawnAttr&) = delete;
    posix_spawnattr_t a;
};

}  // namespace

std::optional<int> run_hook(const HookCall& call) {
    if (hooks_disabled()) return std::nullopt;
    fs::path exe = hook_path(call.dvt_dir, call.name);
    struct stat st;
    if (::stat(exe.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    if (::access(exe.c_str(), X_OK) != 0) {
        std::fprintf(stderr, "dvt: warning: the %s hook was ignored because it is not executable (chmod +x %s)\n",
                     call.name.c_str(), exe.c_str());
        return std::nullopt;
    }

    std::vector<std::string> env_strings;
    std::vector<std::pair<std::string, std::string>> vars = {
        {"DVT_HOOK", call.name},
        {"DVT_WORK_TREE", call.work_tree.string()},
        {"DVT_DIR", call.dvt_dir.string()},
        {"DVT_OLD_COMMIT", call.old_commit},
        {"DVT_NEW_COMMIT", call.new_commit},
        {"DVT_BRANCH", call.branch},
    };
    vars.insert(vars.end(), call.env.begin(), call.env.end());
    for (char** e = environ; e && *e; ++e) {
        std::string s = *e;
        std::string key = s.substr(0, s.find('='));
        bool overridden = false;
        for (const auto& [k, v] : vars) overridden = overridden || k == key;
        if (!overridden) env_strings.push_back(std::move(s));
    }
    for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe_s = exe.string();
    std::vector<char*> argv = {exe_s.data(), nullptr};

    util::Fd in = input_fd(call.dvt_dir, call.input);
    SpawnActions actions;
    posix_spawn_file_actions_adddup2(&actions.a, in.get(), 0);
    posix_spawn_file_actions_adddup2(&actions.a, 2, 1);  // the hook's stdout goes to dvt's stderr
    posix_spawn_file_actions_addchdir_np(&actions.a, call.work_tree.c_str());
    SpawnAttr attr;
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr.a, &empty);  // a command may block SIGINT/SIGTERM in its threads (pull)
    posix_spawnattr_setsigdefault(&attr.a, &defaults);
    posix_spawnattr_setflags(&attr.a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::fflush(stderr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, exe.c_str(), &actions.a, &attr.a, argv.data(), envp.data());
    if (rc != 0)
        throw Error(ErrorKind::io, "cannot run the " + call.name + " hook " + exe.string() + ": " + std::strerror(rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw_errno("waiting for the " + call.name + " hook");
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace dvt::hooks
