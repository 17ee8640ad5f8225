// What a seeder serves (transport/seeder.hpp), as the CLI reports it.
#pragma once

#include <cstddef>
#include <string>

#include "util/hash.hpp"

namespace dvt::transport {

struct SeedCounts {
    std::size_t commits = 0, packs = 0, partial_packs = 0;
};

// A served torrent with peers connected (Seeder::peers_per_torrent).
struct TorrentPeers {
    bool commit = false;  // else a pack
    Hash32 id;            // commit id or pack id
    int peers = 0;
};

}  // namespace dvt::transport
