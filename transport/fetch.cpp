// fetch(): a commit and the packs it names, from peers and mirrors, verified, then handed to the object store.
// The steps (docs/transport.md, "Pulling"): the commit (fetch_commit), the packs whole or only the pieces under some
// paths (fetch_packs, fetch_partial_packs), the version checked whole (check_received), the import under the write
// lock (import).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/load_torrent.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/torrent_info.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "core/tree.hpp"
#include "objects/locator.hpp"
#include "core/version.hpp"
#include "core/named_packs.hpp"
#include "objects/limits.hpp"
#include "objects/torrent_id.hpp"
#include "transport/pull.hpp"
#include "transport/scan_extent.hpp"
#include "transport/transfer.hpp"
#include "transport/verify_received.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/http.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

// Largest commit file a puller accepts (docs/format.md, "Limits").
using objects::kMaxCommitSize;

// .dvt/tmp/pull-<id>/: locked with flock on the directory itself against a concurrent pull of the same commit;
// stale contents (a killed earlier run) are cleared. The directory is removed when the object is destroyed.
class PullDir {
public:
    PullDir(const fs::path& tmp_root, const Hash32& id) : m_path(tmp_root / ("pull-" + id.hex())) {
        for (int attempt = 0; attempt < 10; ++attempt) {
            std::error_code ec;
            fs::create_directories(m_path, ec);
            if (ec) throw Error(ErrorKind::io, "cannot create " + m_path.string() + ": " + ec.message());
            int fd = ::open(m_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                if (errno == ENOENT) continue;  // removed by the pull that held it: try again
                throw_errno("cannot open " + m_path.string());
            }
            util::Fd guard(fd);
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                if (errno == EWOULDBLOCK)
                    throw Error(ErrorKind::conflict,
                                "another pull of commit " + id.hex() + " into this repository is in progress");
                throw_errno("cannot lock " + m_path.string());
            }
            struct stat a, b;
            if (::fstat(fd, &a) != 0 || ::stat(m_path.c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
                continue;  // we locked a directory that was removed in between
            m_fd = std::move(guard);
            std::vector<fs::path> stale;
            std::error_code lec;
            for (fs::directory_iterator it(m_path, lec), end; !lec && it != end; it.increment(lec))
                stale.push_back(it->path());
            if (lec) throw_error_code(lec, "cannot list " + m_path.string());
            for (const auto& p : stale)
                if (fs::remove_all(p, lec); lec) throw_error_code(lec, "cannot remove " + p.string());
            return;
        }
        throw Error(ErrorKind::conflict, "cannot take " + m_path.string() + " (concurrent pulls of the same commit)");
    }
    ~PullDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    PullDir(const PullDir&) = delete;
    PullDir& operator=(const PullDir&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
    util::Fd m_fd;
};

lt::add_torrent_params pack_params(const objects::PackRef& p) {
    // A torrent made of the info dictionary alone: libtorrent fetches the piece layers from peers (BEP 52 hash
    // requests) and checks them against the pieces root, which is the pack id.
    Bytes t;
    put_str(t, "d4:info");
    Bytes info = objects::info_dict(objects::pack_torrent_name(p.id), p.length, p.id, objects::pack_piece_length(p.length));
    t.insert(t.end(), info.begin(), info.end());
    t.push_back('e');
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(t.data()), static_cast<std::ptrdiff_t>(t.size())});
    } catch (const std::exception& e) {  // a length no torrent can have: the commit names something impossible
        throw Error(ErrorKind::corrupt, "the commit names pack " + p.id.hex() + " of " + std::to_string(p.length) +
                                            " bytes, which no torrent can hold (" + e.what() + ")");
    }
    if (!atp.ti || from_lt(atp.ti->info_hashes().v2) != objects::pack_info_hash(p.id, p.length))
        throw Error(ErrorKind::internal, "libtorrent's info-hash for pack " + p.id.hex() + " differs from dvt's");
    return atp;
}

}  // namespace

// The torrent of a pack being fetched into partial/: from its resume data when an earlier pull left some (pieces it
// verified are not fetched again), else from the info dict alone.
lt::add_torrent_params pack_fetch_params(objects::ObjectStore& store, const objects::PackRef& p,
                                         const std::vector<std::string>& web_seeds, Clock::time_point deadline) {
    auto fresh = pack_params(p);
    auto expected = fresh.ti->info_hashes();
    if (auto text = util::try_read_text(store.resume_path(p.id))) {
        lt::error_code ec;
        auto atp = lt::read_resume_data({text->data(), static_cast<std::ptrdiff_t>(text->size())}, ec);
        if (!ec && atp.ti && atp.ti->info_hashes() == expected) {
            atp.save_path = store.partial_dir().string();
            atp.peers.clear();
            atp.trackers.clear();
            atp.tracker_tiers.clear();
            atp.url_seeds.clear();
            atp.piece_priorities.clear();  // a partial pull saved its own; this pull sets what it wants
            atp.file_priorities.clear();
            atp.flags &= ~(lt::torrent_flags::seed_mode | lt::torrent_flags::upload_mode | lt::torrent_flags::share_mode);
            return atp;
        }
    }
    std::error_code ec;
    // nothing trustworthy says which of its pieces are good (a pull killed before it first saved them): the file goes,
    // and with it the rows of the objects an earlier pull verified in it (they would point at bytes no longer there)
    store.forget_partial_packs({p.id});
    fs::remove(store.partial_path(p.id), ec);
    fresh.save_path = store.partial_dir().string();
    // A mirror also serves the pack's .torrent (with its piece layer), which a web seed alone cannot supply; it is
    // used only if it describes exactly this pack (same info-hash; libtorrent checks the layer against the root).
    for (const auto& w : web_seeds) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= std::chrono::milliseconds(0)) break;  // the transfer reports the timeout
        std::string base = w.ends_with('/') ? w : w + "/";
        auto r = util::http_get(base + "packs/" + p.id.hex() + ".torrent",
                                std::min<std::chrono::milliseconds>(std::chrono::seconds(10), left), 1 << 20);
        if (r.status != 200) continue;
        try {
            auto atp = lt::load_torrent_buffer(
                {reinterpret_cast<const char*>(r.body.data()), static_cast<std::ptrdiff_t>(r.body.size())});
            if (atp.ti && atp.ti->info_hashes() == expected) {
                atp.save_path = fresh.save_path;
                atp.trackers.clear();
                atp.url_seeds.clear();
                return atp;
            }
        } catch (const std::exception&) {
        }
    }
    return fresh;
}

std::vector<bool> pieces_for(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges, std::uint64_t length,
                             std::uint32_t piece) {
    std::vector<bool> out(static_cast<std::size_t>((length + piece - 1) / piece), false);
    for (const auto& [off, len] : ranges) {
        if (len == 0) continue;
        for (std::uint64_t p = off / piece; p <= (off + len - 1) / piece && p < out.size(); ++p) out[p] = true;
    }
    return out;
}

