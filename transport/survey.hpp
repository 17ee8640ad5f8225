// `dvt remote show`: who holds copies of the refs a key publishes (docs/transport.md, "Replicas"). The declarations
// the CLI needs, without libtorrent; survey_published() is implemented with ReplicaCounter in replicas.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "transport/dht_options.hpp"
#include "transport/endpoint.hpp"
#include "transport/keys.hpp"

namespace dvt::transport {

// Who holds a version, by peer IP.
struct ReplicaCount {
    std::set<std::string> seen;      // peer IPs connected on any torrent of the version
    std::set<std::string> complete;  // of which were seen as seeds of every torrent of the version
};

struct SurveyOptions {
    DhtOptions dht;               // must be enabled; joined as a read-only node
    Endpoint listen;              // the local address (port 0: any)
    std::vector<Endpoint> peers;  // also connected to on every torrent watched (the remote's saved peers)
    std::chrono::milliseconds timeout = std::chrono::seconds(10);  // for the DHT, each lookup, and the watching
    std::chrono::milliseconds settle = std::chrono::seconds(3);    // stop watching this long after the last news
};

struct PublishedRef {
    std::string ref;
    Hash32 commit;
    std::int64_t seq = 0;
    std::size_t torrents = 0;  // torrents watched: the commit's, and its packs' when the commit is in `repo`
    ReplicaCount copies;
};

// Reads the ref list and each ref published under `pk` (verified records only; a listed ref that does not resolve is
// warned about and left out), then watches the swarm of each ref's commit until `timeout`, or earlier once every
// torrent was looked up and nothing new was seen for `settle`. Download-nothing torrents are saved under a temp
// directory of `repo`'s .dvt/tmp, removed before returning. Throws no_peers (no DHT node answered), not_found (no
// ref list is published), network (listen failure).
std::vector<PublishedRef> survey_published(core::Repository& repo, const PublicKey& pk,
                                           const SurveyOptions& o, const std::function<void(const std::string&)>& warn);

}  // namespace dvt::transport
