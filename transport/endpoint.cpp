#include "transport/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "util/error.hpp"
#include "util/http.hpp"

namespace dvt::transport {

Endpoint parse_endpoint(std::string_view text, std::string_view what, bool allow_port_zero) {
    auto bad = [&](const std::string& why) -> Error {
        return Error(ErrorKind::usage, std::string(what) + " '" + std::string(text) + "' " + why +
                                           " (expected IPv4:PORT or [IPv6]:PORT)");
    };
    std::string_view host, port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw bad("is not an address");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw bad("has no port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) throw bad("is not an address (write IPv6 as [addr]:port)");
    }
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535)
        throw bad("has an invalid port");
    if (p == 0 && !allow_port_zero) throw bad("has port 0");
    boost::system::error_code aec;
    Address addr = boost::asio::ip::make_address(std::string(host), aec);
    if (aec || host.empty()) throw bad("is not an IP address");
    if (text.starts_with('[') != addr.is_v6()) throw bad("is not an address");
    if (addr.is_unspecified()) throw bad("is a wildcard; give an explicit IP");
    return Endpoint(addr, static_cast<std::uint16_t>(p));
}

Endpoint parse_listen_address(std::string_view text, bool port_required) {
    if (port_required) return parse_endpoint(text, "listen address", true);
    bool no_port = text.find(':') == std::string_view::npos || (text.starts_with('[') && text.ends_with(']'));
    std::string with_port = std::string(text) + (no_port ? ":0" : "");
    try {
        return parse_endpoint(with_port, "listen address", true);
    } catch (const Error& e) {  // name what the user wrote (not the ":0" added here) and what a port-less form is
        std::string msg = e.what();
        if (auto at = msg.find("'" + with_port + "'"); at != std::string::npos)
            msg.replace(at, with_port.size() + 2, "'" + std::string(text) + "'");
        const std::string hint = "(expected IPv4:PORT or [IPv6]:PORT)";
        if (auto at = msg.rfind(hint); at != std::string::npos)
            msg.replace(at, hint.size(), "(expected IPv4, IPv4:PORT, [IPv6] or [IPv6]:PORT)");
        throw Error(e.kind(), msg);
    }
}

Endpoint parse_http_address(std::string_view text) {
    const bool port_only = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    return parse_endpoint(port_only ? "127.0.0.1:" + std::string(text) : std::string(text), "HTTP address", true);
}

std::string endpoint_string(const Endpoint& ep) {
    std::string a = ep.address().to_string();
    if (ep.address().is_v6()) a = "[" + a + "]";
    return a + ":" + std::to_string(ep.port());
}

Address local_address_towards(const Endpoint& peer) {
    int fd = ::socket(peer.address().is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(ErrorKind::network, std::string("cannot create a socket: ") + std::strerror(errno));
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (peer.address().is_v6()) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(peer.port());
        auto b = peer.address().to_v6().to_bytes();
        std::memcpy(&s6->sin6_addr, b.data(), 16);
        len = sizeof(sockaddr_in6);
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(peer.port());
        auto b = peer.address().to_v4().to_bytes();
        std::memcpy(&s4->sin_addr, b.data(), 4);
        len = sizeof(sockaddr_in);
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
              ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0;
    int saved = errno;
    ::close(fd);
    if (!ok)
        throw Error(ErrorKind::network, "no route to peer " + endpoint_string(peer) + ": " + std::strerror(saved));
    if (local.ss_family == AF_INET6) {
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 16);
        return boost::asio::ip::address_v6(b);
    }
    boost::asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 4);
    return boost::asio::ip::address_v4(b);
}

std::int64_t parse_rate(std::string_view text, std::string_view what) {
    std::string t(text);
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(t, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = t.substr(used);
    static const std::pair<const char*, double> units[] = {
        {"", 1},   {"k", 1e3},     {"K", 1e3},        {"M", 1e6}, {"G", 1e9}, {"Ki", 1024.0}, {"Mi", 1048576.0},
        {"Gi", 1073741824.0}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}};
    double mult = 0;
    for (const auto& [u, m] : units)
        if (unit == u) mult = m;
    if (used == 0 || mult == 0 || !(v >= 0) || v * mult > 1e13)
        throw Error(ErrorKind::usage, std::string(what) + " '" + t + "' is not a rate (bytes/s, e.g. 20M or 500k)");
    return static_cast<std::int64_t>(v * mult);
}

std::string check_mirror_url(std::string_view url) {
    if (!util::is_http_url(url))
        throw Error(ErrorKind::usage, "mirror '" + std::string(url) + "' is not an http:// or https:// URL");
    return std::string(url);
}

std::string check_tracker_url(std::string_view url) {
    std::string u(url);
    auto scheme_end = u.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : u.substr(0, scheme_end);
    std::string rest = scheme_end == std::string::npos ? "" : u.substr(scheme_end + 3);
    if ((scheme != "http" && scheme != "https" && scheme != "udp") || rest.empty() || rest[0] == '/' ||
        rest.find_first_of(" \t\n") != std::string::npos)
        throw Error(ErrorKind::usage, "tracker '" + u + "' is not a tracker URL (http://HOST:PORT/announce or udp://HOST:PORT)");
    return u;
}

std::optional<Address> tracker_address(std::string_view url) {
    auto b = url.find("://");
    if (b == std::string_view::npos) return std::nullopt;
    std::string_view rest = url.substr(b + 3);
    rest = rest.substr(0, rest.find('/'));
    std::string host;
    if (rest.starts_with('[')) host = std::string(rest.substr(1, rest.find(']') - 1));
    else host = std::string(rest.substr(0, rest.rfind(':')));
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(host, ec);
    if (ec) return std::nullopt;
    return a;
}

}  // namespace dvt::transport
