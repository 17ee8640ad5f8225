// The DHT duties of a long-running `dvt serve` (docs/transport.md, "Replicas"):
//  - with the repository's publisher key: publish its branches and tags (5 s after the start, within 2 s of any of
//    them moving, e.g. by a commit, and every `republish_every`: BEP 44 items are dropped by nodes that expire them,
//    ~2 h in other implementations). A long-lived node publishes without the cost a short-lived `dvt push` has
//    (docs/transport.md, "Signed refs");
//  - with --follow dvt://<key>: look up the followed branch every `interval`; when it names a new commit, fetch it
//    (whole, verified, in a session of its own) and record it in refs/remotes/follow/<branch>, so the server then
//    seeds it; and re-put the record as received (signature unchanged) to keep it alive.
// tick() is called from the server's loop; it does nothing until the next deadline.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/repository.hpp"
#include "transport/dht.hpp"
#include "transport/keys.hpp"
#include "transport/session.hpp"

namespace dvt::transport {

// What a key holder's server last published, kept in .dvt/published ("<ref> <commit hex> <seq> <nodes>" per line,
// written atomically after each publish): `dvt push` hands publishing to a running server through it.
constexpr const char* kPublishedFile = "published";

// If a `dvt serve` holds this repository (its serve.lock is taken), waits up to `timeout` for it to publish exactly
// `refs` (it does so within 2 s of a ref moving, when it runs with the DHT and the key) and returns what it put.
// nullopt when no server runs or it did not publish them in time (the caller then puts the records itself), or as
// soon as `interrupted` (polled every 100 ms, if given) returns true.
// Why: libtorrent 2.0.8 adds every node that sends a put to the receiver's routing table, read-only or not, so each
// short-lived push leaves a dead node behind; the next lookups that reach it wait 15 s (measured: a second push took
// 15.3 s instead of 0.2 s). A long-lived server publishing leaves nothing behind.
std::optional<std::vector<Published>> wait_server_published(const core::Repository& repo,
                                                            const std::vector<std::pair<std::string, Hash32>>& refs,
                                                            std::chrono::milliseconds timeout,
                                                            const std::function<bool()>& interrupted = {});

class Follower {
public:
    using Say = std::function<void(const std::string&)>;
    Follower(core::Repository& repo, SwarmSession& session, DhtOptions dht, std::optional<PublisherKey> key,
             std::optional<PublicKey> follow, std::string branch, std::chrono::milliseconds interval,
             Say warn, Say info);

    void tick();

    std::chrono::milliseconds republish_every = std::chrono::minutes(10);
    // Caps (bytes/s, 0 = none) for the session a fetch runs in: a server's --upload-limit covers its fetches too.
    std::int64_t upload_limit = 0, download_limit = 0;
    bool lsd = false;  // fetches also look for peers on the LAN (the server runs with --lsd)

private:
    void publish_own();
    void follow_once();
    std::vector<std::pair<std::string, Hash32>> own_refs() const;

    core::Repository& m_repo;
    SwarmSession& m_session;
    DhtOptions m_dht;
    std::optional<PublisherKey> m_key;
    std::optional<PublicKey> m_follow;
    std::string m_branch;
    std::chrono::milliseconds m_interval;
    Say m_warn, m_info;
    std::chrono::steady_clock::time_point m_next_follow, m_next_publish, m_next_seed, m_next_check;
    std::vector<std::pair<std::string, Hash32>> m_published;  // what the last publish put
    std::optional<Hash32> m_last;
};

}  // namespace dvt::transport
