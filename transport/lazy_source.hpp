// LazySource: an objects::ObjectSource that fetches what the local store lacks from peers, on demand (#18: the mount
// and the HTTP endpoint read versions the repository does not hold; docs/transport.md, "Lazy reads").
//
// Contract:
//  - add_commit(id) makes a version readable: the commit (from the store, else from the peers: verified against its id,
//    decoded, format checked), the header and index of every pack it names that is not complete here (fetched as the
//    pieces holding them into partial/, registered as partial packs), every tree of those packs (verified, indexed),
//    then the version checked as a pull checks it (core::check_version over the packs it names, file objects and
//    chunks not required). Only then is the commit written (and recorded in refs/remotes/swarm/fetched, so gc keeps
//    what was fetched). A version that fails is ErrorKind::corrupt and its commit is not written.
//  - fetch(ids) fetches the records of `ids` that lie in a pack of a commit added, as the pieces holding them (and
//    then the bases of delta records, round by round), through one long-lived libtorrent session, verifies each
//    against its id (verify_objects) and hands them to the store (add_verified_objects): the store owns every write.
//    Ids it does not know are left alone (the reader gets not_found). Each call waits at most `timeout`, then throws
//    ErrorKind::no_peers; what it wanted stays wanted only until the next call (a later read retries, and reconnects
//    to the peers named).
//  - fetch_ahead(ids, ahead): fetch(ids), and the records of `ahead` (a reader's read-ahead hint) wanted in the
//    background: their pieces at lower priority than those of any fetch, while no call waits for them, at most 64 MiB
//    of records at once (the oldest hints go first). Each call (even one whose `ids` are all here) also verifies and
//    indexes the hinted records whose pieces have all arrived meanwhile (not delta records: a read fetches their
//    chains), so a sequential reader's next round finds its chunks here or on their way.
//  - Fetched pieces stay in partial/ and are seeded by the session while it lives (and by `dvt serve`).
//  - cache_size (0: unbounded): once the records fetched (or hinted: their pieces land whether read or not) by this
//    source exceed it, the partial packs this source
//    filled are emptied (their files removed, their objects forgotten) before the next fetch; the commit, the pack
//    indexes and trees are fetched again on demand. Packs complete here are never touched.
//  - Holds the repository's pull lock while it lives (one pull or lazy source at a time; gc leaves partial/ alone).
//  - Thread-safe: add_commit and fetch may be called from several threads (calls are serialised).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/repository.hpp"
#include "objects/object_source.hpp"
#include "transport/pull.hpp"

namespace dvt::transport {

struct LazyOptions {
    PullOptions pull;             // peers, trackers, mirrors, DHT, listen; `timeout` bounds each fetch
    std::uint64_t cache_size = 0;  // bytes of fetched records kept in partial packs; 0 = unbounded
};

struct LazyStats {
    std::uint64_t fetches = 0;           // fetch() calls that fetched something
    std::uint64_t failures = 0;          // fetch() calls that failed (timeout, corrupt data)
    std::uint64_t objects_fetched = 0;   // objects verified and indexed
    std::uint64_t objects_read_ahead = 0;  // of those, hinted records verified once their pieces had arrived
    std::uint64_t bytes_verified = 0;    // bytes of the records verified
    std::uint64_t bytes_downloaded = 0;  // payload bytes received from peers
    std::uint64_t evictions = 0;         // times the cache was emptied (cache_size)
};

class LazySource : public objects::ObjectSource {
public:
    // Opens the session (open_session(opts.pull)) and takes the pull lock (ErrorKind::conflict if a pull holds it).
    LazySource(core::Repository& repo, LazyOptions opts);
    ~LazySource() override;
    LazySource(const LazySource&) = delete;
    LazySource& operator=(const LazySource&) = delete;

    objects::Commit add_commit(const Hash32& id);
    void fetch(const std::vector<Hash32>& ids) override;
    void fetch_ahead(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead) override;
    LazyStats stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> m;
};

}  // namespace dvt::transport
