#include "transport/http_endpoint.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "core/reader.hpp"
#include "transport/lazy_source.hpp"
#include "core/revision.hpp"
#include "util/error.hpp"

namespace dvt::transport {

using objects::EntryKind;

namespace {

constexpr int kMaxLinkHops = 8;
constexpr std::size_t kReaders = 8;       // versions with a reader (and its caches) at once
constexpr std::size_t kBlock = 1u << 20;  // bytes read per step of a body
constexpr std::size_t kKeepAliveRequests = 1000;  // per connection (cpp-httplib's default of 5 reconnects often)

const char* type_word(EntryKind k) {
    switch (k) {
        case EntryKind::file: return "file";
        case EntryKind::executable: return "executable";
        case EntryKind::symlink: return "symlink";
        case EntryKind::directory: return "directory";
    }
    return "file";
}

// `base` (a directory path of the version, "" for the root) joined with a relative symlink target, "." and ".."
// resolved; nullopt if the target is absolute or leaves the version.
std::optional<std::string> join_inside(const std::string& base, const std::string& target) {
    if (target.empty() || target.front() == '/') return std::nullopt;
    std::vector<std::string> parts;
    auto push = [&](std::string_view s) -> bool {
        std::size_t at = 0;
        while (at <= s.size()) {
            auto slash = s.find('/', at);
            std::string_view c = s.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
            if (c == "..") {
                if (parts.empty()) return false;
                parts.pop_back();
            } else if (!c.empty() && c != ".") {
                parts.emplace_back(c);
            }
            if (slash == std::string_view::npos) break;
            at = slash + 1;
        }
        return true;
    };
    if (!push(base) || !push(target)) return std::nullopt;
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
    return out;
}

int status_of(const Error& e) {
    switch (e.kind()) {
        case ErrorKind::corrupt: return 500;
        case ErrorKind::no_peers: return 504;  // asked, no peer delivered in time
        case ErrorKind::not_found:  // an object the repository lacks and no source could give
        case ErrorKind::network: return 502;
        default: return 500;
    }
}

}  // namespace

struct HttpEndpoint::Impl {
    core::Repository& repo;
    httplib::Server server;
    Endpoint local;
    std::thread thread;

    std::mutex mutex;  // the repository's refs and the readers
    std::list<std::pair<Hash32, std::shared_ptr<core::VersionReader>>> readers;  // most recent first

    std::shared_ptr<LazySource> lazy;

    Impl(core::Repository& r, std::shared_ptr<LazySource> l) : repo(r), lazy(std::move(l)) {}

    std::shared_ptr<core::VersionReader> reader(const Hash32& id) {
        std::lock_guard lock(mutex);
        for (auto it = readers.begin(); it != readers.end(); ++it)
            if (it->first == id) {
                readers.splice(readers.begin(), readers, it);
                return readers.front().second;
            }
        auto c = repo.store().read_commit(id);  // verified
        if (!c && lazy) c = lazy->add_commit(id);  // from the peers: verified, the version checked
        if (!c) return nullptr;
        readers.emplace_front(id, std::make_shared<core::VersionReader>(repo.store(), *c));
        if (readers.size() > kReaders) readers.pop_back();
        return readers.front().second;
    }

    void fail(const httplib::Request& req, httplib::Response& res, int status, const std::string& line) {
        // cpp-httplib 0.11 applies the request's Range to any body, an error page too (a 416 instead of the error);
        // an error page is no part of the file, so the ranges go (the Request is the server's own, not const)
        const_cast<httplib::Request&>(req).ranges.clear();
        res.status = status;
        res.set_content(line + "\n", "text/plain; charset=utf-8");
    }

    void handle(const httplib::Request& req, httplib::Response& res) {
        try {
            serve_path(req, res);
        } catch (const Error& e) {
            fail(req, res, status_of(e), e.what());
        } catch (const std::exception& e) {
            fail(req, res, 500, e.what());
        }
    }

