#include "transport/doctor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>
#include <map>
#include <set>

#include "transport/session.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace {

constexpr char kProtocol[] = "BitTorrent protocol";
constexpr std::size_t kHandshake = 68;
constexpr std::size_t kMaxProbeBytes = 256 * 1024;  // all a probe reads from one peer
constexpr std::size_t kEnoughMessages = 8;          // without an extension handshake by then, there is none

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

void parse_ext_handshake(std::span<const std::uint8_t> payload, WireScan& s) {
    lt::error_code ec;
    int pos = 0;
    // depth and token limits: a hostile dictionary costs at most a few KB of nodes
    lt::bdecode_node d = lt::bdecode({reinterpret_cast<const char*>(payload.data()),
                                      static_cast<std::ptrdiff_t>(payload.size())},
                                     ec, &pos, 8, 2000);
    if (ec || d.type() != lt::bdecode_node::dict_t) {
        s.malformed = true;
        s.error = "its extension handshake does not decode";
        return;
    }
    s.ext_handshake = true;
    auto ip = d.dict_find_string_value("yourip");
    if (ip.size() == 4) {
        boost::asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), ip.data(), 4);
        s.yourip = Address(boost::asio::ip::address_v4(b));
    } else if (ip.size() == 16) {
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), ip.data(), 16);
        s.yourip = Address(boost::asio::ip::address_v6(b));
    }
    auto p = d.dict_find_int_value("p", -1);
    if (p > 0 && p < 65536) s.port = static_cast<std::uint16_t>(p);
    auto v = d.dict_find_string_value("v");
    for (char c : v.substr(0, 64)) s.client += (c >= 0x20 && c < 0x7f) ? c : '?';
}

}  // namespace

WireScan scan_peer_wire(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t, 20> info_hash) {
    WireScan s;
    if (bytes.empty()) return s;
    std::size_t head = std::min<std::size_t>(bytes.size(), 20);
    if (bytes[0] != 19 || (head > 1 && std::memcmp(bytes.data() + 1, kProtocol, head - 1) != 0)) {
        s.malformed = true;
        s.error = "it does not speak the BitTorrent protocol";
        return s;
    }
    if (bytes.size() < kHandshake) return s;
    s.handshake = true;
    s.extensions = (bytes[25] & 0x10) != 0;  // reserved byte 5, bit 0x10: BEP 10
    s.same_torrent = std::memcmp(bytes.data() + 28, info_hash.data(), 20) == 0;
    std::size_t pos = kHandshake;
    while (pos + 4 <= bytes.size() && !s.malformed) {
        std::uint32_t len = be32(bytes.data() + pos);
        if (len > kMaxProbeMessage) {
            s.malformed = true;
            s.error = "it sent a message of " + std::to_string(len) + " bytes";
            break;
        }
        if (bytes.size() - pos - 4 < len) break;  // not all here yet
        const std::uint8_t* m = bytes.data() + pos + 4;
        if (len > 0) {
            if (m[0] == 20 && len >= 2 && m[1] == 0 && !s.ext_handshake)  // extended, id 0: the handshake
                parse_ext_handshake({m + 2, len - 2}, s);
            else if (m[0] == 14)  // have_all (BEP 6)
                s.has_all = true;
        }
        ++s.messages;
        pos += 4 + len;
    }
    s.complete = !s.malformed && s.handshake &&
                 (s.ext_handshake || !s.extensions || !s.same_torrent || s.messages >= kEnoughMessages);
    return s;
}

std::string address_scope(const Address& a0) {
    Address a = a0;
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    if (a.is_loopback()) return "loopback";
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
            (b[0] == 100 && (b[1] & 0xc0) == 64))
            return "private";
        if (b[0] == 169 && b[1] == 254) return "link-local";
        return "public";
    }
    auto b = a.to_v6().to_bytes();
    if ((b[0] & 0xfe) == 0xfc) return "private";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
    return "public";
}

namespace {

std::vector<Address> interface_addresses() {
    std::vector<Address> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        Address a;
        if (i->ifa_addr->sa_family == AF_INET) {
            auto* sa = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
            a = boost::asio::ip::address_v4(ntohl(sa->sin_addr.s_addr));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            auto* sa = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
            boost::asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &sa->sin6_addr, 16);
            a = boost::asio::ip::address_v6(b, sa->sin6_scope_id);
        } else {
            continue;
        }
        if (!a.is_loopback() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    ::freeifaddrs(list);
    return out;
}

// A socket address for `ep` (IPv4 or IPv6).
socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    std::memcpy(&ss, ep.data(), ep.size());
    return static_cast<socklen_t>(ep.size());
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point until) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

Bytes handshake_bytes(const std::array<std::uint8_t, 20>& ih) {
    Bytes b(kHandshake, 0);
    b[0] = 19;
    std::memcpy(b.data() + 1, kProtocol, 19);
    b[20 + 5] = 0x10;  // extension protocol (BEP 10)
    b[20 + 7] = 0x04;  // fast extension (BEP 6): a seed answers with have_all
    std::memcpy(b.data() + 28, ih.data(), 20);
    std::string id = "-DV0100-";
    std::mt19937 rng(std::random_device{}());
    while (id.size() < 20) id += static_cast<char>('a' + rng() % 26);
    std::memcpy(b.data() + 48, id.data(), 20);
    return b;
}

