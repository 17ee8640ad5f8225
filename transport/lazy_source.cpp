// LazySource (transport/lazy_source.hpp): the records a read needs, fetched as the pieces holding them through one
// long-lived Transfer over the packs of the commits added, verified, and handed to the object store.
#include "transport/lazy_source.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>

#include "core/named_packs.hpp"
#include "core/version.hpp"
#include "objects/limits.hpp"
#include "objects/locator.hpp"
#include "objects/torrent_id.hpp"
#include "transport/scan_extent.hpp"
#include "transport/session.hpp"
#include "transport/transfer.hpp"
#include "transport/verify_received.hpp"
#include "util/error.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

struct LazyPack {
    objects::PackRef ref;
    std::uint32_t piece = 0;
    std::int64_t num = 0;           // its row (partial), once its torrent is added
    bool created = false;           // this source registered it (the cache may empty it)
    Item* item = nullptr;           // its torrent, once added
    std::vector<bool> wanted;       // the pieces asked of it last (empty: none)
    std::vector<std::uint8_t> ahead;  // the priorities of the read-ahead pieces asked of it last (empty: none)
    bool indexed = false;           // its index read (its records are in `where`)
};

// A version read through its locator (docs/format.md, "Locator"): the directories whose extents were fetched.
struct LocatedVersion {
    objects::Locator loc;
    std::vector<LazyPack*> by_pos;  // the locator's packs (nullptr: complete here, its objects indexed)
    std::set<std::size_t> trees, files;  // dirs whose tree extents / file-object extents (with their chunk packs'
                                         // indexes) were fetched
};

// How long the lazy source waits for a version's locator (its pack's index and the record) before it goes on through
// the pack indexes: peers that seed later versions, or that pulled this one whole, do not have the locator's pack.
constexpr auto kLocatorWait = std::chrono::seconds(10);

// A record a reader hinted it will need (ObjectSource::fetch_ahead): its pieces are wanted in the background.
struct Hinted {
    LazyPack* pack;
    objects::PackEntry entry;
};

// Bytes of hinted records whose pieces are wanted at once (the oldest go first when more are hinted): a reader hints
// its next 32 MiB (core::VersionReader::Limits::background_bytes), so this holds two readers' windows.
constexpr std::uint64_t kBackgroundBytes = 64u << 20;

}  // namespace

struct LazySource::Impl {
    core::Repository& repo;
    objects::ObjectStore& store;
    LazyOptions opts;
    util::Fd pull_lock;
    std::unique_ptr<SwarmSession> session;
    std::unique_ptr<Transfer> transfer;
    std::recursive_mutex mutex;
    std::map<Hash32, LazyPack> packs;                                   // by pack id
    std::map<Hash32, std::pair<LazyPack*, objects::PackEntry>> where;   // object id -> its record
    std::set<Hash32> commits;                                           // added
    std::set<Hash32> by_locator;  // commits opened through their locator (their version is checked as it is read)
    std::map<Hash32, std::vector<LazyPack*>> version_packs;  // commit -> its packs not complete here (not the locator's)
    std::map<Hash32, std::unique_ptr<LocatedVersion>> located;  // commit -> its locator
    // the directory of each tree and file object met in the trees read of a version with a locator
    std::map<Hash32, std::pair<LocatedVersion*, std::string>> dir_of_tree, dir_of_file;
    std::deque<Hinted> background;  // hinted records not verified yet, oldest (nearest to the reader) first
    std::set<Hash32> hinted;        // their ids
    std::uint64_t background_bytes = 0;
    LazyStats stats;
    std::uint64_t cached = 0;
    Hash32 label;
    Clock::time_point next_reconnect;
    struct Failure {
        Clock::time_point at;
        ErrorKind kind;
        std::string message;
    };
    std::optional<Failure> failed;  // the last fetch, if it failed  // bytes of records this source verified into partial packs since the last eviction

    Impl(core::Repository& r, LazyOptions o) : repo(r), store(r.store()), opts(std::move(o)) {
        pull_lock = store.lock_pull();
        session = open_session(opts.pull);
        // A seeder that went away and comes back is connected to again within about a second: libtorrent would wait
        // min_reconnect_time (60 s) times the failures, and forget the peer after max_failcount (3) refusals. This
        // session is the source's own, so the settings touch no other torrent.
        lt::settings_pack sp;
        sp.set_int(lt::settings_pack::min_reconnect_time, 1);
        sp.set_int(lt::settings_pack::max_failcount, 1 << 20);
        session->native().apply_settings(sp);
        // ... and while a read waits for a pack no peer serves (a peer may have refused it while it was starting
        // up), the peers named are asked again every second (run() calls `progress` every status interval)
        opts.pull.progress = [this](const PullProgress&) {
            if (Clock::now() < next_reconnect) return;
            next_reconnect = Clock::now() + std::chrono::seconds(1);
            for (auto& [id, p] : packs)
                if (p.item && !p.item->done && p.item->peers == 0)
                    for (const auto& ep : opts.pull.peers) p.item->handle.connect_peer(ep);
        };
    }

