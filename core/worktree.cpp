#include "core/worktree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "util/ignore.hpp"

namespace dvt::core {

namespace fs = std::filesystem;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool path_in_limits(const std::string& path, const std::vector<std::string>& limit) {
    if (limit.empty()) return true;
    for (const auto& l : limit) {
        if (l.empty() || path == l) return true;
        if (path.size() > l.size() && path.compare(0, l.size(), l) == 0 && path[l.size()] == '/') return true;
    }
    return false;
}

// Could a path under directory `dir` match one of the limits (so the scan must descend into it)?
static bool dir_relevant(const std::string& dir, const std::vector<std::string>& limit) {
    if (limit.empty() || dir.empty()) return true;
    for (const auto& l : limit) {
        if (l.empty() || path_in_limits(dir, {l})) return true;
        if (l.size() > dir.size() && l.compare(0, dir.size(), dir) == 0 && l[dir.size()] == '/') return true;
    }
    return false;
}

namespace {
struct Scanner {
    util::IgnoreRules ignore;
    const std::vector<std::string>& limit;
    std::vector<WorkEntry> out;

    void walk(int dirfd, const std::string& rel) {
        // load this directory's ignore file first, as git does
        int ifd = ::openat(dirfd, ".dvtignore", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (ifd >= 0) {
            util::Fd g(ifd);
            std::string text(util::file_size(ifd), '\0');
            if (!text.empty()) util::pread_all(ifd, text.data(), text.size(), 0, rel + "/.dvtignore");
            ignore.add_file(rel, text);
        }
        int dup = ::dup(dirfd);
        if (dup < 0) throw_errno("dup");
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            throw_errno("cannot read directory " + (rel.empty() ? "." : rel));
        }
        std::vector<std::string> names;
        while (auto* de = ::readdir(d)) {
            std::string n = de->d_name;
            if (n == "." || n == ".." || n == ".dvt" || n == ".git") continue;
            if (n.rfind(".dvt-tmp-", 0) == 0) continue;  // a checkout's temp file (removed by the next checkout)
            names.push_back(std::move(n));
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string path = rel.empty() ? n : rel + "/" + n;
            struct stat st;
            if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) continue;  // vanished while scanning
                throw_errno("cannot stat " + path);
            }
            if (S_ISDIR(st.st_mode)) {
                // The walk does not enter ignored directories, so the parents need no second look.
                if (!dir_relevant(path, limit) || ignore.is_ignored_in_walk(path, true)) continue;
                int sub = ::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                    if (errno == ENOENT) continue;
                    throw_errno("cannot open directory " + path);
                }
                util::Fd g(sub);
                walk(sub, path);
                continue;
            }
            if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
            if (!path_in_limits(path, limit) || ignore.is_ignored_in_walk(path, false)) continue;
            WorkEntry e;
            e.path = path;
            e.size = static_cast<std::uint64_t>(st.st_size);
            e.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
            e.ctime_ns = st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec;
            e.ino = st.st_ino;
            e.mode = st.st_mode;
            if (S_ISLNK(st.st_mode)) {
                e.kind = objects::EntryKind::symlink;
                std::string buf(static_cast<std::size_t>(st.st_size) + 1, '\0');
                ssize_t k = ::readlinkat(dirfd, n.c_str(), buf.data(), buf.size());
                if (k < 0) throw_errno("cannot read symlink " + path);
                buf.resize(static_cast<std::size_t>(k));
                if (buf.empty() || buf.size() > 4096) throw Error(ErrorKind::usage, "symlink target too long: " + path);
                e.target = buf;
                e.size = buf.size();
            } else {
                e.kind = (st.st_mode & 0111) ? objects::EntryKind::executable : objects::EntryKind::file;
            }
            out.push_back(std::move(e));
        }
    }
};
}  // namespace

std::vector<WorkEntry> scan_worktree(const fs::path& root, const std::vector<std::string>& limit) {
    Scanner s{{}, limit, {}};
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open " + root.string());
    util::Fd g(fd);
    s.walk(fd, "");
    std::sort(s.out.begin(), s.out.end(), [](const WorkEntry& a, const WorkEntry& b) { return a.path < b.path; });
    return std::move(s.out);
}

std::string repo_relative(const Repository& repo, const fs::path& cwd, const std::string& user_path) {
    fs::path p = fs::path(user_path).is_absolute() ? fs::path(user_path) : cwd / user_path;
    p = p.lexically_normal();
    fs::path rel = p.lexically_relative(repo.root());
    std::string s = rel.generic_string();
    if (s == ".") return "";
    if (rel.empty() || s.starts_with("..")) throw Error(ErrorKind::usage, "path '" + user_path + "' is outside the repository");
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

StatCache::StatCache(Repository& repo) : m_repo(repo) {
    repo.stat_table().for_each([&](const StatRow& r) { m_rows.emplace(r.path, r); });
}

std::optional<Hash32> StatCache::lookup(const WorkEntry& e) const {
    auto it = m_rows.find(e.path);
    if (it == m_rows.end()) return std::nullopt;
    const auto& s = it->second;
    if (s.size != e.size || s.mtime_ns != e.mtime_ns || s.ctime_ns != e.ctime_ns || s.ino != e.ino || s.mode != e.mode)
        return std::nullopt;
    // racy: a change within the same timestamp tick as the caching could keep the same stat data
    constexpr std::int64_t kGranularity = 1'000'000'000;
    if (e.mtime_ns + kGranularity >= it->second.cached_at_ns || e.ctime_ns + kGranularity >= it->second.cached_at_ns)
        return std::nullopt;
    return s.file_id;
}

void StatCache::store(const std::vector<StatRow>& rows) {
    if (rows.empty()) return;
    std::int64_t now = now_ns();
    std::vector<StatRow> out(rows);
    for (auto& r : out) r.cached_at_ns = now;
    m_repo.stat_table().replace(out);
}

}  // namespace dvt::core
