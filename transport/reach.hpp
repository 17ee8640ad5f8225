// Reachability beyond the local network (docs/transport.md, "Reachability"): uTP beside TCP, UPnP / NAT-PMP port
// mapping, and the ledger of which path a session's bytes came by.
//
// Contract:
//  - uTP: every session accepts incoming uTP (on its listen port, UDP) and, unless it listens on a loopback address,
//    opens outgoing connections with uTP first and TCP as libtorrent's fallback. On loopback outgoing connections stay
//    TCP (uTP is about 2x slower there and nothing between the peers needs it). Config net.utp = false turns uTP off.
//  - Port mapping (UPnP IGD and NAT-PMP) is off unless asked for: --port-map (serve, clone, pull), config
//    net.port-mapping = true, or net.port-mapping = auto (the default) when dvt chose the listen address itself (no
//    --listen) and finds peers through the DHT or LAN discovery. It is never on for a loopback or link-local listen
//    address, whatever was asked, so no test, benchmark or demo on one machine multicasts.
//  - BEP 55 hole punching: libtorrent 2.0.8 has no setting for it; its ut_pex extension (one of the default plugins
//    every session has) relays rendezvous messages and punches over uTP when a connection to a peer learned by PEX
//    fails. It is therefore on exactly when uTP is.
//  - The ledger counts every payload block each connection delivers (a peer plugin's on_piece), by peer and transport.
//  - The request queue follows the round trip: the plugin keeps the longest connect round trip of the session's
//    outgoing connections that delivered payload, and the session sets libtorrent's request_queue_time from it
//    (request_queue_seconds: 1 s up to 33 ms, 2 s up to 66 ms, 3 s beyond; always 1 s on loopback).
//  - The same peer plugin names the session's listen port ("p") in the extension handshake of every connection it
//    opens, which libtorrent 2.0.8 leaves out behind a NAT: without it no peer learns a NATed peer through PEX.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <libtorrent/extensions.hpp>
#include <libtorrent/settings_pack.hpp>

#include <memory>
#include <vector>

#include "core/config.hpp"
#include "transport/endpoint.hpp"
#include "transport/paths.hpp"

namespace dvt::transport {

// Whether port mapping may run for a session listening on `a`: never on loopback, link-local or unspecified.
bool port_mapping_allowed(const Address& a);

// Whether a session maps its port: on, or automatic when `auto_applies` (dvt chose the listen address and uses the
// DHT or LAN discovery), and port_mapping_allowed for the listen address.
bool wants_port_mapping(const NetOptions& n, const Address& listen, bool auto_applies);

// Writes the uTP and port-mapping settings for a session listening on `listen` into `p`.
void reach_settings(lt::settings_pack& p, const Endpoint& listen, bool utp, bool port_mapping);

// The per-session ledger of bytes by path, and the libtorrent plugin that fills it.
class PathLedger;
std::shared_ptr<PathLedger> make_path_ledger();
std::shared_ptr<lt::plugin> make_path_counter(std::shared_ptr<PathLedger> ledger);
std::vector<PathBytes> path_snapshot(const PathLedger& ledger);
// The longest round trip (ms: the connect's duration, at least 1) of the session's outgoing connections that
// delivered payload so far; 0 before the first.
int longest_round_trip(const PathLedger& ledger);
// Seconds of requests a puller keeps queued per peer (libtorrent's request_queue_time) for a longest round trip of
// `rtt_ms`: at least 30 round trips' worth, between 1 and 3 s (docs/transport.md, "Socket buffers").
int request_queue_seconds(int rtt_ms);
// The session's listen port, which the plugin names as BEP 10's "p" on outgoing connections when libtorrent does not.
void set_listen_port(PathLedger& ledger, std::uint16_t port);

}  // namespace dvt::transport