    // `label`: the commit its timeout messages name (the first one added)
    void new_transfer(const Hash32& name) {
        auto now = Clock::now();
        transfer = std::make_unique<Transfer>(*session, name, opts.pull, now, now + opts.pull.timeout);
        transfer->set_status_interval(std::chrono::milliseconds(20));
    }

    ~Impl() {
        try {
            if (transfer) {
                transfer->close();
                stats.bytes_downloaded = static_cast<std::uint64_t>(transfer->traffic().payload);
            }
        } catch (...) {
        }
    }

    void add_torrent(LazyPack& p) {
        Item it;
        it.name = objects::pack_torrent_name(p.ref.id);
        it.id = p.ref.id;
        it.length = p.ref.length;
        it.kick_when_checked = true;
        it.resume = store.resume_path(p.ref.id);
        it.file = store.partial_path(p.ref.id);
        auto atp = pack_fetch_params(store, p.ref, opts.pull.web_seeds, Clock::now() + opts.pull.timeout);
        // nothing until asked (a pack whose index this source reads first)
        atp.piece_priorities.assign(static_cast<std::size_t>((p.ref.length + p.piece - 1) / p.piece), lt::dont_download);
        p.item = &transfer->add(std::move(it), std::move(atp));
        p.wanted.clear();
        // registered after pack_fetch_params, which forgets the rows of a partial pack without resume data
        p.num = store.add_partial_pack(p.ref).num;
    }

    // The priorities of the pieces of the hinted records (1-3: the nearest third of the background window 3, the
    // next 2, the rest 1), per pack.
    std::map<LazyPack*, std::vector<std::uint8_t>> background_priorities() const {
        std::map<LazyPack*, std::vector<std::uint8_t>> out;
        std::uint64_t at = 0;
        for (const auto& h : background) {
            auto& prio = out[h.pack];
            if (prio.empty()) prio.assign(static_cast<std::size_t>((h.pack->ref.length + h.pack->piece - 1) / h.pack->piece), 0);
            const std::uint8_t level = at * 3 < background_bytes ? 3 : at * 3 < 2 * background_bytes ? 2 : 1;
            const std::uint64_t off = h.entry.offset, len = objects::kRecordHeaderSize + h.entry.stored_len;
            for (std::uint64_t q = off / h.pack->piece; q <= (off + len - 1) / h.pack->piece && q < prio.size(); ++q)
                prio[q] = std::max(prio[q], level);
            at += len;
        }
        return out;
    }

    // Whether every piece of `want` is present in `p` (one status call; false without a torrent or metadata).
    static bool has_pieces(const LazyPack& p, const std::vector<bool>& want) {
        if (!p.item || !p.item->handle.is_valid()) return false;
        auto st = p.item->handle.status(lt::torrent_handle::query_pieces);
        if (!st.has_metadata) return false;
        for (std::size_t q = 0; q < want.size(); ++q)
            if (want[q] && (static_cast<int>(q) >= st.pieces.size() || !st.pieces.get_bit(lt::piece_index_t(static_cast<int>(q)))))
                return false;
        return true;
    }

    // Fetches the pieces holding `ranges` of each pack (only those: other packs want nothing but the pieces of the
    // hinted records, in the background), within the timeout. No round when they are all here already (the
    // read-ahead brought them).
    void fetch_ranges(const std::map<LazyPack*, std::vector<std::pair<std::uint64_t, std::uint64_t>>>& ranges,
                      std::optional<Clock::time_point> until = std::nullopt) {
        auto bg = background_priorities();
        bool wait = false;
        for (auto& [id, p] : packs) {
            auto r = ranges.find(&p);
            std::vector<bool> want = r == ranges.end() ? std::vector<bool>{}
                                                       : pieces_for(r->second, p.ref.length, p.piece);
            auto b = bg.find(&p);
            std::vector<std::uint8_t> ahead = b == bg.end() ? std::vector<std::uint8_t>{} : std::move(b->second);
            if (want != p.wanted || ahead != p.ahead) {
                if (!p.item) add_torrent(p);
                transfer->want(*p.item,
                               want.empty() ? std::vector<bool>(static_cast<std::size_t>((p.ref.length + p.piece - 1) / p.piece))
                                            : want,
                               p.piece, ahead);
                p.wanted = want;
                p.ahead = std::move(ahead);
            }
            if (!want.empty() && !has_pieces(p, want)) {
                wait = true;
                // a peer that went away and came back: connect again now, not at libtorrent's next retry (a minute)
                for (const auto& ep : opts.pull.peers) p.item->handle.connect_peer(ep);
            }
        }
        if (!wait) return;
        auto now = Clock::now();
        transfer->set_deadline(now, until ? std::min(*until, now + opts.pull.timeout) : now + opts.pull.timeout);
        transfer->run(0, 0, true);
    }