namespace {

struct PackFetch {
    objects::PackRef ref;
    Item* item = nullptr;
    std::uint32_t piece = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // byte ranges wanted so far
    std::vector<objects::PackEntry> entries;                      // its index (partial pulls)
    std::int64_t num = 0;                                         // its row (partial pulls)
    std::uint32_t pos = 0;                                        // its position in the commit's pack list (2a)
    bool whole = false;  // a whole-version fetch chose to fetch this pack whole (most of it is live)
    bool must_be_whole = false;  // it holds an object the version needs that is here only in a pack the commit does
                                 // not name (the index keeps one row per object, so a partial copy could not hold it)
};

// How long a pull of some paths waits for the locator's pack (its index and the locator record) before it goes on
// through the pack indexes (docs/transport.md, "Pulling"): peers that seed later versions do not have it.
constexpr auto kLocatorWait = std::chrono::seconds(10);

// A whole-version fetch takes a pack whole when the pieces holding what the version needs, with those here already,
// are at least this share of its pieces, else only the pieces it needs (docs/transport.md, "Pulling", step 4). A pack fetched whole is verified by its
// merkle root in one pass and installed complete (seeded whole); one fetched in part costs a check per object and
// stays partial. Above 7/8 the pieces a partial fetch saves are at most 1/8 of the pack.
constexpr std::uint64_t kWholeNum = 7, kWholeDen = 8;

// The bytes covered by `ranges` (overlaps counted once).
std::uint64_t range_bytes(std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges) {
    std::sort(ranges.begin(), ranges.end());
    std::uint64_t total = 0, end = 0;
    for (const auto& [off, len] : ranges) {
        std::uint64_t a = std::max(off, end), b = off + len;
        if (b > a) total += b - a;
        end = std::max(end, b);
    }
    return total;
}

// What the steps of one fetch share.
struct Fetch {
    SwarmSession& session;
    core::Repository& repo;
    objects::ObjectStore& store;
    const Hash32& id;
    const PullOptions& opts;
    Clock::time_point start, deadline;
    const PullDir& dir;
    FetchResult& res;
    Traffic traffic;
    bool kick = false;  // fetch_commit: start connecting at once (fetch_commit_alone)
    bool by_locator = false;  // a partial pull found everything through the version's locator (2a)
};

// A commit's .torrent given by the user (PullOptions::commit_torrent): read bounded, loaded by libtorrent, accepted
// only if its v2 info-hash is the commit id and it describes one file named dvt-commit within the commit size limit.
lt::add_torrent_params commit_torrent_params(const fs::path& file, const Hash32& id) {
    constexpr std::uint64_t kMaxCommitTorrent = 4 << 20;  // a 16 MiB commit's torrent holds a 32 KiB piece layer
    util::Fd fd = util::open_read(file);
    if (util::file_size(fd.get()) > kMaxCommitTorrent)
        throw Error(ErrorKind::usage, file.string() + " is too large to be a commit's .torrent");
    Bytes b = util::read_file(file);
    lt::add_torrent_params atp;
    try {
        atp = lt::load_torrent_buffer({reinterpret_cast<const char*>(b.data()), static_cast<std::ptrdiff_t>(b.size())});
    } catch (const std::exception& e) {
        throw Error(ErrorKind::usage, file.string() + " is not a .torrent file: " + e.what());
    }
    if (!atp.ti || !atp.ti->info_hashes().has_v2() || from_lt(atp.ti->info_hashes().v2) != id)
        throw Error(ErrorKind::usage, file.string() + " is not the torrent of commit " + id.hex());
    const auto& files = atp.ti->files();
    if (files.num_files() < 1 || files.file_name(lt::file_index_t{0}) != objects::kCommitTorrentName ||
        static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0})) > kMaxCommitSize)
        throw Error(ErrorKind::corrupt, id.hex() + " names a torrent that is not a dvt commit");
    atp.trackers.clear();  // where to find peers is the command line's business
    atp.url_seeds.clear();
    atp.peers.clear();
    return atp;
}

// 1. The commit: from the store, from a mirror (the file as is; its id checks it), or by its info-hash alone (the info
//    dict arrives through ut_metadata and is checked against the info-hash by libtorrent), then re-hashed into its id.
Bytes fetch_commit(Fetch& f) {
    auto& store = f.store;
    const auto& id = f.id;
    const auto& opts = f.opts;
    auto& res = f.res;
    std::string mirror_errors;
    if (!store.has_commit(id))
        for (const auto& w : opts.web_seeds) {
            std::string base = w.ends_with('/') ? w : w + "/";
            auto r = util::http_get(base + "commits/" + id.hex() + "/" + objects::kCommitTorrentName,
                                    std::chrono::seconds(10), kMaxCommitSize);
            if (r.status == 200 && objects::commit_id_of(r.body) == id) {
                res.commit_fetched = true;
                res.bytes_fetched += r.body.size();
                return std::move(r.body);
            }
            mirror_errors += (mirror_errors.empty() ? "" : "; ") + w + ": " +
                             (r.status == 200 ? "the file does not hash to the commit id" : r.error);
        }
    if (!mirror_errors.empty() && opts.peers.empty() && opts.trackers.empty() && !opts.dht.enabled)
        throw Error(ErrorKind::network, "mirror unreachable or without commit " + id.hex() + " (" + mirror_errors + ")");
    if (store.has_commit(id)) return store.read_commit_bytes(id);
    Transfer t(f.session, id, opts, f.start, f.deadline);
    lt::add_torrent_params atp;
    Item commit_item;
    if (!opts.commit_torrent.empty()) {
        atp = commit_torrent_params(opts.commit_torrent, id);  // the info dict from the file, not from a peer
        commit_item.kick_when_checked = true;
        commit_item.length = static_cast<std::uint64_t>(atp.ti->files().file_size(lt::file_index_t{0}));
    } else {
        atp.info_hashes.v2 = to_lt(id);
        atp.name = objects::kCommitTorrentName;
    }
    atp.save_path = f.dir.path().string();
    commit_item.name = objects::kCommitTorrentName;
    commit_item.id = id;
    Item& added = t.add(std::move(commit_item), std::move(atp));
    if (f.kick) {
        // libtorrent 2.0.8 puts a torrent added by hash to a session that has had torrents before on its connect
        // list only at the torrent's next one-second tick; resuming it puts it there at once (measured, t170: 29
        // commit files one after the other took 29 s, then under 2 s). A pull across a gap fetches one commit file
        // after the other in the same session, so it pays this for each.
        added.handle.pause();
        added.handle.resume();
    }
    fs::path file;
    t.run(0, 0, false, [&](Item& i, const lt::torrent_info& ti) {
        // one real file (libtorrent may append a pad file), named dvt-commit, of a sane size
        const auto& files = ti.files();
        int real = 0;
        for (auto fi : files.file_range())
            if (!files.pad_file_at(fi)) ++real;
        if (real != 1 || files.pad_file_at(lt::file_index_t{0}) ||
            files.file_name(lt::file_index_t{0}) != objects::kCommitTorrentName ||
            static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0})) > kMaxCommitSize)
            throw Error(ErrorKind::corrupt, id.hex() + " names a torrent that is not a dvt commit");
        i.length = static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0}));
        file = files.file_path(lt::file_index_t{0}, f.dir.path().string());
    });
    t.close();
    f.traffic += t.traffic();
    if (file.empty()) file = f.dir.path() / objects::kCommitTorrentName;
    Bytes commit_bytes = with_settle_retries([&] {
        Bytes b = util::read_file(file);
        if (objects::commit_id_of(b) != id)
            throw Error(ErrorKind::corrupt, "the commit received for " + id.hex() + " does not hash to its id");
        return b;
    });
    res.commit_fetched = true;
    res.bytes_fetched += commit_bytes.size();
    return commit_bytes;
}

