#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <thread>

namespace dvt::util {

void Fd::reset(int fd) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
}

Fd open_read(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open " + p.string());
    return Fd(fd);
}

std::optional<Fd> try_open_read(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("cannot open " + p.string());
    }
    return Fd(fd);
}

void write_all(int fd, const void* data, std::size_t size, const std::string& what) {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write " + what);
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset, const std::string& what) {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write " + what);
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
}

void pread_all(int fd, void* data, std::size_t size, std::uint64_t offset, const std::string& what) {
    auto p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot read " + what);
        }
        if (n == 0) throw Error(ErrorKind::corrupt, what + ": unexpected end of file");
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
}

std::uint64_t file_size(int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw_errno("fstat");
    return static_cast<std::uint64_t>(st.st_size);
}

Bytes read_file(const fs::path& p) {
    Fd fd = open_read(p);
    Bytes out(file_size(fd.get()));
    if (!out.empty()) pread_all(fd.get(), out.data(), out.size(), 0, p.string());
    return out;
}

std::optional<std::string> try_read_text(const fs::path& p) {
    auto fd = try_open_read(p);
    if (!fd) return std::nullopt;
    std::string out(file_size(fd->get()), '\0');
    if (!out.empty()) pread_all(fd->get(), out.data(), out.size(), 0, p.string());
    return out;
}

void fsync_fd(int fd, const std::string& what) {
    if (::fsync(fd) != 0) throw_errno("cannot fsync " + what);
}

void fsync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open directory " + dir.string());
    Fd guard(fd);
    fsync_fd(fd, dir.string());
}

static fs::file_status checked_status(const fs::path& p) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (st.type() == fs::file_type::none) throw_error_code(ec, "cannot stat " + p.string());
    return st;  // not_found when ENOENT/ENOTDIR (ec is set then, and deliberately ignored)
}

bool path_exists(const fs::path& p) { return fs::exists(checked_status(p)); }

bool path_is_directory(const fs::path& p) { return fs::is_directory(checked_status(p)); }

fs::path temp_path(const fs::path& dir, std::string_view tag) {
    static std::atomic<unsigned> counter{0};
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return dir / (".tmp-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++) + "-" + std::to_string(rng() % 1000000));
}

void atomic_write_file(const fs::path& p, std::string_view content, mode_t mode) {
    fs::path tmp = temp_path(p.parent_path(), "w");
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw_errno("cannot create " + tmp.string());
    Fd guard(fd);
    try {
        write_all(fd, content.data(), content.size(), tmp.string());
        fsync_fd(fd, tmp.string());
        guard.reset();
        if (::rename(tmp.c_str(), p.c_str()) != 0) throw_errno("cannot rename to " + p.string());
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    fsync_dir(p.parent_path());
}

FileLock::FileLock(const fs::path& p, int timeout_ms, const std::function<void()>& on_wait, bool shared) {
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot open lock file " + p.string());
    m_fd.reset(fd);
    int op = shared ? LOCK_SH : LOCK_EX;
    if (::flock(fd, op | LOCK_NB) == 0) return;
    if (errno != EWOULDBLOCK) throw_errno("cannot lock " + p.string());
    if (on_wait) on_wait();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        if (::flock(fd, op | LOCK_NB) == 0) return;
        if (errno != EWOULDBLOCK) throw_errno("cannot lock " + p.string());
        if (std::chrono::steady_clock::now() >= deadline) {
            char secs[32];  // "0.5", "60", "604800" (a fixed width cut "604800.000" to "60480")
            std::snprintf(secs, sizeof secs, "%.3f", timeout_ms / 1000.0);
            std::string s = secs;
            while (s.back() == '0') s.pop_back();
            if (s.back() == '.') s.pop_back();
            throw Error(ErrorKind::lock_timeout, "timed out after " + s + " s waiting for the repository lock (" +
                                                     p.string() + "); another dvt command is running");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::optional<Fd> try_lock_file(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot open " + p.string());
    Fd g(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return g;
    if (errno == EWOULDBLOCK) return std::nullopt;
    throw_errno("cannot lock " + p.string());
}

void raise_open_file_limit() {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? rlim_t{65536} : std::min<rlim_t>(rl.rlim_max, 65536);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace dvt::util
