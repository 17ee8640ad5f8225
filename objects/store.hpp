// ObjectStore: packs + loose commit files, located through the index database. It owns every write to the store
// (packs/, partial/, commits/) and to the index database; nothing outside objects/ runs SQL or sees SQLite.
//
// Contract:
//  - read() returns bytes only after verifying them against the requested id; a damaged object is ErrorKind::corrupt
//    naming the object, a missing one ErrorKind::not_found.
//  - Packs are immutable: a pack file under packs/ is complete and sealed (renamed there only after fsync).
//  - Commits are stored as single files commits/<commit-id> (each is the single file of its own torrent); their id
//    is re-derived from the bytes on every read.
//  - Partial packs (partial/<id>.pack, from a pull of some paths or an interrupted pull) are sparse copies of a pack
//    that is not complete here; objects in them are indexed only once verified, and read() verifies them again.
//  - The index database is a cache. reconcile() makes it agree with the pack directory (indexes sealed packs it does
//    not know, forgets packs that are gone); it runs when a repository is opened.
//  - Every method that writes several index rows does so in one transaction of its own: after a crash the index
//    holds all of them or none. Methods that change the index need the repository write lock (callers hold it), except
//    add_partial_pack() and add_verified_objects(), which a pull calls under the pull lock.
//  - Errors: a failure of the index database is a dvt::Error (never a SQLite exception): corrupt (with a hint to run
//    `dvt fsck --repair`), lock_timeout (the database stayed busy) or io.
//  - Thread-safe: locate()/read() may be called from several threads at once.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "objects/object_source.hpp"
#include "objects/pack.hpp"
#include "util/fs.hpp"


namespace dvt::objects {

class IndexDb;  // objects/index_db.hpp, private to objects/

// Told when opening the index had to rebuild it (one line, for stderr).
using IndexNotice = std::function<void(const std::string&)>;

// Opens .dvt/index.db (creating, migrating, or moving aside and recreating a file that is unreadable or whose tables
// are damaged; a private temporary copy when .dvt is read-only: objects/index_db.hpp). The handle is opaque outside
// objects/: pass it to ObjectStore and StatCacheTable, which must not outlive it.
std::shared_ptr<IndexDb> open_index_db(const std::filesystem::path& path, const IndexNotice& notice = {});

struct PackInfo {
    std::int64_t num = 0;  // local row number in the index database (not stable across rebuilds)
    PackRef ref;
    // A partial pack (docs/format.md, "Partial packs"): .dvt/partial/<id>.pack holds some of the pack's bytes at their
    // offsets; only the objects that were verified have index rows.
    bool partial = false;
};

struct Location {
    std::int64_t pack_num = 0;
    PackEntry entry;
};

// Which packs hold the objects of one file (its file object and all its chunks): a hint that lets a commit name the
// packs of an unchanged file without reading its file object (the file_packs table).
struct FilePacks {
    Hash32 file_id;
    std::vector<Hash32> packs;  // pack ids
};

class ObjectStore;

// Many index lookups on one thread, cheaply: one connection of the store's pool held in ONE read transaction, its
// statements prepared once. (A lookup through ObjectStore runs a transaction of its own, and taking and releasing the
// database's read locks costs more than the lookup: a commit of 1 M unchanged files makes millions.)
// It sees the index as it was at its first lookup: rows written after that, by this process too, are not seen. Make
// one after the writes it must see and end it before the next (a commit: one for the walk, which writes no rows, one
// for the locator, after the packs are registered). Pack rows it returns are remembered (a version names few packs).
// Not thread-safe; errors are dvt::Error as ObjectStore's.
class IndexSnapshot {
public:
    explicit IndexSnapshot(const ObjectStore& store);
    ~IndexSnapshot();  // ends the transaction, gives the connection back
    IndexSnapshot(const IndexSnapshot&) = delete;
    IndexSnapshot& operator=(const IndexSnapshot&) = delete;
    std::optional<Location> locate(const Hash32& id);                      // as ObjectStore::locate
    std::optional<std::vector<Hash32>> file_packs(const Hash32& file_id);  // as ObjectStore::file_packs
    std::optional<PackInfo> pack_by_id(const Hash32& id);                  // as ObjectStore::pack_by_id, remembered

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

class ObjectStore {
public:
    // `db` is the open index database (.dvt/index.db); it must outlive the store.
    ObjectStore(std::filesystem::path dvt_dir, IndexDb& db);
    ~ObjectStore();
    ObjectStore(const ObjectStore&) = delete;
    ObjectStore& operator=(const ObjectStore&) = delete;

