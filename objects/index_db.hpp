// The SQLite index: a cache, never the only copy of anything (docs/format.md, "Index database").
// Tables: packs and objects (object id -> pack and offset, rebuilt from the pack indexes), worktree (the stat cache)
// and file_packs (file id -> packs its objects live in). Deleting the file loses nothing: `dvt fsck --repair`
// rebuilds it, and opening a repository re-indexes any sealed pack the database does not know.
// Private to objects/: ObjectStore (packs, objects, file_packs) and StatCacheTable (worktree) are its only users
// (besides unit tests of objects/); SQLite failures leave objects/ as dvt::Error (objects/sqlite_error.hpp).
#pragma once

#ifndef DVT_WITH_SQLITE
#error "this header exposes SQLite: only objects/ (and unit tests) may include it; use ObjectStore or StatCacheTable"
#endif

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <mutex>

#include "objects/store.hpp"  // open_index_db, IndexNotice

namespace dvt::objects {

constexpr int kIndexSchemaVersion = 2;  // 2: packs.partial

// Opening (docs/format.md, "Index database"):
//  - a file SQLite cannot read (its header), or whose schema is damaged (a table, column or key missing: every
//    statement dvt uses is prepared once to find out), is moved to index.db.damaged and a new one made; `notice` is
//    told (once). Pages are not all read (that costs in proportion to the index): one damaged further in fails the
//    query that reads it (corrupt, with the hint to run `dvt fsck --repair`: clear_all());
//  - when .dvt (or index.db) is not writable (a read-only mount, another user's repository), the index is a private
//    copy of index.db (and its WAL) in a temporary directory, removed by the destructor: readers such as status, log
//    and fsck work, and nothing in .dvt is written.
class IndexDb {
public:
    explicit IndexDb(const std::filesystem::path& path, const IndexNotice& notice = {});
    ~IndexDb();
    IndexDb(const IndexDb&) = delete;
    IndexDb& operator=(const IndexDb&) = delete;
    SQLite::Database& db() { return m_db; }
    std::recursive_mutex& mutex() { return m_mutex; }
    // Empties every table (used by --repair); a file whose pages fail SQLite's quick_check (opening reads only the
    // header and schema) is moved to index.db.damaged and a new one made instead.
    void clear_all();
    bool is_private_copy() const { return !m_copy_dir.empty(); }
    // Moves a file found damaged after opening (a query failed with SQLITE_CORRUPT) to index.db.damaged and makes a
    // new, empty one; `notice` is told, with `why`. Connections others opened on the old file must be dropped.
    void replace_damaged(const std::string& why);

private:
    // The temporary directory holding a copy of the index when `path`'s directory is read-only, else empty.
    static std::filesystem::path private_copy_if_read_only(const std::filesystem::path& path);
    void replace_file();  // with m_mutex held
    IndexNotice m_notice;
    std::filesystem::path m_copy_dir;  // before m_db: initialised first
    SQLite::Database m_db;
    std::recursive_mutex m_mutex;
};

}  // namespace dvt::objects
