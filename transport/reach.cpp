#include "transport/reach.hpp"

#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_info.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <tuple>

#include "util/error.hpp"

namespace dvt::transport {

PathTotals path_totals(const std::vector<PathBytes>& paths) {
    PathTotals t;
    for (const auto& p : paths) {
        if (p.via == "http") t.mirror += p.bytes;
        else if (p.via == "utp") t.utp += p.bytes;
        else t.tcp += p.bytes;
        if (p.holepunched) t.holepunched += p.bytes;
        if (p.found == "incoming") t.incoming += p.bytes;
    }
    return t;
}

namespace {

bool config_bool(const core::Config* config, const std::string& key, const std::string& fallback, bool allow_auto,
                 bool& is_auto) {
    std::string v = config ? config->get_or(key, fallback) : fallback;
    is_auto = false;
    if (v == "true") return true;
    if (v == "false") return false;
    if (allow_auto && v == "auto") {
        is_auto = true;
        return false;
    }
    throw Error(ErrorKind::usage,
                "config " + key + " must be true" + (allow_auto ? ", false or auto" : " or false") + ", not '" + v + "'");
}

}  // namespace

NetOptions net_options(const core::Config* config, bool cli_port_map) {
    NetOptions n;
    bool unused = false, is_auto = false;
    n.utp = config_bool(config, "net.utp", "true", false, unused);
    bool map = config_bool(config, "net.port-mapping", "auto", true, is_auto);
    n.port_mapping = cli_port_map || map ? PortMapping::on : is_auto ? PortMapping::automatic : PortMapping::off;
    return n;
}

bool wants_port_mapping(const NetOptions& n, const Address& listen, bool auto_applies) {
    bool wanted = n.port_mapping == PortMapping::on || (n.port_mapping == PortMapping::automatic && auto_applies);
    return wanted && port_mapping_allowed(listen);
}

bool port_mapping_allowed(const Address& a) {
    if (a.is_unspecified() || a.is_loopback()) return false;
    if (a.is_v6()) {
        auto v6 = a.to_v6();
        return !v6.is_link_local() && !v6.is_v4_mapped();
    }
    auto b = a.to_v4().to_bytes();
    return !(b[0] == 169 && b[1] == 254);  // 169.254.0.0/16, link-local
}

void reach_settings(lt::settings_pack& p, const Endpoint& listen, bool utp, bool port_mapping) {
    // uTP: accepted whenever it is on; used first for outgoing connections except on loopback. It ran 4-7 MB/s on
    // loopback in 2.0.8 because the kernel's default UDP receive buffer (212,992 B) overflowed: uTP sends bursts of
    // ~1,250-byte datagrams without pacing, the receiver's socket dropped 600-1,400 of them per 64 MiB (Udp
    // RcvbufErrors), and each loss cut the window and waited out a 500 ms timeout. The session's 1 MiB
    // recv_socket_buffer_size (SwarmSession::settings) applies to its UDP socket too: no drops, 31-56 MB/s on the same
    // loopback (TCP 65-115 MB/s on that busy machine; docs/transport.md, "Reachability").
    p.set_bool(lt::settings_pack::enable_incoming_utp, utp);
    p.set_bool(lt::settings_pack::enable_outgoing_utp, utp && !listen.address().is_loopback());
    // Port mapping of the listen port (TCP and UDP) on the router of the listen address's network.
    bool map = port_mapping && port_mapping_allowed(listen.address());
    p.set_bool(lt::settings_pack::enable_upnp, map);
    p.set_bool(lt::settings_pack::enable_natpmp, map);
}

class PathLedger {
public:
    struct Entry {
        PathBytes path;
        std::atomic<std::uint64_t> bytes{0};
    };
    Entry* entry(const PathBytes& p) {
        std::lock_guard lock(m_mutex);
        auto key = std::make_tuple(p.peer, p.via, p.found, p.holepunched);
        auto it = m_entries.find(key);
        if (it == m_entries.end()) it = m_entries.try_emplace(key).first, it->second.path = p;
        return &it->second;
    }
    // The session's TCP listen port, once it listens (0 before): what an outgoing connection's extension handshake
    // names as "p" when libtorrent leaves it out (PathPeer::add_handshake).
    std::atomic<std::uint16_t> listen_port{0};
    // The longest connect round trip (ms) of an outgoing connection that delivered payload (PathPeer::on_piece).
    std::atomic<int> longest_rtt_ms{0};
    void saw_round_trip(int ms) {
        int cur = longest_rtt_ms.load(std::memory_order_relaxed);
        while (ms > cur && !longest_rtt_ms.compare_exchange_weak(cur, ms, std::memory_order_relaxed)) {
        }
    }

    std::vector<PathBytes> snapshot() const {
        std::lock_guard lock(m_mutex);
        std::vector<PathBytes> out;
        for (const auto& [k, e] : m_entries) {
            PathBytes p = e.path;
            p.bytes = e.bytes.load();
            if (p.bytes) out.push_back(std::move(p));
        }
        return out;
    }

private:
    mutable std::mutex m_mutex;
    // node-based: an Entry never moves, so connections keep pointers to theirs
    std::map<std::tuple<std::string, std::string, std::string, bool>, Entry> m_entries;
};

namespace {

std::string found_by(lt::peer_source_flags_t s) {
    if (s & lt::peer_info::incoming) return "incoming";
    if (s & lt::peer_info::tracker) return "tracker";
    if (s & lt::peer_info::dht) return "dht";
    if (s & lt::peer_info::lsd) return "lsd";
    if (s & lt::peer_info::pex) return "pex";
    return "named";  // given to the torrent (add_torrent_params::peers, connect_peer): --peer, a remote, the caller
}

// One connection: classified at its first block (by then the handshake is done and libtorrent knows whether the
// socket is uTP and where the peer came from), then every block's length added to its ledger entry.
class PathPeer final : public lt::peer_plugin {
public:
    PathPeer(lt::peer_connection_handle pc, std::shared_ptr<PathLedger> ledger)
        : m_pc(std::move(pc)), m_ledger(std::move(ledger)) {}

