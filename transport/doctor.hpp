// dvt doctor: what this machine looks like to BitTorrent peers (docs/transport.md, "Diagnosing connectivity").
//
// Contract:
//  - Opens a dvt session on the listen address (as serve, clone and pull do: an explicit IP, TCP and uTP); a failure to
//    listen is reported (listen_error), not thrown. UPnP and NAT-PMP stay off unless `port_mapping`: then both are
//    turned on for this session and their answers (or none within the timeout) are reported.
//  - Each --peer is probed with the BitTorrent wire protocol from the listen IP: a TCP connection, the handshake for
//    `info_hash` (a torrent the peer serves: libtorrent peers close the connection for any other), and the extension
//    handshake (BEP 10), whose `yourip` is the address the peer sees this machine as, `v` its client and `p` its
//    listen port. What the peer sends is hostile: it is read with bounded buffers (scan_peer_wire), never trusted.
//  - The NAT guess compares that address with this machine's addresses: the same ("none": the peer reaches this
//    machine's address directly, unless a firewall blocks it), another one ("nat": an address translation between
//    them; the peer can connect back only through a port forwarding), or unknown (no answer).
//  - Reachability: our extension handshake names the listen port ("p"); a libtorrent peer (dvt serve, qBittorrent)
//    adds us to the torrent's peer list and connects to that port (the session holds the probed torrent, added by its
//    hash in upload mode: libtorrent refuses incoming connections without one). After the probes it waits up to
//    min(timeout, 5 s) for such incoming connections (incoming_connection_alert, matched by the peer's address):
//    `reached_us`, and over which transport (`reached_via`). A peer that does not try (some clients do not connect to peers that want nothing) is false too: a
//    false is "not seen", a true is proof.
//  - Never writes anything; never sends anything but to the listen address's network and the peers named (and, with
//    `port_mapping`, the UPnP/NAT-PMP discovery of the local network).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "transport/endpoint.hpp"
#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::transport {

// The peer wire bytes a probe received so far, scanned (fuzz/peerwire.cpp). Bounded: the handshake is 68 bytes and a
// message at most kMaxProbeMessage (else `malformed`).
constexpr std::size_t kMaxProbeMessage = 64 * 1024;
struct WireScan {
    bool complete = false;   // the handshake and the extension handshake (or enough messages without one) were read
    bool malformed = false;  // not BitTorrent, a message over the bound, an extension handshake that does not decode
    std::string error;       // why malformed
    bool handshake = false;  // its handshake was read
    bool same_torrent = false;  // ... naming the info-hash asked for
    bool extensions = false;    // it announced the extension protocol (BEP 10)
    bool ext_handshake = false;  // its extension handshake was read
    std::optional<Address> yourip;    // the address it sees us as
    std::optional<std::uint16_t> port;  // its listen port ("p")
    std::string client;                 // "v", printable ASCII only, at most 64 characters
    bool has_all = false;               // it sent have_all or a bitfield with every bit set
    std::size_t messages = 0;
};
WireScan scan_peer_wire(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t, 20> info_hash);

struct PeerProbe {
    Endpoint peer;
    bool connected = false;
    double connect_ms = 0;
    WireScan wire;
    std::string error;        // why the probe ended early (connection refused, timeout, closed by the peer, ...)
    std::string nat;          // "none", "nat" or "unknown"
    // Whether the peer opened a connection to our listen socket after the probe (it learns the port from our
    // extension handshake, and libtorrent peers try it): nullopt when it was not asked (no handshake for the torrent).
    std::optional<bool> reached_us;
    // How it came back when it did: "tcp" or "utp" (the session accepts both on its listen port; a dvt peer tries
    // uTP first), so a NAT or firewall that passes one and not the other shows.
    std::string reached_via;
};

struct MappedPort {
    std::string protocol;  // "upnp" or "natpmp"
    std::string transport;  // "tcp" or "udp"
    int external_port = 0;
    std::string error;      // empty on success
};

struct DoctorOptions {
    std::optional<Endpoint> listen;  // default: the local address routing to the first peer (else 127.0.0.1), port 0
    std::vector<Endpoint> peers;
    std::optional<Hash32> info_hash;  // v2 info-hash to name in the handshake (a commit id); none: a random one
    bool port_mapping = false;
    std::chrono::milliseconds timeout = std::chrono::seconds(5);
};

struct DoctorReport {
    std::optional<Endpoint> listen;  // the address and port listened on
    std::string listen_error;
    std::string listen_scope;              // "loopback", "private", "link-local" or "public"
    std::vector<Address> local_addresses;  // of this machine's interfaces (not loopback)
    std::string port_mapping = "off";      // "off", "mapped", "failed", "no answer"
    std::vector<MappedPort> mappings;
    std::vector<PeerProbe> peers;
    std::string nat = "unknown";           // over all peers: "nat" if any saw another address, "none" if all saw ours
    std::optional<Address> external;       // the address a peer saw, when it differs from ours
};

// "loopback", "private" (RFC 1918, RFC 4193, CGNAT 100.64/10), "link-local" or "public".
std::string address_scope(const Address& a);

DoctorReport doctor(const DoctorOptions& opts);

}  // namespace dvt::transport