    // Records a reader expects to need (ObjectSource::fetch_ahead): wanted in the background from the next
    // fetch_ranges on. Counted against cache_size as they are asked for (their pieces land on disk whether or not
    // they are read).
    void hint(const std::vector<Hash32>& ids) {
        for (const auto& id : ids) {
            if (hinted.count(id)) continue;
            auto w = where.find(id);
            if (w == where.end()) continue;
            background.push_back(Hinted{w->second.first, w->second.second});
            hinted.insert(id);
            const std::uint64_t len = objects::kRecordHeaderSize + w->second.second.stored_len;
            background_bytes += len;
            if (w->second.first->created) cached += len;
        }
        while (background_bytes > kBackgroundBytes) drop_front();
    }

    void drop_front() {
        background_bytes -= objects::kRecordHeaderSize + background.front().entry.stored_len;
        hinted.erase(background.front().entry.id);
        background.pop_front();
    }

    // The hinted records whose pieces are all here: verified and indexed without a round of their own (delta records
    // wait for a read: their bases may not be here). One that does not verify is left out (a read of it fails then).
    void harvest(const objects::RecordFinder& find) {
        std::map<LazyPack*, lt::typed_bitfield<lt::piece_index_t>> have;
        std::map<LazyPack*, std::vector<objects::PackEntry>> ready;
        std::deque<Hinted> keep;
        std::uint64_t kept = 0;
        for (const auto& h : background) {
            LazyPack* p = h.pack;
            auto hv = have.find(p);
            if (hv == have.end()) {
                lt::typed_bitfield<lt::piece_index_t> bits;
                if (p->item && p->item->handle.is_valid()) {
                    auto st = p->item->handle.status(lt::torrent_handle::query_pieces);
                    if (st.has_metadata) bits = st.pieces;
                }
                hv = have.emplace(p, std::move(bits)).first;
            }
            const std::uint64_t off = h.entry.offset, len = objects::kRecordHeaderSize + h.entry.stored_len;
            bool here = hv->second.size() > 0;
            for (std::uint64_t q = off / p->piece; here && q <= (off + len - 1) / p->piece; ++q)
                here = static_cast<int>(q) < hv->second.size() && hv->second.get_bit(lt::piece_index_t(static_cast<int>(q)));
            if (!here) {
                keep.push_back(h);
                kept += len;
                continue;
            }
            hinted.erase(h.entry.id);
            if (!objects::is_delta(h.entry.compression) && !store.has(h.entry.id)) ready[p].push_back(h.entry);
        }
        background = std::move(keep);
        background_bytes = kept;
        for (auto& [p, entries] : ready) {
            try {
                std::uint64_t bytes = verify_objects(store.partial_path(p->ref.id), p->ref, entries, &find);
                store.add_verified_objects(p->num, entries);
                stats.bytes_verified += bytes;
                stats.objects_fetched += entries.size();
                stats.objects_read_ahead += entries.size();
            } catch (const Error&) {
                // not indexed: the read that needs one of them fetches it again, and fails if it does not verify
            }
        }
    }

    int fd_of(std::map<Hash32, util::Fd>& fds, const LazyPack& p) {
        auto& fd = fds[p.ref.id];
        if (!fd) fd = util::open_read(store.partial_path(p.ref.id));
        return fd.get();
    }

