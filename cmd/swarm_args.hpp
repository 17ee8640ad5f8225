// What clone and pull share: the swarm options of the command line, the progress printer and the JSON / summary line
// of a fetch (docs/cli.md).
#pragma once

#include <string>
#include <vector>

#include "cmd/cli.hpp"
#include "transport/pull.hpp"

namespace dvt::cmd {

struct SwarmArgs {
    std::vector<std::string> positional;  // clone: ID DIR; pull: [REMOTE] ID
    std::vector<std::string> peers, trackers, mirrors, bootstrap;
    bool dht = false, lsd = false, port_map = false;
    std::string branch = "main";
    std::string upload_limit, download_limit;
    std::string listen;
    std::string commit_torrent;
    double timeout = 60;
    bool force = false;
};

void add_swarm_options(CLI::App* sub, SwarmArgs& a);

// --peer IP:PORT (repeatable) with the command's own help text, and the values checked: each must be an address and a
// port (a usage error names the bad one). Every command that takes peers uses these two.
void add_peer_option(CLI::App* sub, std::vector<std::string>& peers, const std::string& help);
std::vector<transport::Endpoint> peer_endpoints(const std::vector<std::string>& peers);

// The options as PullOptions (peers, trackers, mirrors, --bootstrap/--dht, --lsd, limits, timeout, listen). Checks
// the command line before anything else happens (usage errors come first, also outside a repository).
transport::PullOptions parse_swarm_args(const SwarmArgs& a);

// On a terminal: "\rreceiving 12.0 MiB of 100.0 MiB (95.1 MB/s, 1 peer, ETA 1 s)". With --json: one JSON line per
// second on stderr ({"progress": {...}}), so stdout keeps exactly one result document. With -q: nothing.
std::function<void(const transport::PullProgress&)> progress_printer(const Context& ctx);

nlohmann::json fetch_json(const transport::FetchResult& f);
std::string fetch_summary(const transport::FetchResult& f);

}  // namespace dvt::cmd
