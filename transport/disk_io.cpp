#include "transport/disk_io.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/disk_observer.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/add_torrent_params.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <tuple>
#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "objects/torrent_id.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

constexpr int kBlock = static_cast<int>(objects::kBlockSize);
constexpr std::size_t kAlign = 4096;

struct Aligned {
    void operator()(char* p) const { std::free(p); }
};

// Piece buffers for reuse, by size, up to kMaxPooled bytes. Without it, glibc kept ~400 MiB of freed 64 KiB buffers
// resident during a 2 GB clone (peak RSS 770 MiB; 465 MiB when every buffer was its own mapping).
class BufferPool {
public:
    static constexpr std::int64_t kMaxPooled = 64 << 20;
    ~BufferPool() {
        for (auto& [size, v] : m_free)
            for (char* p : v) std::free(p);
    }
    char* get(int size) {
        {
            std::lock_guard g(m_mu);
            auto& v = m_free[size];
            if (!v.empty()) {
                char* p = v.back();
                v.pop_back();
                m_pooled -= size;
                return p;
            }
        }
        void* mem = nullptr;
        return ::posix_memalign(&mem, kAlign, static_cast<std::size_t>(size)) == 0 ? static_cast<char*>(mem) : nullptr;
    }
    void put(char* p, int size) {
        {
            std::lock_guard g(m_mu);
            if (m_pooled + size <= kMaxPooled) {
                m_free[size].push_back(p);
                m_pooled += size;
                return;
            }
        }
        std::free(p);
    }

private:
    std::mutex m_mu;
    std::map<int, std::vector<char*>> m_free;
    std::int64_t m_pooled = 0;
};

// The blocks of one piece received and not yet written out.
struct PieceBuf {
    std::shared_ptr<BufferPool> pool;
    char* data = nullptr;  // piece-length bytes, 4 KiB aligned, from `pool`
    int capacity = 0;      // piece length
    std::vector<char> have;  // per block
    int size = 0;            // bytes in this piece (the last piece is shorter)
    PieceBuf() = default;
    PieceBuf(const PieceBuf&) = delete;
    PieceBuf& operator=(const PieceBuf&) = delete;
    ~PieceBuf() {
        if (data) pool->put(data, capacity);
    }
};

// Whether every block of a piece is marked.
bool all_blocks(const std::vector<char>& have) {
    return std::all_of(have.begin(), have.end(), [](char c) { return c != 0; });
}

// pread_full's result for a file that ended before the bytes asked for (never an errno: those are positive).
constexpr int kShortRead = -1;

lt::storage_error err(int e, lt::operation_t op) {
    lt::error_code ec = e == kShortRead ? lt::error_code(boost::asio::error::eof)
                                        : lt::error_code(e, boost::system::system_category());
    return lt::storage_error(ec, lt::file_index_t{0}, op);
}

// How a read treats the end of the file.
enum class PastEnd {
    zeros,  // hashing: bytes not there read as zeros, so a piece not (fully) there hashes wrong and is fetched
    fail,   // serving a peer: a file shorter than its torrent says lost bytes (truncated while served); zeros would
            // go out as its data, so the read fails (kShortRead) and libtorrent rejects the request
};

// 0, an errno, or kShortRead (PastEnd::fail and the file ends before off + n).
int pread_full(int fd, char* p, std::size_t n, std::int64_t off, PastEnd past_end) {
    while (n > 0) {
        ssize_t r = ::pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) {
            if (past_end == PastEnd::fail) return kShortRead;
            std::memset(p, 0, n);
            return 0;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
        off += r;
    }
    return 0;
}

// Whether bytes [off, off + len) of the file hold written data: not past its end, and no hole (never written) in
// them. A file system without SEEK_DATA/SEEK_HOLE answers by the length alone.
bool in_file(int fd, std::int64_t off, int len) {
    off_t data = ::lseek(fd, off, SEEK_DATA);
    if (data < 0) {
        if (errno != EINVAL) return false;  // ENXIO: at or past the end
        struct stat sb;
        return ::fstat(fd, &sb) == 0 && sb.st_size >= off + len;
    }
    if (data != off) return false;  // a hole at off
    off_t hole = ::lseek(fd, off, SEEK_HOLE);
    return hole >= off + len;
}