// Indexes the objects of a partial pack that verify_objects checked.
std::uint64_t import_objects(objects::ObjectStore& store, const PackFetch& pf, const std::vector<objects::PackEntry>& want) {
    if (want.empty()) return 0;
    std::uint64_t bytes = verify_objects(store.partial_path(pf.ref.id), pf.ref, want);
    store.add_verified_objects(pf.num, want);
    return bytes;
}

}  // namespace

void scan_extent(int fd, const objects::LocatorExtent& x, const objects::LocatorDir& d, const std::string& what,
                 std::vector<objects::PackEntry>& out) {
    const std::uint64_t end = x.offset + x.length;
    std::uint64_t pos = x.offset;
    Bytes stored, raw;
    while (pos < end) {
        std::uint8_t h[objects::kRecordHeaderSize];
        if (end - pos < sizeof h) throw Error(ErrorKind::corrupt, what + ": a locator extent ends inside a record");
        util::pread_all(fd, h, sizeof h, pos, what);
        objects::PackEntry e;
        e.offset = pos;
        if (h[0] < 1 || h[0] > 3 || h[1] > 3)
            throw Error(ErrorKind::corrupt, what + ": no record at offset " + std::to_string(pos) + " (locator of '" +
                                                d.path + "')");
        e.type = static_cast<objects::ObjectType>(h[0]);
        e.compression = static_cast<objects::Compression>(h[1]);
        e.depth = load_u16(h + 2);
        e.raw_len = load_u32(h + 4);
        e.stored_len = load_u32(h + 8);
        objects::check_entry_limits(e, what);
        if (e.stored_len > end - pos - sizeof h)
            throw Error(ErrorKind::corrupt, what + ": a record at offset " + std::to_string(pos) +
                                                " reaches past its locator extent");
        if (!objects::is_delta(e.compression)) {
            stored.resize(e.stored_len);
            util::pread_all(fd, stored.data(), stored.size(), pos + sizeof h, what);
            objects::decode_record(stored, e.compression, e.raw_len, raw, what);
            e.id = sha256(raw);
        }
        out.push_back(e);
        pos += sizeof h + e.stored_len;
    }
}

void extend_partial(objects::ObjectStore& store, const objects::PackRef& ref) {
    fs::path file = store.partial_path(ref.id);
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot create " + file.string());
    util::Fd guard(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) throw_errno("cannot stat " + file.string());
    if (static_cast<std::uint64_t>(st.st_size) < ref.length && ::ftruncate(fd, static_cast<off_t>(ref.length)) != 0)
        throw_errno("cannot extend " + file.string());
}

