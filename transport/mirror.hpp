// HTTP mirrors (docs/transport.md, "HTTP mirrors"): a directory any static HTTP server with Range support (nginx)
// can serve as the seed of last resort. Layout under the mirror root:
//
//   commits/<commit id>/dvt-commit     the commit file (a web seed URL for the commit torrent: .../commits/<id>/)
//   packs/<pack id>.pack               the pack (web seed URL for every pack torrent: .../packs/)
//   packs/<pack id>.torrent            its torrent with the piece layer (a web seed cannot supply hashes)
//
// Nothing there is trusted: pullers verify every byte against the ids, as they do for peers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::transport {

struct MirrorResult {
    std::size_t commits = 0, packs = 0;  // written now (already present ones are skipped)
    std::uint64_t bytes = 0;
};

// Where a mirror is written: keys are the layout's paths ("packs/<id>.pack", ...). A sink writes each key whole or
// not at all (a reader never sees half a file under its key).
class MirrorSink {
public:
    virtual ~MirrorSink() = default;
    virtual std::string where() const = 0;  // for messages
    virtual bool has(const std::string& key, std::uint64_t size) = 0;  // present with this size: not written again
    virtual void put(const std::string& key, const Bytes& data) = 0;
    virtual void put_file(const std::string& key, const std::filesystem::path& file, std::uint64_t size) = 0;
    virtual void finish() {}  // after the last put (a directory: fsync)
};

// A directory (created if needed) any static HTTP server with Range support can serve. Files are written to a temp
// name, fsynced and renamed; packs are hard-linked when the directory is on the same file system as the store.
std::unique_ptr<MirrorSink> directory_sink(const std::filesystem::path& dir);

// Writes the given commits and every pack they name (with its .torrent), and the commit files (only) of their
// ancestors present in the repository, to `sink`; what it has already is skipped.
MirrorResult export_mirror(core::Repository& repo, const std::vector<Hash32>& commits, MirrorSink& sink);

}  // namespace dvt::transport