Bytes ext_handshake_bytes(std::uint16_t listen_port) {
    lt::entry e(lt::entry::dictionary_t);
    e["m"] = lt::entry(lt::entry::dictionary_t);
    e["p"] = listen_port;
    e["v"] = "dvt doctor";
    std::string body;
    lt::bencode(std::back_inserter(body), e);
    Bytes b;
    std::uint32_t len = static_cast<std::uint32_t>(body.size() + 2);
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(len >> s));
    b.push_back(20);
    b.push_back(0);
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

PeerProbe probe(const Endpoint& peer, const Address& from, std::uint16_t listen_port,
                const std::array<std::uint8_t, 20>& ih, std::chrono::milliseconds timeout) {
    PeerProbe p;
    p.peer = peer;
    p.nat = "unknown";
    auto until = Clock::now() + timeout;
    int fd = ::socket(peer.address().is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        p.error = std::string("cannot make a socket: ") + std::strerror(errno);
        return p;
    }
    util::Fd guard(fd);
    sockaddr_storage ss;
    if (from.is_v4() == peer.address().is_v4()) {  // from the listen IP, as the session's connections leave
        socklen_t n = to_sockaddr(Endpoint(from, 0), ss);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), n) != 0) {
            p.error = "cannot bind to " + from.to_string() + ": " + std::strerror(errno);
            return p;
        }
    }
    auto t0 = Clock::now();
    socklen_t n = to_sockaddr(peer, ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), n) != 0 && errno != EINPROGRESS) {
        p.error = std::string("cannot connect: ") + std::strerror(errno);
        return p;
    }
    pollfd pf{fd, POLLOUT, 0};
    if (::poll(&pf, 1, ms_left(until)) <= 0) {
        p.error = "no answer to the connection attempt within " + std::to_string(timeout.count() / 1000.0).substr(0, 4) +
                  " s (a firewall dropping it, or nobody at that address)";
        return p;
    }
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        p.error = std::string("cannot connect: ") + std::strerror(err);
        return p;
    }
    p.connected = true;
    p.connect_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    Bytes out = handshake_bytes(ih);
    Bytes ext = ext_handshake_bytes(listen_port);
    out.insert(out.end(), ext.begin(), ext.end());
    std::size_t sent = 0;
    Bytes in;
    std::uint8_t buf[16384];
    while (true) {
        pollfd q{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
        int r = ::poll(&q, 1, ms_left(until));
        if (r <= 0) {
            p.error = "no complete answer within the timeout";
            break;
        }
        if ((q.revents & POLLOUT) && sent < out.size()) {
            ssize_t w = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (w > 0) sent += static_cast<std::size_t>(w);
        }
        if (q.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = ::recv(fd, buf, sizeof buf, 0);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                bool closed = k == 0 || errno == ECONNRESET;  // a reset is how libtorrent drops unknown torrents
                int why = errno;
                p.wire = scan_peer_wire(in, std::span<const std::uint8_t, 20>(ih));
                p.error = closed ? (p.wire.handshake ? "it closed the connection"
                                                     : "it closed the connection before its handshake: it does not "
                                                       "serve the torrent asked for")
                                 : std::string("the connection failed: ") + std::strerror(why);
                break;
            }
            if (k > 0) in.insert(in.end(), buf, buf + k);
            p.wire = scan_peer_wire(in, std::span<const std::uint8_t, 20>(ih));
            if (p.wire.complete || p.wire.malformed) break;
            if (in.size() >= kMaxProbeBytes) {
                p.error = "it sent more than " + std::to_string(kMaxProbeBytes) + " bytes without an extension handshake";
                break;
            }
        }
    }
    if (p.wire.malformed && p.error.empty()) p.error = p.wire.error;
    if (p.wire.handshake && !p.wire.same_torrent && p.error.empty())
        p.error = "it answered for another torrent";
    return p;
}

}  // namespace