namespace {

// The id of a delta record a locator extent holds (the locator lists none): the record decoded against its base's
// verified bytes (the base's chain through `find`, every level checked against its id) and hashed. nullopt when its
// base is neither here nor among the records found (what the delta was is then left to the pack indexes); a record
// breaking the delta rules against its base (type, depth, a tensor delta's length) is corrupt. Called in order of
// depth, so that a base that is itself a delta found through the locator has its id already; each decoded chunk goes
// into `cache` for the records above it.
std::optional<Hash32> derive_delta_id(const objects::RecordAt& at, const objects::RecordFinder& find,
                                      objects::ChunkCache& cache) {
    const auto& e = at.entry;
    Bytes rec(objects::kRecordHeaderSize + e.stored_len);
    util::pread_all(at.fd, rec.data(), rec.size(), e.offset, at.what);
    const Hash32 b = objects::record_delta_base_bytes(rec, e, at.what);
    auto base = find(b);
    if (!base) return std::nullopt;
    const std::string who = "the delta record at offset " + std::to_string(e.offset);
    objects::check_delta_base(who, e, b, base->entry, at.what);
    const std::string self = at.what + ": " + who;
    Bytes base_raw, raw;
    objects::read_chain(*base, find, base_raw, &cache);
    objects::decode_any_delta(e.compression, std::span<const std::uint8_t>(rec).subspan(objects::kRecordHeaderSize),
                              e.raw_len, base_raw, raw, self);
    Hash32 id = sha256(raw);
    if (id == b) throw Error(ErrorKind::corrupt, self + " names itself as its base");
    cache.put(id, e.depth, raw);
    return id;
}

// 2a. A partial pull through the version's locator (docs/format.md, "Locator"): the locator record, then in one
//     round the byte ranges of the trees on the way to each path and of everything of the directories at and below
//     it; each record read from them is verified against its id (full records by hashing what they decode to, delta
//     records through their chains) and indexed. Returns true when every tree, file object and chunk the paths need
//     is then here, checked as check_version would check them (sizes, chunk lengths, the chunker's max); false when
//     the locator does not lead to all of it (a path that is a file, a directory it leaves out, an object outside
//     it): the pack indexes then find the rest (2b). A locator that breaks its rules is corrupt.
bool fetch_by_locator(Fetch& f, Transfer& t, std::vector<PackFetch>& fetches, std::uint64_t base) {
    auto& store = f.store;
    auto& res = f.res;
    const auto& c = res.commit;
    const auto& paths = f.opts.paths;
    if (!c.locator || paths.empty()) return false;
    for (const auto& p : paths)
        if (p.empty()) return false;
    auto apply = [&] {
        for (auto& pf : fetches)
            if (pf.item && !pf.whole) t.want(*pf.item, pieces_for(pf.ranges, pf.ref.length, pf.piece), pf.piece);
    };
    auto registered = [&](PackFetch& pf) -> PackFetch& {
        if (pf.num == 0) pf.num = store.add_partial_pack(pf.ref).num;
        return pf;
    };
    // the locator record: found through its pack's index (a pack of its own, a few pieces). The locator is a fetching
    // aid, not part of the version: a peer or mirror may lack its pack (one seeding a later version, or a whole pull
    // of this one, which skips it). It is waited for at most kLocatorWait (and the pull's deadline); then this pull
    // goes on through the pack indexes (2b), which skip that pack.
    if (!store.has(c.locator->id)) {
        auto wait_until = std::min(f.deadline, Clock::now() + kLocatorWait);
        t.set_deadline(Clock::now(), wait_until);
        PackFetch* waiting = nullptr;
        try {
            auto at = std::lower_bound(c.packs.begin(), c.packs.end(), c.locator->pack,
                                       [](const objects::PackRef& p, const Hash32& x) { return p.id < x; });
            PackFetch* lpf = nullptr;
            for (auto& pf : fetches)
                if (at != c.packs.end() && pf.ref.id == at->id) lpf = &pf;
            if (!lpf) throw Error(ErrorKind::corrupt, "commit " + f.id.hex() + ": its locator is not in the pack it names");
            waiting = lpf;
            lpf->ranges.emplace_back(0, objects::kPackHeaderSize);
            lpf->ranges.emplace_back(lpf->ref.index_offset, lpf->ref.length - lpf->ref.index_offset);
            apply();
            t.run(base, base, true);
            objects::PackIndex pi = with_settle_retries([&] {
                util::Fd fd = util::open_read(store.partial_path(lpf->ref.id));
                return objects::read_pack_index(fd.get(), "pack " + lpf->ref.id.hex() + " received from the swarm");
            });
            if (pi.length != lpf->ref.length || pi.index_offset != lpf->ref.index_offset)
                throw Error(ErrorKind::corrupt, "pack " + lpf->ref.id.hex() + ": its index differs from what the commit names");
            auto e = std::find_if(pi.entries.begin(), pi.entries.end(),
                                  [&](const objects::PackEntry& x) { return x.id == c.locator->id; });
            if (e == pi.entries.end() || e->type != objects::ObjectType::chunk || objects::is_delta(e->compression))
                throw Error(ErrorKind::corrupt, "commit " + f.id.hex() + ": its locator is not in the pack it names");
            lpf->ranges.emplace_back(e->offset, objects::kRecordHeaderSize + e->stored_len);
            apply();
            t.run(base, base, true);
            res.bytes_fetched += import_objects(store, registered(*lpf), {*e});
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::no_peers || Clock::now() >= f.deadline) throw;
            // no peer delivered the locator's pack in time: wanted no more, and the indexes find the paths
            t.set_deadline(f.start, f.deadline);
            if (waiting) {
                waiting->ranges.clear();
                apply();
            }
            return false;
        }
        t.set_deadline(f.start, f.deadline);
    }
    objects::Locator loc;
    try {
        loc = objects::Locator::decode(store.read(c.locator->id), c.packs);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (the locator of commit " + f.id.hex() + ")");
    }
    // the locator's packs -> their fetches (nullptr: complete here) and files
    std::vector<PackFetch*> by_pos(loc.packs.size(), nullptr);
    std::vector<Hash32> pack_ids = loc.packs;
    {
        std::map<Hash32, PackFetch*> by_id;
        for (auto& pf : fetches) by_id.emplace(pf.ref.id, &pf);
        for (std::size_t i = 0; i < loc.packs.size(); ++i)
            if (auto it = by_id.find(loc.packs[i]); it != by_id.end()) {
                by_pos[i] = it->second;
                it->second->pos = static_cast<std::uint32_t>(i);
            }
    }
    // the directories: on the way to each path its tree; at and below a path that is a directory, everything
    std::map<const objects::LocatorDir*, bool> dirs;  // -> whole (every extent) or only its tree
    for (const auto& p : paths) {
        if (!loc.find(p)) return false;  // a file, or a directory the locator leaves out: the indexes find it
        const auto* root = loc.find("");
        if (!root) return false;
        dirs.emplace(root, false);
        for (std::size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
            const auto* d = loc.find(std::string_view(p).substr(0, slash));
            if (!d) return false;
            dirs.emplace(d, false);
        }
        auto it = std::lower_bound(loc.dirs.begin(), loc.dirs.end(), p, [](const objects::LocatorDir& d, const std::string& x) {
            return objects::tree_order_less(d.path, x);
        });
        for (; it != loc.dirs.end() && (it->path == p || (it->path.size() > p.size() && it->path.starts_with(p) &&
                                                           it->path[p.size()] == '/'));
             ++it)
            dirs[&*it] = true;
    }
    auto wanted = [&](const objects::LocatorDir& d, const objects::LocatorExtent& x) {
        return dirs.at(&d) || x.type == objects::ObjectType::tree;
    };
    for (const auto& dir_whole : dirs)
        for (const auto& x : dir_whole.first->extents)
            if (wanted(*dir_whole.first, x))
                if (PackFetch* pf = by_pos[x.pack]) registered(*pf).ranges.emplace_back(x.offset, x.length);
    apply();
    t.run(base, base, true);
    // read the extents: what each record is (full records now, delta records in order of depth below)
    std::map<Hash32, std::pair<PackFetch*, objects::PackEntry>> where;
    std::vector<std::vector<objects::PackEntry>> found(fetches.size());
    std::map<std::uint32_t, std::shared_ptr<util::Fd>> fds;
    std::vector<std::pair<PackFetch*, objects::PackEntry>> deltas;
    std::set<std::pair<PackFetch*, std::uint64_t>> delta_at;
    auto add = [&](PackFetch* pf, const objects::PackEntry& e) {
        if (where.emplace(e.id, std::make_pair(pf, e)).second && !store.has(e.id))
            found[static_cast<std::size_t>(pf - fetches.data())].push_back(e);
    };
    for (const auto& dir_whole : dirs) {
        const objects::LocatorDir* d = dir_whole.first;  // named, not a structured binding: clang 14 (scripts/fuzz.sh)
        for (const auto& x : d->extents) {
            if (!wanted(*d, x)) continue;
            PackFetch* pf = by_pos[x.pack];
            auto& fd = fds[x.pack];
            if (!fd)
                fd = std::make_shared<util::Fd>(util::open_read(pf ? store.partial_path(pf->ref.id)
                                                                  : store.pack_path(pack_ids[x.pack])));
            std::string what = "pack " + pack_ids[x.pack].hex() + (pf ? " received from the swarm" : "");
            std::vector<objects::PackEntry> recs;
            with_settle_retries([&] {
                recs.clear();
                scan_extent(fd->get(), x, *d, what, recs);
            });
            if (!pf) continue;  // a complete pack here: its objects are indexed
            for (const auto& e : recs) {
                if (objects::is_delta(e.compression)) {
                    if (delta_at.emplace(pf, e.offset).second) deltas.emplace_back(pf, e);  // once, in any dir
                }
                else
                    add(pf, e);
            }
        }
    }
    objects::RecordFinder find = [&](const Hash32& id) -> std::optional<objects::RecordAt> {
        if (auto r = store.record_at(id)) return r;
        auto w = where.find(id);
        if (w == where.end()) return std::nullopt;
        return objects::RecordAt{fds.at(w->second.first->pos)->get(), w->second.second,
                                 "pack " + w->second.first->ref.id.hex() + " received from the swarm"};
    };
    {
        std::stable_sort(deltas.begin(), deltas.end(),
                         [](const auto& a, const auto& b) { return a.second.depth < b.second.depth; });
        objects::ChunkCache cache(64u << 20);
        for (auto& [pf, e] : deltas) {
            objects::RecordAt at{fds.at(pf->pos)->get(), e, "pack " + pf->ref.id.hex() + " received from the swarm"};
            auto id = with_settle_retries([&] { return derive_delta_id(at, find, cache); });
            if (!id) continue;
            e.id = *id;
            add(pf, e);
        }
    }
    // verified (full records again, deltas through their chains) and indexed: trees and file objects first, so that
    // a chunk's chain finds its bases either here or among the records found
    for (std::size_t k = 0; k < fetches.size(); ++k) {
        if (found[k].empty()) continue;
        res.bytes_fetched += verify_objects(store.partial_path(fetches[k].ref.id), fetches[k].ref, found[k], &find);
        store.add_verified_objects(fetches[k].num, found[k]);
        res.objects_fetched += found[k].size();
    }
    // is everything the paths need here now? (the rules check_version applies to what a partial pull installs)
    core::FlatTree flat;
    try {
        flat = core::flatten_paths(store, c, paths);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::not_found) return false;
        throw;
    }
    if (flat.empty())
        throw Error(ErrorKind::not_found, "no path of commit " + f.id.hex().substr(0, 12) + " matches the paths given");
    std::set<Hash32> checked;
    for (const auto& [path, fe] : flat) {
        if (fe.kind == objects::EntryKind::symlink || !checked.insert(fe.id).second) continue;
        auto floc = store.locate(fe.id);
        if (!floc) return false;
        if (floc->entry.type != objects::ObjectType::file)
            throw Error(ErrorKind::corrupt, "the object of '" + path + "' is a " + objects::type_name(floc->entry.type));
        auto fo = store.read_file_object(fe.id);
        if (fo.size != fe.size)
            throw Error(ErrorKind::corrupt, "'" + path + "' has size " + std::to_string(fe.size) +
                                                " in its tree but its file object says " + std::to_string(fo.size));
        for (const auto& ch : fo.chunks) {
            if (c.chunker && ch.size > c.chunker->max_size)
                throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " of '" + path +
                                                    "' is longer than the commit's chunker max");
            auto cl = store.locate(ch.id);
            if (!cl) return false;
            if (cl->entry.type != objects::ObjectType::chunk || cl->entry.raw_len != ch.size)
                throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " of '" + path + "' is " +
                                                    std::to_string(cl->entry.raw_len) +
                                                    " bytes in its pack, its manifest says " + std::to_string(ch.size));
            if (objects::is_delta(cl->entry.compression)) try {
                    store.delta_chain(*cl);
                } catch (const Error& e) {
                    if (e.kind() != ErrorKind::not_found) throw;
                    return false;
                }
        }
    }
    // every named pack is here at least as a partial pack (its row, a sparse file of its length with no index: fsck
    // and later pulls then know the version names it and what of it was fetched)
    for (auto& pf : fetches) {
        registered(pf);
        extend_partial(store, pf.ref);
    }
    f.by_locator = true;
    return true;
}