    // Fetches, verifies and indexes the records of `ids` known from the packs' indexes (and the bases of delta
    // records among them, round by round). Ids unknown or here already are skipped.
    void fetch_records(const std::vector<Hash32>& ids) {
        std::vector<Hash32> round_ids = ids;
        std::map<LazyPack*, std::vector<objects::PackEntry>> todo;
        std::set<Hash32> seen;
        std::vector<std::pair<LazyPack*, objects::PackEntry>> round;
        {
            std::vector<Hash32> unknown;
            for (const auto& id : ids)
                if (!where.count(id) && !store.has(id)) unknown.push_back(id);
            // the file objects of a directory found through its extents come with the one asked for (their pieces
            // are here): a read ahead into the next files of the directory needs them
            if (!unknown.empty()) for (const auto& id : locate(unknown)) round_ids.push_back(id);
        }
        for (const auto& id : round_ids) {
            if (!seen.insert(id).second || store.has(id)) continue;
            auto w = where.find(id);
            if (w == where.end()) continue;
            round.push_back(w->second);
        }
        std::map<Hash32, util::Fd> fds;
        objects::RecordFinder find = [&](const Hash32& id) -> std::optional<objects::RecordAt> {
            if (auto r = store.record_at(id)) return r;
            auto w = where.find(id);
            if (w == where.end()) return std::nullopt;
            return objects::RecordAt{fd_of(fds, *w->second.first), w->second.second,
                                     "pack " + w->second.first->ref.id.hex() + " received from the swarm"};
        };
        if (round.empty()) {
            if (!background.empty()) {  // a hint alone: ask for its pieces, take what arrived
                fetch_ranges({});
                harvest(find);
            }
            return;
        }
        if (opts.cache_size && cached > opts.cache_size) evict();
        std::map<LazyPack*, std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges;
        for (int depth = 0; !round.empty(); ++depth) {
            if (depth > objects::kMaxDeltaDepth) throw Error(ErrorKind::corrupt, "delta chains longer than the limit");
            for (const auto& [p, e] : round) {
                ranges[p].emplace_back(e.offset, objects::kRecordHeaderSize + e.stored_len);
                todo[p].push_back(e);
            }
            fetch_ranges(ranges);
            std::vector<std::pair<LazyPack*, objects::PackEntry>> next;
            for (const auto& item : round) {
                const objects::PackEntry& e = item.second;
                if (!objects::is_delta(e.compression)) continue;
                LazyPack* p = item.first;
                Hash32 b = with_settle_retries([&] {
                    return objects::record_delta_base(fd_of(fds, *p), e, "pack " + p->ref.id.hex() + " received from the swarm");
                });
                if (!seen.insert(b).second) continue;
                if (auto have = store.locate(b)) {
                    try {
                        store.delta_chain(*have);  // complete here
                        continue;
                    } catch (const Error& err) {
                        if (err.kind() != ErrorKind::not_found) throw;
                    }
                }
                auto w = where.find(b);
                if (w == where.end() && !located.empty()) {  // read through a locator: maybe in a pack not indexed yet
                    index_all();
                    w = where.find(b);
                }
                if (w == where.end())
                    throw Error(ErrorKind::corrupt, "no pack holds base " + b.hex() + " of delta chunk " + e.id.hex());
                if (w->second.second.type != objects::ObjectType::chunk || w->second.second.depth + 1 != e.depth)
                    throw Error(ErrorKind::corrupt, "delta chunk " + e.id.hex() + " names base " + b.hex() +
                                                        " of another depth or type");
                next.push_back(w->second);
            }
            round = std::move(next);
        }
        // bases first: verify_objects of a pack reads the chains through `find` (bases here or in other partial files)
        for (auto& [p, entries] : todo) {
            std::uint64_t bytes = verify_objects(store.partial_path(p->ref.id), p->ref, entries, &find);
            store.add_verified_objects(p->num, entries);
            stats.bytes_verified += bytes;
            stats.objects_fetched += entries.size();
            if (p->created) {
                for (const auto& e : entries)  // a hinted record was counted when it was asked for
                    if (!hinted.count(e.id)) cached += objects::kRecordHeaderSize + e.stored_len;
            }
        }
        ++stats.fetches;
        for (const auto& id : ids) expand(id);
        harvest(find);
    }

    // Empties the partial packs this source registered (cache_size): their torrents go, then their files and rows;
    // they are registered again, empty, and fetched anew on demand.
    void evict() {
        transfer->close();
        stats.bytes_downloaded += static_cast<std::uint64_t>(transfer->traffic().payload);
        std::vector<Hash32> ids;
        for (auto& [id, p] : packs)
            if (p.created) ids.push_back(id);
        store.forget_partial_packs(ids);
        for (const auto& id : ids) {
            std::error_code ec;
            fs::remove(store.partial_path(id), ec);
            fs::remove(store.resume_path(id), ec);
        }
        store.forget_open_packs();  // row numbers may be given again to the packs registered anew
        new_transfer(label);
        for (auto& [id, p] : packs) {
            p.item = nullptr;  // registered again when it is asked for something (add_torrent)
            p.wanted.clear();
            p.ahead.clear();
        }
        background.clear();  // their pieces went with the files
        hinted.clear();
        background_bytes = 0;
        cached = 0;
        ++stats.evictions;
    }

