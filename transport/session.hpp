// SwarmSession: one libtorrent session with dvt's safe settings (docs/transport.md, "Session settings").
//
// Contract:
//  - Listens, and makes outgoing connections, only on the explicit IP given by the caller (never a wildcard), TCP
//    only. DHT, LSD, UPnP, NAT-PMP and the IP notifier are off and no bootstrap node is configured, so nothing
//    leaves the machine except connections to peers the caller names (or that connect to us), until the caller
//    turns on the DHT (transport/dht.hpp) or LAN discovery (transport/lsd.hpp).
//  - The constructor returns only once the TCP listen socket is open; a listen failure (port in use, address not
//    local) is ErrorKind::network with a one-line message. Port 0 picks a free port: see listen_endpoint().
//  - Torrents are added not auto-managed and not paused, so no queueing limit ever delays one.
//  - One thread consumes alerts (poll()); libtorrent's own threads do the networking and disk I/O.
#pragma once

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/disk_io.hpp"
#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

using Endpoint = lt::tcp::endpoint;

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

// The local address the kernel would use as source for connections to `peer` (UDP connect + getsockname; no packet
// is sent). Throws ErrorKind::network if there is no route.
lt::address local_address_towards(const Endpoint& peer);

// A rate such as "20M", "1.5G", "500k", "64Ki" or "1000000" in bytes/s (k/M/G decimal, Ki/Mi/Gi binary). Throws
// ErrorKind::usage naming `what`.
std::int64_t parse_rate(std::string_view text, std::string_view what);

// A tracker URL: http:// or udp://, with a host. Throws ErrorKind::usage.
std::string check_tracker_url(std::string_view url);

// The host part of a tracker URL as an IP address, if it is one (used to pick the local address for a pull).
std::optional<lt::address> tracker_address(std::string_view url);

lt::sha256_hash to_lt(const Hash32& h);
Hash32 from_lt(const lt::sha256_hash& h);

class SwarmSession {
public:
    // `listen`: the IP and port to listen on (port 0: any free port). Waits up to `listen_wait` for the socket.
    // `disk`: the disk I/O's options (tests make it spill early).
    explicit SwarmSession(const Endpoint& listen, std::chrono::milliseconds listen_wait = std::chrono::seconds(10),
                          DiskOptions disk = {});
    ~SwarmSession();
    SwarmSession(const SwarmSession&) = delete;
    SwarmSession& operator=(const SwarmSession&) = delete;

    // The settings every dvt session uses (docs/transport.md lists each one and why).
    static lt::settings_pack settings(const Endpoint& listen);

    lt::session& native() { return *m_session; }
    // The address and port actually listened on (the real port when 0 was asked for).
    const Endpoint& listen_endpoint() const { return m_listen; }

    // Caps the session's total upload and download rate (bytes/s, 0 = unlimited). The caps then apply to every peer,
    // loopback and LAN peers included (libtorrent exempts those by default): benchmarks and tests on one machine need
    // that, and a user who asks for a cap means all traffic.
    void set_rate_limits(std::int64_t upload, std::int64_t download);

    // Private DHT nodes (transport/dht.cpp): added as ordinary routing-table nodes, not as "routers" (libtorrent never
    // keeps a router in its routing table, so a private DHT of routers only knows nobody). reseed_dht() pings them
    // again (nodes that were not up yet).
    void set_dht_nodes(std::vector<Endpoint> nodes) { m_dht_nodes = std::move(nodes); }
    void reseed_dht();

    // Adds a torrent with auto_managed and paused cleared. Throws ErrorKind::internal if libtorrent refuses it.
    lt::torrent_handle add_torrent(lt::add_torrent_params atp);

    // The alert loop: waits up to `wait` for alerts, then hands every pending alert to `handler` (the pointers are
    // valid only during the call). Returns the number of alerts handled.
    std::size_t poll(std::chrono::milliseconds wait, const std::function<void(lt::alert*)>& handler);

    // The piece layer of a torrent's file as dvt's disk I/O hashed and wrote it in this session, if it hashed every
    // piece (transport/disk_io.hpp).
    std::optional<Bytes> piece_layer(const std::string& file) const { return m_disk->piece_layer(file); }
    // The most bytes of received blocks the disk I/O held in memory at once so far (DiskOptions bounds it).
    std::int64_t disk_peak_buffered() const { return m_disk->peak_buffered(); }

private:
    std::shared_ptr<DiskRegistry> m_disk;
    std::unique_ptr<lt::session> m_session;
    Endpoint m_listen;
    std::vector<Endpoint> m_dht_nodes;
};

}  // namespace dvt::transport
