#include "transport/block_hash_guard.hpp"

#include <libtorrent/hash_picker.hpp>
#include <libtorrent/torrent.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <algorithm>
#include <atomic>

namespace dvt::transport {

namespace {

std::atomic<std::uint64_t> g_dropped{0};
std::atomic<std::uint64_t> g_misfired{0};

// The queue of block-hash requests is hash_picker::m_piece_block_requests, a private member. Naming a private member
// is allowed in an explicit instantiation ([temp.spec.general]: access checks do not apply to the names in it), so
// the instantiation below hands the member pointer to a friend function declared here.
struct BlockQueueTag {};
enum class Dropped { nothing_queued, dropped, unexpected };
// Clears `picker`'s block-hash requests if they include one for `piece` (the piece that just failed, counted from the
// start of its file).
Dropped drop_block_requests(BlockQueueTag, lt::hash_picker& picker, int piece);

template <auto Queue>
struct BlockQueueAccess {
    friend Dropped drop_block_requests(BlockQueueTag, lt::hash_picker& picker, int piece) {
        return drop(picker, piece);
    }
    static Dropped drop(lt::hash_picker& picker, int piece) {
        auto& queue = picker.*Queue;
        if (queue.empty()) return Dropped::nothing_queued;  // a failure whose bad blocks libtorrent knows
        // libtorrent queued this piece's request just now (or had it queued already): anything else means the queue
        // is not what the headers say, and is left alone. The size bound keeps a misread queue from being walked.
        if (queue.size() > (std::size_t{1} << 24)) return Dropped::unexpected;
        bool found = std::any_of(queue.begin(), queue.end(),
                                 [piece](const auto& r) { return static_cast<int>(r.piece) == piece; });
        if (!found) return Dropped::unexpected;
        queue.clear();
        return Dropped::dropped;
    }
};
template struct BlockQueueAccess<&lt::hash_picker::m_piece_block_requests>;

class GuardTorrent final : public lt::torrent_plugin {
public:
    explicit GuardTorrent(std::weak_ptr<lt::torrent> t) : m_torrent(std::move(t)) {}

    // Runs inside torrent::piece_failed, on the network thread, right after libtorrent queued the piece's block-hash
    // request (torrent::verify_block_hashes) and before it can go out (requests are sent from other handlers).
    void on_piece_failed(lt::piece_index_t piece) override {
        auto t = m_torrent.lock();
        if (!t || !t->has_hash_picker() || !t->valid_metadata()) return;
        const auto& files = t->torrent_file().orig_files();  // the hash picker's view
        lt::file_index_t f = files.file_index_at_piece(piece);
        int in_file = static_cast<int>(piece) - static_cast<int>(files.piece_index_at_file(f));
        switch (drop_block_requests(BlockQueueTag{}, t->get_hash_picker(), in_file)) {
            case Dropped::dropped: ++g_dropped; break;
            case Dropped::unexpected: ++g_misfired; break;
            case Dropped::nothing_queued: break;
        }
    }

private:
    std::weak_ptr<lt::torrent> m_torrent;
};

class Guard final : public lt::plugin {
public:
    std::shared_ptr<lt::torrent_plugin> new_torrent(lt::torrent_handle const& h, lt::client_data_t) override {
        return std::make_shared<GuardTorrent>(h.native_handle());
    }
};

}  // namespace

std::shared_ptr<lt::plugin> make_block_hash_guard() { return std::make_shared<Guard>(); }

BlockHashGuardCounts block_hash_guard_counts() { return {g_dropped.load(), g_misfired.load()}; }

}  // namespace dvt::transport