    // Makes the index agree with packs/. Returns the number of packs (re)indexed.
    std::size_t reconcile();

    std::optional<Location> locate(const Hash32& id) const;
    bool has(const Hash32& id) const { return locate(id).has_value(); }
    Bytes read(const Hash32& id) const;                          // verified; asks the source for a missing id
    // Plugs in where missing objects come from (objects/object_source.hpp); nullptr: this store only (the default).
    void set_source(std::shared_ptr<ObjectSource> source);
    // Makes every id of `ids` present, asking the source once for all that are missing; throws not_found naming the
    // first id still missing (or the source's error). `ahead`: ids the caller expects to need next, passed to the
    // source as a hint (ObjectSource::fetch_ahead; not checked here: the source skips those present), also when
    // every id of `ids` is here; never waited for.
    void ensure(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead = {}) const;
    void read_at(const Location& loc, Bytes& out) const;         // verified (a delta through its chain)
    // The raw bytes of the full (non-delta) record at `loc`, decoded with the record rules checked but NOT its id: for
    // hints only (e.g. a writer matching the first bytes of old chunks to pick delta bases), never for content. A
    // caller that then uses the bytes (as a delta base) checks SHA-256 against the id first. A delta record is
    // internal (use read_at).
    void read_unverified(const Location& loc, Bytes& out) const;
    // The chain of the delta chunk at `loc`: the locations of its bases, nearest first, down to a full chunk (empty
    // for a record that is no delta). Checks the chain rules of objects/pack.hpp read_chain without decoding; a base
    // not here is not_found (the source is not asked).
    std::vector<Location> delta_chain(const Location& loc) const;
    // Where the record of `id` is, to read it with objects::read_chain (nullopt if not indexed; the source is not asked).
    // The RecordAt keeps its pack file open while it lives.
    std::optional<RecordAt> record_at(const Hash32& id) const;
    // The base id the delta record at `loc` names (its header checked).
    Hash32 delta_base(const Location& loc) const;
    // Reads several objects, coalescing records that lie next to each other in a pack into one read; calls
    // sink(index, bytes) in order with each verified object. Used by checkout.
    void read_many(const std::vector<Location>& locs,
                   const std::function<void(std::size_t, const Bytes&)>& sink) const;
    FileObject read_file_object(const Hash32& id) const;
    Tree read_tree(const Hash32& id) const;

    std::optional<PackInfo> pack(std::int64_t num) const;
    std::optional<PackInfo> pack_by_id(const Hash32& id) const;
    std::vector<PackInfo> packs() const;
    // The ids of the objects pack `num` has index rows for (of a partial pack: those verified), sorted.
    std::vector<Hash32> objects_in_pack(std::int64_t num) const;
    Bytes piece_layer(std::int64_t num) const;
    std::filesystem::path pack_path(const Hash32& id) const;       // packs/<id>.pack
    std::filesystem::path partial_path(const Hash32& id) const;    // partial/<id>.pack
    std::filesystem::path resume_path(const Hash32& id) const;     // partial/<id>.resume (libtorrent resume data)
    std::filesystem::path file_of(const PackInfo& p) const { return p.partial ? partial_path(p.ref.id) : pack_path(p.ref.id); }
    const std::filesystem::path& partial_dir() const { return m_partial_dir; }

    // ---- Packs coming in -------------------------------------------------------------------------------------------

