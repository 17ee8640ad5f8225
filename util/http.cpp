#include "util/http.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.hpp"

namespace dvt::util {

using Clock = std::chrono::steady_clock;

namespace {

int remaining_ms(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return ms < 0 ? 0 : static_cast<int>(ms);
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
    pollfd p{fd, events, 0};
    int r;
    do r = ::poll(&p, 1, remaining_ms(deadline));
    while (r < 0 && errno == EINTR);
    return r > 0;
}

}  // namespace

HttpResult http_get(const std::string& url, std::chrono::milliseconds timeout, std::uint64_t max_size) {
    HttpResult res;
    auto deadline = Clock::now() + timeout;
    if (!url.starts_with("http://")) {
        res.error = "only http:// mirrors are supported";
        return res;
    }
    std::string rest = url.substr(7);
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string host = hostport, port = "80";
    if (hostport.starts_with('[')) {
        auto close = hostport.find(']');
        host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
    } else if (auto c = hostport.rfind(':'); c != std::string::npos) {
        host = hostport.substr(0, c);
        port = hostport.substr(c + 1);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* ai = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &ai); rc != 0) {
        res.error = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
        return res;
    }
    Fd fd;
    for (addrinfo* p = ai; p && fd.get() < 0; p = p->ai_next) {
        int s = ::socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
        if (s < 0) continue;
        Fd guard(s);
        if (::connect(s, p->ai_addr, p->ai_addrlen) != 0 && errno != EINPROGRESS) {
            res.error = std::strerror(errno);
            continue;
        }
        if (!wait_fd(s, POLLOUT, deadline)) {
            res.error = "connection timed out";
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            res.error = std::strerror(err);
            continue;
        }
        fd = std::move(guard);
    }
    ::freeaddrinfo(ai);
    if (fd.get() < 0) {
        res.error = "cannot connect to " + hostport + ": " + res.error;
        return res;
    }
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nUser-Agent: dvt/" DVT_VERSION
                      "\r\nConnection: close\r\n\r\n";
    for (std::size_t off = 0; off < req.size();) {
        if (!wait_fd(fd.get(), POLLOUT, deadline)) {
            res.error = "timed out sending the request";
            return res;
        }
        ssize_t n = ::send(fd.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            res.error = std::strerror(errno);
            return res;
        }
        if (n > 0) off += static_cast<std::size_t>(n);
    }
    std::string data;
    char buf[65536];
    while (true) {
        if (!wait_fd(fd.get(), POLLIN, deadline)) {
            res.error = "timed out reading the answer";
            return res;
        }
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) {
            res.error = std::strerror(errno);
            return res;
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_size + 65536) {
            res.error = "answer larger than " + std::to_string(max_size) + " bytes";
            return res;
        }
    }
    auto head_end = data.find("\r\n\r\n");
    if (!data.starts_with("HTTP/1.") || head_end == std::string::npos || data.size() < 12) {
        res.error = "not an HTTP answer";
        return res;
    }
    res.status = std::atoi(data.substr(9, 3).c_str());
    std::string head = data.substr(0, head_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
        res.error = "chunked answers are not supported";
        res.status = 0;
        return res;
    }
    std::string body = data.substr(head_end + 4);
    if (body.size() > max_size) {
        res.error = "answer larger than " + std::to_string(max_size) + " bytes";
        res.status = 0;
        return res;
    }
    res.body.assign(body.begin(), body.end());
    if (res.status != 200) res.error = "HTTP status " + std::to_string(res.status);
    return res;
}

}  // namespace dvt::util
