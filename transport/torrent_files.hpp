// dvt torrent: a version's torrents as files and magnet links, for stock BitTorrent clients (docs/transport.md,
// "Seeding with another BitTorrent client").
//
// Contract:
//  - The commit's torrent and one torrent per pack the commit names are written to `out` (created if needed) as
//    <commit id>.torrent and <pack id>.torrent; each file is written to a temp name and renamed (atomic), and an
//    existing file of the same name is replaced.
//  - They are the swarm identities of docs/transport.md ("Torrents"), built as the seeder builds them
//    (transport/seeder.hpp: objects::torrent_file, loaded by libtorrent and checked against the commit id or
//    objects::pack_info_hash; a mismatch is internal), and written with libtorrent's write_torrent_file, plus the
//    trackers and web seeds asked for (outside the info dict: the info-hashes do not change).
//  - A pack held here complete gets its piece layer (from the index database). A pack held in part, or not at all, is
//    written from its info dict alone (`complete` false): a client fetches the piece layer from peers (BEP 52).
//  - Magnet links are v2 (xt=urn:btmh:1220<info-hash>), with the name, the trackers (tr), web seeds (ws) and peers
//    (x.pe) asked for.
//  - The commit must be present here (not_found otherwise); its file is re-hashed into its id before use (corrupt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "transport/endpoint.hpp"

namespace dvt::transport {

struct TorrentFileOptions {
    std::vector<std::string> trackers;   // announce URLs (checked with check_tracker_url)
    std::vector<std::string> web_seeds;  // mirror base URLs (dvt push --mirror layout): <base>/packs/, <base>/commits/<id>/
    std::vector<Endpoint> peers;         // added to the magnet links as x.pe
};

struct TorrentFile {
    std::string kind;  // "commit" or "pack"
    Hash32 id;         // commit id or pack id
    Hash32 info_hash;  // the v2 info-hash (for a commit: its id)
    std::string name;  // the torrent's file name: "dvt-commit" or "<pack id>.pack"
    std::uint64_t length = 0;
    bool complete = true;  // the piece layer is in the file (packs held here in part or not at all: false)
    std::filesystem::path file;
    std::string magnet;
};

struct TorrentFiles {
    Hash32 commit;
    std::vector<TorrentFile> torrents;  // the commit's first, then its packs in the commit's order
};

TorrentFiles write_torrent_files(core::Repository& repo, const Hash32& commit, const std::filesystem::path& out,
                                 const TorrentFileOptions& opts = {});

}  // namespace dvt::transport
