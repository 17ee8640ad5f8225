#include "hooks/git.hpp"

#include <git2.h>

#include <cstdlib>
#include <memory>

#include "util/error.hpp"

namespace dvt::hooks {

namespace fs = std::filesystem;

LibGit2::LibGit2() {
    if (git_libgit2_init() < 0) throw Error(ErrorKind::internal, "libgit2 failed to initialise");
}
LibGit2::~LibGit2() { git_libgit2_shutdown(); }

namespace {

struct RepoFree {
    void operator()(git_repository* r) const { git_repository_free(r); }
};
struct ConfigFree {
    void operator()(git_config* c) const { git_config_free(c); }
};
struct StatusFree {
    void operator()(git_status_list* s) const { git_status_list_free(s); }
};
using RepoPtr = std::unique_ptr<git_repository, RepoFree>;

class Buf {
public:
    Buf() = default;
    ~Buf() { git_buf_dispose(&m_buf); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    git_buf* get() { return &m_buf; }
    std::string str() const { return m_buf.ptr ? std::string(m_buf.ptr, m_buf.size) : std::string(); }

private:
    git_buf m_buf = GIT_BUF_INIT;
};

std::string last_error() {
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

fs::path canonical_dir(const fs::path& p) {
    std::error_code ec;
    fs::path p_abs = fs::absolute(p, ec);
    if (ec) throw_error_code(ec, "cannot resolve " + p.string());
    auto c = fs::weakly_canonical(p_abs, ec);
    if (ec) return p_abs.lexically_normal();
    std::string s = c.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

// A non-bare repository for `start`, or null. Errors other than "not found" are io errors.
RepoPtr open_work_tree(const fs::path& start) {
    git_repository* raw = nullptr;
    const char* forced = std::getenv("DVT_GIT_WORK_TREE");
    if (forced && *forced) {
        if (git_repository_open(&raw, forced) != 0)
            throw Error(ErrorKind::not_found, std::string("DVT_GIT_WORK_TREE=") + forced + " is not a git work tree (" +
                                                  last_error() + ")");
    } else {
        int rc = git_repository_open_ext(&raw, start.c_str(), 0, nullptr);
        if (rc == GIT_ENOTFOUND) return nullptr;
        if (rc != 0) throw Error(ErrorKind::io, "cannot open the git repository above " + start.string() + ": " + last_error());
    }
    RepoPtr repo(raw);
    if (git_repository_is_bare(repo.get()) || !git_repository_workdir(repo.get())) return nullptr;
    return repo;
}

fs::path hooks_dir_of(git_repository* repo, const fs::path& work_dir) {
    git_config* cfg_raw = nullptr;
    if (git_repository_config_snapshot(&cfg_raw, repo) == 0) {
        std::unique_ptr<git_config, ConfigFree> cfg(cfg_raw);
        Buf b;
        if (git_config_get_path(b.get(), cfg.get(), "core.hooksPath") == 0 && !b.str().empty()) {
            fs::path p = b.str();
            return p.is_absolute() ? p : (work_dir / p).lexically_normal();
        }
    }
    Buf b;
    if (git_repository_item_path(b.get(), repo, GIT_REPOSITORY_ITEM_HOOKS) != 0)
        throw Error(ErrorKind::io, "cannot find the git hooks directory: " + last_error());
    std::string s = b.str();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

std::optional<GitWorkTree> find_git_work_tree(const fs::path& start) {
    LibGit2 lib;
    RepoPtr repo = open_work_tree(start);
    if (!repo) return std::nullopt;
    GitWorkTree w;
    w.work_dir = canonical_dir(git_repository_workdir(repo.get()));
    w.hooks_dir = hooks_dir_of(repo.get(), w.work_dir);
    return w;
}

std::optional<Provenance> git_provenance(const fs::path& dataset_root) {
    if (const char* v = std::getenv("DVT_GIT_PROVENANCE"); v && std::string(v) == "0") return std::nullopt;
    LibGit2 lib;
    RepoPtr repo = open_work_tree(dataset_root);
    if (!repo) return std::nullopt;
    git_oid oid;
    if (git_reference_name_to_id(&oid, repo.get(), "HEAD") != 0) return std::nullopt;  // unborn: no commit yet
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    Provenance p;
    p.commit = hex;

    // The dataset directory, relative to the git work tree, when it lies strictly inside it.
    fs::path work = canonical_dir(git_repository_workdir(repo.get()));
    fs::path data = canonical_dir(dataset_root);
    std::string skip;
    auto rel = data.lexically_relative(work);
    if (!rel.empty() && rel != "." && *rel.begin() != "..") skip = rel.generic_string() + "/";

    git_status_options opts;
    git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
    opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;  // no untracked files: like `git describe --dirty`
    git_status_list* raw = nullptr;
    if (git_status_list_new(&raw, repo.get(), &opts) != 0)
        throw Error(ErrorKind::io, "cannot read the git status of " + work.string() + ": " + last_error());
    std::unique_ptr<git_status_list, StatusFree> list(raw);
    std::size_t n = git_status_list_entrycount(list.get());
    for (std::size_t i = 0; i < n && !p.dirty; ++i) {
        const git_status_entry* e = git_status_byindex(list.get(), i);
        if (!e || e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED) || (e->status & GIT_STATUS_WT_NEW))
            continue;
        const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
        const char* path = d ? (d->new_file.path ? d->new_file.path : d->old_file.path) : nullptr;
        if (path && !skip.empty() && std::string(path).starts_with(skip)) continue;
        p.dirty = true;
    }
    return p;
}

}  // namespace dvt::hooks
