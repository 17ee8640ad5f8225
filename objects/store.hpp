// ObjectStore: packs + loose commit files, located through the index database.
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

#include "objects/index_db.hpp"
#include "objects/pack.hpp"

namespace dvt::objects {

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

class ObjectStore {
public:
    ObjectStore(std::filesystem::path dvt_dir, IndexDb& db);

    // Makes the index agree with packs/. Returns the number of packs (re)indexed.
    std::size_t reconcile();

    std::optional<Location> locate(const Hash32& id) const;
    bool has(const Hash32& id) const { return locate(id).has_value(); }
    Bytes read(const Hash32& id) const;                          // verified
    void read_at(const Location& loc, Bytes& out) const;         // verified
    // Reads several objects, coalescing records that lie next to each other in a pack into one read; calls
    // sink(index, bytes) in order with each verified object. Used by checkout.
    void read_many(const std::vector<Location>& locs,
                   const std::function<void(std::size_t, const Bytes&)>& sink) const;
    FileObject read_file_object(const Hash32& id) const;
    Tree read_tree(const Hash32& id) const;

    // Registers a sealed pack and its entries (call inside the caller's transaction). Existing rows are kept.
    // A partial pack of the same id becomes complete (its row is kept, so its objects' rows stay valid).
    std::int64_t add_pack(const SealedPack& p);
    std::optional<PackInfo> pack(std::int64_t num) const;
    // Deletes the rows of pack `num` and of its objects (inside the caller's transaction).
    void forget_pack(std::int64_t num);
    std::optional<PackInfo> pack_by_id(const Hash32& id) const;
    std::vector<PackInfo> packs() const;
    std::filesystem::path pack_path(const Hash32& id) const;       // packs/<id>.pack
    std::filesystem::path partial_path(const Hash32& id) const;    // partial/<id>.pack
    std::filesystem::path resume_path(const Hash32& id) const;     // partial/<id>.resume (libtorrent resume data)
    std::filesystem::path file_of(const PackInfo& p) const { return p.partial ? partial_path(p.ref.id) : pack_path(p.ref.id); }
    const std::filesystem::path& partial_dir() const { return m_partial_dir; }

    // Registers a partial pack (no objects yet); returns its row number. A complete pack of that id is returned as is.
    PackInfo add_partial_pack(const PackRef& ref);
    // Adds index rows for objects of pack `num` (of a partial pack: only objects the caller has verified), inside the
    // caller's transaction; rows that exist are kept.
    void add_partial_objects(std::int64_t num, const std::vector<PackEntry>& entries);
    Bytes piece_layer(std::int64_t num) const;

    // Commits.
    void write_commit(const Hash32& id, const Bytes& bytes) const;  // atomic; no-op if present
    std::optional<Commit> read_commit(const Hash32& id) const;      // verified; nullopt if absent
    Bytes read_commit_bytes(const Hash32& id) const;                // verified; throws not_found
    bool has_commit(const Hash32& id) const;
    std::vector<Hash32> list_commits() const;
    std::filesystem::path commit_path(const Hash32& id) const;

    IndexDb& index() const { return m_db; }
    const std::filesystem::path& tmp_dir() const { return m_tmp_dir; }
    const std::filesystem::path& packs_dir() const { return m_packs_dir; }
    void forget_open_packs();  // close cached file descriptors (after gc)

private:
    int pack_fd(std::int64_t num) const;
    std::int64_t index_pack_file(const std::filesystem::path& p, const Hash32& id);

    std::filesystem::path m_dvt_dir, m_packs_dir, m_commits_dir, m_tmp_dir, m_partial_dir;
    IndexDb& m_db;
    // Lookups use a small pool of read-only connections, so worker threads do not serialise on one connection.
    struct Reader {
        std::unique_ptr<SQLite::Database> db;
        std::unique_ptr<SQLite::Statement> locate;
    };
    std::unique_ptr<Reader> take_reader() const;
    void give_reader(std::unique_ptr<Reader> r) const;
    mutable std::mutex m_reader_mutex;
    mutable std::vector<std::unique_ptr<Reader>> m_readers;
    mutable std::mutex m_fd_mutex;
    mutable std::unordered_map<std::int64_t, std::shared_ptr<util::Fd>> m_fds;
};

}  // namespace dvt::objects
