#include "transport/session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/fingerprint.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/session_params.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "transport/block_hash_guard.hpp"
#include "util/error.hpp"

namespace dvt::transport {

lt::sha256_hash to_lt(const Hash32& h) {
    return lt::sha256_hash(reinterpret_cast<const char*>(h.bytes.data()));
}

Hash32 from_lt(const lt::sha256_hash& h) {
    return Hash32::from_bytes({reinterpret_cast<const std::uint8_t*>(h.data()), 32});
}

int SwarmSession::connections_limit() {
    // Every connection is a descriptor; the disk I/O keeps up to DiskOptions::max_open_files more, a pull one per
    // active pack (writeback, Transfer::kMaxActive), and the process some of its own (repository, SQLite, libtorrent's
    // event descriptors). Under the common limit of 1,024: 1,024 - 128 - 64 - 96 = 736 connections.
    constexpr rlim_t kReserved = 128 + 64 + 96;
    struct rlimit rl;
    rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (soft == RLIM_INFINITY || soft > 2000 + kReserved) return 2000;
    return static_cast<int>(std::max<rlim_t>(64, soft > kReserved ? soft - kReserved : 0));
}

lt::settings_pack SwarmSession::settings(const Endpoint& listen) {
    lt::settings_pack p;
    // Where we are: one explicit address, for listening and for outgoing connections (never a wildcard: a wildcard
    // also listens on interfaces the user did not choose).
    std::string ip = listen.address().is_v6() ? "[" + listen.address().to_string() + "]" : listen.address().to_string();
    p.set_str(lt::settings_pack::listen_interfaces, ip + ":" + std::to_string(listen.port()));
    p.set_str(lt::settings_pack::outgoing_interfaces, listen.address().to_string());
    // A busy port is an error, not a reason to listen somewhere else.
    p.set_int(lt::settings_pack::max_retry_port_bind, 0);
    p.set_bool(lt::settings_pack::listen_system_port_fallback, false);
    // Nothing that talks to the outside world on its own: no public DHT bootstrap node (the default is
    // dht.libtorrent.org), no DHT, no local service discovery multicast, no port mapping, no interface watcher.
    p.set_str(lt::settings_pack::dht_bootstrap_nodes, "");
    p.set_bool(lt::settings_pack::enable_dht, false);
    p.set_bool(lt::settings_pack::enable_lsd, false);
    p.set_bool(lt::settings_pack::enable_upnp, false);
    p.set_bool(lt::settings_pack::enable_natpmp, false);
    p.set_bool(lt::settings_pack::enable_ip_notifier, false);
    // uTP beside TCP (incoming always, outgoing except on loopback); no port mapping until set_reach asks for it.
    reach_settings(p, listen, true, false);
    // Several pullers may share one address (NAT, one host); a seed serves many of them at once.
    p.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    p.set_int(lt::settings_pack::connections_limit, connections_limit());
    p.set_int(lt::settings_pack::unchoke_slots_limit, 64);
    p.set_int(lt::settings_pack::listen_queue_size, 256);  // a puller opens one connection per torrent at once
    // No queueing: a repository has one torrent per commit and per pack, all of them active.
    p.set_int(lt::settings_pack::active_downloads, -1);
    p.set_int(lt::settings_pack::active_seeds, -1);
    p.set_int(lt::settings_pack::active_limit, 100000);
    // Retry named peers quickly (the default waits 60 s after a refused connection) and keep retrying until the
    // caller's timeout rather than giving up after 3 attempts.
    p.set_int(lt::settings_pack::min_reconnect_time, 1);
    p.set_int(lt::settings_pack::max_failcount, 100);
    // Connection attempts happen on libtorrent's internal tick (default every 500 ms): a pull's first connection
    // starts up to that much later. 100 ms is the resolution libtorrent's documentation suggests.
    p.set_int(lt::settings_pack::tick_interval, 100);
    // A partial pull fetches in stages (pack indexes, then trees and file objects, then chunks); between stages every
    // wanted piece is present and libtorrent would drop its connections to seeds as redundant, then have to
    // reconnect for the next stage (measured: ~1 s per stage).
    p.set_bool(lt::settings_pack::close_redundant_connections, false);
    // Keep 1 s of requests queued per peer, not 3 (on a distant link poll() raises it: request_queue_seconds): a
    // piece requested from the seeder is invisible to the other pullers until it has arrived, so the longer the queues
    // the more pullers ask the seeder for the same piece (near the end of a pull they all want the same few). Loopback and LAN round trips are far below 1 s, so the pipe stays full.
    // Measured in bench/swarm.sh (8 pullers, 20 MB/s uplinks, 3 runs): the seeder sent 1.70 copies instead of 1.94,
    // and the pulls ended in 32.5 s instead of 35.5 s (medians).
    p.set_int(lt::settings_pack::request_queue_time, 1);
    // Never request runs of whole pieces. By default a peer that could send a piece within 20 s is asked for up to
    // 8 MiB of consecutive pieces at once, ignoring the queue limits above: with 8 pullers that meant ~2 s (p99 10 s)
    // between asking the seeder for a piece and receiving it, time in which other pullers asked for it too. Measured
    // in bench/swarm.sh (8 pullers, 20 MB/s uplinks): the seeder sent 1.4 copies instead of 1.7.
    p.set_int(lt::settings_pack::whole_pieces_threshold, 0);
    // Socket receive buffers (docs/transport.md, "Socket buffers"). libtorrent applies recv_socket_buffer_size
    // (SO_RCVBUF) to its UDP socket when it opens it (at session start) and to each peer connection as it is made.
    // The session starts with 1 MiB, so its UDP socket (uTP) is large enough for uTP's unpaced bursts (the default
    // 212,992 B overflowed: see reach_settings). The constructor then sets 0 ("leave the socket alone") unless the
    // session is on loopback, so every TCP connection keeps the kernel's receive autotuning (tcp_rmem), which grows
    // a connection's window with its bandwidth-delay product: a fixed SO_RCVBUF turns autotuning off, and 1 MiB
    // capped one connection at ~10 MB/s at 100 ms round trip. On loopback it stays fixed at 1 MiB: there autotuning
    // let a 2 GB clone's receive buffers hold 430 MiB (peak RSS 554-653 MiB against 223-265 MiB, and no faster).
    p.set_int(lt::settings_pack::recv_socket_buffer_size, kUdpReceiveBuffer);
    p.set_str(lt::settings_pack::user_agent, std::string("dvt/") + DVT_VERSION);
    p.set_str(lt::settings_pack::peer_fingerprint, lt::generate_fingerprint("DV", 0, 1, 0));
    p.set_int(lt::settings_pack::alert_mask,
              lt::alert_category::error | lt::alert_category::status | lt::alert_category::storage |
                  lt::alert_category::tracker | lt::alert_category::dht | lt::alert_category::peer |
                  lt::alert_category::connect | lt::alert_category::performance_warning |
                  lt::alert_category::port_mapping);
    return p;
}

SwarmSession::SwarmSession(const Endpoint& listen, std::chrono::milliseconds listen_wait, DiskOptions disk)
    : m_listen(listen) {
    lt::session_params params(settings(listen));
    // dvt's own disk I/O (transport/disk_io.hpp), not libtorrent's: its default mmap back end reported whole packs
    // complete whose last pieces were never written (zeros) in 4- and 8-puller swarms, and its pread/pwrite back end
    // writes, reads back and hashes every piece on the network thread.
    m_disk = make_disk_registry();
    params.disk_io_constructor = pack_disk_io(disk, m_disk);
    // Beside libtorrent's default plugins: no block-hash request ever goes out, since a peer that rejects one
    // corrupts libtorrent 2.0.8's memory (transport/block_hash_guard.hpp). Without it, any peer that sent data failing
    // verification could crash the puller.
    params.extensions.push_back(make_block_hash_guard());
    // Counts each connection's payload by peer and path (tcp, utp, mirror) for the pull's report.
    m_paths = make_path_ledger();
    params.extensions.push_back(make_path_counter(m_paths));
    m_session = std::make_unique<lt::session>(std::move(params));
    auto deadline = std::chrono::steady_clock::now() + listen_wait;
    std::string failure;
    bool listening = false;
    while (!listening && failure.empty() && std::chrono::steady_clock::now() < deadline) {
        poll(std::chrono::milliseconds(100), [&](lt::alert* a) {
            if (auto* ok = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
                if (ok->socket_type == lt::socket_type_t::tcp) {
                    m_listen = Endpoint(ok->address, static_cast<std::uint16_t>(ok->port));
                    listening = true;
                }
            } else if (auto* f = lt::alert_cast<lt::listen_failed_alert>(a)) {
                if (f->socket_type == lt::socket_type_t::tcp && failure.empty()) failure = f->error.message();
            }
        });
    }
    if (!listening) {
        m_session.reset();
        if (failure.empty()) failure = "no listen socket after " + std::to_string(listen_wait.count() / 1000) + " s";
        throw Error(ErrorKind::network, "cannot listen on " + endpoint_string(listen) + ": " + failure);
    }
    if (!m_listen.address().is_loopback()) {
        // "p" on outgoing connections where libtorrent leaves it out (transport/reach.hpp): needed behind a NAT, so
        // loopback sessions (tests, benchmarks) keep libtorrent's own handshake unchanged.
        set_listen_port(*m_paths, m_listen.port());
        // The UDP socket has its 1 MiB now; from here on no socket is sized, so TCP connections autotune (settings()).
        // A setting of 0 makes libtorrent skip setsockopt, also for the listen sockets it already sized.
        lt::settings_pack p;
        p.set_int(lt::settings_pack::recv_socket_buffer_size, 0);
        m_session->apply_settings(std::move(p));
    }
}

SwarmSession::~SwarmSession() = default;

bool SwarmSession::set_reach(bool utp, bool port_mapping, std::function<void(const std::string&)> on_port_map) {
    lt::settings_pack p;
    reach_settings(p, m_listen, utp, port_mapping);
    bool on = p.get_bool(lt::settings_pack::enable_upnp);
    m_on_port_map = std::move(on_port_map);
    m_session->apply_settings(std::move(p));
    return on;
}

void SwarmSession::reseed_dht() {
    for (const auto& n : m_dht_nodes) m_session->add_dht_node({n.address().to_string(), n.port()});
}

void SwarmSession::set_rate_limits(std::int64_t upload, std::int64_t download) {
    lt::settings_pack p;
    p.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(std::min<std::int64_t>(upload, INT32_MAX)));
    p.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(std::min<std::int64_t>(download, INT32_MAX)));
    m_session->apply_settings(std::move(p));
    if (upload > 0 || download > 0) {
        // Every address in the global peer class, whose limits these are (the default puts local peers in a class
        // of their own that no limit applies to).
        lt::ip_filter f;
        auto global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
        f.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
        f.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
        m_session->set_peer_class_filter(f);
    }
}

