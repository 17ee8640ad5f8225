// Which path a pull's bytes came by (docs/transport.md, "Reachability"). No libtorrent here: FetchResult carries it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dvt::core {
class Config;
}

namespace dvt::transport {

// Reachability options (transport/reach.hpp has the rules). No libtorrent: PullOptions and ServeOptions carry them.
enum class PortMapping { off, on, automatic };
struct NetOptions {
    bool utp = true;                                    // config net.utp
    PortMapping port_mapping = PortMapping::automatic;  // --port-map, config net.port-mapping
};
// From the config (net.utp: true/false, default true; net.port-mapping: true/false/auto, default auto) and the
// --port-map flag, which wins. Throws ErrorKind::usage for another config value.
NetOptions net_options(const core::Config* config, bool cli_port_map);

// Payload bytes received over one kind of connection from one peer (or mirror) during a session.
struct PathBytes {
    std::string peer;       // "IP:PORT" of the peer, or "http://IP:PORT" for a mirror (web seed)
    std::string via;        // "tcp", "utp" (BitTorrent connections) or "http" (a mirror)
    std::string found;      // how the peer was found: "named" (--peer, a remote, the caller), "tracker", "dht",
                            // "lsd", "pex", "incoming" (it connected to us); "mirror" for web seeds
    bool holepunched = false;  // the connection was made through a BEP 55 hole punch
    std::uint64_t bytes = 0;
};

// Totals by path kind, for the one-line summary: direct connections we opened to peers we found or were given,
// connections peers opened to us, hole-punched ones, and mirrors.
struct PathTotals {
    std::uint64_t tcp = 0, utp = 0, holepunched = 0, incoming = 0, mirror = 0;
};
PathTotals path_totals(const std::vector<PathBytes>& paths);

}  // namespace dvt::transport
