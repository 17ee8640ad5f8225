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

namespace dvt::objects {

constexpr int kIndexSchemaVersion = 2;  // 2: packs.partial

class IndexDb {
public:
    explicit IndexDb(const std::filesystem::path& path);
    SQLite::Database& db() { return m_db; }
    std::recursive_mutex& mutex() { return m_mutex; }
    void clear_all();  // empties every table (used by --repair)

private:
    SQLite::Database m_db;
    std::recursive_mutex m_mutex;
};

}  // namespace dvt::objects
