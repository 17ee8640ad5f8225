// LAN discovery: BEP 14 local service discovery (docs/transport.md, "LAN discovery").
//
// Contract:
//  - Off unless asked for (--lsd on serve, clone and pull, or config lsd.enabled = true): it multicasts to
//    239.192.152.143:6771 (IPv4) or [ff15::efc0:988f]:6771 (IPv6) from the session's listen address only, so the
//    announces go out on the one interface the user chose (an administratively scoped group, which routers between
//    networks do not forward).
//  - With it on, every torrent of the session is announced on the LAN when it starts and then every
//    kLsdAnnounceInterval; a session that receives an announce for a torrent it has connects to the announcer.
//    Pulls also re-announce a torrent that has no peer yet (Puller), so a seeder that starts after the pull is found.
//  - Needs no node, tracker or key: a clone by commit id with --lsd finds any `dvt serve --lsd` on the same LAN.
#pragma once

#ifndef DVT_WITH_LIBTORRENT
#error "this header exposes libtorrent: only transport/ (and unit tests) may include it"
#endif

#include <chrono>

#include "core/config.hpp"
#include "transport/session.hpp"

namespace dvt::transport {

// How often a session re-announces each of its torrents (libtorrent's default is 5 min; BEP 14 asks for no more than
// one announce per minute per torrent from a long-lived peer).
constexpr std::chrono::seconds kLsdAnnounceInterval{60};

// --lsd on the command line, else config lsd.enabled ("true"/"false"; anything else is ErrorKind::usage).
bool lsd_option(const core::Config* config, bool cli_lsd);

// Turns LAN discovery on for `s` (before its torrents are added, so that they announce as they start).
void enable_lsd(SwarmSession& s);

// The local address the kernel would send the LSD multicast from (the default listen address of a pull that has no
// peer, tracker or bootstrap node to route towards). Throws ErrorKind::network when no interface routes multicast.
lt::address lsd_local_address();

}  // namespace dvt::transport
