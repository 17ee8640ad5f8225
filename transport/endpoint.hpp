// Addresses on the command line and in the config: peers, --listen, trackers, rates. No libtorrent here: the CLI and
// the library's public headers use these without seeing the swarm code (CMakeLists.txt, DVT_WITH_LIBTORRENT).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dvt::transport {

// A TCP endpoint (an IP address and a port). It is Boost.Asio's, the same type libtorrent uses, so it crosses into
// the swarm code unchanged; nothing here needs libtorrent.
using Endpoint = boost::asio::ip::tcp::endpoint;
using Address = boost::asio::ip::address;

// "IPv4:PORT" or "[IPv6]:PORT"; host names are not accepted (an explicit address is required). Throws
// ErrorKind::usage naming `what` (e.g. "peer address") when the text does not parse. Port 0 only if allow_port_zero.
Endpoint parse_endpoint(std::string_view text, std::string_view what, bool allow_port_zero);
std::string endpoint_string(const Endpoint& ep);

// A --listen value (serve, clone, pull, push, remote show): "IPv4", "IPv4:PORT", "[IPv6]" or "[IPv6]:PORT". Without a
// port the port is 0 (any free port). Port 0 is allowed. With `port_required` (dvt serve) the port must be written
// (the message is then exactly parse_endpoint's).
// Throws ErrorKind::usage ("listen address '<text>' ...", as parse_endpoint) for anything else: a host name, a
// wildcard address, an IPv6 address without brackets.
Endpoint parse_listen_address(std::string_view text, bool port_required = false);

// An --http value (dvt serve): "PORT" (on 127.0.0.1: loopback unless an address is given), "IPv4:PORT" or
// "[IPv6]:PORT"; port 0 picks a free one. Throws ErrorKind::usage ("HTTP address '<text>' ...").
Endpoint parse_http_address(std::string_view text);
// The local address the kernel would use as source for connections to `peer` (UDP connect + getsockname; no packet
// is sent). Throws ErrorKind::network if there is no route.
Address local_address_towards(const Endpoint& peer);

// A rate such as "20M", "1.5G", "500k", "64Ki" or "1000000" in bytes/s (k/M/G decimal, Ki/Mi/Gi binary). Throws
// ErrorKind::usage naming `what`.
std::int64_t parse_rate(std::string_view text, std::string_view what);

// A tracker URL: http:// or udp://, with a host. Throws ErrorKind::usage.
std::string check_tracker_url(std::string_view url);

// A mirror URL (clone/pull --mirror, remote add --mirror, config remote.*.mirrors): http:// or https://, with a host.
// Returns it unchanged; throws ErrorKind::usage ("mirror '<url>' is not an http:// or https:// URL").
std::string check_mirror_url(std::string_view url);
// The host part of a tracker URL as an IP address, if it is one (used to pick the local address for a pull).
std::optional<Address> tracker_address(std::string_view url);

}  // namespace dvt::transport
