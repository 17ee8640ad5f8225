// dvt push as a library function: publish a repository's branches and tags (docs/transport.md, "Signed refs",
// "HTTP mirrors", "Replicas").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "transport/mirror.hpp"
#include "transport/endpoint.hpp"

namespace dvt::transport {

struct PublishOptions {
    std::vector<std::string> bootstrap;     // --bootstrap nodes; read with the config by dht_options()
    bool dht = false;                       // --dht (the public DHT)
    std::optional<Endpoint> listen;         // default: the local address towards the first bootstrap node, any port
    std::string mirror;                     // export commits and packs here: an absolute directory or s3://BUCKET/PREFIX
                                            // (transport/s3.hpp); empty: no mirror
    std::string s3_endpoint;                // --s3-endpoint (with an s3:// mirror)
    std::string mirror_url;                 // empty, or an http(s):// URL saved as config mirror.url (published as "w")
    int replicas = 0;                       // seed until this many other peers hold each pushed branch head
    std::chrono::milliseconds timeout = std::chrono::seconds(120);  // for the DHT and for the replicas (> 0)
    std::function<void(const std::string&)> info, warn;  // one-line progress messages and warnings
    std::function<void(const MirrorResult&)> mirrored;    // right after the mirror export (for its progress line)
    std::function<bool()> interrupted;      // polled between steps and while waiting for replicas
};

struct PublishedRecord {
    std::string ref;    // e.g. "refs/heads/main"
    Hash32 commit;
    std::int64_t seq = 0;
    int nodes = 0;      // DHT nodes that acknowledged the put
};

struct PublishResult {
    std::optional<MirrorResult> mirror;     // what the mirror export wrote (when o.mirror was given)
    bool dht = false;                       // records were published (false: the mirror only)
    bool by_server = false;                 // a running `dvt serve` of this repository published them
    std::vector<PublishedRecord> refs;      // one per published ref (not the ref list)
    std::string url;                        // "dvt://<public key>" (with dht)
    std::optional<std::size_t> replicas;    // complete copies reached (with o.replicas > 0)
};

// Everything `dvt push` does, in order:
//  1. refs/heads/* and refs/tags/* are what is pushed; none is ErrorKind::nothing_to_do;
//  2. .dvt/hooks/pre-push gets one line "<ref> <commit>" per ref on stdin; a non-zero exit is hook_rejected and
//     nothing is sent;
//  3. with o.mirror: export_mirror of every pushed commit (then `mirrored`); with o.mirror_url: saved as config mirror.url;
//  4. without the DHT (dht_options(config, o.bootstrap, o.dht)): done if there was a mirror, else usage ("nothing to
//     push to");
//  5. with it: needs the publisher key (not_found otherwise) and a listen address (usage when none is given and no
//     bootstrap node is an IP address). When a `dvt serve` of this repository publishes the refs (within
//     min(timeout, 10 s); transport::wait_server_published) that counts; otherwise the signed records are put here,
//     from a read-only DHT node (no_peers when no DHT node answers within the timeout). Refs longer than 64 bytes are
//     skipped with a warning;
//  6. with o.replicas > 0: seeds the pushed branch heads until that many other peers hold complete copies of each;
//     no_peers after the timeout, or ("interrupted while waiting for replicas") when interrupted() says so.
// interrupted() returning true between steps or while waiting for the DHT (server, node, puts) throws
// transport::Interrupted (puller.hpp), as does a pre-push hook failing while interrupted() is true (the signal
// reached the hook too); the mirror export runs to its end. Progress goes to `info`.
// No signal handling here: the caller decides what interrupted() means.
PublishResult publish(core::Repository& repo, const PublishOptions& o);

}  // namespace dvt::transport
