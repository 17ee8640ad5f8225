// Remotes: named sets of peers and trackers in the repository config (docs/transport.md, "Remotes").
//
//   [remote]
//       origin.peers = 127.0.0.2:7001 127.0.0.3:7001
//       origin.trackers = http://127.0.0.1:6969/announce
//       origin.url = dvt://<public key>            (optional; also .mirrors, .bootstrap)
//
// Names follow ref-name rules for one component (letters, digits, '-', '_', '.'; not starting with '.').
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/repository.hpp"
#include "transport/pull.hpp"
#include "transport/endpoint.hpp"

namespace dvt::transport {

struct Remote {
    std::string name;
    std::string url;                     // "dvt://<public key>" of a published repository, or empty
    std::vector<Endpoint> peers;
    std::vector<std::string> trackers;
    std::vector<std::string> mirrors;    // http:// or https:// mirror base URLs (web seeds)
    std::vector<std::string> bootstrap;  // DHT bootstrap nodes for this remote
};

// Throws ErrorKind::usage for a malformed name, ErrorKind::not_found if NAME is not configured, ErrorKind::corrupt if
// the saved values do not parse.
Remote load_remote(const core::Config& c, const std::string& name);
void save_remote(core::Config& c, const Remote& r);  // replaces; throws usage for a malformed name
void remove_remote(core::Config& c, const std::string& name);
std::vector<Remote> list_remotes(const core::Config& c);

// The remote a command uses when none is named: "origin", when it is saved with somewhere to fetch from that the
// command can use — peers or trackers, or also mirrors when `mirrors_count` (dvt pull counts them; dvt pin does not,
// since dvt.lock holds only peers and trackers). nullopt otherwise. Throws nothing.
std::optional<std::string> default_remote(const core::Config& c, bool mirrors_count);

using Say = std::function<void(const std::string&)>;

// What `dvt pull` was asked: the arguments, parsed except where they depend on the repository.
struct PullRequest {
    // "[REMOTE] COMMIT" as given (COMMIT: 64 hex digits or dvt://KEY). Empty: in a clone of a dvt:// repository,
    // origin's published branch; otherwise the commit, dataset directory and peers pinned in dvt.lock.
    std::vector<std::string> positional;
    std::string branch = "main";      // --branch: the published branch of a dvt:// address
    std::filesystem::path dir;        // -C (empty: the current directory)
    std::vector<std::string> paths;   // "-- PATHS" as given, relative to `dir`
    PullOptions options;              // from the command line: peers, trackers, mirrors, --bootstrap/--dht, --lsd,
                                      // limits, timeout, listen (progress / interrupted are passed through)
    // Opens the repository in a directory (the caller's lock-timeout and lock-wait reporting apply).
    std::function<std::unique_ptr<core::Repository>(const std::filesystem::path&)> open;
    Say info, warn;
};

struct PullSource {
    std::unique_ptr<core::Repository> repo;  // the repository pulled into
    Hash32 id;                               // the commit to pull
    PullOptions options;                     // everything transport::pull needs (paths repository-relative)
};

// Where `dvt pull` fetches from, in this order (docs/transport.md, "Remotes", "Signed refs"; docs/hooks.md):
//  1. no commit given and no dvt.lock around `dir`: origin's URL and branch (remote.origin.url / .branch), if the
//     repository has them;
//  2. still none: dvt.lock (hooks::lock_file_path): its commit and dataset directory (initialised as an empty
//     repository when it has none yet, reported through `info`); its peers and trackers unless the command line
//     named some. No dvt.lock either is ErrorKind::usage;
//  3. the named REMOTE, else origin (default_remote, with mirrors) when the command line named no peer or tracker:
//     its peers, trackers, mirrors and bootstrap nodes are added (a remote with a URL also turns on the DHT);
//  4. the DHT from the config (dht.bootstrap) when nothing turned it on, LAN discovery from config lsd.enabled;
//  5. a dvt:// address: its branch resolved through the DHT (transport::resolve_published; warnings to `warn`),
//     with the mirrors the record names.
// Throws usage (a malformed commit id, peer or lock file; no way to choose a commit), not_a_repository, not_found
// (no such remote or published ref), corrupt (a remote that does not parse), no_peers (no DHT node answered).
PullSource resolve_pull_source(PullRequest req);

// dvt clone: `source` is a commit id (64 hex digits) or dvt://KEY, whose `branch` is resolved through the DHT first
// (with the mirrors its record names). `fetching` is called once the commit is known, right before the fetch starts
// (the command blocks its signals there: the DHT lookup before stays interruptible the ordinary way). Then
// transport::clone(id, dir, opts); a dvt:// source is saved as remote "origin" (its URL, the peers, trackers,
// mirrors and bootstrap nodes used, and remote.origin.branch) so that `dvt pull` follows it.
// Throws as resolve_published and clone do; usage when `opts` name no way to find peers.
CloneResult clone_from(const std::string& source, const std::filesystem::path& dir, const std::string& branch,
                       PullOptions opts, const Say& warn, const std::function<void()>& fetching = {});

}  // namespace dvt::transport