    // Registers packs this process sealed into packs/ (PackWriter::seal() put them there, fsynced) and file_packs rows
    // for `file_packs` (each naming packs that are indexed or among `sealed`), all in ONE transaction; existing rows
    // are kept (a file's row is replaced). A partial pack of the same id becomes complete (its row and number are
    // kept, so its objects' rows stay valid). Returns the row number of each of `sealed`, in order.
    std::vector<std::int64_t> add_packs(const std::vector<SealedPack>& sealed,
                                        const std::vector<FilePacks>& file_packs = {});

    // Installs packs verified outside packs/ (a pull verifies them in partial/; any path under the repository works),
    // in the write order of docs/format.md ("Write ordering"):
    //   1. each file is made read-only (0444) and renamed to packs/<id>.pack, unless that file exists already (same id:
    //      same bytes, e.g. imported meanwhile); then packs/ is fsynced;
    //   2. the index rows of all of them are added in ONE transaction (as add_packs(), no file_packs rows);
    //   3. then the source files still there (the renames skipped) and the resume data partial/<id>.resume are removed.
    // On entry each pack's `path` is its verified file; on return it is packs/<id>.pack. Idempotent: installing a
    // pack that is installed already changes nothing. Needs the repository write lock. A crash between the steps
    // leaves a pack in packs/ the index does not know, which reconcile() indexes on the next open.
    void install_packs(std::vector<SealedPack>& verified);

    // Registers a partial pack (no objects yet); returns its row. A complete pack of that id is returned as is.
    PackInfo add_partial_pack(const PackRef& ref);
    // Adds index rows for objects of pack `num` that the caller has verified (of a partial pack: read from its
    // partial file and hashed), in ONE transaction; rows that exist are kept.
    void add_verified_objects(std::int64_t num, const std::vector<PackEntry>& entries);

    // The packs recorded for a file by add_packs() (ids, possibly of packs that are gone since); nullopt if none is
    // recorded or the row is malformed.
    std::optional<std::vector<Hash32>> file_packs(const Hash32& file_id) const;

    // ---- Re-packing (bounded swarms per version; docs/format.md, "Re-packing") -----------------------------------

    // One record to copy into a new pack: the record at `from` (in a complete pack here). `full`: store the chunk as a
    // full record (re-encoded with `codec`) instead of copying its delta record as it is.
    struct CopyRecord {
        Location from;
        bool full = false;
    };
    // Copies the records into new packs sealed into packs/ (not yet indexed: pass them to add_repacked()), in order:
    // chunks into data packs, trees and file objects into metadata packs (sealed after the data packs, as a commit
    // writes them), a pack sealed once it holds `pack_target` bytes. Every record is verified as it is read (a delta
    // against its verified base); its stored bytes are copied unchanged unless `full`. Nothing is indexed: a crash
    // leaves sealed packs no commit names, which the next open indexes and gc deletes.
    std::vector<SealedPack> write_copies(const std::vector<CopyRecord>& records, std::uint64_t pack_target,
                                         const CodecParams& codec) const;
    // Deletes packs write_copies() sealed that are not to be registered after all (a pack already indexed, the same
    // bytes written by someone else, stays).
    void discard_copies(const std::vector<SealedPack>& sealed) const;
    // Registers packs write_copies() sealed and makes the index point every object they hold to its copy there, and
    // each object of `repoint` (an entry of the complete pack with row `num`) to that record; replaces the file_packs
    // rows of `file_packs`; all in ONE transaction. Returns the row number of each of `sealed`, in order. Needs the
    // repository write lock.
    std::vector<std::int64_t> add_repacked(const std::vector<SealedPack>& sealed,
                                           const std::vector<std::pair<std::int64_t, PackEntry>>& repoint,
                                           const std::vector<FilePacks>& file_packs);

    // ---- Packs going away (gc) and repair --------------------------------------------------------------------------

    // Forgets the packs `ids` (complete ones about to be deleted; rows of any kind with those ids), in ONE transaction
    // that also re-adds rows for objects that live in a remaining complete pack too (each remaining pack's index is
    // read from packs/), and empties file_packs (its rows may name the forgotten packs). Ids not indexed are skipped.
    void forget_packs(const std::vector<Hash32>& ids);
    // Forgets the rows of those of `ids` that are partial packs (and of their objects), in ONE transaction that also
    // re-adds rows for those objects that a complete pack here holds too (pointing there).
    void forget_partial_packs(const std::vector<Hash32>& ids);
    // Empties every table of the index (packs, objects, the work tree's stat cache, file_packs): `fsck --repair`,
    // which then calls reconcile().
    void clear_index();
    void forget_open_packs();  // close cached file descriptors (after gc)