int pwrite_full(int fd, const char* p, std::size_t n, std::int64_t off) {
    while (n > 0) {
        ssize_t r = ::pwrite(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
        off += r;
    }
    return 0;
}

struct Storage;

// The files the disk I/O keeps open, over all of its torrents: at most `cap` (DiskOptions::max_open_files). A seeder
// of 1,100 packs, or a pull of as many, would otherwise hold one descriptor per pack it ever touched, and a process
// under the common limit of 1,024 descriptors (sockets included) fails with "Too many open files". Past the cap, the
// file used least recently and idle (no read, write or hash running on it) is closed; its next use opens it again.
struct FileBudget {
    explicit FileBudget(std::size_t c) : cap(std::max<std::size_t>(1, c)) {}
    const std::size_t cap;
    std::atomic<std::uint64_t> tick{0};
    std::mutex mu;
    std::vector<std::weak_ptr<Storage>> open;  // storages that had a descriptor when they were listed
    // Lists `s`, which just opened its file, and closes idle ones beyond the cap (or, with `shed`, at least one
    // more: an open failed with EMFILE). Returns whether one was closed.
    bool opened(const std::shared_ptr<Storage>& s, bool shed = false);
    std::size_t listed() {
        std::lock_guard g(mu);
        return open.size();
    }
};

struct Storage : std::enable_shared_from_this<Storage> {
    std::string path;
    bool supported = true;  // single-file torrent
    std::int64_t size = 0;   // of the file
    std::int64_t total = 0;  // with the pad after it
    int piece_length = 0;
    int num_pieces = 0;

    std::mutex mu;  // pending, roots, hashed (held only briefly: the network thread takes it in async_write)
    std::map<int, std::shared_ptr<PieceBuf>> pending;
    std::vector<Hash32> roots;  // per piece: root of the bytes last hashed and written
    std::vector<char> hashed;   // per piece: roots[p] is valid

    std::shared_mutex fd_mu;  // the descriptors: I/O holds it shared, opening and closing exclusive
    // One writer at a time per file: buffered writes to one file serialise on its inode lock anyway, where the
    // kernel's waiters spin (rwsem_spin_on_owner was 5.7 % of a clone's CPU samples with 4 workers writing one pack).
    std::mutex write_mu;
    int fd = -1;
    std::shared_ptr<FileBudget> budget;  // shared by every storage of one disk I/O object
    std::atomic<std::uint64_t> last_use{0};
    std::atomic<bool> has_fd{false};

    ~Storage() { close(); }
    // bytes of the file in piece p (what is hashed and written), and with the pad (what libtorrent may send)
    int piece_size(int p) const {
        return static_cast<int>(std::min<std::int64_t>(piece_length, size - std::int64_t{p} * piece_length));
    }
    int padded_piece_size(int p) const {
        return static_cast<int>(std::min<std::int64_t>(piece_length, total - std::int64_t{p} * piece_length));
    }
    // Runs f(fd) on the open file (opened first, and created with its directory when `create`); f's result or errno.
    // The file may be closed by the budget between two calls (never during one), and is opened again.
    template <class F>
    int with_fd(bool create, F&& f) {
        for (int attempt = 0; attempt < 6; ++attempt) {
            {
                std::shared_lock g(fd_mu);
                if (fd >= 0) {
                    if (budget) last_use = ++budget->tick;
                    return f(fd);
                }
            }
            int e = 0;
            {
                std::unique_lock g(fd_mu);
                if (fd >= 0) continue;
                int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
                fd = ::open(path.c_str(), flags, 0644);
                if (fd < 0 && create && errno == ENOENT) {
                    std::error_code ec;
                    fs::create_directories(fs::path(path).parent_path(), ec);
                    fd = ::open(path.c_str(), flags, 0644);
                }
                if (fd < 0) e = errno;
                else has_fd = true;
            }
            if (e == EMFILE || e == ENFILE) {
                // out of descriptors: close an idle file of ours and try again (not when none could be closed)
                if (budget && budget->opened(nullptr, true)) continue;
                return e;
            }
            if (e) return e;
            if (budget) {
                last_use = ++budget->tick;
                budget->opened(shared_from_this());
            }
        }
        return EBADF;
    }
    void close() {
        std::unique_lock g(fd_mu);
        if (fd >= 0) ::close(fd);
        fd = -1;
        has_fd = false;
    }
    // Closes the file unless a read, write or hash is using it. Whether it is closed now.
    bool close_if_idle() {
        std::unique_lock g(fd_mu, std::try_to_lock);
        if (!g.owns_lock()) return false;
        if (fd >= 0) ::close(fd);
        fd = -1;
        has_fd = false;
        return true;
    }
};

bool FileBudget::opened(const std::shared_ptr<Storage>& s, bool shed) {
    std::vector<std::shared_ptr<Storage>> victims;
    {
        std::lock_guard g(mu);
        std::erase_if(open, [](const std::weak_ptr<Storage>& w) {
            auto o = w.lock();
            return !o || !o->has_fd;
        });
        if (s) open.push_back(s);
        std::size_t keep = shed ? std::min(cap, open.size() > 0 ? open.size() - 1 : 0) : cap;
        // least recently used first; the one just opened stays
        while (open.size() > keep) {
            auto oldest = open.end();
            std::uint64_t when = UINT64_MAX;
            for (auto it = open.begin(); it != open.end(); ++it) {
                auto o = it->lock();
                if (!o || o == s) continue;
                if (o->last_use < when) {
                    when = o->last_use;
                    oldest = it;
                }
            }
            if (oldest == open.end()) break;
            victims.push_back(oldest->lock());
            open.erase(oldest);
        }
    }
    bool closed = false;
    std::vector<std::shared_ptr<Storage>> busy;
    for (auto& v : victims) {
        if (v && v->close_if_idle()) closed = true;
        else if (v) busy.push_back(v);  // in use: listed again, closed by a later open
    }
    if (!busy.empty()) {
        std::lock_guard g(mu);
        for (auto& b : busy) open.push_back(b);
    }
    return closed;
}

// Frees the buffers handed to libtorrent for reads. It must outlive the disk I/O object: libtorrent destroys the
// handlers still queued (holding such buffers) after it has destroyed its disk I/O.
struct MallocBuffers final : lt::buffer_allocator_interface {
    void free_disk_buffer(char* b) override { std::free(b); }
};
MallocBuffers g_buffers;

}  // namespace

