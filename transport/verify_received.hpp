// Verifying what peers sent before anything uses it (docs/transport.md, "Pulling", "Verification"): a pack received
// whole against its id (BEP 52 merkle root), length and index; single objects of a partial pack against their ids.
// Nothing here writes to the store: the caller hands what passed to the ObjectStore.
#pragma once

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace dvt::transport {

// A downloaded pack, verified: its bytes hash to the id, it has the length and index the commit names.
// libtorrent's own mmap disk I/O marked a piece as present once it had hashed it from its store buffer, with the write
// into the file still queued (measured: 10 of 72 pullers in 4- and 8-puller swarms read a stale block right after
// completion). dvt's disk I/O (transport/disk_io.hpp) writes before it reports a hash, but a read that fails
// verification is still retried for a while before the data is called corrupt: in-flight writes land within
// milliseconds, a really bad file stays bad.
template <class F>
auto with_settle_retries(F&& f) -> decltype(f()) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int attempt = 0;; ++attempt) {
        try {
            return f();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt || std::chrono::steady_clock::now() >= until) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 5 ? 20 : 200));
        }
    }
}

// Reads every record of `entries` (a pack's index) from `fd` and checks that it decodes to its id and length (as fsck
// does): a pack whose bytes hash to its id may still hold records built to fail. ErrorKind::corrupt naming the first.
void verify_records(int fd, std::vector<objects::PackEntry> entries, const std::string& what);

// Decodes every delta record of `packs` (verified packs of one pull) through its chain, each level verified against
// its id: bases from these packs, else from `store`. A base in neither (a delta of another version, whose bases only
// older commits name) is left alone: the version check tells whether the version needs it. ErrorKind::corrupt for
// the first record that does not decode to its id or breaks a chain rule.
void verify_delta_chains(const std::vector<objects::SealedPack>& packs, const objects::ObjectStore& store);

// The merkle root of a downloaded pack is checked in one of two ways. With `layer` empty, the whole file is read and
// hashed again. With `layer` (from dvt's disk I/O, when it hashed and wrote every piece during this pull:
// SwarmSession::piece_layer), the layer is checked against the id instead: each piece's hash in it was computed from
// the very buffer that was then written into the file, so the file holds verified bytes and a second pass is not
// needed. (A pack with pieces from resume data has no such layer: those were hashed by an earlier process and, after a
// power loss, may not be on disk.) Either way the length, the index and its offset are checked, every record is
// decoded and verified against its id (verify_records), and the file fsynced.
objects::SealedPack verify_pack(const std::filesystem::path& file, const objects::PackRef& ref, const Bytes& layer);

// Reads each of `want` (entries of pack `ref`'s index) from `file`, a partial copy of that pack, and checks it against
// its id (ErrorKind::corrupt otherwise, after with_settle_retries); then fsyncs the file. Returns the bytes of the
// records read.
// A delta record among `want` is decoded through its chain, whose records `find` locates (verified store objects, or
// records fetched into other partial packs: read_chain verifies every level); without `find` a delta record is
// refused (unsupported).
std::uint64_t verify_objects(const std::filesystem::path& file, const objects::PackRef& ref,
                             const std::vector<objects::PackEntry>& want, const objects::RecordFinder* find = nullptr);

}  // namespace dvt::transport
