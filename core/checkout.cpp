#include "core/checkout.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <mutex>
#include <thread>

#include "core/revision.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core/named_packs.hpp"
#include "objects/limits.hpp"
#include "hooks/runner.hpp"
#include "util/file_writer.hpp"

namespace dvt::core {

using namespace dvt::objects;
namespace fs = std::filesystem;

namespace {

std::string parent_of(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? "" : p.substr(0, s);
}
std::string base_of(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// Directory descriptors of the working tree, opened component by component without following symlinks.
// The directories a checkout writes into, opened from the work tree's root one component at a time without following
// symlinks (a symlink planted where a directory should be is never written through). At most kMaxOpen are kept open
// (the least recently used is closed, and opened again by path when needed): a tree of thousands of directories
// stays within 1,024 descriptors. A caller holds the descriptor it got for as long as it uses it.
class DirCache {
public:
    using Dir = std::shared_ptr<util::Fd>;
    static constexpr std::size_t kMaxOpen = 64;

    DirCache(const fs::path& root, bool force) : m_force(force) {
        int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw_errno("cannot open " + root.string());
        m_root = std::make_shared<util::Fd>(fd);
        remove_stale_temps(fd);  // the top level too: files there are written into this descriptor
    }

    // Opens (creating when `create`) the directory `rel`. Returns null if it does not exist and !create.
    Dir open(const std::string& rel, bool create) {
        if (rel.empty()) return m_root;
        if (auto it = m_fds.find(rel); it != m_fds.end()) {
            it->second.used = ++m_tick;
            return it->second.fd;
        }
        std::string par = parent_of(rel), name = base_of(rel);
        Dir parent = open(par, create);
        if (!parent) return nullptr;
        int pfd = parent->get();
        int fd = ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ENOTDIR || errno == ELOOP) && create) {
            // a file or symlink stands where the tree has a directory: the deletions removed tracked ones, so what is
            // left is untracked and may only go with --force; before the deletions (stage A) nothing is removed
            if (!m_removing)
                throw Error(ErrorKind::conflict, "'" + rel + "' appeared in the way of a directory during the checkout");
            if (!m_force) throw Error(ErrorKind::conflict, "'" + rel + "' is in the way of a directory (use --force)");
            if (::unlinkat(pfd, name.c_str(), 0) != 0) throw_errno("cannot remove " + rel);
            fd = -1;
            errno = ENOENT;
        }
        if (fd < 0 && errno == ENOENT) {
            if (!create) return nullptr;
            if (::mkdirat(pfd, name.c_str(), 0777) == 0) m_created.push_back(rel);
            else if (errno != EEXIST) throw_errno("cannot create directory " + rel);
            fd = ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            if (!create && (errno == ENOTDIR || errno == ELOOP)) return nullptr;
            throw_errno("cannot open directory " + rel);
        }
        Dir d = std::make_shared<util::Fd>(fd);
        if (m_cleaned.insert(rel).second) remove_stale_temps(fd);
        m_fds[rel] = Entry{d, ++m_tick};
        while (m_fds.size() > kMaxOpen) {  // the least recently used goes (its holders keep it open until done)
            auto oldest = std::min_element(m_fds.begin(), m_fds.end(),
                                           [](const auto& x, const auto& y) { return x.second.used < y.second.used; });
            m_fds.erase(oldest);
        }
        return d;
    }
    void forget(const std::string& rel) { m_fds.erase(rel); }
    // Whether open(rel, true) may remove a file or symlink in the way (after the deletions), or must refuse.
    void set_removing(bool r) { m_removing = r; }
    // The directories open() created, deepest (latest) first.
    std::vector<std::string> created_reversed() const { return {m_created.rbegin(), m_created.rend()}; }

private:
    // Temp files of a checkout that was killed (".dvt-tmp-<pid>-<n>": the write lock excludes a live one).
    static void remove_stale_temps(int dirfd) {
        int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return;
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            return;
        }
        std::vector<std::string> stale;
        std::string mine = ".dvt-tmp-" + std::to_string(::getpid()) + "-";  // this checkout's own are not stale
        while (auto* e = ::readdir(d))
            if (std::strncmp(e->d_name, ".dvt-tmp-", 9) == 0 && std::strncmp(e->d_name, mine.c_str(), mine.size()) != 0)
                stale.emplace_back(e->d_name);
        ::closedir(d);
        for (const auto& n : stale) ::unlinkat(dirfd, n.c_str(), 0);
    }