// 2b. Only the pieces of `fetches` that hold what `opts.paths` need (or, with no paths, what the whole version needs):
//     every pack's index (its tail, checked against the footer's SHA-256), then the trees and file objects not yet
//     here, then the chunks of the files under the paths. Each object is verified against its id and indexed as it
//     arrives. For the whole version, once the chunks are known, a pack most of whose pieces hold live records
//     (kWholeNum / kWholeDen) is fetched whole instead: verified by its merkle root and installed complete.
void fetch_partial_packs(Fetch& f, Transfer& t, std::vector<PackFetch>& fetches, std::uint64_t base) {
    auto& store = f.store;
    auto& res = f.res;
    const bool whole_version = f.opts.paths.empty();
    auto want_more = [&](PackFetch& pf, std::uint64_t off, std::uint64_t len) { pf.ranges.emplace_back(off, len); };
    auto apply = [&] {  // a pack not added yet gets its ranges when it is; a pack fetched whole wants every piece
        for (auto& pf : fetches)
            if (pf.item && !pf.whole) t.want(*pf.item, pieces_for(pf.ranges, pf.ref.length, pf.piece), pf.piece);
    };
    if (fetch_by_locator(f, t, fetches, base)) return;
    // the locator's pack holds nothing of the version (docs/format.md, "Locator"): its index is not fetched
    auto is_locator_pack = [&](const PackFetch& pf) {
        return res.commit.locator && pf.ref.id == res.commit.locator->pack;
    };
    for (auto& pf : fetches) {
        if (is_locator_pack(pf)) continue;
        want_more(pf, 0, objects::kPackHeaderSize);
        want_more(pf, pf.ref.index_offset, pf.ref.length - pf.ref.index_offset);
    }
    apply();
    t.run(base, base, true);
    for (auto& pf : fetches) {
        if (is_locator_pack(pf)) continue;
        util::Fd fd = util::open_read(store.partial_path(pf.ref.id));
        objects::PackIndex pi = with_settle_retries(
            [&] { return objects::read_pack_index(fd.get(), "pack " + pf.ref.id.hex() + " received from the swarm"); });
        if (pi.length != pf.ref.length || pi.index_offset != pf.ref.index_offset)
            throw Error(ErrorKind::corrupt, "pack " + pf.ref.id.hex() + ": its index differs from what the commit names");
        pf.entries = std::move(pi.entries);
        pf.num = store.add_partial_pack(pf.ref).num;
    }
    // the trees not yet here (all of them: the version is measured whole before it is flattened)
    std::map<Hash32, std::pair<PackFetch*, objects::PackEntry>> where;
    for (std::size_t k = 0; k < fetches.size(); ++k)
        for (const auto& e : fetches[k].entries) where.emplace(e.id, std::make_pair(&fetches[k], e));
    std::set<std::int64_t> named_rows;  // index rows of the packs the commit names (complete, or partial since (a))
    {
        std::set<Hash32> named;
        for (const auto& p : res.commit.packs) named.insert(p.id);
        for (const auto& info : store.packs())
            if (named.count(info.ref.id)) named_rows.insert(info.num);
    }
    // whether `id` is here; for the whole version, one that is here only in a pack the commit does not name (two
    // publishers committed the same file) makes the named pack being fetched that holds it come whole, so this
    // repository holds the version in the packs its commit names (what fsck checks, and what it seeds)
    auto here = [&](const Hash32& id) {
        auto loc = store.locate(id);
        if (!loc) return false;
        if (whole_version && !named_rows.count(loc->pack_num))
            if (auto w = where.find(id); w != where.end()) w->second.first->must_be_whole = true;
        return true;
    };
    std::vector<std::vector<objects::PackEntry>> meta(fetches.size());
    for (std::size_t k = 0; k < fetches.size(); ++k)
        for (const auto& e : fetches[k].entries) {
            if (e.type == objects::ObjectType::tree && !here(e.id)) {
                want_more(fetches[k], e.offset, objects::kRecordHeaderSize + e.stored_len);
                meta[k].push_back(e);
            }
        }
    apply();
    t.run(base, base, true);
    for (std::size_t k = 0; k < fetches.size(); ++k) res.bytes_fetched += import_objects(store, fetches[k], meta[k]);
    // the file objects of the files under the paths (whole version: of every file), not those of other files or
    // versions that share the packs
    auto flat = core::flatten_tree(store, res.commit, f.opts.paths);
    if (flat.empty() && !whole_version)
        throw Error(ErrorKind::not_found, "no path of commit " + f.id.hex().substr(0, 12) + " matches the paths given");
    std::vector<std::vector<objects::PackEntry>> files(fetches.size());
    {
        std::set<Hash32> wanted;
        for (const auto& [path, fe] : flat) {
            if (fe.kind == objects::EntryKind::symlink || fe.kind == objects::EntryKind::directory) continue;
            if (!wanted.insert(fe.id).second || here(fe.id)) continue;
            auto w = where.find(fe.id);
            if (w == where.end() || w->second.second.type != objects::ObjectType::file)
                throw Error(ErrorKind::corrupt, "commit " + f.id.hex() + " names no pack holding file object " +
                                                    fe.id.hex() + " of '" + path + "'");
            want_more(*w->second.first, w->second.second.offset,
                      objects::kRecordHeaderSize + w->second.second.stored_len);
            files[static_cast<std::size_t>(w->second.first - fetches.data())].push_back(w->second.second);
        }
    }
    apply();
    t.run(base, base, true);
    for (std::size_t k = 0; k < fetches.size(); ++k) {
        res.bytes_fetched += import_objects(store, fetches[k], files[k]);
        meta[k].insert(meta[k].end(), files[k].begin(), files[k].end());
    }
    // the chunks of those files
    std::vector<std::vector<objects::PackEntry>> chunks(fetches.size());
    std::set<Hash32> seen;
    for (const auto& [path, fe] : flat) {
        if (fe.kind == objects::EntryKind::symlink || fe.kind == objects::EntryKind::directory) continue;
        for (const auto& c : store.read_file_object(fe.id).chunks) {
            if (!seen.insert(c.id).second || here(c.id)) continue;
            auto w = where.find(c.id);
            if (w == where.end())
                throw Error(ErrorKind::corrupt, "commit " + f.id.hex() + " names no pack holding chunk " + c.id.hex() +
                                                    " of '" + path + "'");
            auto& [pf, e] = w->second;
            if (e.type != objects::ObjectType::chunk || e.raw_len != c.size)
                throw Error(ErrorKind::corrupt, "chunk " + c.id.hex() + " of '" + path + "' is " +
                                                    std::to_string(e.raw_len) + " bytes in its pack, its manifest says " +
                                                    std::to_string(c.size));
            want_more(*pf, e.offset, objects::kRecordHeaderSize + e.stored_len);
            chunks[static_cast<std::size_t>(pf - fetches.data())].push_back(e);
        }
    }
    if (whole_version)
        for (auto& pf : fetches) {
            if (!pf.item) continue;  // cannot happen: run() returns when every queued pack was added and is done
            // pieces holding what the version needs, and pieces here already (an earlier pull of some paths): the
            // whole pack costs only the others
            auto pieces = pieces_for(pf.ranges, pf.ref.length, pf.piece);
            const auto& have = pf.item->have;
            std::uint64_t live = 0;
            for (std::size_t p = 0; p < pieces.size(); ++p)
                if (pieces[p] || (static_cast<int>(p) < have.size() && have.get_bit(lt::piece_index_t(static_cast<int>(p)))))
                    ++live;
            if (!pf.must_be_whole && live * kWholeDen < pieces.size() * kWholeNum) continue;
            pf.whole = true;
            pf.item->verify = pf.ref;  // verified whole as soon as it is complete (Transfer::start_verifying)
            t.want(*pf.item, std::vector<bool>(pieces.size(), true), pf.piece);
        }
    apply();
    t.run(base, base, true);
    // the chains of delta chunks (docs/format.md, "Delta records"): each round reads the base ids of the deltas
    // fetched last and fetches the bases that are not here; depth falls by one per round (at most kMaxDeltaDepth)
    std::map<Hash32, std::shared_ptr<util::Fd>> partial_fds;
    auto fd_of = [&](const PackFetch& pf) {
        auto& fd = partial_fds[pf.ref.id];
        if (!fd) fd = std::make_shared<util::Fd>(util::open_read(store.partial_path(pf.ref.id)));
        return fd->get();
    };
    std::vector<std::pair<PackFetch*, objects::PackEntry>> pending;
    for (std::size_t k = 0; k < fetches.size(); ++k)
        for (const auto& e : chunks[k])
            if (objects::is_delta(e.compression)) pending.emplace_back(&fetches[k], e);
    for (int round = 0; !pending.empty(); ++round) {
        if (round > objects::kMaxDeltaDepth) throw Error(ErrorKind::corrupt, "delta chains longer than the limit");
        std::vector<std::pair<PackFetch*, objects::PackEntry>> next;
        for (const auto& item : pending) {
            PackFetch* pf = item.first;  // named, not a structured binding: clang 14 (scripts/fuzz.sh) cannot capture one
            const objects::PackEntry& e = item.second;
            std::string what = "pack " + pf->ref.id.hex() + " received from the swarm";
            Hash32 b = with_settle_retries([&] { return objects::record_delta_base(fd_of(*pf), e, what); });
            if (!seen.insert(b).second) continue;
            if (auto have = store.locate(b)) {
                try {
                    store.delta_chain(*have);  // complete here: nothing to fetch
                    continue;
                } catch (const Error& err) {
                    if (err.kind() != ErrorKind::not_found) throw;
                }
            }
            auto w = where.find(b);
            if (w == where.end())
                throw Error(ErrorKind::corrupt, "commit " + f.id.hex() + " names no pack holding base " + b.hex() +
                                                    " of delta chunk " + e.id.hex());
            auto& [bpf, be] = w->second;
            if (be.type != objects::ObjectType::chunk || be.depth + 1 != e.depth)
                throw Error(ErrorKind::corrupt, "delta chunk " + e.id.hex() + " of depth " + std::to_string(e.depth) +
                                                    " names base " + b.hex() + " of depth " + std::to_string(be.depth));
            want_more(*bpf, be.offset, objects::kRecordHeaderSize + be.stored_len);
            chunks[static_cast<std::size_t>(bpf - fetches.data())].push_back(be);
            if (objects::is_delta(be.compression)) next.emplace_back(bpf, be);
        }
        apply();
        t.run(base, base, true);
        pending = std::move(next);
    }
    // every chunk is verified through its chain: bases here already, or fetched into a partial pack just now
    objects::RecordFinder find = [&](const Hash32& id) -> std::optional<objects::RecordAt> {
        if (auto r = store.record_at(id)) return r;
        auto w = where.find(id);
        if (w == where.end()) return std::nullopt;
        return objects::RecordAt{fd_of(*w->second.first), w->second.second,
                                 "pack " + w->second.first->ref.id.hex() + " received from the swarm"};
    };
    for (std::size_t k = 0; k < fetches.size(); ++k) {
        if (fetches[k].whole) continue;  // verify_pack checks every record of it
        if (!chunks[k].empty()) {
            res.bytes_fetched +=
                verify_objects(store.partial_path(fetches[k].ref.id), fetches[k].ref, chunks[k], &find);
            store.add_verified_objects(fetches[k].num, chunks[k]);
        }
        res.objects_fetched += meta[k].size() + chunks[k].size();
    }
}

