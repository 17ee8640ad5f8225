#include "transport/resume_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

ResumeWriter::~ResumeWriter() {
    {
        std::lock_guard lk(m_mu);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void ResumeWriter::rethrow_locked() {
    if (m_error.empty()) return;
    std::string e = std::move(m_error);
    m_error.clear();
    throw Error(ErrorKind::io, e);
}

void ResumeWriter::put(const fs::path& path, std::vector<char> contents) {
    {
        std::lock_guard lk(m_mu);
        rethrow_locked();
        m_queue.insert_or_assign(path, std::move(contents));
        if (!m_thread.joinable()) m_thread = std::thread([this] { work(); });
    }
    m_wake.notify_one();
}

void ResumeWriter::flush() {
    std::unique_lock lk(m_mu);
    m_idle.wait(lk, [this] { return m_queue.empty() && !m_busy; });
    rethrow_locked();
}

std::size_t ResumeWriter::batches() const {
    std::lock_guard lk(m_mu);
    return m_batches;
}

std::size_t ResumeWriter::files() const {
    std::lock_guard lk(m_mu);
    return m_files;
}

void ResumeWriter::work() {
    std::unique_lock lk(m_mu);
    while (true) {
        m_wake.wait(lk, [this] { return m_stop || !m_queue.empty(); });
        if (m_queue.empty()) return;  // stopping, and nothing left
        auto batch = std::move(m_queue);
        m_queue.clear();
        m_busy = true;
        lk.unlock();
        std::string error;
        std::size_t written = 0;
        std::set<fs::path> dirs;
        for (const auto& [path, contents] : batch) {
            try {
                fs::path tmp = util::temp_path(path.parent_path(), "resume");
                int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0) throw_errno("cannot create " + tmp.string());
                util::Fd guard(fd);
                try {
                    util::write_all(fd, contents.data(), contents.size(), tmp.string());
                    guard.reset();
                    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename to " + path.string());
                } catch (...) {
                    ::unlink(tmp.c_str());
                    throw;
                }
                dirs.insert(path.parent_path());
                ++written;
            } catch (const std::exception& e) {
                if (error.empty()) error = "cannot save resume data " + path.string() + ": " + e.what();
            }
        }
        for (const auto& d : dirs) {
            try {
                util::fsync_dir(d);
            } catch (const std::exception& e) {
                if (error.empty()) error = std::string("cannot save resume data: ") + e.what();
            }
        }
        lk.lock();
        m_busy = false;
        ++m_batches;
        m_files += written;
        if (!error.empty() && m_error.empty()) m_error = std::move(error);
        m_idle.notify_all();
    }
}

}  // namespace dvt::transport