    // The header and index of each pack of `ps` not read yet: their records go into `where`. Returns the ids of the
    // trees and file objects among them.
    std::vector<Hash32> index_packs(const std::vector<LazyPack*>& ps, std::optional<Clock::time_point> until = std::nullopt) {
        std::map<LazyPack*, std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges;
        for (LazyPack* p : ps) {
            if (p->indexed) continue;
            ranges[p].emplace_back(0, objects::kPackHeaderSize);
            ranges[p].emplace_back(p->ref.index_offset, p->ref.length - p->ref.index_offset);
        }
        std::vector<Hash32> meta;
        if (ranges.empty()) return meta;
        fs::create_directories(store.partial_dir());
        fetch_ranges(ranges, until);
        for (auto& [p, r] : ranges) {
            util::Fd fd = util::open_read(store.partial_path(p->ref.id));
            objects::PackIndex pi = with_settle_retries(
                [&] { return objects::read_pack_index(fd.get(), "pack " + p->ref.id.hex() + " received from the swarm"); });
            if (pi.length != p->ref.length || pi.index_offset != p->ref.index_offset)
                throw Error(ErrorKind::corrupt, "pack " + p->ref.id.hex() + ": its index differs from what the commit names");
            for (const auto& e : pi.entries) {
                where.emplace(e.id, std::make_pair(p, e));
                if (e.type == objects::ObjectType::tree || e.type == objects::ObjectType::file) meta.push_back(e.id);
            }
            p->indexed = true;
        }
        return meta;
    }

    LazyPack& lazy_pack(const objects::PackRef& ref) {
        auto it = packs.find(ref.id);
        if (it != packs.end()) return it->second;
        LazyPack p;
        p.ref = ref;
        p.piece = objects::pack_piece_length(ref.length);
        p.created = !store.pack_by_id(ref.id);
        return packs.emplace(ref.id, std::move(p)).first->second;
    }

    // Ids neither here nor in `where`: through the locator of a version read that way, the extents of the directory
    // an id belongs to (a tree: the directory's tree extents; a file object: its directory's file-object extents,
    // and the indexes of the packs its chunk extents name, for the chunks read next), in one round; what that does
    // not find (or an id of no directory met), through the index of every pack of the versions added.
    std::vector<Hash32> locate(const std::vector<Hash32>& ids) {
        std::vector<Hash32> files;  // the file objects found in a directory's file-object extents
        // trees of a located version that came here without this source (the repository held them): their entries
        for (bool more = true; more;) {
            more = false;
            for (auto it = dir_of_tree.begin(); it != dir_of_tree.end() && !more; ++it)
                if (store.has(it->first)) {
                    expand(it->first);  // erases it
                    more = true;
                }
        }
        std::map<LazyPack*, std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges;
        std::vector<LazyPack*> indexes;
        struct Scan {
            LocatedVersion* v;
            const objects::LocatorDir* dir;
            objects::LocatorExtent x;
        };
        std::vector<Scan> scans;
        std::set<std::tuple<LocatedVersion*, std::size_t, bool>> now;  // the dirs' extents read in this call
        bool fallback = false;
        for (const auto& id : ids) {
            auto t = dir_of_tree.find(id);
            auto f = t == dir_of_tree.end() ? dir_of_file.find(id) : dir_of_file.end();
            if (t == dir_of_tree.end() && f == dir_of_file.end()) {
                fallback = true;
                continue;
            }
            const bool tree = t != dir_of_tree.end();
            LocatedVersion* v = tree ? t->second.first : f->second.first;
            const objects::LocatorDir* d = v->loc.find(tree ? t->second.second : f->second.second);
            if (!d) {
                fallback = true;
                continue;
            }
            const std::size_t k = static_cast<std::size_t>(d - v->loc.dirs.data());
            if (!(tree ? v->trees : v->files).insert(k).second) {
                if (!now.count({v, k, tree})) fallback = true;  // its extents were read before, and do not hold it
                continue;
            }
            now.emplace(v, k, tree);
            for (const auto& x : d->extents) {
                LazyPack* p = v->by_pos[x.pack];
                if (!p) continue;  // complete here: its objects are indexed
                if (tree ? x.type == objects::ObjectType::tree : x.type == objects::ObjectType::file) {
                    scans.push_back(Scan{v, d, x});
                    ranges[p].emplace_back(x.offset, x.length);
                } else if (!tree && x.type == objects::ObjectType::chunk && !p->indexed) {
                    indexes.push_back(p);
                }
            }
        }
        for (LazyPack* p : indexes) {
            ranges[p].emplace_back(0, objects::kPackHeaderSize);
            ranges[p].emplace_back(p->ref.index_offset, p->ref.length - p->ref.index_offset);
        }
        if (!ranges.empty()) {
            fs::create_directories(store.partial_dir());
            fetch_ranges(ranges);
            index_packs(indexes);  // here now: no round
            std::map<Hash32, util::Fd> fds;
            for (const auto& sc : scans) {
                LazyPack* p = sc.v->by_pos[sc.x.pack];
                const std::string what = "pack " + p->ref.id.hex() + " received from the swarm";
                std::vector<objects::PackEntry> recs;
                with_settle_retries([&] {
                    recs.clear();
                    scan_extent(fd_of(fds, *p), sc.x, *sc.dir, what, recs);
                });
                // full records only (trees and file objects are never deltas); the id is the hash of the bytes, so
                // an extent that points elsewhere leads to other objects, never to wrong bytes for an id
                for (const auto& e : recs) {
                    if (objects::is_delta(e.compression)) continue;
                    where.emplace(e.id, std::make_pair(p, e));
                    if (e.type == objects::ObjectType::file && sc.x.type == objects::ObjectType::file) files.push_back(e.id);
                }
            }
        }
        for (const auto& id : ids)
            if (!fallback && !where.count(id) && !store.has(id)) fallback = true;
        if (fallback) index_all();
        return files;
    }

