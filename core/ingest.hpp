// Ingest: turns working-tree files into objects. Files are read and cut by the chunker on the calling thread; worker
// threads hash, look up and compress chunks; one writer thread appends new records to packs in file order, so the
// packs a commit writes are deterministic for a given tree and repository state.
//
// Contract:
//  - With store=false nothing is written: only file ids are computed (status, diff against the work tree).
//  - With store=true, every object a returned id names is in a sealed pack once finish() returns, and the packs are
//    registered in the index database. Data packs are sealed before the metadata pack that names their chunks.
//  - Memory is bounded by the in-flight window (about 64 MiB of chunk data) plus the manifests being built.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/repository.hpp"
#include "core/worktree.hpp"

namespace dvt::core {

struct IngestStats {
    std::uint64_t files_hashed = 0, bytes_hashed = 0;
    std::uint64_t chunks_new = 0, bytes_new_raw = 0, bytes_new_stored = 0;
    std::uint64_t chunks_delta = 0;  // of chunks_new: stored as delta records
    // of chunks_new, stored in full: no previous version of the path (or none usable), no base in it (none found, or
    // its chain not usable here), a delta not 1/8 smaller than the full record (docs/format.md, "Delta records")
    std::uint64_t chunks_full_no_previous = 0, chunks_full_no_base = 0, chunks_full_rejected = 0;
    std::uint64_t packs_written = 0;
    // bytes of previous versions read to find delta bases: only the old chunks around an edit, unless a new chunk has no
    // unchanged neighbour in its batch to place it (then the whole previous version; docs/performance.md)
    std::uint64_t bytes_base_read = 0;
};

class Ingest {
public:
    // `chunker`: how files are cut (default: the repository's chunker.* config); a comparison with a commit cuts
    // with that commit's chunker (core::chunker_of), and so does a commit on top of it.
    Ingest(Repository& repo, bool store, std::function<void(std::uint64_t)> progress = {},
           std::optional<objects::ChunkerParams> chunker = std::nullopt);
    ~Ingest();

    // Hashes (and stores) the files, in order. Returns one file id per entry. Regular files only.
    // `sizes`, if given, receives the number of bytes actually read per file (a file can change after the scan).
    // `previous`, if given (one per file): the file id the same path has in the first parent's tree; a new chunk of
    // such a file may be stored as a delta against a chunk of that file (docs/format.md, "Delta records";
    // pack.delta-depth, Repository::delta_depth()).
    std::vector<Hash32> add_files(const std::vector<const WorkEntry*>& files, std::vector<std::uint64_t>* sizes = nullptr,
                                  const std::vector<std::optional<Hash32>>* previous = nullptr);

    // Stores a metadata object (file manifest or tree) unless present; returns its id.
    Hash32 put_meta(objects::ObjectType type, const Bytes& raw);

    // Records that the commit reaches existing object `id` (for the pack list). Returns false if it is not stored.
    bool reach_existing(const Hash32& id);
    // Records that the commit reaches every object of stored file `file_id` (chunks included).
    bool reach_file(const Hash32& file_id);

    // Seals open packs, registers them, and returns the packs that hold every object recorded as reached.
    std::vector<objects::PackRef> finish();

    const IngestStats& stats() const { return m_stats; }

private:
    struct Impl;
    std::unique_ptr<Impl> m;
    IngestStats m_stats;
};

}  // namespace dvt::core
