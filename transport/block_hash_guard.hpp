// block_hash_guard: a libtorrent session plugin that keeps a v2 torrent from ever asking a peer for block hashes
// (docs/transport.md, "Session settings", plugins).
//
// Why: libtorrent 2.0.8 (hash_picker::hashes_rejected) treats every rejected hash request as a request for piece
// hashes and indexes its per-file table of piece-hash requests (one entry per 512 pieces) with the rejected request's
// index. When a piece of a v2 torrent fails its hash, libtorrent asks a peer for the block hashes of that piece (index
// = first block of the piece, in blocks); a peer that rejects the request (every dvt seeder does: it has no block
// hashes; a lying peer may) makes the puller write 8 bytes past that table, or, for a file of one piece (every
// commit), through a null pointer: SIGSEGV in libtorrent's network thread, or heap corruption and a glibc abort
// later. So any peer that sends data failing verification could crash a pull.
//
// Contract:
//  - Every torrent of a session with this plugin drops the block-hash requests libtorrent queues when one of its
//    pieces fails verification, right after it queued them and before any could be sent (the plugin's
//    on_piece_failed runs in the same call, on libtorrent's network thread). A failed piece is then fetched again
//    whole, as in a v1 torrent; the peers that sent it are penalised and banned as before. Piece-hash requests
//    (piece layers) are untouched, and their rejections are handled correctly by libtorrent.
//  - It reaches a private member of libtorrent's hash_picker (through an explicit template instantiation, which C++
//    exempts from access checks): the compiler takes the member's type and offset from the installed headers, and a
//    libtorrent that renames or retypes it fails the build here instead of misbehaving. Before clearing, it checks that
//    a non-empty queue holds the request for the piece that just failed; if not (a layout it does not understand), it
//    leaves the queue alone and counts a misfire. (An empty queue is normal: a piece that failed with its bad blocks
//    known, or one first found bad on disk, queues nothing.)
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <libtorrent/extensions.hpp>

#include <cstdint>
#include <memory>

namespace dvt::transport {

std::shared_ptr<lt::plugin> make_block_hash_guard();

// Over the process: block-hash requests dropped, and failed pieces whose queue did not look as expected (left alone).
struct BlockHashGuardCounts {
    std::uint64_t dropped = 0;
    std::uint64_t misfired = 0;
};
BlockHashGuardCounts block_hash_guard_counts();

}  // namespace dvt::transport
