#include "core/worktree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>

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

WorkScanner::WorkScanner(std::vector<std::string> limit) : m_limit(std::move(limit)) {}

std::vector<WorkEntry> WorkScanner::read_dir(int dirfd, const std::string& rel) {
    // load this directory's ignore file first, as git does
    int ifd = ::openat(dirfd, ".dvtignore", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (ifd >= 0) {
        util::Fd g(ifd);
        std::string text(util::file_size(ifd), '\0');
        if (!text.empty()) util::pread_all(ifd, text.data(), text.size(), 0, rel + "/.dvtignore");
        m_ignore.add_file(rel, text);
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
    // The stat calls dominate a scan of unchanged files: a large directory's are spread over a few threads (as git's
    // preloaded index does), each taking a contiguous share; results are used in name order below.
    std::vector<struct stat> stats(names.size());
    std::vector<int> errs(names.size(), 0);
    auto stat_range = [&](std::size_t from, std::size_t to) {
        for (std::size_t k = from; k < to; ++k)
            if (::fstatat(dirfd, names[k].c_str(), &stats[k], AT_SYMLINK_NOFOLLOW) != 0) errs[k] = errno;
    };
    constexpr std::size_t kPerThread = 256;
    std::size_t threads = std::min<std::size_t>({std::max(1u, std::thread::hardware_concurrency()), 4,
                                                 (names.size() + kPerThread - 1) / kPerThread});
    if (threads <= 1) {
        stat_range(0, names.size());
    } else {
        std::vector<std::thread> ts;
        std::size_t share = (names.size() + threads - 1) / threads;
        for (std::size_t t = 1; t < threads; ++t) {
            std::size_t from = std::min(names.size(), t * share), to = std::min(names.size(), (t + 1) * share);
            try {
                ts.emplace_back(stat_range, from, to);
            } catch (const std::system_error&) {  // no thread to be had: this one does that share
                stat_range(from, to);
            }
        }
        stat_range(0, std::min(names.size(), share));
        for (auto& t : ts) t.join();
    }
    std::vector<WorkEntry> out;
    out.reserve(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
        const std::string& n = names[k];
        std::string path = rel.empty() ? n : rel + "/" + n;
        const struct stat& st = stats[k];
        if (errs[k] != 0) {
            if (errs[k] == ENOENT) continue;  // vanished while scanning
            errno = errs[k];
            throw_errno("cannot stat " + path);
        }
        if (S_ISDIR(st.st_mode)) {
            // The walk does not enter ignored directories, so the parents need no second look.
            if (!dir_relevant(path, m_limit) || m_ignore.is_ignored_in_walk(path, true)) continue;
            WorkEntry e;
            e.path = std::move(path);
            e.kind = objects::EntryKind::directory;
            e.mode = st.st_mode;
            out.push_back(std::move(e));
            continue;
        }
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
        if (!path_in_limits(path, m_limit) || m_ignore.is_ignored_in_walk(path, false)) continue;
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
            ssize_t got = ::readlinkat(dirfd, n.c_str(), buf.data(), buf.size());
            if (got < 0) throw_errno("cannot read symlink " + path);
            buf.resize(static_cast<std::size_t>(got));
            if (buf.empty() || buf.size() > 4096) throw Error(ErrorKind::usage, "symlink target too long: " + path);
            e.target = buf;
            e.size = buf.size();
        } else {
            e.kind = (st.st_mode & 0111) ? objects::EntryKind::executable : objects::EntryKind::file;
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::optional<util::Fd> open_subdir(int dirfd, const WorkEntry& dir) {
    auto slash = dir.path.rfind('/');
    std::string name = slash == std::string::npos ? dir.path : dir.path.substr(slash + 1);
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return std::nullopt;  // changed while scanning
        throw_errno("cannot open directory " + dir.path);
    }
    return util::Fd(sub);
}

util::Fd open_worktree_root(const fs::path& root) {
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open " + root.string());
    return util::Fd(fd);
}

namespace {
void scan_into(WorkScanner& s, int dirfd, const std::string& rel, std::vector<WorkEntry>& out) {
    for (auto& e : s.read_dir(dirfd, rel)) {
        if (e.kind != objects::EntryKind::directory) {
            out.push_back(std::move(e));
            continue;
        }
        if (auto sub = open_subdir(dirfd, e)) scan_into(s, sub->get(), e.path, out);
    }
}
}  // namespace

std::vector<WorkEntry> scan_worktree(const fs::path& root, const std::vector<std::string>& limit) {
    WorkScanner s(limit);
    std::vector<WorkEntry> out;
    util::Fd fd = open_worktree_root(root);
    scan_into(s, fd.get(), "", out);
    std::sort(out.begin(), out.end(), [](const WorkEntry& a, const WorkEntry& b) { return a.path < b.path; });
    return out;
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

StatCache::StatCache(Repository& repo) : m_repo(repo), m_reader(repo.stat_table().path()), m_now(now_ns()) {}

bool StatCache::fresh(const StatRow& s, const WorkEntry& e) {
    if (s.size != e.size || s.mtime_ns != e.mtime_ns || s.ctime_ns != e.ctime_ns || s.ino != e.ino || s.mode != e.mode)
        return false;
    // racy: a change within the same timestamp tick as the caching could keep the same stat data
    constexpr std::int64_t kGranularity = 1'000'000'000;
    if (e.mtime_ns + kGranularity >= s.cached_at_ns || e.ctime_ns + kGranularity >= s.cached_at_ns) return false;
    return true;
}

std::optional<Hash32> StatCache::lookup(const WorkEntry& e) {
    const StatRow* s = m_reader.find(e.path);
    if (!s || !fresh(*s, e)) return std::nullopt;
    return s->file_id;
}

void StatCache::store(std::vector<StatRow> rows, std::vector<std::string> drop) {
    if (rows.empty() && drop.empty()) return;
    for (auto& r : rows) r.cached_at_ns = m_now;
    m_repo.stat_table().merge(std::move(rows), std::move(drop));
}

StatCacheUpdate::StatCacheUpdate(Repository& repo)
    : m_repo(repo), m_reader(repo.stat_table().path()), m_copy(repo.stat_table().path()), m_now(now_ns()) {}

StatCacheUpdate::~StatCacheUpdate() = default;

void StatCacheUpdate::start() {
    if (m_writer || m_off) return;
    try {
        m_writer = std::make_unique<objects::StatCacheWriter>(m_repo.stat_table().path());
        for (std::uint64_t k = 0; k < m_hits; ++k) {
            const StatRow* r = m_copy.next();
            if (!r) throw Error(ErrorKind::io, "stat cache: fewer rows on the second read");  // replaced meanwhile
            m_writer->add(*r);
        }
    } catch (const Error&) {
        // the cache is an optimisation: a read-only or full .dvt (status is a reader) just keeps the old file
        m_writer.reset();
        m_off = true;
    }
}

void StatCacheUpdate::emit(const StatRow& r) {
    if (m_off) return;
    if (m_buf.empty())
        m_writer->add(r);
    else
        m_buf.push_back(Slot{r, true, true});
}

void StatCacheUpdate::drain() {
    if (m_pending != 0) return;
    for (const auto& s : m_buf)
        if (s.keep && m_writer) m_writer->add(s.row);
    m_base += m_buf.size();
    m_buf.clear();
}

std::optional<Hash32> StatCacheUpdate::lookup(const WorkEntry& e, const std::function<bool(const Hash32&)>& usable) {
    auto skipped = m_reader.skipped(), rewinds = m_reader.rewinds();
    const StatRow* r = m_reader.find(e.path);
    if (m_reader.skipped() != skipped || m_reader.rewinds() != rewinds) start();  // rows of paths gone
    if (!r) return std::nullopt;
    if (!StatCache::fresh(*r, e) || (usable && !usable(r->file_id))) {
        start();  // the row is replaced (expect()) or dropped: the first rows of the old file are no longer the hits
        return std::nullopt;
    }
    if (m_writer || m_off)
        emit(*r);
    else
        ++m_hits;
    return r->file_id;
}

std::size_t StatCacheUpdate::expect(const WorkEntry& e) {
    start();
    m_buf.push_back(Slot{StatRow{e.path, e.size, e.mtime_ns, e.ctime_ns, e.ino, e.mode, Hash32{}, m_now}, false, true});
    ++m_pending;
    return m_base + m_buf.size() - 1;
}

void StatCacheUpdate::set(std::size_t slot, const Hash32& id) {
    auto& s = m_buf.at(slot - m_base);
    if (s.ready) return;
    s.row.file_id = id;
    s.ready = true;
    --m_pending;
    drain();
}

void StatCacheUpdate::forget(std::size_t slot) {
    auto& s = m_buf.at(slot - m_base);
    if (s.ready) return;
    s.keep = false;
    s.ready = true;
    --m_pending;
    drain();
}

void StatCacheUpdate::finish() {
    if (m_off) return;
    if (!m_writer) {
        // rows after the last file met are of paths gone; a damaged cache is rewritten whole
        if (!m_reader.next() && !m_reader.damaged()) return;
        start();
    }
    for (auto& s : m_buf)
        if (!s.ready) s.keep = false;
    m_pending = 0;
    drain();
    if (!m_writer) return;
    m_writer->commit();
    m_writer.reset();
}

}  // namespace dvt::core