// 2. The packs the commit names that we do not have complete, at most Transfer::kMaxActive at a time, into partial/ (docs/format.md, "Partial
//    packs"), each from its resume data or its info dict alone; whole, or for a partial pull only what the paths
//    need. Returns the whole packs, verified (BEP 52 merkle root = id, index, length) before any is used: from the
//    piece hashes dvt's disk I/O computed from the bytes it wrote, or else by hashing the file again. Each pack's
//    verification starts when it is complete (Transfer::start_verifying).
std::vector<objects::SealedPack> fetch_packs(Fetch& f, std::uint64_t base, std::vector<Hash32>& created) {
    auto& store = f.store;
    auto& res = f.res;
    std::vector<PackFetch> fetches;
    std::set<Hash32> complete, known;  // one query, not one per pack (a commit may name a million)
    for (const auto& info : store.packs()) {
        if (!info.partial) complete.insert(info.ref.id);
        known.insert(info.ref.id);
    }
    for (const auto& p : res.commit.packs) {
        if (complete.count(p.id)) continue;
        // a whole pull does not fetch the locator's pack: nothing of the version lies in it (docs/format.md,
        // "Locator"), and whoever seeds a later version, or pulled this one whole, does not have it
        if (f.opts.paths.empty() && res.commit.locator && p.id == res.commit.locator->pack) continue;
        if (!known.count(p.id)) created.push_back(p.id);
        PackFetch pf;
        pf.ref = p;
        pf.piece = objects::pack_piece_length(p.length);
        fetches.push_back(pf);
    }
    std::vector<objects::SealedPack> verified;
    if (fetches.empty()) return verified;
    std::error_code ec;
    fs::create_directories(store.partial_dir(), ec);
    if (ec) throw Error(ErrorKind::io, "cannot create " + store.partial_dir().string() + ": " + ec.message());
    Transfer t(f.session, f.id, f.opts, f.start, f.deadline);
    // Each pack's torrent is added when the transfer has room for it (Transfer::kMaxActive), with the pieces wanted
    // so far (a partial pull's want() calls before then are kept in its ranges).
    for (auto& pf : fetches) {
        PackFetch* p = &pf;
        t.enqueue(pf.ref.length, [&t, &f, &store, p] {
            Item it;
            it.name = objects::pack_torrent_name(p->ref.id);
            it.id = p->ref.id;
            it.length = p->ref.length;
            it.kick_when_checked = true;
            it.resume = store.resume_path(p->ref.id);
            it.file = store.partial_path(p->ref.id);
            auto atp = pack_fetch_params(store, p->ref, f.opts.web_seeds, f.deadline);
            p->item = &t.add(std::move(it), std::move(atp));
            // a pull of some paths may want nothing of it yet (through a locator, no index): nothing is fetched
            // until a stage asks
            if (!p->ranges.empty() || !f.opts.paths.empty())
                t.want(*p->item, pieces_for(p->ranges, p->ref.length, p->piece), p->piece);
        });
    }
    fetch_partial_packs(f, t, fetches, base);
    auto waited = Clock::now();
    t.finish_verifying();
    std::vector<std::pair<const PackFetch*, std::future<objects::SealedPack>>> sealed;
    for (auto& pf : fetches)
        if (pf.item && pf.item->sealed.valid()) sealed.emplace_back(&pf, std::move(pf.item->sealed));
    res.transfer_seconds = std::chrono::duration<double>(waited - f.start).count();
    t.close();
    f.traffic += t.traffic();
    for (auto& [pf, result] : sealed) {
        fs::path file = store.partial_path(pf->ref.id);
        try {
            verified.push_back(result.get());
            verified.back().path = file;
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::corrupt) {  // start over next time rather than trust those pieces
                fs::remove(file, ec);
                fs::remove(store.resume_path(pf->ref.id), ec);
            }
            throw;
        }
        res.bytes_fetched += pf->ref.length;
    }
    for (const auto& pf : fetches) {
        res.bytes_needed += range_bytes(pf.ranges);
        // the locator's pack is not part of the version (a pull of some paths may fetch part of it)
        if (!pf.whole && !(res.commit.locator && pf.ref.id == res.commit.locator->pack)) ++res.packs_partial;
    }
    return verified;
}

