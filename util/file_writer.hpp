// FileWriter: writes a new file front to back through ~1 MiB writes, bypassing the page cache (O_DIRECT) for large
// files.
//
// Contract:
//  - append() takes bytes in any amounts; they reach the file in order, in writes of kBlock bytes (or of the file's
//    size rounded up to 4 KiB, for a smaller file: the buffer is that big), the rest at finish(). Errors are
//    ErrorKind::io naming `what`.
//  - A file of at least kDirectMin bytes (the size the caller announces) is written with O_DIRECT from an aligned
//    buffer: the kernel copies nothing into the page cache, which on this kind of machine costs more CPU than the
//    rest of a checkout (measured: 64 MiB in 0.07-0.2 s of system time buffered, 0.01-0.02 s direct). Its tail (the
//    part after the last 4 KiB boundary) is written without O_DIRECT. Where O_DIRECT is refused (tmpfs, some network
//    file systems), the file is written through the page cache. Smaller files always are: a direct write waits for
//    the device, which thousands of small files would feel.
//  - Neither kind is fsynced (a checkout's work tree is not, as in git); the file is complete once finish() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dvt::util {

class FileWriter {
public:
    static constexpr std::size_t kBlock = 1 << 20;
    static constexpr std::uint64_t kDirectMin = 8 << 20;

    // `fd` is an open, empty file (O_WRONLY) the writer does not own; `size` the bytes that will be appended.
    FileWriter(int fd, std::uint64_t size, std::string what);
    ~FileWriter();
    FileWriter(const FileWriter&) = delete;
    FileWriter& operator=(const FileWriter&) = delete;

    void append(const std::uint8_t* data, std::size_t size);
    void finish();
    bool direct() const { return m_direct; }

private:
    void flush_block();
    void leave_direct();  // clears O_DIRECT on the file: later writes go through the page cache
    int m_fd;
    std::string m_what;
    bool m_direct = false;
    std::size_t m_cap;               // buffer size: min(kBlock, size rounded up to 4 KiB)
    std::uint8_t* m_buf = nullptr;  // m_cap bytes, 4 KiB aligned
    std::size_t m_used = 0;
};

}  // namespace dvt::util