    void serve_path(const httplib::Request& req, httplib::Response& res) {
        // "/<rev>/<rest>" (req.path is percent-decoded; req.target is as sent)
        std::string_view path = req.path;
        if (path.empty() || path.front() != '/') return fail(req, res, 400, "bad request path");
        path.remove_prefix(1);
        auto slash = path.find('/');
        std::string rev(path.substr(0, slash));
        std::string rest = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash + 1));
        if (rev.empty()) return fail(req, res, 404, "no version named: GET /<commit>/<path>");
        auto id = Hash32::from_hex(rev);
        if (!id) {  // a branch, tag or short id: redirect to the commit id, which never changes
            Hash32 resolved;
            try {
                std::lock_guard lock(mutex);
                resolved = core::resolve_commit(repo, rev);
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::not_found || e.kind() == ErrorKind::usage)
                    return fail(req, res, 404, e.what());
                throw;
            }
            std::string target = req.target.substr(1);
            auto s = target.find('/');
            res.set_redirect("/" + resolved.hex() + (s == std::string::npos ? "/" : target.substr(s)), 307);
            res.set_header("Cache-Control", "no-cache");
            return;
        }
        auto rd = reader(*id);
        if (!rd) return fail(req, res, 404, "no such commit here: " + rev);
        const bool want_dir = rest.empty() || rest.back() == '/';
        std::optional<core::ReaderEntry> e = rd->lookup(rest);
        std::string at = rest;
        while (!at.empty() && at.back() == '/') at.pop_back();
        for (int hops = 0; e && e->kind == EntryKind::symlink; ++hops) {
            auto base = at.rfind('/') == std::string::npos ? std::string() : at.substr(0, at.rfind('/'));
            auto next = hops < kMaxLinkHops ? join_inside(base, e->target) : std::nullopt;
            if (!next) return fail(req, res, 404, "symlink leads outside the version: " + rest);
            at = *next;
            e = rd->lookup(at);
        }
        if (!e) return fail(req, res, 404, "no such path in " + rev + ": " + rest);
        res.set_header("Cache-Control", "public, max-age=31536000, immutable");
        if (e->kind == EntryKind::directory) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto& c : rd->list(at)) {
                nlohmann::json j{{"name", c.name}, {"type", type_word(c.kind)}, {"size", c.size}};
                j["id"] = c.kind == EntryKind::symlink ? nlohmann::json(nullptr) : nlohmann::json(c.id.hex());
                if (c.kind == EntryKind::symlink) j["target"] = c.target;
                entries.push_back(std::move(j));
            }
            nlohmann::json out{{"commit", rev}, {"path", at}, {"entries", std::move(entries)}};
            res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
            return;
        }
        if (want_dir) return fail(req, res, 404, "not a directory in " + rev + ": " + rest);
        const std::string etag = "\"" + e->id.hex() + "\"";
        res.set_header("ETag", etag);
        res.set_header("Accept-Ranges", "bytes");
        if (req.get_header_value("If-None-Match") == etag) {
            res.status = 304;
            return;
        }
        // a first read before the headers go out: a file whose data is missing or damaged at its start is an
        // error status, not a short body
        if (e->size > 0) {
            std::uint8_t probe[1];
            std::uint64_t first = 0;
            if (!req.ranges.empty() && req.ranges.front().first > 0)
                first = std::min<std::uint64_t>(static_cast<std::uint64_t>(req.ranges.front().first), e->size - 1);
            rd->read(*e, first, probe);
        }
        auto entry = std::make_shared<core::ReaderEntry>(std::move(*e));
        res.set_content_provider(
            static_cast<std::size_t>(entry->size), "application/octet-stream",
            [rd, entry](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                try {
                    Bytes buf(std::min(length, kBlock));
                    std::size_t n = rd->read(*entry, offset, buf);
                    if (n == 0) return false;
                    if (!sink.write(reinterpret_cast<const char*>(buf.data()), n)) return false;
                    return true;
                } catch (...) {
                    return false;  // the connection closes: a short body, never other bytes
                }
            });
    }
};

HttpEndpoint::HttpEndpoint(core::Repository& repo, const Endpoint& listen, std::shared_ptr<LazySource> lazy)
    : m(std::make_unique<Impl>(repo, lazy)) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { m->handle(req, res); };
    m->server.Get(".*", handler);
    // an idle kept-alive connection holds a worker until this runs out, and stopping the server (SIGTERM) joins the
    // workers: short, so `dvt serve` ends within about 2 s whatever its clients keep open
    m->server.set_keep_alive_timeout(2);
    // Small writes (headers, then the body in steps) must not wait for the client's delayed ACK: with Nagle's
    // algorithm on, a keep-alive connection stalled ~40 ms per response (7 MB/s for 100 KB files, data local)
    m->server.set_tcp_nodelay(true);
    m->server.set_keep_alive_max_count(kKeepAliveRequests);
    const std::string host = listen.address().to_string();
    int port = listen.port();
    bool ok = port == 0 ? (port = m->server.bind_to_any_port(host)) > 0 : m->server.bind_to_port(host, port);
    if (!ok) throw Error(ErrorKind::network, "cannot listen for HTTP on " + endpoint_string(listen));
    m->local = Endpoint(listen.address(), static_cast<unsigned short>(port));
    if (lazy) repo.store().set_source(lazy);
    m->thread = std::thread([this] { m->server.listen_after_bind(); });
}

HttpEndpoint::~HttpEndpoint() {
    m->server.stop();
    if (m->thread.joinable()) m->thread.join();
    if (m->lazy) m->repo.store().set_source(nullptr);
}

Endpoint HttpEndpoint::local() const { return m->local; }

}  // namespace dvt::transport
