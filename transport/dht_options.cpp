#include "transport/dht_options.hpp"

#include <sstream>

#include "util/error.hpp"

namespace dvt::transport {

// "IP:PORT" or "[IPv6]:PORT" rather than a host name
namespace {

bool is_address_text(const std::string& n) {
    return n.find_first_not_of("0123456789.:[]abcdefABCDEF") == std::string::npos;
}

}  // namespace

const std::vector<std::string>& public_bootstrap_nodes() {
    static const std::vector<std::string> nodes = {"dht.libtorrent.org:25401", "router.bittorrent.com:6881",
                                                   "router.utorrent.com:6881", "dht.transmissionbt.com:6881"};
    return nodes;
}

DhtOptions dht_options(const core::Config* config, const std::vector<std::string>& cli_bootstrap, bool cli_dht) {
    DhtOptions o;
    std::vector<std::string> nodes = cli_bootstrap;
    if (nodes.empty() && config)
        if (auto v = config->get("dht.bootstrap")) {
            std::istringstream in(*v);
            for (std::string w; in >> w;) nodes.push_back(w);
        }
    for (const auto& n : nodes) {
        auto colon = n.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == n.size())
            throw Error(ErrorKind::usage, "bootstrap node '" + n + "' is not HOST:PORT");
        if (is_address_text(n)) parse_endpoint(n, "bootstrap node", false);  // an address: checked strictly
    }
    o.bootstrap = nodes;
    o.enabled = !nodes.empty() || cli_dht || (config && config->get_or("dht.enabled", "false") == "true");
    return o;
}

std::optional<Endpoint> first_bootstrap_address(const DhtOptions& o) {
    if (o.bootstrap.empty() || !is_address_text(o.bootstrap.front())) return std::nullopt;
    return parse_endpoint(o.bootstrap.front(), "bootstrap node", false);
}

Endpoint dht_listen_address(const DhtOptions& o, const std::optional<Endpoint>& listen) {
    if (listen) return *listen;
    if (auto node = first_bootstrap_address(o)) return Endpoint(local_address_towards(*node), 0);
    throw Error(ErrorKind::usage, "give --listen IP (no bootstrap node is an IP address)");
}

}  // namespace dvt::transport