    // BEP 10's "p" (our listen port) on connections we open. libtorrent 2.0.8 sends it only while the listen
    // socket's external address, as peers' "yourip" votes set it, equals the connection's local address: behind a
    // NAT the first peer to answer (the commit torrent's) moves it to the router's address, and every later
    // connection (the packs') goes without "p". The peer then never lists us in PEX (libtorrent's ut_pex leaves out
    // incoming connections without a known listen port), so no other peer learns us and no BEP 55 rendezvous can
    // name us (docs/transport.md, "BEP 55 hole punching"). Called after libtorrent filled the handshake in.
    void add_handshake(lt::entry& h) override {
        std::uint16_t port = m_ledger->listen_port.load(std::memory_order_relaxed);
        if (port != 0 && m_pc.is_outgoing() && m_pc.type() == lt::connection_type::bittorrent &&
            h.find_key("p") == nullptr)
            h["p"] = port;
    }

    // The connect of a connection we open (TCP handshake, uTP SYN/STATE) takes one round trip: libtorrent attaches
    // the plugin just before it starts connecting. (peer_info::rtt, meant to hold the same, reads 0 in 2.0.8.)
    void on_connected() override {
        if (!m_pc.is_outgoing() || m_pc.type() != lt::connection_type::bittorrent) return;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - m_created);
        m_connect_ms = static_cast<int>(std::max<std::int64_t>(1, (us.count() + 500) / 1000));
    }

    bool on_piece(lt::peer_request const& r, lt::span<char const>) override {
        if (!m_entry) {
            lt::peer_info pi;
            m_pc.get_peer_info(pi);
            m_entry = m_ledger->entry(classify(pi));
            if (m_connect_ms > 0) m_ledger->saw_round_trip(m_connect_ms);
        }
        m_entry->bytes.fetch_add(static_cast<std::uint64_t>(r.length), std::memory_order_relaxed);
        return false;  // not handled: libtorrent goes on as usual
    }

private:
    PathBytes classify(const lt::peer_info& pi) const {
        PathBytes p;
        const auto& ep = m_pc.remote();
        if (m_pc.type() != lt::connection_type::bittorrent) {
            p.peer = "http://" + endpoint_string(ep);
            p.via = "http";
            p.found = "mirror";
            return p;
        }
        p.peer = endpoint_string(ep);
        p.via = (pi.flags & lt::peer_info::utp_socket) ? "utp" : "tcp";
        p.found = found_by(pi.source);
        p.holepunched = static_cast<bool>(pi.flags & lt::peer_info::holepunched);
        return p;
    }

    lt::peer_connection_handle m_pc;
    std::shared_ptr<PathLedger> m_ledger;
    PathLedger::Entry* m_entry = nullptr;
    std::chrono::steady_clock::time_point m_created = std::chrono::steady_clock::now();
    int m_connect_ms = 0;  // the connect's duration (on_connected), 0 for incoming connections
};

class PathTorrent final : public lt::torrent_plugin {
public:
    explicit PathTorrent(std::shared_ptr<PathLedger> l) : m_ledger(std::move(l)) {}
    std::shared_ptr<lt::peer_plugin> new_connection(lt::peer_connection_handle const& pc) override {
        return std::make_shared<PathPeer>(pc, m_ledger);
    }

private:
    std::shared_ptr<PathLedger> m_ledger;
};

class PathCounter final : public lt::plugin {
public:
    explicit PathCounter(std::shared_ptr<PathLedger> l) : m_ledger(std::move(l)) {}
    std::shared_ptr<lt::torrent_plugin> new_torrent(lt::torrent_handle const&, lt::client_data_t) override {
        return std::make_shared<PathTorrent>(m_ledger);
    }

private:
    std::shared_ptr<PathLedger> m_ledger;
};

}  // namespace

std::shared_ptr<PathLedger> make_path_ledger() { return std::make_shared<PathLedger>(); }

std::shared_ptr<lt::plugin> make_path_counter(std::shared_ptr<PathLedger> ledger) {
    return std::make_shared<PathCounter>(std::move(ledger));
}

std::vector<PathBytes> path_snapshot(const PathLedger& ledger) { return ledger.snapshot(); }

void set_listen_port(PathLedger& ledger, std::uint16_t port) { ledger.listen_port.store(port); }

int longest_round_trip(const PathLedger& ledger) { return ledger.longest_rtt_ms.load(std::memory_order_relaxed); }

int request_queue_seconds(int rtt_ms) {
    // 30 round trips of data: how fast libtorrent's queue grows after its slow start depends on how many round trips
    // it holds (docs/transport.md, "Socket buffers"); 1 s, dvt's setting for the LAN swarm, holds 30 up to 33 ms.
    // At most 3 s (libtorrent's default, the value measured at 100 ms): longer queues mean more duplicate pieces
    // from a seeder that several pullers ask at once.
    if (rtt_ms <= 0) return 1;
    long s = (static_cast<long>(rtt_ms) * 30 + 999) / 1000;
    return static_cast<int>(std::clamp(s, 1L, 3L));
}

}  // namespace dvt::transport