    // The index of every pack of the versions added (what a locator does not lead to is found through them).
    void index_all() {
        std::vector<LazyPack*> all;
        for (const auto& [c, ps] : version_packs) all.insert(all.end(), ps.begin(), ps.end());
        index_packs(all);
    }

    // A tree of a version with a locator, here now: its subdirectories' trees and its files' objects are known to
    // belong to those directories (locate() finds them through their extents).
    void expand(const Hash32& id) {
        auto t = dir_of_tree.find(id);
        if (t == dir_of_tree.end() || !store.has(id)) return;
        auto [v, path] = t->second;
        dir_of_tree.erase(t);  // expanded once
        expanded_trees.insert(id);
        objects::Tree tree = store.read_tree(id);  // verified, decoded (names and order checked)
        for (const auto& e : tree.entries) {
            if (e.kind == objects::EntryKind::directory) {
                if (!expanded_trees.count(e.id)) dir_of_tree.emplace(e.id, std::make_pair(v, path.empty() ? e.name : path + "/" + e.name));
            } else if (e.kind == objects::EntryKind::file || e.kind == objects::EntryKind::executable) {
                dir_of_file.emplace(e.id, std::make_pair(v, path));
            }
        }
    }
    std::set<Hash32> expanded_trees;

    // Through the version's locator: its record (found through its pack's index; that pack is not part of the
    // version and a peer may lack it: waited for at most kLocatorWait); the trees then come through their
    // directories' extents as they are read (locate). False (and nothing of it used) when no peer delivers the
    // locator in time.
    bool open_by_locator(const Hash32& id, const objects::Commit& c) {
        const auto& ref = *c.locator;
        if (!store.has(ref.id)) {
            auto at = std::find_if(c.packs.begin(), c.packs.end(), [&](const objects::PackRef& p) { return p.id == ref.pack; });
            if (at == c.packs.end()) throw Error(ErrorKind::corrupt, "its locator is not in a pack it names");
            if (auto info = store.pack_by_id(ref.pack); info && !info->partial)
                throw Error(ErrorKind::corrupt, "its locator is not in the pack it names");
            LazyPack& lp = lazy_pack(*at);
            const auto until = Clock::now() + kLocatorWait;
            try {
                index_packs({&lp}, until);
                auto w = where.find(ref.id);
                if (w == where.end() || w->second.first != &lp || w->second.second.type != objects::ObjectType::chunk ||
                    objects::is_delta(w->second.second.compression))
                    throw Error(ErrorKind::corrupt, "its locator is not in the pack it names");
                const objects::PackEntry e = w->second.second;
                fetch_ranges({{&lp, {{e.offset, objects::kRecordHeaderSize + e.stored_len}}}}, until);
                stats.bytes_verified += verify_objects(store.partial_path(lp.ref.id), lp.ref, {e});
                store.add_verified_objects(lp.num, {e});
                ++stats.objects_fetched;
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::no_peers) throw;
                fetch_ranges({});  // nothing of that pack wanted any more
                return false;
            }
        }
        auto v = std::make_unique<LocatedVersion>();
        v->loc = objects::Locator::decode(store.read(ref.id), c.packs);
        for (const auto& pid : v->loc.packs) {
            auto it = packs.find(pid);
            v->by_pos.push_back(it == packs.end() ? nullptr : &it->second);
        }
        LocatedVersion* lv = v.get();
        located[id] = std::move(v);
        // every pack of the version in the session now, nothing of it wanted: its peers are connected by the time a
        // read wants some of it (a torrent added then waited a round or two for its connection); and here at least as
        // a partial pack with its sparse file, as a pull through a locator leaves it (fsck, later pulls)
        fs::create_directories(store.partial_dir());
        for (LazyPack* p : version_packs.at(id))
            if (!p->item) {
                add_torrent(*p);
                transfer->want(*p->item, std::vector<bool>(static_cast<std::size_t>((p->ref.length + p->piece - 1) / p->piece)),
                               p->piece);
                extend_partial(store, p->ref);
            }
        dir_of_tree.emplace(c.tree, std::make_pair(lv, std::string()));  // the root: its tree extents
        // Trees that are a small part of the version (at most 1/1000 of its bytes: 0.04 % in the reference data)
        // come all at once, in one round through every directory's tree extents: a lookup then never waits, and
        // add_commit checks the version whole. Many small files make trees large (a third of the metadata in
        // directories of a few hundred 1-2 KiB files): they then come directory by directory, as read (locate).
        std::uint64_t tree_bytes = 0;
        for (const auto& d : lv->loc.dirs)
            for (const auto& x : d.extents)
                if (x.type == objects::ObjectType::tree) tree_bytes += x.length;
        all_trees = tree_bytes <= c.bytes / 1000;
        if (!all_trees) return true;
        std::map<LazyPack*, std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges;
        std::vector<std::pair<const objects::LocatorDir*, objects::LocatorExtent>> scans;
        for (std::size_t k = 0; k < lv->loc.dirs.size(); ++k) {
            lv->trees.insert(k);
            for (const auto& x : lv->loc.dirs[k].extents)
                if (LazyPack* p = lv->by_pos[x.pack]; p && x.type == objects::ObjectType::tree) {
                    scans.emplace_back(&lv->loc.dirs[k], x);
                    ranges[p].emplace_back(x.offset, x.length);
                }
        }
        std::vector<Hash32> trees;
        if (!ranges.empty()) {
            fetch_ranges(ranges);
            std::map<Hash32, util::Fd> fds;
            for (const auto& [d, x] : scans) {
                LazyPack* p = lv->by_pos[x.pack];
                std::vector<objects::PackEntry> recs;
                with_settle_retries([&] {
                    recs.clear();
                    scan_extent(fd_of(fds, *p), x, *d, "pack " + p->ref.id.hex() + " received from the swarm", recs);
                });
                for (const auto& e : recs)
                    if (!objects::is_delta(e.compression) && e.type == objects::ObjectType::tree) {
                        where.emplace(e.id, std::make_pair(p, e));
                        trees.push_back(e.id);
                    }
            }
        }
        fetch_records(trees);  // verified and indexed (their pieces are here)
        // from the root down, each tree here (one the extents did not hold: through the pack indexes), and the
        // directory of each of its entries known (locate() finds a file object through its directory's extents)
        std::vector<Hash32> todo{c.tree};
        std::set<Hash32> seen;
        while (!todo.empty()) {
            Hash32 t = todo.back();
            todo.pop_back();
            if (!seen.insert(t).second) continue;
            if (seen.size() > objects::kMaxVersionEntries) throw Error(ErrorKind::corrupt, "more directories than a version may hold");
            if (!store.has(t)) fetch_records({t});
            if (!store.has(t)) continue;  // the version check (add_commit) names it
            expand(t);
            for (const auto& e : store.read_tree(t).entries)
                if (e.kind == objects::EntryKind::directory) todo.push_back(e.id);
        }
        return true;
    }
    bool all_trees = false;  // open_by_locator fetched every tree of the version

    // The commit; with a locator (and a peer that has it) that locator, else the indexes of its packs not complete
    // here and every tree and file object in them (add_commit then checks the version whole).
    objects::Commit open_commit(const Hash32& id) {
        if (!transfer) {
            label = id;
            new_transfer(id);
        }
        std::optional<objects::Commit> c = store.read_commit(id);
        std::optional<Bytes> fetched;
        if (!c) {
            std::uint64_t bytes = 0;
            auto deadline = Clock::now() + opts.pull.timeout;
            c = fetch_commit_alone(*session, repo, id, opts.pull, deadline, bytes);  // verified, decoded
            fetched = c->encode();  // decode accepts only the canonical encoding: the same bytes
            if (objects::commit_id_of(*fetched) != id)
                throw Error(ErrorKind::internal, "commit " + id.hex() + " does not encode to its own bytes");
        }
        if (version_packs.count(id)) return *c;
        std::set<Hash32> complete;
        for (const auto& info : store.packs())
            if (!info.partial) complete.insert(info.ref.id);
        std::vector<LazyPack*> ps;
        for (const auto& ref : c->packs) {
            if (complete.count(ref.id)) continue;
            // not the locator's pack: nothing of the version is in it, and peers of later versions lack it
            // (docs/format.md, "Locator")
            if (c->locator && ref.id == c->locator->pack) continue;
            ps.push_back(&lazy_pack(ref));
        }
        version_packs[id] = ps;
        if (c->locator) {
            try {
                if (open_by_locator(id, *c)) {
                    if (!all_trees) by_locator.insert(id);  // checked as it is read (else whole, by add_commit)
                    return *c;
                }
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::corrupt)
                    throw Error(ErrorKind::corrupt, "commit " + id.hex() + ": " + e.what() + " (its locator)");
                throw;
            }
        }
        fetch_records(index_packs(ps));
        return *c;
    }
};

