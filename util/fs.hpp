// File-system primitives with the durability rules of docs/format.md ("Write ordering"):
// every file the repository depends on is written to a temp file in the same directory, fsynced, renamed over its
// final name, and the directory is fsynced. Readers therefore see either the old or the new file, never a torn one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace dvt::util {

namespace fs = std::filesystem;

// RAII file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd&& o) noexcept : m_fd(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    int release() {
        int f = m_fd;
        m_fd = -1;
        return f;
    }
    void reset(int fd = -1);

private:
    int m_fd = -1;
};

Fd open_read(const fs::path& p);                    // throws not_found / io
std::optional<Fd> try_open_read(const fs::path& p);  // nullopt if missing

void write_all(int fd, const void* data, std::size_t size, const std::string& what);
void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset, const std::string& what);
void pread_all(int fd, void* data, std::size_t size, std::uint64_t offset, const std::string& what);
std::uint64_t file_size(int fd);

Bytes read_file(const fs::path& p);  // whole file; throws not_found / io
std::optional<std::string> try_read_text(const fs::path& p);

void fsync_fd(int fd, const std::string& what);
void fsync_dir(const fs::path& dir);

// temp + fsync + rename + fsync(dir). `mode` applies to the new file.
void atomic_write_file(const fs::path& p, std::string_view content, mode_t mode = 0644);
inline void atomic_write_file(const fs::path& p, const Bytes& b, mode_t mode = 0644) {
    atomic_write_file(p, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), mode);
}

// std::filesystem queries that throw dvt::Error (never std::filesystem::filesystem_error). As with the throwing
// std::filesystem overloads, a missing path (or a path through a non-directory) is simply "no"; any other failure to
// stat the path throws through throw_error_code.
bool path_exists(const fs::path& p);
bool path_is_directory(const fs::path& p);

// A unique temp path "<dir>/.tmp-<tag>-<pid>-<counter>-<random>" (not created).
fs::path temp_path(const fs::path& dir, std::string_view tag);

// A non-blocking exclusive flock on `p` (created if missing), held until the Fd is closed: nullopt when another
// process holds it. Throws io for other failures.
std::optional<Fd> try_lock_file(const fs::path& p);

// Exclusive advisory lock (flock) on a lock file, waiting up to timeout_ms. While waiting, `on_wait` is called once
// (the CLI prints "waiting for lock ..."). Released by the destructor or by process death (flock), so a SIGKILLed
// holder never leaves a stale lock.
class FileLock {
public:
    FileLock(const fs::path& p, int timeout_ms, const std::function<void()>& on_wait, bool shared = false);
    FileLock(FileLock&&) = default;
    FileLock& operator=(FileLock&&) = default;

private:
    Fd m_fd;
};

// Raises the soft limit on open files (RLIMIT_NOFILE) to the hard limit, at most to 65,536 (the binary does this at
// startup). A bonus only: dvt works within 1,024 descriptors (docs/transport.md, "Descriptors"); errors are ignored.
void raise_open_file_limit();

}  // namespace dvt::util