lt::torrent_handle SwarmSession::add_torrent(lt::add_torrent_params atp) {
    atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
    lt::error_code ec;
    lt::torrent_handle h = m_session->add_torrent(std::move(atp), ec);
    if (ec) throw Error(ErrorKind::internal, "libtorrent refused a torrent: " + ec.message());
    return h;
}

std::size_t SwarmSession::poll(std::chrono::milliseconds wait, const std::function<void(lt::alert*)>& handler) {
    // The request queue follows the round trip (docs/transport.md, "Socket buffers"): libtorrent reads the setting
    // each time it sizes a peer's queue, so connections already open follow too.
    if (!m_listen.address().is_loopback()) {
        int q = dvt::transport::request_queue_seconds(longest_round_trip(*m_paths));
        if (q != m_queue_seconds) {
            lt::settings_pack p;
            p.set_int(lt::settings_pack::request_queue_time, q);
            m_session->apply_settings(std::move(p));
            m_queue_seconds = q;
        }
    }
    if (!m_session->wait_for_alert(wait)) return 0;
    std::vector<lt::alert*> alerts;
    m_session->pop_alerts(&alerts);
    for (auto* a : alerts) {
        if (m_on_port_map) {
            if (auto* pm = lt::alert_cast<lt::portmap_alert>(a)) {
                m_on_port_map("port " + std::to_string(m_listen.port()) + " mapped to external port " +
                              std::to_string(pm->external_port) + " by " +
                              (pm->map_transport == lt::portmap_transport::natpmp ? "NAT-PMP" : "UPnP") + " (" +
                              (pm->map_protocol == lt::portmap_protocol::tcp ? "tcp" : "udp") + ")");
            } else if (auto* pe = lt::alert_cast<lt::portmap_error_alert>(a)) {
                m_on_port_map(std::string("port mapping by ") +
                              (pe->map_transport == lt::portmap_transport::natpmp ? "NAT-PMP" : "UPnP") +
                              " failed: " + pe->error.message());
            }
        }
        handler(a);
    }
    return alerts.size();
}

}  // namespace dvt::transport