DoctorReport doctor(const DoctorOptions& opts) {
    DoctorReport rep;
    rep.local_addresses = interface_addresses();
    Endpoint listen;
    if (opts.listen) {
        listen = *opts.listen;
    } else {
        Address a = boost::asio::ip::make_address("127.0.0.1");
        if (!opts.peers.empty()) {
            try {
                a = local_address_towards(opts.peers.front());
            } catch (const Error&) {
            }
        }
        listen = Endpoint(a, 0);
    }
    rep.listen_scope = address_scope(listen.address());
    std::unique_ptr<SwarmSession> s;
    try {
        s = std::make_unique<SwarmSession>(listen, std::chrono::seconds(5));
        rep.listen = s->listen_endpoint();
    } catch (const Error& e) {
        rep.listen_error = e.what();
    }
    if (s && opts.port_mapping) {
        lt::settings_pack p;
        p.set_bool(lt::settings_pack::enable_upnp, true);
        p.set_bool(lt::settings_pack::enable_natpmp, true);
        s->native().apply_settings(std::move(p));
        auto until = Clock::now() + opts.timeout;
        bool tcp_done = false;
        while (Clock::now() < until && !tcp_done)
            s->poll(std::chrono::milliseconds(100), [&](lt::alert* a) {
                if (auto* m = lt::alert_cast<lt::portmap_alert>(a)) {
                    MappedPort pm;
                    // (libtorrent's names: map_transport is the method, map_protocol TCP or UDP)
                    pm.protocol = m->map_transport == lt::portmap_transport::upnp ? "upnp" : "natpmp";
                    pm.transport = m->map_protocol == lt::portmap_protocol::tcp ? "tcp" : "udp";
                    pm.external_port = m->external_port;
                    rep.mappings.push_back(pm);
                    if (pm.transport == "tcp") tcp_done = true;
                } else if (auto* e = lt::alert_cast<lt::portmap_error_alert>(a)) {
                    MappedPort pm;
                    pm.protocol = e->map_transport == lt::portmap_transport::upnp ? "upnp" : "natpmp";
                    pm.transport = "";  // the error alert does not say which
                    pm.error = e->error.message();
                    rep.mappings.push_back(pm);
                }
            });
        bool mapped = std::any_of(rep.mappings.begin(), rep.mappings.end(), [](const MappedPort& m) { return m.error.empty(); });
        rep.port_mapping = mapped ? "mapped" : rep.mappings.empty() ? "no answer" : "failed";
    }
    std::array<std::uint8_t, 20> ih{};
    if (opts.info_hash) {
        std::copy_n(opts.info_hash->bytes.begin(), 20, ih.begin());  // v2 info-hashes travel truncated (BEP 52)
    } else {
        std::mt19937 rng(std::random_device{}());
        for (auto& b : ih) b = static_cast<std::uint8_t>(rng());
    }
    if (s) {
        // libtorrent refuses incoming connections (before any alert) in a session without an active torrent: the
        // probed torrent is added by its hash, in upload mode (it writes nothing), finding no peers of its own
        lt::add_torrent_params atp;
        lt::sha256_hash v2;
        if (opts.info_hash) v2 = to_lt(*opts.info_hash);
        else std::copy(ih.begin(), ih.end(), v2.begin());
        atp.info_hashes.v2 = v2;
        atp.name = "dvt-doctor";
        atp.save_path = (std::filesystem::temp_directory_path() / "dvt-doctor-unused").string();
        atp.flags |= lt::torrent_flags::upload_mode | lt::torrent_flags::disable_dht | lt::torrent_flags::disable_lsd |
                     lt::torrent_flags::disable_pex;
        try {
            s->add_torrent(std::move(atp));
        } catch (const Error&) {
        }
    }
    std::uint16_t port = rep.listen ? rep.listen->port() : 0;
    bool any_nat = false, all_none = !opts.peers.empty();
    for (const auto& peer : opts.peers) {
        auto pr = probe(peer, listen.address(), port, ih, opts.timeout);
        if (pr.wire.yourip) {
            const Address& seen = *pr.wire.yourip;
            bool ours = seen == listen.address() ||
                        std::find(rep.local_addresses.begin(), rep.local_addresses.end(), seen) != rep.local_addresses.end() ||
                        (seen.is_loopback() && listen.address().is_loopback());
            pr.nat = ours ? "none" : "nat";
            if (!ours) {
                any_nat = true;
                if (!rep.external) rep.external = seen;
            }
        }
        if (pr.nat != "none") all_none = false;
        rep.peers.push_back(std::move(pr));
    }
    rep.nat = any_nat ? "nat" : all_none ? "none" : "unknown";
    // the peers that know our listen port (they read our extension handshake) try to connect to it
    if (s) {
        std::set<Address> asked;
        std::map<Address, std::string> seen;  // the peer's address -> "tcp" or "utp" (its first connection back)
        for (const auto& pr : rep.peers)
            if (pr.wire.handshake && pr.wire.same_torrent) asked.insert(pr.peer.address());
        auto until = Clock::now() + std::min<std::chrono::milliseconds>(opts.timeout, std::chrono::seconds(5));
        while (!asked.empty() && seen.size() < asked.size() && Clock::now() < until)
            s->poll(std::chrono::milliseconds(100), [&](lt::alert* a) {
                if (auto* ic = lt::alert_cast<lt::incoming_connection_alert>(a))
                    if (asked.count(ic->endpoint.address()))
                        seen.try_emplace(ic->endpoint.address(),
                                         ic->socket_type == lt::socket_type_t::utp ? "utp" : "tcp");
            });
        for (auto& pr : rep.peers)
            if (pr.wire.handshake && pr.wire.same_torrent) {
                auto it = seen.find(pr.peer.address());
                pr.reached_us = it != seen.end();
                if (it != seen.end()) pr.reached_via = it->second;
            }
    }
    return rep;
}

}  // namespace dvt::transport