class PackDiskIO;

class RegistryImpl final : public DiskRegistry {
public:
    std::optional<Bytes> piece_layer(const std::string& path) override;
    std::int64_t peak_buffered() override { return peak.load(); }
    std::mutex mu;
    PackDiskIO* io = nullptr;
    std::atomic<std::int64_t> peak{0};
};

class PackDiskIO final : public lt::disk_interface {
public:
    PackDiskIO(lt::io_context& ioc, DiskOptions opts, std::shared_ptr<RegistryImpl> reg)
        : m_ioc(ioc), m_opts(opts), m_reg(std::move(reg)) {
        for (int i = 0; i < std::max(1, opts.threads); ++i) m_threads.emplace_back([this] { work(); });
        if (m_reg) {
            std::lock_guard g(m_reg->mu);
            m_reg->io = this;
        }
    }
    ~PackDiskIO() override {
        if (m_reg) {
            std::lock_guard g(m_reg->mu);
            m_reg->io = nullptr;
        }
        abort(true);
        for (auto& t : m_threads)
            if (t.joinable()) t.join();
    }

    // ---- lt::disk_interface
    lt::storage_holder new_torrent(lt::storage_params const& p, std::shared_ptr<void> const&) override {
        auto s = std::make_shared<Storage>();
        s->budget = m_files;
        const lt::file_storage& files = p.mapped_files ? *p.mapped_files : p.files;  // renamed files: the new names
        // one file, which libtorrent may follow with a pad file up to the piece boundary (never written or hashed)
        s->supported = files.num_files() >= 1 && !files.pad_file_at(lt::file_index_t{0});
        for (lt::file_index_t f{1}; f < files.end_file(); ++f)
            if (!files.pad_file_at(f)) s->supported = false;
        s->path = fs::path(files.file_path(lt::file_index_t{0}, p.path)).lexically_normal().string();
        s->size = files.file_size(lt::file_index_t{0});
        s->total = files.total_size();
        s->piece_length = p.files.piece_length();
        s->num_pieces = p.files.num_pieces();
        s->roots.resize(static_cast<std::size_t>(s->num_pieces));
        s->hashed.resize(static_cast<std::size_t>(s->num_pieces));
        std::lock_guard g(m_table_mu);
        std::size_t idx;
        if (!m_free.empty()) {
            idx = m_free.back();
            m_free.pop_back();
            m_table[idx] = std::move(s);
        } else {
            idx = m_table.size();
            m_table.push_back(std::move(s));
        }
        return lt::storage_holder(lt::storage_index_t(static_cast<std::uint32_t>(idx)), *this);
    }

    void remove_torrent(lt::storage_index_t idx) override {
        std::shared_ptr<Storage> s;
        {
            std::lock_guard g(m_table_mu);
            auto i = static_cast<std::size_t>(static_cast<std::uint32_t>(idx));
            s = std::move(m_table[i]);
            m_free.push_back(i);
        }
        if (s)
            submit([this, s] {
                flush_unfinished(*s);
                forget_pending(*s);
            });
    }

    void async_read(lt::storage_index_t idx, lt::peer_request const& r,
                    std::function<void(lt::disk_buffer_holder, lt::storage_error const&)> handler,
                    lt::disk_job_flags_t) override {
        auto s = get(idx);
        submit([this, s, r, handler = std::move(handler)]() mutable {
            char* buf = static_cast<char*>(std::malloc(static_cast<std::size_t>(std::max(r.length, 1))));
            lt::storage_error e;
            if (!buf) e = err(ENOMEM, lt::operation_t::alloc_cache_piece);
            else if (!s->supported) e = err(EOPNOTSUPP, lt::operation_t::file_read);
            else e = read(*s, static_cast<int>(r.piece), r.start, r.length, buf, PastEnd::fail);
            lt::disk_buffer_holder h(g_buffers, buf, r.length);
            if (e) h.reset();
            post([handler = std::move(handler), h = std::move(h), e]() mutable { handler(std::move(h), e); });
        });
    }

