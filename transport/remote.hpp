// Remotes: named sets of peers and trackers in the repository config (docs/transport.md, "Remotes").
//
//   [remote]
//       origin.peers = 127.0.0.2:7001 127.0.0.3:7001
//       origin.trackers = http://127.0.0.1:6969/announce
//       origin.url = dvt://<public key>            (optional; also .mirrors, .bootstrap)
//
// Names follow ref-name rules for one component (letters, digits, '-', '_', '.'; not starting with '.').
#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"
#include "transport/session.hpp"

namespace dvt::transport {

struct Remote {
    std::string name;
    std::string url;                     // "dvt://<public key>" of a published repository, or empty
    std::vector<Endpoint> peers;
    std::vector<std::string> trackers;
    std::vector<std::string> mirrors;    // http:// mirror base URLs (web seeds)
    std::vector<std::string> bootstrap;  // DHT bootstrap nodes for this remote
};

// Throws ErrorKind::usage for a malformed name, ErrorKind::not_found if NAME is not configured, ErrorKind::corrupt if
// the saved values do not parse.
Remote load_remote(const core::Config& c, const std::string& name);
void save_remote(core::Config& c, const Remote& r);  // replaces; throws usage for a malformed name
void remove_remote(core::Config& c, const std::string& name);
std::vector<Remote> list_remotes(const core::Config& c);

}  // namespace dvt::transport
