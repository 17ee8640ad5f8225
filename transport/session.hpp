// SwarmSession: one libtorrent session with dvt's safe settings (docs/transport.md, "Session settings").
//
// Contract:
//  - Listens, and makes outgoing connections, only on the explicit IP given by the caller (never a wildcard), TCP
//    and uTP (outgoing uTP not on loopback: transport/reach.hpp). DHT, LSD, UPnP, NAT-PMP and the IP notifier are
//    off and no bootstrap node is configured, so nothing leaves the machine except connections to peers the caller
//    names (or that connect to us), until the caller turns on the DHT (transport/dht.hpp), LAN discovery
//    (transport/lsd.hpp) or port mapping (set_reach).
//  - The constructor returns only once the TCP listen socket is open; a listen failure (port in use, address not
//    local) is ErrorKind::network with a one-line message. Port 0 picks a free port: see listen_endpoint().
//  - Torrents are added not auto-managed and not paused, so no queueing limit ever delays one.
//  - One thread consumes alerts (poll()); libtorrent's own threads do the networking and disk I/O.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

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
#include "transport/endpoint.hpp"
#include "transport/reach.hpp"
#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

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

    // The most peer connections a session keeps: 2,000, or fewer when the soft limit on open files (RLIMIT_NOFILE)
    // leaves less room next to the files (docs/transport.md, "Descriptors").
    static int connections_limit();

    // The settings every dvt session uses (docs/transport.md lists each one and why).
    static lt::settings_pack settings(const Endpoint& listen);

    // SO_RCVBUF of the session's UDP socket (uTP), and of its TCP connections when it listens on loopback (the
    // kernel doubles it). Elsewhere TCP connections keep the kernel's receive autotuning (docs/transport.md,
    // "Socket buffers").
    static constexpr int kUdpReceiveBuffer = 1 << 20;

    lt::session& native() { return *m_session; }
    // The address and port actually listened on (the real port when 0 was asked for).
    const Endpoint& listen_endpoint() const { return m_listen; }

    // Caps the session's total upload and download rate (bytes/s, 0 = unlimited). The caps then apply to every peer,
    // loopback and LAN peers included (libtorrent exempts those by default): benchmarks and tests on one machine need
    // that, and a user who asks for a cap means all traffic.
    void set_rate_limits(std::int64_t upload, std::int64_t download);

    // uTP on or off and port mapping (UPnP, NAT-PMP) on or off for this session's listen address (transport/reach.hpp;
    // before torrents are added). Returns whether port mapping runs. `on_port_map` (optional) hears each mapping
    // result as one line ("port 7000 mapped to 11.0.0.101:7000 by NAT-PMP (tcp)", or why it failed).
    bool set_reach(bool utp, bool port_mapping, std::function<void(const std::string&)> on_port_map = {});

    // The longest connect round trip (ms) of the session's outgoing connections that delivered payload (0: none yet),
    // and the request_queue_time poll() set from it (transport/reach.hpp: request_queue_seconds; 1 on loopback).
    int round_trip_ms() const { return longest_round_trip(*m_paths); }
    int request_queue_seconds() const { return m_queue_seconds; }

    // Payload bytes received so far in this session, by peer and path (transport/paths.hpp).
    std::vector<PathBytes> path_bytes() const { return path_snapshot(*m_paths); }

    // Private DHT nodes (transport/dht.cpp): added as ordinary routing-table nodes, not as "routers" (libtorrent never
    // keeps a router in its routing table, so a private DHT of routers only knows nobody). reseed_dht() pings them
    // again (nodes that were not up yet).
    void set_dht_nodes(std::vector<Endpoint> nodes) { m_dht_nodes = std::move(nodes); }
    void reseed_dht();

    // Adds a torrent with auto_managed and paused cleared. Throws ErrorKind::internal if libtorrent refuses it.
    lt::torrent_handle add_torrent(lt::add_torrent_params atp);

    // The alert loop: waits up to `wait` for alerts, then hands every pending alert to `handler` (the pointers are
    // valid only during the call). Returns the number of alerts handled. First it sets request_queue_time from the
    // longest round trip seen so far, when that changed it (not on loopback).
    std::size_t poll(std::chrono::milliseconds wait, const std::function<void(lt::alert*)>& handler);

    // The piece layer of a torrent's file as dvt's disk I/O hashed and wrote it in this session, if it hashed every
    // piece (transport/disk_io.hpp).
    std::optional<Bytes> piece_layer(const std::string& file) const { return m_disk->piece_layer(file); }
    // The most bytes of received blocks the disk I/O held in memory at once so far (DiskOptions bounds it).
    std::int64_t disk_peak_buffered() const { return m_disk->peak_buffered(); }

private:
    std::shared_ptr<DiskRegistry> m_disk;
    std::shared_ptr<PathLedger> m_paths;
    std::function<void(const std::string&)> m_on_port_map;
    std::unique_ptr<lt::session> m_session;
    Endpoint m_listen;
    std::vector<Endpoint> m_dht_nodes;
    int m_queue_seconds = 1;  // request_queue_time as last set (settings())
};

}  // namespace dvt::transport