// 3. The version whole, before anything of it is stored: the format's rules and limits (core::check_version: depth,
//    paths, entries, sizes, chunk lengths), read from the verified packs not installed yet (core::PackObjects) and the
//    store, restricted to the packs the commit names, every name one a file system holds (core::NamedPackObjects).
//    A version that fails is corrupt and leaves packs/, commits/, the index, the refs and the work tree as they were.
// The packs this pull registered that the index did not know before (a pack it knew stays: it is shared with what is
// here) lose their rows; for a version refused (`files`: corrupt) their partial files and resume data go too, else
// those stay so that the next pull does not fetch their verified pieces again. Runs after the transfer closed its
// torrents.
void drop_created(Fetch& f, const std::vector<Hash32>& created, bool files = true) {
    std::vector<Hash32> partial;
    for (const auto& id : created)
        if (auto info = f.store.pack_by_id(id); info && info->partial) partial.push_back(id);
    f.store.forget_partial_packs(partial);
    if (!files) return;
    for (const auto& id : created) {
        std::error_code ec;
        fs::remove(f.store.partial_path(id), ec);
        fs::remove(f.store.resume_path(id), ec);
    }
}

void check_received(Fetch& f, const std::vector<objects::SealedPack>& verified, const std::vector<Hash32>& created) {
    try {
        if (f.by_locator) {  // checked in 2a: the trees on the way, what is below the paths
            verify_delta_chains(verified, f.store);
            return;
        }
        core::PackObjects received(verified, &f.store);
        core::NamedPackObjects objs(received, f.store, f.res.commit, verified);
        core::VersionCheckOptions o;
        o.require_chunks = f.opts.paths.empty();  // a partial pull has the chunks below its paths (verified in 2b)
        o.require_files = f.opts.paths.empty();   // ... and the file objects below them
        core::check_version(objs, f.res.commit, o);
        verify_delta_chains(verified, f.store);  // every delta of the received packs decodes to its id
    } catch (const Error& e) {
        // the packs downloaded for this version alone go too (a partial pack the index knows stays: it is shared)
        for (const auto& sp : verified)
            if (!f.store.pack_by_id(sp.ref.id)) {
                std::error_code ec;
                fs::remove(sp.path, ec);
                fs::remove(f.store.resume_path(sp.ref.id), ec);
            }
        if (e.kind() == ErrorKind::corrupt || (e.kind() == ErrorKind::not_found && f.opts.paths.empty()))
            drop_created(f, created);
        // for a whole pull every pack it names is here now: an absent object is the version's fault
        ErrorKind k = e.kind() == ErrorKind::not_found && f.opts.paths.empty() ? ErrorKind::corrupt : e.kind();
        throw Error(k, "commit " + f.id.hex() + " is refused: " + e.what());
    }
}

