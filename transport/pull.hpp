// Pulling: fetches a commit and the packs it names from peers, verifies everything, imports it, and (clone, pull)
// checks it out. docs/transport.md, "Pulling", describes each step and its verification. fetch() is in fetch.cpp (its
// torrents run in a Transfer, transfer.hpp; what arrives is checked by verify_received.hpp); the rest in pull.cpp.
//
// Contract:
//  - Nothing unverified enters .dvt/packs or .dvt/commits: data is downloaded into .dvt/tmp/pull-<id>/; the commit
//    bytes must hash to the requested id and decode; each pack must hash (BEP 52 merkle root) to the id the commit
//    names, have the length and index offset the commit names, a sound index and records that decode to their ids.
//    Then the version is checked whole (core::check_version over the verified packs and the store, restricted to the
//    packs the commit names: limits, trees, file objects, sizes, chunk lengths, names); a version that fails is
//    ErrorKind::corrupt and nothing of it is stored. Only
//    then are packs renamed into packs/ and indexed, and the commit file written (docs/format.md, "Write ordering").
//  - The deadline (opts.timeout) holds however many packs a commit names: at most Transfer::kMaxActive torrents are
//    added at once.
//  - On any failure, timeout or interruption the temp directory is removed and the repository is left as it was.
//  - Packs the repository already has are not fetched again.
//  - Nobody delivering the data before the timeout is ErrorKind::no_peers; a malformed commit id or peer address is
//    ErrorKind::usage; a listen failure ErrorKind::network.
//  - The repository write lock is held only while importing (and while moving refs), not while downloading.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/checkout.hpp"
#include "core/history.hpp"
#include "core/repository.hpp"
#include "transport/dht_options.hpp"
#include "transport/endpoint.hpp"
#include "transport/keys.hpp"
#include "transport/paths.hpp"