LazySource::LazySource(core::Repository& repo, LazyOptions opts) : m(std::make_unique<Impl>(repo, std::move(opts))) {}

LazySource::~LazySource() = default;

objects::Commit LazySource::add_commit(const Hash32& id) {
    objects::Commit c;
    bool had, located;
    {
        std::lock_guard lock(m->mutex);
        had = m->store.has_commit(id);
        c = m->open_commit(id);
        if (m->commits.count(id)) return c;
        located = m->by_locator.count(id) > 0;
    }
    // outside the lock: reading the trees may ask this source (through the store) for objects
    try {
        if (located) {
            // through its locator the version is checked as it is read (core::VersionReader checks each tree and
            // file object it reads against the limits, sizes against entries, chunk lengths): its root tree now
            fetch({c.tree});  // the store may not have this source yet
            (void)m->store.read_tree(c.tree);
        } else {
            core::StoreObjects in_store(m->store);
            core::NamedPackObjects objs(in_store, m->store, c);
            core::VersionCheckOptions o;
            o.require_chunks = false;
            o.require_files = false;
            core::check_version(objs, c, o);
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::corrupt || e.kind() == ErrorKind::not_found)
            throw Error(ErrorKind::corrupt, "commit " + id.hex() + " is refused: " + e.what());
        throw;
    }
    std::lock_guard lock(m->mutex);
    if (!had) {
        auto w = m->repo.write_lock();
        m->repo.accept_commit_format(c.format);
        m->store.write_commit(id, c.encode());
        for (const auto& parent : c.parents)
            if (!m->store.has_commit(parent)) {
                m->repo.add_shallow(id);
                break;
            }
        auto old = m->repo.refs().read("refs/remotes/swarm/fetched");
        if (old != id) m->repo.refs().update("refs/remotes/swarm/fetched", old, id, "lazy read: " + id.hex());
    }
    m->commits.insert(id);
    return c;
}