    bool async_write(lt::storage_index_t idx, lt::peer_request const& r, char const* buf,
                     std::shared_ptr<lt::disk_observer> o, std::function<void(lt::storage_error const&)> handler,
                     lt::disk_job_flags_t) override {
        auto s = get(idx);
        int p = static_cast<int>(r.piece);
        lt::storage_error e;
        if (!s->supported) {
            e = err(EOPNOTSUPP, lt::operation_t::file_write);
        } else if (r.start % kBlock != 0 || r.length <= 0 || r.start + r.length > s->padded_piece_size(p)) {
            e = err(EINVAL, lt::operation_t::file_write);
        } else if (r.start >= s->piece_size(p)) {
            // all in the pad after the file: nothing to keep
        } else {
            std::lock_guard g(s->mu);
            auto& pb = s->pending[p];
            if (!pb) {
                pb = std::make_shared<PieceBuf>();
                pb->pool = m_pool;
                pb->data = m_pool->get(s->piece_length);
                pb->capacity = s->piece_length;
                if (!pb->data) {
                    s->pending.erase(p);
                    e = err(ENOMEM, lt::operation_t::alloc_cache_piece);
                } else {
                    pb->size = s->piece_size(p);
                    pb->have.assign(static_cast<std::size_t>((pb->size + kBlock - 1) / kBlock), 0);
                    note_buffered(m_buffered += s->piece_length);
                }
            }
            if (!e) {
                // a last block may run on into the pad after the file: only the file's part is kept
                std::memcpy(pb->data + r.start, buf, static_cast<std::size_t>(std::min(r.length, pb->size - r.start)));
                pb->have[static_cast<std::size_t>(r.start / kBlock)] = 1;
                s->hashed[static_cast<std::size_t>(p)] = 0;
            }
        }
        bool stall = false;
        if (!e && m_buffered.load() > m_opts.stall_at) {
            // Above stall_at the write completes only once the buffers are back under resume_at (released()).
            // Returning true alone did not hold libtorrent back (555 MiB of buffers with stall_at at 256 MiB): it
            // reads from the peer again as the peer's outstanding writes complete. Checked again under the lock
            // released() and abort() take, so no completion is left behind.
            std::lock_guard g(m_obs_mu);
            if (!m_stop && m_buffered.load() > m_opts.stall_at) {
                m_deferred.push_back([handler = std::move(handler), e] { handler(e); });
                m_observers.push_back(std::move(o));
                stall = true;
            }
        }
        if (!stall) post([handler = std::move(handler), e] { handler(e); });
        if (m_buffered.load() > m_opts.spill_at) request_spill();
        return stall;
    }

    void async_hash(lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash> v2,
                    lt::disk_job_flags_t flags,
                    std::function<void(lt::piece_index_t, lt::sha1_hash const&, lt::storage_error const&)> handler) override {
        auto s = get(idx);
        submit([this, s, piece, v2, flags, handler = std::move(handler)]() mutable {
            lt::sha1_hash v1;
            lt::storage_error e = hash_piece(*s, static_cast<int>(piece), v2, bool(flags & disk_interface::v1_hash), v1);
            post([handler = std::move(handler), piece, v1, e] { handler(piece, v1, e); });
        });
    }

    void async_hash2(lt::storage_index_t idx, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
                     std::function<void(lt::piece_index_t, lt::sha256_hash const&, lt::storage_error const&)> handler) override {
        auto s = get(idx);
        submit([this, s, piece, offset, handler = std::move(handler)]() mutable {
            lt::sha256_hash h;
            lt::storage_error e;
            int p = static_cast<int>(piece);
            int n = std::min(kBlock, s->piece_size(p) - offset);
            if (!s->supported) {
                e = err(EOPNOTSUPP, lt::operation_t::file_read);
            } else if (n <= 0) {
                e = err(EINVAL, lt::operation_t::file_read);
            } else {
                std::vector<char> buf(static_cast<std::size_t>(n));
                e = read(*s, p, offset, n, buf.data(), PastEnd::zeros);
                if (!e) {
                    Hash32 d = sha256(buf.data(), buf.size());
                    std::memcpy(h.data(), d.bytes.data(), 32);
                }
            }
            post([handler = std::move(handler), piece, h, e] { handler(piece, h, e); });
        });
    }

    void async_move_storage(lt::storage_index_t, std::string p, lt::move_flags_t,
                            std::function<void(lt::status_t, std::string const&, lt::storage_error const&)> handler) override {
        post([handler = std::move(handler), p] {
            handler(lt::status_t::fatal_disk_error, p, err(EOPNOTSUPP, lt::operation_t::file_rename));
        });
    }