namespace dvt::transport {

class SwarmSession;  // transport/session.hpp

// A commit id given on the command line: 64 hex digits (either case), else ErrorKind::usage.
Hash32 parse_commit_id(std::string_view text);

// Thrown when PullOptions::interrupted() returns true (after the temp directory is removed).
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

struct PullProgress {
    std::uint64_t done = 0, total = 0;  // payload bytes received / to receive (commit + missing packs)
    int peers = 0;                      // connected peers, over all torrents
    bool have_commit = false;           // the commit is known (so `total` is final)
};

struct PullOptions {
    std::vector<Endpoint> peers;
    std::vector<std::string> trackers;          // announce URLs (checked with check_tracker_url)
    std::vector<std::string> web_seeds;         // mirror base URLs (docs/transport.md, "HTTP mirrors")
    DhtOptions dht;                             // find peers through the DHT (a commit id alone suffices)
    bool lsd = false;                           // find peers on the LAN (BEP 14, transport/lsd.hpp)
    NetOptions net;                             // uTP, port mapping (transport/reach.hpp)
    std::int64_t upload_limit = 0, download_limit = 0;  // bytes/s, 0 = unlimited (see SwarmSession::set_rate_limits)
    std::optional<Endpoint> listen;  // default: the local address routing to the first peer, any port
    std::vector<std::string> paths;  // pull: only these paths (and only their chunks cross the wire); empty = all
    // The commit's .torrent (dvt torrent): its info dict is then taken from this file (checked against the commit
    // id) instead of from a peer (ut_metadata), for peers that do not send it (BiglyBT). Empty: none.
    std::filesystem::path commit_torrent;
    std::chrono::milliseconds timeout = std::chrono::seconds(60);
    std::function<void(const PullProgress&)> progress;  // called about 4 times a second while receiving
    std::function<bool()> interrupted;                   // polled; true aborts with Interrupted
};

struct FetchResult {
    Hash32 id;
    objects::Commit commit;
    bool commit_fetched = false;       // false: the commit file was already present
    std::size_t packs_total = 0;       // packs the commit names, not counting its locator's (not part of the version)
    std::size_t packs_fetched = 0;     // of which were downloaded whole
    std::size_t packs_partial = 0;     // of which only the pieces holding what the version (or the paths) needs
    std::size_t objects_fetched = 0;   // objects verified and indexed from partial packs
    std::uint64_t bytes_fetched = 0;   // size of the files downloaded (commit + packs)
    std::uint64_t bytes_needed = 0;    // the commit file, pack headers and indexes, and records the fetch needed: the
                                       // bytes an exact byte-range fetch would move (bytes_downloaded less this: the
                                       // padding of records to whole pieces and dead records of packs fetched whole)
    std::uint64_t bytes_downloaded = 0;  // payload bytes received from peers
    std::uint64_t bytes_received = 0;    // everything received, protocol overhead included
    std::uint64_t bytes_uploaded = 0;    // payload bytes sent to other peers while this one downloaded
    std::uint64_t pieces_failed = 0;     // pieces received that failed their hash check (fetched again elsewhere)
    std::vector<std::string> peers_banned;  // peers libtorrent banned for sending them ("IP:PORT")
    double seconds = 0;                  // download time, verification included
    double transfer_seconds = 0;         // of which receiving (the rest: verifying the packs)
    double import_seconds = 0;           // moving the verified packs in and indexing them (under the write lock)
    std::vector<PathBytes> paths;        // payload bytes by peer and path (tcp, utp, mirror), as received
    bool port_mapped = false;            // the session asked the router for a port mapping (UPnP, NAT-PMP)
    int round_trip_ms = 0;               // longest connect round trip of a connection we opened that sent payload
    int request_queue_seconds = 1;       // libtorrent's request_queue_time as it followed that round trip
};

// True when the commit and every pack it names are present (a pack held in part: with every object the version needs):
// nothing to download.
bool have_everything(core::Repository& repo, const Hash32& id);

// Resolves `ref` of the repository published under `pk` through the DHT (opts.dht must be enabled), in a session
// of its own. Mirror URLs published with the record are returned in `web_seeds`. Throws not_found (no such ref),
// no_peers (no DHT node), usage.
Hash32 resolve_published(const PublicKey& pk, const std::string& ref, const PullOptions& opts,
                         std::vector<std::string>& web_seeds, const std::function<void(const std::string&)>& warn);

// True when the commit and every object under `paths` are present (a partial pull needs no peer).
bool have_paths(core::Repository& repo, const Hash32& id, const std::vector<std::string>& paths);

// The session a pull runs in: listening on opts.listen, else on the local address that routes to the first peer,
// tracker, mirror or bootstrap node (or to the LAN discovery group); with opts' rate limits and LAN discovery; in the
// DHT as a read-only node once a node has answered (waits up to min(opts.timeout, 30 s)). Throws usage when opts name
// no way to find peers or no address to listen on, network when listening fails, no_peers when no DHT node answers.
std::unique_ptr<SwarmSession> open_session(const PullOptions& opts);

// Fetches `id` into `repo` through `session` (whose alerts it consumes while running). Does not move refs or touch
// the work tree; the caller must make the commit reachable (a ref) before gc could drop it. `on_import`, if given,
// runs while the write lock is still held after the import (to set a ref atomically with it).
FetchResult fetch(SwarmSession& session, core::Repository& repo, const Hash32& id, const PullOptions& opts,
                  const std::function<void()>& on_import = {});

// The packs of version `c`: those its commit names, but not its locator's (docs/format.md, "Locator": that pack is a
// fetching aid, not part of the version; whole pulls do not fetch it).
std::size_t version_packs(const objects::Commit& c);

// Fetches the commit file `id` alone (from a mirror's commits/ path or by its torrent, as fetch() does), verified
// against its id and decoded; stores nothing (a pull across a gap uses it as proof of ancestry, then drops it). Adds
// the file's size to `bytes`. Throws no_peers when nobody delivers it before `deadline`, network when only mirrors
// were given and none has it, corrupt or unsupported for a file that does not decode, Interrupted.
objects::Commit fetch_commit_alone(SwarmSession& session, core::Repository& repo, const Hash32& id,
                                   const PullOptions& opts, std::chrono::steady_clock::time_point deadline,
                                   std::uint64_t& bytes);

struct CloneResult {
    std::filesystem::path root;
    FetchResult fetch;
    core::CheckoutResult checkout;
};

// dvt clone: creates DIR (which must not exist or be empty), initialises a repository marked as a clone of `id` in
// progress (core/clone_state.hpp), fetches, sets refs/heads/main to the commit, checks it out and removes the mark.
// A failure or interruption (Interrupted, no_peers, network, io, ...) keeps DIR when it holds something verified
// (pieces of packs in partial/ with their resume data, or the imported version), and says so in the error; else what
// was created is removed again, as is everything for a refused version (corrupt, unsupported). DIR holding the mark
// of the same commit is resumed: nothing verified is fetched again, the rest is, and the work tree is written (over
// what an interrupted checkout left). DIR holding the mark of another commit is a conflict.
CloneResult clone(const Hash32& id, const std::filesystem::path& dir, const PullOptions& opts);

// The commit of the interrupted clone in DIR (its mark), if any (nullopt also for an unreadable mark).
std::optional<Hash32> interrupted_clone(const std::filesystem::path& dir);

// Proving that a pulled commit descends from the branch's commit across commits this repository lacks (docs/transport.md,
// "Pull across a gap").
struct GapWalk {
    core::AncestryResult result;
    std::uint64_t bytes = 0;  // commit files fetched for the proof (dropped afterwards)
    double seconds = 0;
    std::string error;        // why commits could not be fetched (the first such error), if any
};

struct PullResult {
    FetchResult fetch;
    core::CheckoutResult checkout;
    bool fast_forward = false;  // HEAD's branch was moved to the commit (it descended from the branch head)
    std::optional<GapWalk> gap;  // set when the commits here did not show the branch's commit as an ancestor
};

// Limits of the walk across a gap: at most this many commit files fetched (or the pull's timeout, counted from the
// walk's start, whichever comes first) and ids queued (core::AncestryLimits).
constexpr std::size_t kMaxGapCommits = 10'000;
constexpr std::size_t kMaxGapIds = 1u << 18;
// ... and commits dated more than this before the branch's commit end their line of history (core::AncestryLimits::
// not_before): pulling an older version into a shallow clone does not fetch its whole history to find nothing.
constexpr std::int64_t kGapClockSlack = 24 * 3600;

// dvt pull: fetches into an existing repository, records the commit in refs/remotes/swarm/fetched, then checks
// it out: HEAD's branch is fast-forwarded when the commit descends from it (or the branch is unborn); otherwise
// HEAD is detached at the commit. Whether it descends is decided by the commits here, else by fetching the commit
// files between the two from the swarm (bounded; verified by id; not stored): the walk runs before the checkout, and
// a commit of that history which does not decode fails the pull (corrupt) with HEAD and the work tree untouched.
// Uncommitted changes in the way are a conflict unless `force`. Then runs the post-pull hook (core/hook_points.hpp).
PullResult pull(core::Repository& repo, const Hash32& id, const PullOptions& opts, bool force);

}  // namespace dvt::transport
