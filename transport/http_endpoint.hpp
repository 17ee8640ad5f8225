// The HTTP endpoint of `dvt serve --http IP:PORT` (#18; docs/transport.md, "HTTP endpoint"): versions of a
// repository over HTTP/1.1 for anything that takes URLs (curl, WebDataset, fsspec's http, a browser). cpp-httplib
// serves; every byte goes through core::VersionReader, so it was verified against its id.
//
//   GET|HEAD /<commit>/<path>   a file's bytes: Range (one or several ranges; 206), ETag "<file id>", If-None-Match
//                               (304), Accept-Ranges, immutable caching; a symlink serves what it points to inside
//                               the version (relative targets only, at most 8 links), else 404
//   GET /<commit>/<dir>[/]      a directory as JSON: {"commit", "path", "entries": [{"name", "type", "size", "id",
//                               "target"}]} (`GET /<commit>/` is the root)
//   GET /<rev>/<path>           a branch, tag or short id: 307 to /<commit id>/<path> (not cached)
// Errors: 404 (no such commit or path; a body of one line), 400 (a path that cannot name anything), 500 (data that
// does not verify), 502 (data a peer could not give). A failure after the headers went out (a chunk that turns out
// damaged in the middle of a large body) closes the connection early: the client sees a short body, never other bytes.
//
// With a LazySource (`dvt serve --http ... --peer ...`, transport/lazy_source.hpp), a commit this repository lacks is
// fetched with its metadata on its first request (LazySource::add_commit), and the source is the store's while the
// endpoint lives: what the repository lacks is fetched from peers on demand, every byte verified; a read no peer
// serves within the timeout is 504 (502 when nobody could be asked).
//
// Contract: the constructor binds (ErrorKind::network if it cannot) and serves on threads of its own until the
// destructor, which stops and joins them. Requests are served concurrently; nothing takes the repository lock.
#pragma once

#include <memory>

#include "core/repository.hpp"
#include "transport/endpoint.hpp"

namespace dvt::transport {

class LazySource;  // transport/lazy_source.hpp

class HttpEndpoint {
public:
    HttpEndpoint(core::Repository& repo, const Endpoint& listen, std::shared_ptr<LazySource> lazy = nullptr);
    ~HttpEndpoint();
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    Endpoint local() const;  // the address and port listened on (the real port when 0 was asked for)

    struct Impl;

private:
    std::unique_ptr<Impl> m;
};

}  // namespace dvt::transport