    void async_release_files(lt::storage_index_t idx, std::function<void()> handler) override {
        auto s = get(idx);
        submit([this, s, handler = std::move(handler)]() mutable {
            flush_unfinished(*s);
            s->close();
            if (handler) post(std::move(handler));
        });
    }

    void async_check_files(lt::storage_index_t idx, lt::add_torrent_params const* resume,
                           lt::aux::vector<std::string, lt::file_index_t>,
                           std::function<void(lt::status_t, lt::storage_error const&)> handler) override {
        auto s = get(idx);
        // Pieces the caller says are present must be in a file long enough to hold them; otherwise libtorrent
        // checks every piece (async_hash), and the ones not there are fetched.
        std::int64_t need = 0;
        // Blocks of unfinished pieces the resume data says were received must be in the file too. This object
        // acknowledges a block once it is in memory, so resume data saved shortly before a SIGKILL can name blocks
        // that never reached the file: libtorrent would take them as received, complete their pieces with blocks
        // from a peer, and blame that peer for the failed hash (a ban after four such pieces). A hole where such a
        // block should be makes libtorrent check every piece instead.
        std::vector<std::pair<std::int64_t, int>> claimed;  // offset and length in the file
        if (resume) {
            if (resume->flags & lt::torrent_flags::seed_mode) need = s->size;
            for (int p = static_cast<int>(resume->have_pieces.size()) - 1; p >= 0 && need == 0; --p)
                if (resume->have_pieces.get_bit(lt::piece_index_t(p)))
                    need = std::int64_t{p} * s->piece_length + s->piece_size(p);
            for (const auto& [piece, blocks] : resume->unfinished_pieces) {
                int p = static_cast<int>(piece);
                if (p < 0 || p >= s->num_pieces) continue;
                int n = std::min(blocks.size(), (s->piece_size(p) + kBlock - 1) / kBlock);
                for (int b = 0; b < n; ++b)
                    if (blocks.get_bit(b))
                        claimed.emplace_back(std::int64_t{p} * s->piece_length + b * kBlock,
                                             std::min(kBlock, s->piece_size(p) - b * kBlock));
            }
        }
        submit([this, s, need, claimed = std::move(claimed), handler = std::move(handler)]() mutable {
            lt::status_t st = lt::status_t::no_error;
            if (need > 0) {
                struct stat sb;
                if (!s->supported || ::stat(s->path.c_str(), &sb) != 0 || sb.st_size < need)
                    st = lt::status_t::need_full_check;
            }
            if (st == lt::status_t::no_error && !claimed.empty()) {
                bool all_there = s->supported && s->with_fd(false, [&](int fd) {
                    for (const auto& [off, len] : claimed)
                        if (!in_file(fd, off, len)) return 1;
                    return 0;
                }) == 0;
                if (!all_there) st = lt::status_t::need_full_check;
            }
            post([handler = std::move(handler), st] { handler(st, lt::storage_error()); });
        });
    }

    void async_stop_torrent(lt::storage_index_t idx, std::function<void()> handler) override {
        async_release_files(idx, std::move(handler));
    }

    void async_rename_file(lt::storage_index_t, lt::file_index_t index, std::string name,
                           std::function<void(std::string const&, lt::file_index_t, lt::storage_error const&)> handler) override {
        post([handler = std::move(handler), index, name] {
            handler(name, index, err(EOPNOTSUPP, lt::operation_t::file_rename));
        });
    }

    void async_delete_files(lt::storage_index_t idx, lt::remove_flags_t,
                            std::function<void(lt::storage_error const&)> handler) override {
        auto s = get(idx);
        submit([this, s, handler = std::move(handler)]() mutable {
            lt::storage_error e;
            forget_pending(*s);
            s->close();
            if (::unlink(s->path.c_str()) != 0 && errno != ENOENT) e = err(errno, lt::operation_t::file_remove);
            post([handler = std::move(handler), e] { handler(e); });
        });
    }

    void async_set_file_priority(lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
                                 std::function<void(lt::storage_error const&,
                                                    lt::aux::vector<lt::download_priority_t, lt::file_index_t>)> handler) override {
        post([handler = std::move(handler), prio = std::move(prio)]() mutable { handler(lt::storage_error(), std::move(prio)); });
    }

    void async_clear_piece(lt::storage_index_t idx, lt::piece_index_t index,
                           std::function<void(lt::piece_index_t)> handler) override {
        auto s = get(idx);
        {
            std::lock_guard g(s->mu);
            if (s->pending.erase(static_cast<int>(index))) released(s->piece_length);
            s->hashed[static_cast<std::size_t>(static_cast<int>(index))] = 0;
        }
        post([handler = std::move(handler), index] { handler(index); });
    }

