// HTTP mirrors (docs/transport.md, "HTTP mirrors"): a directory any static HTTP server with Range support (nginx)
// can serve as the seed of last resort. Layout under the mirror root:
//
//   commits/<commit id>/dvt-commit     the commit file (a web seed URL for the commit torrent: .../commits/<id>/)
//   packs/<pack id>.pack               the pack (web seed URL for every pack torrent: .../packs/)
//   packs/<pack id>.torrent            its torrent with the piece layer (a web seed cannot supply hashes)
//
// Nothing there is trusted: pullers verify every byte against the ids, as they do for peers.
#pragma once

#include <filesystem>
#include <vector>

#include "core/repository.hpp"

namespace dvt::transport {

struct MirrorResult {
    std::size_t commits = 0, packs = 0;  // written now (already present ones are skipped)
    std::uint64_t bytes = 0;
};

// Writes the given commits and every pack they name into `dir` (created if needed), and the commit files (only) of
// their ancestors present in the repository. Files are written to a temp name,
// fsynced and renamed; packs are hard-linked when `dir` is on the same file system.
MirrorResult export_mirror(core::Repository& repo, const std::vector<Hash32>& commits, const std::filesystem::path& dir);

}  // namespace dvt::transport