void LazySource::fetch(const std::vector<Hash32>& ids) { fetch_ahead(ids, {}); }

void LazySource::fetch_ahead(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead) {
    std::lock_guard lock(m->mutex);
    if (!ahead.empty()) {
        if (m->opts.cache_size && m->cached > m->opts.cache_size) m->evict();
        m->hint(ahead);
    }
    // The reads queued behind one that just timed out (the store serialises them; the kernel sends several at once)
    // fail at once rather than one timeout after the other; a read after kFailFast tries the peers again.
    constexpr auto kFailFast = std::chrono::milliseconds(300);
    if (m->failed && Clock::now() - m->failed->at < kFailFast) throw Error(m->failed->kind, m->failed->message);
    try {
        m->fetch_records(ids);
        m->failed.reset();
    } catch (const Error& e) {
        ++m->stats.failures;
        m->failed = Impl::Failure{Clock::now(), e.kind(), e.what()};
        throw;
    } catch (...) {
        ++m->stats.failures;
        throw;
    }
}

LazyStats LazySource::stats() const {
    std::lock_guard lock(m->mutex);
    LazyStats s = m->stats;
    if (m->transfer) {
        m->transfer->update_status();  // what the read-ahead received since the last round
        s.bytes_downloaded += static_cast<std::uint64_t>(m->transfer->traffic().payload);
    }
    return s;
}

}  // namespace dvt::transport