    void update_stats_counters(lt::counters&) const override {}
    std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }

    void abort(bool wait) override {
        {
            std::lock_guard g(m_mu);
            if (m_stop) return;
            m_stop = true;
        }
        resume_writers();  // a held-back completion must reach libtorrent's loop, which runs it before it ends
        m_cv.notify_all();
        if (wait)
            for (auto& t : m_threads)
                if (t.joinable()) t.join();
    }

    void submit_jobs() override {}
    void settings_updated() override {}

    // DiskRegistry::piece_layer
    std::optional<Bytes> layer_of(const std::string& path) {
        std::string want = fs::path(path).lexically_normal().string();
        std::vector<std::shared_ptr<Storage>> table;
        {
            std::lock_guard g(m_table_mu);
            table = m_table;
        }
        for (const auto& s : table) {
            if (!s || s->path != want) continue;
            std::lock_guard g(s->mu);
            if (!s->pending.empty()) return std::nullopt;
            for (char h : s->hashed)
                if (!h) return std::nullopt;
            Bytes out;
            if (s->num_pieces <= 1) return out;
            out.reserve(static_cast<std::size_t>(s->num_pieces) * 32);
            for (const auto& r : s->roots) out.insert(out.end(), r.bytes.begin(), r.bytes.end());
            return out;
        }
        return std::nullopt;
    }

