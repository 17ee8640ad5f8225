// The DHT duties of a long-running `dvt serve` (docs/transport.md, "Replicas"):
//  - with the repository's publisher key: republish its refs every `republish_every` (BEP 44 items are dropped by
//    nodes that expire them, ~2 h in other implementations);
//  - with --follow dvt://<key>: look up the followed branch every `interval`; when it names a new commit, fetch it
//    (whole, verified, in a session of its own) and record it in refs/remotes/follow/<branch>, so the server then
//    seeds it; and re-put the record as received (signature unchanged) to keep it alive.
// tick() is called from the server's loop; it does nothing until the next deadline.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/repository.hpp"
#include "transport/dht.hpp"
#include "transport/keys.hpp"
#include "transport/session.hpp"

namespace dvt::transport {

class Follower {
public:
    using Say = std::function<void(const std::string&)>;
    Follower(core::Repository& repo, SwarmSession& session, DhtOptions dht, std::optional<PublisherKey> key,
             std::optional<lt::dht::public_key> follow, std::string branch, std::chrono::milliseconds interval,
             Say warn, Say info);

    void tick();

    std::chrono::milliseconds republish_every = std::chrono::minutes(10);

private:
    void publish_own();
    void follow_once();

    core::Repository& m_repo;
    SwarmSession& m_session;
    DhtOptions m_dht;
    std::optional<PublisherKey> m_key;
    std::optional<lt::dht::public_key> m_follow;
    std::string m_branch;
    std::chrono::milliseconds m_interval;
    Say m_warn, m_info;
    std::chrono::steady_clock::time_point m_next_follow, m_next_publish, m_next_seed;
    std::optional<Hash32> m_last;
};

}  // namespace dvt::transport