    struct Entry {
        Dir fd;
        std::uint64_t used = 0;
    };
    bool m_force;
    bool m_removing = true;
    std::vector<std::string> m_created;
    Dir m_root;
    std::map<std::string, Entry> m_fds;
    std::uint64_t m_tick = 0;
    std::set<std::string> m_cleaned;  // directories whose stale temp files were removed (once each)
};

void remove_tree_at(int pfd, const std::string& name, const std::string& rel) {
    int fd = ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open " + rel);
    {
        util::Fd g(fd);
        int d2 = ::dup(fd);
        DIR* d = ::fdopendir(d2);
        if (!d) throw_errno("cannot read " + rel);
        std::vector<std::pair<std::string, bool>> names;
        while (auto* de = ::readdir(d)) {
            std::string n = de->d_name;
            if (n == "." || n == "..") continue;
            names.emplace_back(n, de->d_type == DT_DIR);
        }
        ::closedir(d);
        for (auto& [n, is_dir] : names) {
            if (is_dir) remove_tree_at(fd, n, rel + "/" + n);
            else if (::unlinkat(fd, n.c_str(), 0) != 0) throw_errno("cannot remove " + rel + "/" + n);
        }
    }
    if (::unlinkat(pfd, name.c_str(), AT_REMOVEDIR) != 0) throw_errno("cannot remove " + rel);
}

struct WriteJob {
    int dirfd;
    std::size_t job = 0;  // index into the checkout's jobs
};

// Orders the jobs by turns over their directories (the first file of each directory, then the second, ...), so that
// the checkout threads, which take jobs in order, mostly create files in different directories instead of waiting
// for one directory's lock.
void interleave_directories(std::vector<WriteJob>& jobs) {
    std::vector<std::vector<WriteJob>> groups;
    std::unordered_map<int, std::size_t> group_of;
    for (auto& j : jobs) {
        auto [it, fresh] = group_of.try_emplace(j.dirfd, groups.size());
        if (fresh) groups.emplace_back();
        groups[it->second].push_back(std::move(j));
    }
    jobs.clear();
    for (std::size_t k = 0;; ++k) {
        bool any = false;
        for (auto& g : groups)
            if (k < g.size()) {
                jobs.push_back(std::move(g[k]));
                any = true;
            }
        if (!any) break;
    }
}

}  // namespace

