// Whether and how a command joins the DHT (docs/transport.md, "DHT"): the options only, without libtorrent, so the
// CLI and the library's public headers can carry them. Joining is transport/dht.hpp's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "transport/endpoint.hpp"

namespace dvt::transport {

struct DhtOptions {
    bool enabled = false;
    std::vector<std::string> bootstrap;  // "IP:PORT" (or "host:port" for public routers); empty: the public DHT
    // BEP 43 read-only node: queries (get, put, get_peers, announce) but answers none, so other nodes do not keep it
    // in their routing tables. For short-lived processes (push, clone, pull): a node that leaves would otherwise
    // stay in tables as a dead entry, and every later lookup waits for it to time out (measured: 15 s per push).
    bool read_only = false;
};

// What a command's --bootstrap IP:PORT (repeatable) and --dht flags, and the repository config (dht.bootstrap, a
// space-separated list; dht.enabled = true for the public DHT) ask for. Command-line values win. Throws usage for a
// malformed node.
DhtOptions dht_options(const core::Config* config, const std::vector<std::string>& cli_bootstrap, bool cli_dht);

// The public DHT's routers, used when DhtOptions::bootstrap is empty.
const std::vector<std::string>& public_bootstrap_nodes();

// The first bootstrap node, when it is written as an address (to pick the local address a session listens on).
std::optional<Endpoint> first_bootstrap_address(const DhtOptions& o);
// Where a command that only talks to the DHT (push, remote show) listens: `listen` when given, else the local address
// towards the first bootstrap node, any port. Throws usage when neither is there (no bootstrap node is an address).
Endpoint dht_listen_address(const DhtOptions& o, const std::optional<Endpoint>& listen);

}  // namespace dvt::transport