    // ---- The pull lock ---------------------------------------------------------------------------------------------
    // One pull at a time per repository: a non-blocking flock on .dvt/pull.lock, held for the whole pull. gc leaves
    // partial packs alone while it is held (the commit that will name them is not written yet).
    std::optional<util::Fd> try_lock_pull() const;  // nullopt if another process holds it
    util::Fd lock_pull() const;                     // ErrorKind::conflict if another process holds it

    // Commits.
    void write_commit(const Hash32& id, const Bytes& bytes) const;  // atomic; no-op if present
    std::optional<Commit> read_commit(const Hash32& id) const;      // verified; nullopt if absent
    Bytes read_commit_bytes(const Hash32& id) const;                // verified; throws not_found
    bool has_commit(const Hash32& id) const;
    std::vector<Hash32> list_commits() const;
    std::filesystem::path commit_path(const Hash32& id) const;

    const std::filesystem::path& tmp_dir() const { return m_tmp_dir; }
    const std::filesystem::path& packs_dir() const { return m_packs_dir; }

private:
    // Inside a transaction the caller holds (with m_db.mutex()):
    std::int64_t add_pack(const SealedPack& p);                                    // one pack and its object rows
    void add_partial_objects(std::int64_t num, const std::vector<PackEntry>& entries);  // INSERT OR IGNORE objects
    void point_objects(std::int64_t num, const std::vector<PackEntry>& entries);        // INSERT OR REPLACE objects
    void put_file_packs(const std::vector<FilePacks>& file_packs);
    void forget_pack(std::int64_t num);                                            // its row and its objects' rows

private:
    PackInfo add_partial_pack_row(const PackRef& ref);
    std::size_t reconcile_rows();
    std::optional<Location> locate_row(const Hash32& id) const;
    // The open file of pack `num`: at most kMaxOpenPacks stay open (the least recently used is closed; a caller still
    // reading it keeps it open until done), so a version of thousands of packs is read within 1,024 descriptors.
    std::shared_ptr<util::Fd> pack_fd(std::int64_t num) const;
    RecordAt record_of(const Location& loc) const;  // the record at `loc`, its pack file kept open by the RecordAt
    static constexpr std::size_t kMaxOpenPacks = 64;
    std::int64_t index_pack_file(const std::filesystem::path& p, const Hash32& id);

    std::filesystem::path m_dvt_dir, m_packs_dir, m_commits_dir, m_tmp_dir, m_partial_dir;
    IndexDb& m_db;
    // Lookups use a small pool of read-only connections, so worker threads do not serialise on one connection.
    struct Reader;
    std::unique_ptr<Reader> take_reader() const;
    void give_reader(std::unique_ptr<Reader> r) const;
    mutable std::mutex m_reader_mutex;
    mutable std::vector<std::unique_ptr<Reader>> m_readers;
    mutable std::mutex m_fd_mutex;
    struct OpenPack {
        std::shared_ptr<util::Fd> fd;
        std::uint64_t used = 0;
    };
    mutable std::unordered_map<std::int64_t, OpenPack> m_fds;
    mutable std::uint64_t m_fd_tick = 0;
    friend class IndexSnapshot;
    // Asks the source (if one is plugged in) for `missing`; false when there is none.
    bool fetch_from_source(const std::vector<Hash32>& missing, const std::vector<Hash32>& ahead = {}) const;
    std::shared_ptr<ObjectSource> m_source;
    mutable std::mutex m_source_mutex;  // one fetch at a time
    // Recently decoded delta bases (a checkout reads neighbouring chunks whose chains share bases).
    mutable ChunkCache m_chunk_cache{64u << 20};
};

}  // namespace dvt::objects
