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
//  - a file SQLite cannot read, or whose schema is damaged (a table, column or key missing: every statement dvt uses
//    is prepared once to find out), is moved to index.db.damaged and a new one made; `notice` is told (once);
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
    void clear_all();  // empties every table (used by --repair)
    bool is_private_copy() const { return !m_copy_dir.empty(); }

private:
    // The temporary directory holding a copy of the index when `path`'s directory is read-only, else empty.
    static std::filesystem::path private_copy_if_read_only(const std::filesystem::path& path);
    std::filesystem::path m_copy_dir;  // before m_db: initialised first
    SQLite::Database m_db;
    std::recursive_mutex m_mutex;
};

}  // namespace dvt::objects