// 4. Import (docs/format.md, "Write ordering"), under the repository write lock: the verified packs installed by the
//    object store, then the commit file, then whatever `on_import` does (a ref), so gc never sees one without the
//    other.
void import(Fetch& f, std::vector<objects::SealedPack>& verified, const Bytes& commit_bytes,
            const std::function<void()>& on_import) {
    auto& store = f.store;
    auto lock = f.repo.write_lock();
    store.install_packs(verified);
    if (f.opts.paths.empty())  // complete, or partial with every object the version needs (verified in 2b)
        for (const auto& p : f.res.commit.packs)
            if (!store.pack_by_id(p.id) && !(f.res.commit.locator && p.id == f.res.commit.locator->pack))
                throw Error(ErrorKind::internal, "pack " + p.id.hex() + " is still missing after the import");
    f.repo.accept_commit_format(f.res.commit.format);  // a format-1 repository holding a format-2 commit is format 2
    store.write_commit(f.id, commit_bytes);
    for (const auto& parent : f.res.commit.parents)
        if (!store.has_commit(parent)) {  // fetched without its history (docs/format.md, ".dvt/shallow")
            f.repo.add_shallow(f.id);
            break;
        }
    if (on_import) on_import();
}

}  // namespace

std::size_t version_packs(const objects::Commit& c) {
    std::size_t n = c.packs.size();
    if (c.locator && std::any_of(c.packs.begin(), c.packs.end(),
                                 [&](const objects::PackRef& p) { return p.id == c.locator->pack; }))
        --n;
    return n;
}

objects::Commit fetch_commit_alone(SwarmSession& session, core::Repository& repo, const Hash32& id,
                                   const PullOptions& opts, std::chrono::steady_clock::time_point deadline,
                                   std::uint64_t& bytes) {
    FetchResult res;
    res.id = id;
    PullOptions o = opts;
    o.progress = nullptr;  // one commit file: no progress line of its own
    o.commit_torrent.clear();  // the torrent given is the pulled commit's, not one of its ancestors'
    PullDir dir(repo.store().tmp_dir(), id);
    Fetch f{session, repo, repo.store(), id, o, Clock::now(), deadline, dir, res, {}, true};
    Bytes b = fetch_commit(f);  // checked against the id (mirror: here; swarm: info-hash, then SHA-256 of the file)
    bytes += b.size();
    try {
        return objects::Commit::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (commit " + id.hex() + ")");
    }
}

FetchResult fetch(SwarmSession& session, core::Repository& repo, const Hash32& id, const PullOptions& opts,
                  const std::function<void()>& on_import) {
    FetchResult res;
    res.id = id;
    auto start = Clock::now();
    util::Fd pull_lock = repo.store().lock_pull();  // one pull at a time (gc leaves partial/ alone)
    PullDir dir(repo.store().tmp_dir(), id);
    Fetch f{session, repo, repo.store(), id, opts, start, start + opts.timeout, dir, res, {}};

    Bytes commit_bytes = fetch_commit(f);
    try {
        res.commit = objects::Commit::decode(commit_bytes);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (commit " + id.hex() + ")");
    }
    res.packs_total = version_packs(res.commit);
    std::vector<Hash32> created;  // packs this pull registered that the index did not know
    std::vector<objects::SealedPack> verified;
    try {
        verified = fetch_packs(f, res.commit_fetched ? commit_bytes.size() : 0, created);
    } catch (const Error& e) {
        // what the commit names is not what the packs hold (a chunk or tree in no named pack, a bad chain, a record
        // that does not decode): the version is refused, and what this pull fetched for it alone goes. (For a whole
        // pull every pack it names was here or fetched: an absent object is the version's fault.)
        const bool whole = opts.paths.empty();
        if (e.kind() == ErrorKind::corrupt || (whole && e.kind() == ErrorKind::not_found)) {
            drop_created(f, created);
            throw Error(ErrorKind::corrupt, "commit " + id.hex() + " is refused: " + e.what());
        }
        // a whole pull that failed otherwise (no peers, timeout, disk) leaves no rows, as before: its partial files
        // and resume data stay for the next pull (a pull of some paths keeps what it verified)
        if (whole) {
            try {
                drop_created(f, created, false);
            } catch (const Error&) {
            }
        }
        throw;
    } catch (const Interrupted&) {
        if (opts.paths.empty()) {
            try {
                drop_created(f, created, false);
            } catch (const Error&) {
            }
        }
        throw;
    }
    if (res.commit_fetched) res.bytes_needed += commit_bytes.size();
    res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    res.bytes_downloaded = static_cast<std::uint64_t>(f.traffic.payload);
    res.bytes_received = static_cast<std::uint64_t>(f.traffic.received);
    res.bytes_uploaded = static_cast<std::uint64_t>(f.traffic.uploaded);
    res.paths = session.path_bytes();
    res.port_mapped = session.native().get_settings().get_bool(lt::settings_pack::enable_upnp);
    res.round_trip_ms = session.round_trip_ms();
    res.request_queue_seconds = session.request_queue_seconds();
    res.pieces_failed = static_cast<std::uint64_t>(f.traffic.pieces_failed);
    res.peers_banned.assign(f.traffic.banned.begin(), f.traffic.banned.end());
    res.packs_fetched = verified.size();
    check_received(f, verified, created);  // the whole version, before anything of it is stored
    auto import_start = Clock::now();
    import(f, verified, commit_bytes, on_import);
    res.import_seconds = std::chrono::duration<double>(Clock::now() - import_start).count();
    return res;
}

}  // namespace dvt::transport
