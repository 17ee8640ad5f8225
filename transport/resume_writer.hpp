// ResumeWriter: libtorrent's resume data of a pull's packs, written to disk on a thread of its own, in batches
// (internal to transport/; transport/transfer.cpp is its user). docs/transport.md, "Resume data".
//
// Contract:
//  - put(path, bytes) queues a file's new contents and returns at once; a later put() of the same path before the
//    worker took the first replaces it (only the newest is written).
//  - The worker takes everything queued as one batch: each file is written to a temp file beside it and renamed over
//    it (a reader, or a pull killed at any point, sees the old contents or the new, never a mix), then each directory
//    of the batch is fsynced once. The files' contents are not fsynced one by one: resume data is a hint of which
//    pieces are present, and every pack is verified whole before it is used (a pack whose resume data is lost or
//    wrong is fetched again, or fails its verification and is then fetched again).
//  - flush() returns once everything queued before it is on disk (renamed). A write failure is reported by the next
//    put() or flush() as ErrorKind::io (the first failure; later batches are still attempted).
//  - The destructor writes what is queued, then joins the worker.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dvt::transport {

class ResumeWriter {
public:
    ResumeWriter() = default;
    ~ResumeWriter();
    ResumeWriter(const ResumeWriter&) = delete;
    ResumeWriter& operator=(const ResumeWriter&) = delete;

    void put(const std::filesystem::path& path, std::vector<char> contents);
    void flush();

    // Batches written so far and files renamed (for tests and the bench's numbers).
    std::size_t batches() const;
    std::size_t files() const;

private:
    void work();
    void rethrow_locked();

    mutable std::mutex m_mu;
    std::condition_variable m_wake, m_idle;
    std::map<std::filesystem::path, std::vector<char>> m_queue;
    bool m_busy = false, m_stop = false;
    std::string m_error;  // the first write failure not yet reported
    std::size_t m_batches = 0, m_files = 0;
    std::thread m_thread;  // started by the first put()
};

}  // namespace dvt::transport