private:
    std::shared_ptr<Storage> get(lt::storage_index_t idx) {
        std::lock_guard g(m_table_mu);
        return m_table.at(static_cast<std::size_t>(static_cast<std::uint32_t>(idx)));
    }

    template <class F>
    void post(F&& f) {
        lt::post(m_ioc, std::forward<F>(f));
    }

    // Queues a job for the workers; after abort() (no workers left) runs it here. Until the job has run (and posted
    // its handler) the io_context counts it as outstanding work, so libtorrent's network loop does not end before
    // the handler runs: a handler destroyed unrun, after this object, would destroy a torrent whose storage_holder
    // calls remove_torrent() on a dead disk I/O.
    void submit(std::function<void()> f) {
        auto work = std::make_shared<lt::executor_work_guard<lt::io_context::executor_type>>(lt::make_work_guard(m_ioc));
        std::function<void()> job = [f = std::move(f), work]() mutable {
            f();
            work->reset();
        };
        {
            std::lock_guard g(m_mu);
            if (!m_stop) {
                m_jobs.push_back(std::move(job));
                m_cv.notify_one();
                return;
            }
        }
        job();
    }

    void work() {
        while (true) {
            std::function<void()> job;
            {
                std::unique_lock g(m_mu);
                m_cv.wait(g, [&] { return m_stop || !m_jobs.empty(); });
                if (m_jobs.empty()) return;  // stopping, and every queued job done
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            if (m_opts.job_delay.count() > 0) std::this_thread::sleep_for(m_opts.job_delay);
            job();
        }
    }

    void note_buffered(std::int64_t now) {
        if (!m_reg) return;
        std::int64_t seen = m_reg->peak.load();
        while (now > seen && !m_reg->peak.compare_exchange_weak(seen, now)) {
        }
    }

    void released(std::int64_t n) {
        if (m_buffered.fetch_sub(n) - n > m_opts.resume_at) return;
        resume_writers();
    }

    // Completes the writes held back above stall_at and tells their peers to read again.
    void resume_writers() {
        std::vector<std::shared_ptr<lt::disk_observer>> obs;
        std::vector<std::function<void()>> deferred;
        {
            std::lock_guard g(m_obs_mu);
            obs.swap(m_observers);
            deferred.swap(m_deferred);
        }
        if (obs.empty() && deferred.empty()) return;
        post([obs = std::move(obs), deferred = std::move(deferred)] {
            for (const auto& d : deferred) d();
            for (const auto& o : obs)
                if (o) o->on_disk();
        });
    }

    // `n` bytes at `start` of piece `p`: from the piece's buffer when it holds them all, else from the file (what
    // lies past the end of the file at the end of the torrent, in a pad after it, is zeros). `past_end`: what a file
    // shorter than the torrent says gives.
    lt::storage_error read(Storage& s, int p, int start, int n, char* out, PastEnd past_end) {
        {
            std::lock_guard g(s.mu);
            auto it = s.pending.find(p);
            if (it != s.pending.end()) {
                const PieceBuf& pb = *it->second;
                bool all = start >= 0 && start + n <= pb.size;
                for (int b = start / kBlock; all && b <= (start + n - 1) / kBlock; ++b) all = pb.have[static_cast<std::size_t>(b)];
                if (all) {
                    std::memcpy(out, pb.data + start, static_cast<std::size_t>(n));
                    return {};
                }
            }
        }
        std::int64_t off = std::int64_t{p} * s.piece_length + start;
        auto in_file = static_cast<std::size_t>(std::clamp<std::int64_t>(s.size - off, 0, n));
        std::memset(out + in_file, 0, static_cast<std::size_t>(n) - in_file);
        if (in_file == 0) return {};
        if (int e = s.with_fd(false, [&](int fd) { return pread_full(fd, out, in_file, off, past_end); }))
            return err(e, lt::operation_t::file_read);
        return {};
    }

    // Writes the blocks of piece `p` that `have` marks, from `pb`: a whole piece in one write, else block by block.
    // 0 or errno.
    int write_piece(Storage& s, int p, const PieceBuf& pb, const std::vector<char>& have) {
        std::int64_t off = std::int64_t{p} * s.piece_length;
        bool whole = all_blocks(have);
        auto bytes = static_cast<std::size_t>(pb.size);
        std::lock_guard g(s.write_mu);
        return s.with_fd(true, [&](int fd) {
            if (whole) return pwrite_full(fd, pb.data, bytes, off);
            for (std::size_t b = 0; b < have.size(); ++b) {
                if (!have[b]) continue;
                int start = static_cast<int>(b) * kBlock;
                int n = std::min(kBlock, pb.size - start);
                if (int e = pwrite_full(fd, pb.data + start, static_cast<std::size_t>(n), off + start)) return e;
            }
            return 0;
        });
    }

    // Takes piece `p`'s buffer out of memory once its blocks are in the file (if it is still the same buffer).
    void drop(Storage& s, int p, const std::shared_ptr<PieceBuf>& pb) {
        std::lock_guard g(s.mu);
        auto it = s.pending.find(p);
        if (it != s.pending.end() && it->second == pb) {
            s.pending.erase(it);
            released(s.piece_length);
        }
    }

    void forget_pending(Storage& s) {
        std::lock_guard g(s.mu);
        for (std::size_t n = s.pending.size(); n > 0; --n) released(s.piece_length);
        s.pending.clear();
    }

    lt::storage_error hash_piece(Storage& s, int p, lt::span<lt::sha256_hash> v2, bool v1, lt::sha1_hash& v1_out) {
        if (!s.supported) return err(EOPNOTSUPP, lt::operation_t::file_read);
        if (p < 0 || p >= s.num_pieces) return err(EINVAL, lt::operation_t::file_read);
        int size = s.piece_size(p);
        std::shared_ptr<PieceBuf> pb;
        std::vector<char> have;
        {
            std::lock_guard g(s.mu);
            auto it = s.pending.find(p);
            if (it != s.pending.end()) {
                pb = it->second;
                have = pb->have;
            }
        }
        // the piece's bytes: the buffer, with any block it lacks read from the file (libtorrent writes no block of a
        // piece it is hashing, so the buffer holds still)
        std::unique_ptr<char, Aligned> own;
        const char* data;
        if (pb && all_blocks(have)) {
            data = pb->data;
        } else {
            void* mem = nullptr;
            if (::posix_memalign(&mem, kAlign, static_cast<std::size_t>(std::max(size, 1))) != 0)
                return err(ENOMEM, lt::operation_t::alloc_cache_piece);
            own.reset(static_cast<char*>(mem));
            for (int start = 0; start < size; start += kBlock) {
                int n = std::min(kBlock, size - start);
                if (pb && have[static_cast<std::size_t>(start / kBlock)]) {
                    std::memcpy(own.get() + start, pb->data + start, static_cast<std::size_t>(n));
                    continue;
                }
                std::int64_t off = std::int64_t{p} * s.piece_length + start;
                auto bytes = static_cast<std::size_t>(n);
                if (int e = s.with_fd(false, [&](int fd) {
                        return pread_full(fd, own.get() + start, bytes, off, PastEnd::zeros);
                    }))
                    return err(e, lt::operation_t::file_read);
            }
            data = own.get();
        }
        // SHA-256 per block, and the piece's root over them (padded with zero hashes to a full piece)
        int blocks = (size + kBlock - 1) / kBlock;
        std::vector<Hash32> leaves(static_cast<std::size_t>(s.piece_length / kBlock));
        for (int b = 0; b < blocks; ++b) {
            int n = std::min(kBlock, size - b * kBlock);
            leaves[static_cast<std::size_t>(b)] = sha256(data + b * kBlock, static_cast<std::size_t>(n));
            if (b < v2.size())
                std::memcpy(v2[static_cast<std::ptrdiff_t>(b)].data(), leaves[static_cast<std::size_t>(b)].bytes.data(), 32);
        }
        Hash32 root = objects::root_of_leaves(std::move(leaves));
        if (v1) {
            unsigned int len = 0;
            EVP_Digest(data, static_cast<std::size_t>(size), reinterpret_cast<unsigned char*>(v1_out.data()), &len,
                       EVP_sha1(), nullptr);
        }
        // the same bytes into the file, then the piece leaves memory
        if (pb) {
            if (int e = write_piece(s, p, *pb, have)) return err(e, lt::operation_t::file_write);
            drop(s, p, pb);
        }
        std::lock_guard g(s.mu);
        s.roots[static_cast<std::size_t>(p)] = root;
        s.hashed[static_cast<std::size_t>(p)] = 1;
        return {};
    }

    // Starts a spill, or makes the running one take another pass: a request during a pass (blocks that arrived while
    // it ran kept their pieces in memory) is never lost, so once libtorrent has stopped reading (stall_at) a last pass
    // runs after the last block and frees what the peers wait for.
    void request_spill() {
        if (m_spilling.exchange(true)) {
            m_spill_again = true;
            return;
        }
        submit([this] {
            do {
                m_spill_again = false;
                spill();
            } while (m_spill_again.load());
            m_spilling = false;
            if (m_spill_again.exchange(false)) request_spill();  // asked for between the loop's check and the reset
        });
    }

    // Writes the blocks of unfinished pieces into their files and drops their buffers until at most spill_to bytes of
    // buffers remain (complete pieces, about to be hashed, stay). Their hashing reads those blocks back.
    void spill() {
        std::vector<std::shared_ptr<Storage>> table;
        {
            std::lock_guard g(m_table_mu);
            table = m_table;
        }
        for (const auto& s : table) {
            if (!s || m_buffered.load() <= m_opts.spill_to) continue;
            for (const auto& [p, pb, have] : in_memory(*s, true)) {
                if (m_buffered.load() <= m_opts.spill_to) break;
                if (write_piece(*s, p, *pb, have) != 0) continue;  // stays in memory; a failing write shows at hashing
                std::lock_guard g(s->mu);
                auto it = s->pending.find(p);
                if (it != s->pending.end() && it->second == pb && pb->have == have) {  // no block arrived meanwhile
                    s->pending.erase(it);
                    released(s->piece_length);
                }
            }
        }
    }

    // Writes out the blocks of every piece still in memory, not hashed yet (stop, release, removal), so that a later
    // process finds them; they stay in memory too.
    void flush_unfinished(Storage& s) {
        for (const auto& [p, pb, have] : in_memory(s, false)) (void)write_piece(s, p, *pb, have);
    }

    // The pieces of `s` in memory (only those with blocks still missing, if `unfinished_only`), each with the blocks
    // it held at this moment.
    std::vector<std::tuple<int, std::shared_ptr<PieceBuf>, std::vector<char>>> in_memory(Storage& s, bool unfinished_only) {
        std::vector<std::tuple<int, std::shared_ptr<PieceBuf>, std::vector<char>>> out;
        std::lock_guard g(s.mu);
        for (const auto& [p, pb] : s.pending)
            if (!unfinished_only || !all_blocks(pb->have)) out.emplace_back(p, pb, pb->have);
        return out;
    }

    lt::io_context& m_ioc;
    DiskOptions m_opts;
    std::shared_ptr<FileBudget> m_files = std::make_shared<FileBudget>(static_cast<std::size_t>(m_opts.max_open_files));
    std::shared_ptr<RegistryImpl> m_reg;

    std::mutex m_table_mu;
    std::vector<std::shared_ptr<Storage>> m_table;
    std::vector<std::size_t> m_free;

    std::mutex m_mu;
    std::condition_variable m_cv;
    std::deque<std::function<void()>> m_jobs;
    std::atomic<bool> m_stop{false};  // set under m_mu; async_write reads it to hold nothing back after abort()
    std::vector<std::thread> m_threads;

    std::shared_ptr<BufferPool> m_pool = std::make_shared<BufferPool>();
    std::atomic<std::int64_t> m_buffered{0};
    std::atomic<bool> m_spilling{false};    // a spill job is queued or running
    std::atomic<bool> m_spill_again{false};  // asked for while it was
    std::mutex m_obs_mu;
    std::vector<std::shared_ptr<lt::disk_observer>> m_observers;  // peers told to stop reading
    std::vector<std::function<void()>> m_deferred;                 // their write completions, held back
};

std::optional<Bytes> RegistryImpl::piece_layer(const std::string& path) {
    std::lock_guard g(mu);
    if (!io) return std::nullopt;
    return io->layer_of(path);
}

std::shared_ptr<DiskRegistry> make_disk_registry() { return std::make_shared<RegistryImpl>(); }

lt::disk_io_constructor_type pack_disk_io(DiskOptions opts, std::shared_ptr<DiskRegistry> registry) {
    auto reg = std::dynamic_pointer_cast<RegistryImpl>(registry);
    return [opts, reg](lt::io_context& ioc, lt::settings_interface const&, lt::counters&) -> std::unique_ptr<lt::disk_interface> {
        return std::make_unique<PackDiskIO>(ioc, opts, reg);
    };
}

}  // namespace dvt::transport