namespace {

// Runs f(i) for i in [0, n) on up to hardware_concurrency threads; the first exception stops the others and is
// rethrown.
template <class F>
void parallel_for(std::size_t n, F&& f) {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::exception_ptr error;
    auto run = [&] {
        try {
            for (std::size_t i = next++; i < n && !failed; i = next++) f(i);
        } catch (...) {
            std::lock_guard g(mu);
            if (!error) error = std::current_exception();
            failed = true;
        }
    };
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    if (n < 2) threads = 1;
    std::vector<std::thread> ts;
    for (unsigned t = 1; t < threads; ++t) ts.emplace_back(run);
    run();
    for (auto& t : ts) t.join();
    if (error) std::rethrow_exception(error);
}

// One path the checkout writes, with everything planned for it.
struct Job {
    const std::string* key = nullptr;  // the path: the target tree's key (not a copy: one per file of the version)
    const FlatEntry* entry;
    std::uint64_t size = 0;           // bytes (files)
    std::vector<Location> chunks;     // where each chunk is, checked present and of the length the file names
    bool replaces = false;            // something stands at the path or in the way of its directory (stage C)
    int dirfd = -1;
    bool written = false;             // stage A: created (rolled back on failure)
    const std::string& path() const { return *key; }
};

// Reads the file object of every file job and locates its chunks: the file object must decode (verified against its
// id), have the size of its tree entry, and its chunks must be present with the lengths it names and add up to it.
void plan_contents(const ObjectStore& store, std::vector<Job>& jobs) {
    parallel_for(jobs.size(), [&](std::size_t i) {
        auto& j = jobs[i];
        if (j.entry->kind == EntryKind::symlink) return;
        // the file object as its entry says, each chunk present and as long as its manifest says
        auto [f, locs] = read_file_checked(store, j.entry->id, j.entry->size, j.path());
        j.size = f.size;
        j.chunks = std::move(locs);
    });
}

// Writes job `i` to a temp name in its directory and renames it into place (over what is there only if `replace`).
// Returns its stat row (path empty for a symlink).
StatRow write_job(const ObjectStore& store, const Job& j, std::size_t i, bool replace, std::atomic<std::uint64_t>& bytes) {
    std::string name = base_of(j.path());
    std::string tmp = ".dvt-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(i);
    try {
        if (j.entry->kind == EntryKind::symlink) {
            ::unlinkat(j.dirfd, tmp.c_str(), 0);
            if (::symlinkat(j.entry->target.c_str(), j.dirfd, tmp.c_str()) != 0)
                throw_errno("cannot create symlink " + j.path());
        } else {
            mode_t mode = j.entry->kind == EntryKind::executable ? 0777 : 0666;
            int fd = ::openat(j.dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd < 0) throw_errno("cannot create " + j.path());
            util::Fd g(fd);
            // verified chunks are gathered into 1 MiB writes (large files bypass the page cache)
            util::FileWriter w(fd, j.size, j.path());
            store.read_many(j.chunks, [&](std::size_t, const Bytes& data) { w.append(data.data(), data.size()); });
            w.finish();
            bytes += j.size;
        }
    } catch (...) {
        ::unlinkat(j.dirfd, tmp.c_str(), 0);  // a failed write leaves nothing behind
        throw;
    }
    int rc = replace ? ::renameat(j.dirfd, tmp.c_str(), j.dirfd, name.c_str())
                     : ::renameat2(j.dirfd, tmp.c_str(), j.dirfd, name.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && !replace && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
        // a file system without RENAME_NOREPLACE: look, then rename (the write lock keeps other dvt processes out)
        struct stat st;
        if (::fstatat(j.dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) errno = EEXIST;
        else rc = ::renameat(j.dirfd, tmp.c_str(), j.dirfd, name.c_str());
    }
    if (rc != 0) {
        int e = errno;
        ::unlinkat(j.dirfd, tmp.c_str(), 0);
        if (e == EEXIST)
            throw Error(ErrorKind::conflict, "'" + j.path() + "' appeared while the checkout was writing it");
        errno = e;
        throw_errno("cannot rename into " + j.path());
    }
    StatRow row;
    struct stat st;
    if (::fstatat(j.dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
        row = StatRow{j.path(), static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec,
                      st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec, st.st_ino, st.st_mode, j.entry->id};
    return row;
}

// What stands on disk where the checkout needs a directory.
enum class DirState { dir, absent, blocked };

// Lists the non-directories below directory `rel` (opened from `pfd`, nothing followed) into `out`.
void list_files_below(int pfd, const std::string& name, const std::string& rel, std::vector<std::string>& out) {
    int fd = ::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open " + rel);
    util::Fd g(fd);
    DIR* d = ::fdopendir(::dup(fd));
    if (!d) throw_errno("cannot read " + rel);
    std::vector<std::pair<std::string, bool>> names;
    while (auto* de = ::readdir(d)) {
        std::string n = de->d_name;
        if (n == "." || n == "..") continue;
        bool is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = ::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        names.emplace_back(n, is_dir);
    }
    ::closedir(d);
    for (auto& [n, is_dir] : names) {
        if (is_dir) list_files_below(fd, n, rel + "/" + n, out);
        else out.push_back(rel + "/" + n);
    }
}

// The checkout itself, under the write lock. `head` receives HEAD as it was; `changes`, if given, one line per path
// written or removed ("A path", "M path", "D path": the post-checkout hook's stdin).
//
// In four stages, so that a version that cannot be written whole changes nothing (docs/cli.md, `dvt checkout`):
//  plan   (reads only) what to delete and write, the conflicts (also with what stands on disk: an untracked or
//         ignored file where a directory must go, a directory holding files that are not deleted where a file must
//         go), every name checked against NAME_MAX/PATH_MAX, every file object decoded and every chunk located with
//         the length its file names;
//  A      (adds only) the files whose place is free are written (temp file, then a rename that never replaces), with
//         the directories they need; every chunk is verified as it is read;
//  B      (reads only) the chunks of the files that replace something are read and verified;
//  C      the deletions, then the files that replace something.
// A failure in the plan, A or B removes what A created and leaves the work tree as it was. Only an I/O error in C
// (or data damaged on disk between B and C) can leave a checkout half done; the next checkout completes it.
CheckoutResult checkout_locked(Repository& repo, const std::string& rev, const CheckoutOptions& opts, refs::Head& head_before,
                               std::string* changes) {
    auto lock = repo.write_lock();
    CheckoutResult res;
    res.commit = resolve_commit(repo, rev);
    Commit target_commit = load_commit(repo, res.commit);
    const auto& limits = opts.paths;
    const auto& store = repo.store();
    FlatTree target = flatten_paths(repo.store(), target_commit, limits);
    auto head = repo.refs().head();
    head_before = head;
    std::optional<Commit> head_commit;
    if (head.commit) head_commit = load_commit(repo, *head.commit);
    // checking out HEAD's own commit (checkout -f HEAD, paths at HEAD): one flattened tree serves as both
    const bool head_is_target = head.commit && *head.commit == res.commit;
    FlatTree head_own;
    if (head_commit && !head_is_target) head_own = flatten_paths(repo.store(), *head_commit, limits);
    const FlatTree& head_tree = head_is_target ? target : head_own;
    // the work tree is compared with each version as that version was cut (its chunker)
    const ChunkerParams target_chunker = repo.chunker_of(target_commit);
    const ChunkerParams head_chunker = head_commit ? repo.chunker_of(*head_commit) : target_chunker;
    for (const auto& p : limits) {
        auto matches = [&](const FlatTree& t) {
            auto it = t.lower_bound(p);
            return it != t.end() && path_in_limits(it->first, {p});
        };
        if (!matches(target) && !matches(head_tree))
            throw Error(ErrorKind::not_found, "path '" + p + "' did not match any file in " + rev);
    }
    FlatTree work = worktree_state(repo, limits, target_chunker);
    std::optional<FlatTree> work_head;  // the work tree cut as HEAD was, if that differs
    if (head_chunker != target_chunker) work_head = worktree_state(repo, limits, head_chunker);

    auto modified = [&](const std::string& p) {  // does the work tree hold something at p that HEAD does not?
        const FlatTree& wt = work_head ? *work_head : work;
        auto w = wt.find(p);
        if (w == wt.end()) return false;
        auto h = head_tree.find(p);
        return h == head_tree.end() || !h->second.same_content(w->second);
    };

    // ---- plan ----
    std::vector<std::string> deletes;
    std::vector<std::string> conflicts;
    for (const auto& [p, h] : head_tree) {
        if (target.count(p)) continue;
        if (!work.count(p)) continue;
        if (modified(p)) conflicts.push_back(p);
        deletes.push_back(p);
    }
    std::vector<Job> jobs;
    for (const auto& [p, t] : target) {
        auto w = work.find(p);
        if (w != work.end() && w->second.same_content(t)) continue;
        check_path_fits(p);
        if (t.kind == EntryKind::symlink && t.target.size() > objects::kMaxPathLength)
            throw Error(ErrorKind::corrupt, "symlink '" + p + "' has a target of " + std::to_string(t.target.size()) +
                                                " bytes");
        if (w != work.end() && modified(p)) conflicts.push_back(p);
        // an untracked file standing where the tree needs a directory
        for (std::string a = parent_of(p); !a.empty(); a = parent_of(a))
            if (work.count(a) && !head_tree.count(a)) conflicts.push_back(a);
        Job j;
        j.key = &p;
        j.entry = &t;
        jobs.push_back(std::move(j));
    }
    // What stands on disk (also what the work tree scan does not show: ignored files, directories).
    util::Fd root_fd(::open(repo.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root_fd.get() < 0) throw_errno("cannot open " + repo.root().string());
    std::set<std::string> delete_set(deletes.begin(), deletes.end());
    std::map<std::string, DirState> dir_state{{"", DirState::dir}};
    std::function<DirState(const std::string&)> state_of = [&](const std::string& d) -> DirState {
        if (auto it = dir_state.find(d); it != dir_state.end()) return it->second;
        DirState parent = state_of(parent_of(d));
        DirState s = parent == DirState::dir ? DirState::absent : parent;
        if (parent == DirState::dir) {
            struct stat st;
            if (::fstatat(root_fd.get(), d.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
                s = S_ISDIR(st.st_mode) ? DirState::dir : DirState::blocked;
                // a file or symlink where the tree has a directory: fine if it is a tracked file going away
                if (s == DirState::blocked && !delete_set.count(d)) conflicts.push_back(d);
            } else if (errno != ENOENT && errno != ENOTDIR) {
                throw_errno("cannot inspect " + d);
            }
        }
        return dir_state[d] = s;
    };
    for (auto& j : jobs) {
        DirState parent = state_of(parent_of(j.path()));
        if (parent == DirState::blocked) {
            j.replaces = true;
            continue;
        }
        if (parent == DirState::absent) continue;
        struct stat st;
        if (::fstatat(root_fd.get(), j.path().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT && errno != ENOTDIR) throw_errno("cannot inspect " + j.path());
            continue;
        }
        j.replaces = true;
        if (S_ISDIR(st.st_mode)) {  // a directory where the tree has a file: it may only hold files that go away
            std::vector<std::string> below;
            int pfd = ::openat(root_fd.get(), parent_of(j.path()).empty() ? "." : parent_of(j.path()).c_str(),
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (pfd < 0) throw_errno("cannot open " + parent_of(j.path()));
            util::Fd g(pfd);
            list_files_below(pfd, base_of(j.path()), j.path(), below);
            for (const auto& b : below)
                if (!delete_set.count(b)) conflicts.push_back(b);
        }
    }
    if (!conflicts.empty() && !opts.force) {
        std::sort(conflicts.begin(), conflicts.end());
        conflicts.erase(std::unique(conflicts.begin(), conflicts.end()), conflicts.end());
        std::string list;
        for (std::size_t i = 0; i < conflicts.size() && i < 5; ++i) list += (i ? ", " : "") + conflicts[i];
        if (conflicts.size() > 5) list += ", ... (" + std::to_string(conflicts.size()) + " paths)";
        throw Error(ErrorKind::conflict, "checkout would overwrite uncommitted changes in " + list +
                                             "; commit them, or use --force to discard them");
    }
    plan_contents(store, jobs);

    if (changes) {
        for (const auto& p : deletes) *changes += "D " + p + "\n";
        for (const auto& j : jobs) *changes += (work.count(j.path()) ? "M " : "A ") + j.path() + "\n";
    }

    // ---- A: the files whose place is free ----
    DirCache dirs(repo.root(), opts.force);
    {  // opening a directory removes temp files a killed checkout left there: every directory of the version
        std::set<std::string> tree_dirs;
        for (const auto& [path, e] : target) tree_dirs.insert(parent_of(path));
        for (const auto& d : tree_dirs) dirs.open(d, false);
    }
    std::vector<std::size_t> free_jobs, replacing;
    for (std::size_t i = 0; i < jobs.size(); ++i) (jobs[i].replaces ? replacing : free_jobs).push_back(i);
    std::atomic<std::uint64_t> bytes{0};
    std::vector<StatRow> rows(jobs.size());
    // Writes the jobs `which` (in order) in batches of at most DirCache::kMaxOpen directories, each opened (created)
    // for its batch and held open only while the batch runs: descriptors stay bounded however many directories the
    // version has. Within a batch the jobs take turns over the directories (interleave_directories).
    auto write_batched = [&](const std::vector<std::size_t>& which, bool replace) {
        for (std::size_t k = 0; k < which.size();) {
            std::map<std::string, DirCache::Dir> held;
            std::vector<WriteJob> order;
            for (; k < which.size(); ++k) {
                auto i = which[k];
                std::string d = parent_of(jobs[i].path());
                auto h = held.find(d);
                if (h == held.end()) {
                    if (held.size() >= DirCache::kMaxOpen) break;
                    h = held.emplace(d, dirs.open(d, true)).first;
                }
                jobs[i].dirfd = h->second->get();
                order.push_back(WriteJob{jobs[i].dirfd, i});
            }
            interleave_directories(order);
            parallel_for(order.size(), [&](std::size_t n) {
                auto i = order[n].job;
                rows[i] = write_job(store, jobs[i], i, replace, bytes);
                if (!replace) jobs[i].written = true;
            });
            for (const auto& o : order) jobs[o.job].dirfd = -1;  // closed with its batch
        }
    };
    try {
        dirs.set_removing(false);
        write_batched(free_jobs, false);
        // ---- B: the content of the files that replace something ----
        std::vector<std::size_t> files;
        for (auto i : replacing)
            if (jobs[i].entry->kind != EntryKind::symlink) files.push_back(i);
        parallel_for(files.size(), [&](std::size_t k) {
            store.read_many(jobs[files[k]].chunks, [](std::size_t, const Bytes&) {});
        });
    } catch (...) {  // nothing was removed or replaced: take back what was added
        for (const auto& j : jobs) {
            if (!j.written) continue;
            try {
                if (auto d = dirs.open(parent_of(j.path()), false)) ::unlinkat(d->get(), base_of(j.path()).c_str(), 0);
            } catch (...) {  // what cannot be reached is left
            }
        }
        for (const auto& d : dirs.created_reversed()) ::unlinkat(root_fd.get(), d.c_str(), AT_REMOVEDIR);
        throw;
    }

    // ---- C: deletions, then the files that replace something ----
    dirs.set_removing(true);
    std::set<std::string> touched_dirs;
    for (const auto& p : deletes) {
        auto dir = dirs.open(parent_of(p), false);
        if (!dir) continue;
        if (::unlinkat(dir->get(), base_of(p).c_str(), 0) != 0 && errno != ENOENT) throw_errno("cannot remove " + p);
        ++res.deleted;
        touched_dirs.insert(parent_of(p));
    }
    // remove directories emptied by the deletions (deepest first); a non-empty one stays
    for (auto it = touched_dirs.rbegin(); it != touched_dirs.rend(); ++it) {
        for (std::string d = *it; !d.empty(); d = parent_of(d)) {
            auto parent = dirs.open(parent_of(d), false);
            if (!parent || ::unlinkat(parent->get(), base_of(d).c_str(), AT_REMOVEDIR) != 0) break;
            dirs.forget(d);
        }
    }
    for (auto i : replacing) {
        auto& j = jobs[i];
        auto dir = dirs.open(parent_of(j.path()), true);
        int dfd = dir->get();
        struct stat st;
        if (::fstatat(dfd, base_of(j.path()).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            if (::unlinkat(dfd, base_of(j.path()).c_str(), AT_REMOVEDIR) != 0) {
                if (!opts.force)
                    throw Error(ErrorKind::conflict, "directory '" + j.path() + "' is in the way of a file (use --force)");
                remove_tree_at(dfd, base_of(j.path()), j.path());
            }
            dirs.forget(j.path());
        }
    }
    write_batched(replacing, true);
    res.written = jobs.size();
    res.bytes_written = bytes;

    if (limits.empty()) {
        bool is_branch = refs::valid_ref_name(rev) && repo.refs().read("refs/heads/" + rev).has_value() &&
                         *repo.refs().read("refs/heads/" + rev) == res.commit;
        std::string from = head.branch_ref ? head.branch_ref->substr(11) : (head.commit ? head.commit->hex() : "");
        bool advanced = false;
        if (opts.advance_branch && head.branch_ref && !is_branch) {
            try {
                repo.refs().update(*head.branch_ref, head.commit, res.commit, opts.advance_message);
                res.branch = head.branch_ref->substr(11);
                advanced = true;
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::conflict) throw;  // the branch moved meanwhile: HEAD is detached below
            }
        }
        if (!advanced && is_branch) {
            repo.refs().set_head_branch("refs/heads/" + rev, "checkout: moving from " + from + " to " + rev);
            res.branch = rev;
        } else if (!advanced) {
            repo.refs().set_head_detached(res.commit, "checkout: moving from " + from + " to " + res.commit.hex());
        }
    }
    std::erase_if(rows, [](const StatRow& r) { return r.path.empty(); });
    if (target_chunker != repo.chunker_params()) rows.clear();  // the stat cache holds ids of the repository's chunker
    try {
        StatCache(repo).store(std::move(rows));
    } catch (const std::exception&) {
    }
    return res;
}

}  // namespace

CheckoutResult checkout(Repository& repo, const std::string& rev, const CheckoutOptions& opts) {
    bool hook = hooks::hook_present(repo.dvt_dir(), "post-checkout");
    refs::Head before;
    std::string changes;
    auto start = std::chrono::steady_clock::now();
    CheckoutResult res = checkout_locked(repo, rev, opts, before, hook ? &changes : nullptr);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (hook) {  // after the write lock is released, so the hook may run dvt commands
        hooks::HookCall call;
        call.name = "post-checkout";
        call.work_tree = repo.root();
        call.dvt_dir = repo.dvt_dir();
        if (before.commit) call.old_commit = before.commit->hex();
        call.new_commit = res.commit.hex();
        auto now = repo.refs().head();
        if (now.branch_ref) call.branch = now.branch_ref->substr(11);
        call.env.emplace_back("DVT_CHECKOUT_KIND", opts.paths.empty() ? "tree" : "paths");
        call.input = std::move(changes);
        if (auto st = hooks::run_hook(call); st && *st != 0) hooks::warn_hook_failed("post-checkout", *st);
    }
    return res;
}

}  // namespace dvt::core
