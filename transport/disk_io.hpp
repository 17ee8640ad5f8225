// PackDiskIO: dvt's libtorrent disk back end (lt::disk_interface) for its single-file torrents (one pack or one
// commit each; docs/transport.md, "Disk I/O").
//
// Contract:
//  - Received blocks are copied into a per-piece buffer in memory and acknowledged at once (above
//    DiskOptions::stall_at, once memory is back under resume_at); the network thread never touches the disk. When
//    libtorrent asks for a piece's hash, a worker thread hashes the piece from that buffer (SHA-256 per 16 KiB block;
//    SHA-1 of the piece only for v1 torrents, which dvt does not make), writes the same buffer into the file, and only
//    then reports the hash: a piece libtorrent calls complete is in the file, with the bytes that were hashed (a failed
//    write fails the piece). Blocks that are not in memory (written by an earlier process, or flushed on stop) are read
//    back from the file for hashing.
//  - Writes go through the page cache (pwrite), where a checkout right after the pull finds them. (O_DIRECT piece
//    writes were measured and dropped: the direct writes of 64 KiB pieces fell behind the network, up to 770 MiB
//    of received blocks piled up in memory, and the checkout then read every pack back from the disk; a clone of the
//    reference data took 16.3 s against 13.8 s.)
//  - Reads for other peers come from the piece buffer if the piece is still there, else from the file (pread), on
//    worker threads. Reads and hashes of the same piece see the same bytes: a piece leaves memory only after its
//    write returned. A read for a peer that the file cannot fill (it ends before the torrent says: truncated while
//    served) fails with "End of file" (boost::asio::error::eof), and libtorrent rejects the peer's request; only
//    hashing reads past the end of a file as zeros (a piece not there yet hashes wrong and is fetched).
//  - piece_layer(path) gives the piece hashes (BEP 52 piece layer) of a file whose every piece this object hashed in
//    this process, each computed from the bytes it then wrote or had read from the file: the puller checks it against
//    the pack id instead of reading the pack again (transport/puller.cpp, verify_pack).
//  - Jobs run on worker threads; their handlers are posted to libtorrent's io_context, which counts every queued job
//    as outstanding work. Buffers handed out for reads are freed by an allocator that outlives this object.
//  - Stopping or releasing a torrent writes out the blocks of unfinished pieces; removing it forgets it. A torrent
//    added from resume data whose unfinished pieces count a block the file lacks (a hole, or past its end: a SIGKILL
//    before the block was written) gets every piece checked (need_full_check) instead of trusting the resume data. Under memory
//    pressure (DiskOptions::spill_at) unfinished pieces are written out early.
//  - At most DiskOptions::max_open_files files are open at once, over every torrent: the least recently used idle one
//    is closed when another is opened (and reopened when needed again).
//  - Only single-file torrents (a pad file after the one file is allowed): jobs of a torrent with several files
//    fail with "operation not supported".
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <libtorrent/disk_interface.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/session_params.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace dvt::transport {

struct DiskOptions {
    int threads = 4;  // worker threads for hashing, writing and reading
    // Memory for received blocks, counted in whole piece buffers. Above spill_at, the blocks of unfinished pieces are
    // written out and their buffers dropped (their hashing reads them back), down to spill_to: libtorrent asks for
    // single blocks of many pieces at once (whole_pieces_threshold 0, transport/session.cpp), and without this the
    // buffers of half-received pieces reached 770 MiB in a 2 GB clone. Above stall_at, a write completes only once
    // the buffers are back under resume_at: libtorrent stops reading from a peer whose writes are outstanding (and is
    // told so: async_write returns true, disk_observer::on_disk at resume_at). Without it, complete pieces waiting for
    // the workers (~4,400 hash jobs queued) held 555 MiB in a 2 GB clone on 2 cores.
    std::int64_t spill_at = 64 << 20;
    std::int64_t spill_to = 32 << 20;
    std::int64_t stall_at = 256 << 20;
    std::int64_t resume_at = 192 << 20;
    // Files kept open at once, over all torrents (a pack's file is opened again when it is needed after it was
    // closed): a seeder of thousands of packs and a pull of as many stay within 1,024 descriptors, sockets included
    // (docs/transport.md, "Descriptors"). An open that fails with EMFILE closes an idle file and tries again.
    int max_open_files = 128;
    // Tests only: a pause before every worker job, so that the network outruns the disk.
    std::chrono::microseconds job_delay{0};
};

class DiskRegistry;  // what the session keeps to reach its disk I/O object (piece layers)

// A constructor for lt::session_params::disk_io_constructor. `registry` (may be null) is told about the object it
// makes, so that piece_layer() can reach it.
lt::disk_io_constructor_type pack_disk_io(DiskOptions opts, std::shared_ptr<DiskRegistry> registry);

class DiskRegistry {
public:
    virtual ~DiskRegistry() = default;
    // The piece layer of `path` as hashed and written in this process (see the contract above); nullopt unless every
    // piece of the file was. One-piece files have an empty layer.
    virtual std::optional<Bytes> piece_layer(const std::string& path) = 0;
    // The most bytes of piece buffers (received blocks) held at once, over every disk I/O object made so far.
    virtual std::int64_t peak_buffered() = 0;
};

std::shared_ptr<DiskRegistry> make_disk_registry();

}  // namespace dvt::transport
