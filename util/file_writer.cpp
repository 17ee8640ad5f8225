#include "util/file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::util {

namespace {
constexpr std::size_t kAlign = 4096;
}

FileWriter::FileWriter(int fd, std::uint64_t size, std::string what)
    : m_fd(fd),
      m_what(std::move(what)),
      // a small file needs no 1 MiB buffer: its size, rounded up to the alignment
      m_cap(static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, (std::max<std::uint64_t>(size, 1) + kAlign - 1) / kAlign * kAlign))) {
    void* p = nullptr;
    if (::posix_memalign(&p, kAlign, m_cap) != 0) throw Error(ErrorKind::internal, "out of memory");
    m_buf = static_cast<std::uint8_t*>(p);
    if (size >= kDirectMin) {
        int flags = ::fcntl(m_fd, F_GETFL);
        m_direct = flags >= 0 && ::fcntl(m_fd, F_SETFL, flags | O_DIRECT) == 0;
    }
}

FileWriter::~FileWriter() { std::free(m_buf); }

void FileWriter::leave_direct() {
    int flags = ::fcntl(m_fd, F_GETFL);
    if (flags < 0 || ::fcntl(m_fd, F_SETFL, flags & ~O_DIRECT) != 0) throw_errno("cannot write " + m_what);
    m_direct = false;
}

void FileWriter::flush_block() {
    if (m_used == 0) return;
    if (m_direct) {
        std::size_t done = 0;
        while (done < m_used) {
            ssize_t n = ::write(m_fd, m_buf + done, m_used - done);
            if (n >= 0) {
                done += static_cast<std::size_t>(n);
            } else if (errno == EINVAL && done == 0) {
                leave_direct();  // O_DIRECT accepted by fcntl but not by the file system's write path
                write_all(m_fd, m_buf, m_used, m_what);
                break;
            } else if (errno != EINTR) {
                throw_errno("cannot write " + m_what);
            }
        }
    } else {
        write_all(m_fd, m_buf, m_used, m_what);
    }
    m_used = 0;
}

void FileWriter::append(const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        std::size_t n = std::min(size, m_cap - m_used);
        std::memcpy(m_buf + m_used, data, n);
        m_used += n;
        data += n;
        size -= n;
        if (m_used == m_cap) flush_block();
    }
}

void FileWriter::finish() {
    if (m_direct) {
        // the aligned part directly, the tail through the page cache (O_DIRECT needs whole 4 KiB blocks)
        std::size_t aligned = m_used / kAlign * kAlign;
        std::size_t tail = m_used - aligned;
        m_used = aligned;
        flush_block();
        if (tail) std::memmove(m_buf, m_buf + aligned, tail);
        m_used = tail;
        leave_direct();
    }
    flush_block();
}

}  // namespace dvt::util
