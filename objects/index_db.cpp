#include "objects/index_db.hpp"

#include <sqlite3.h>

#include "objects/sqlite_error.hpp"
#include "objects/store.hpp"
#include "util/error.hpp"

namespace dvt::objects {

static SQLite::Database open_db(const std::filesystem::path& path) {
    try {
        return SQLite::Database(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX,
                                60000);
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, "cannot open " + path.string());
    }
}

// The index is a cache: a file SQLite cannot read is moved aside and rebuilt from the packs.
static SQLite::Database open_or_reset(const std::filesystem::path& path) {
    try {
        SQLite::Database db = open_db(path);
        db.execAndGet("PRAGMA user_version");
        db.exec("PRAGMA quick_check(1)");
        return db;
    } catch (const SQLite::Exception& e) {
        int code = e.getErrorCode() & 0xff;
        if (code != SQLITE_NOTADB && code != SQLITE_CORRUPT) throw;
        std::error_code ec;
        std::filesystem::rename(path, path.string() + ".damaged", ec);
        std::filesystem::remove(path.string() + "-wal", ec);
        std::filesystem::remove(path.string() + "-shm", ec);
        return open_db(path);
    }
}

IndexDb::IndexDb(const std::filesystem::path& path) : m_db(open_or_reset(path)) {
    try {
        m_db.exec("PRAGMA journal_mode=WAL");
        m_db.exec("PRAGMA synchronous=NORMAL");
        int version = m_db.execAndGet("PRAGMA user_version").getInt();
        if (version > kIndexSchemaVersion)
            throw Error(ErrorKind::unsupported, "index database schema " + std::to_string(version) +
                                                    " is newer than this dvt knows (" +
                                                    std::to_string(kIndexSchemaVersion) +
                                                    "); delete .dvt/index.db to rebuild it");
        if (version < kIndexSchemaVersion) {
            SQLite::Transaction t(m_db);
            m_db.exec(
                "CREATE TABLE IF NOT EXISTS packs(num INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, "
                "length INTEGER NOT NULL, index_offset INTEGER NOT NULL, piece_layer BLOB NOT NULL, "
                "partial INTEGER NOT NULL DEFAULT 0);"
                "CREATE TABLE IF NOT EXISTS objects(id BLOB PRIMARY KEY, pack INTEGER NOT NULL, offset INTEGER NOT "
                "NULL, stored_len INTEGER NOT NULL, raw_len INTEGER NOT NULL, type INTEGER NOT NULL, "
                "compression INTEGER NOT NULL) WITHOUT ROWID;"
                "CREATE TABLE IF NOT EXISTS worktree(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER "
                "NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, mode INTEGER NOT NULL, file_id BLOB NOT "
                "NULL, cached_at_ns INTEGER NOT NULL) WITHOUT ROWID;"
                "CREATE TABLE IF NOT EXISTS file_packs(file_id BLOB PRIMARY KEY, packs BLOB NOT NULL) WITHOUT ROWID;");
            if (version == 1) m_db.exec("ALTER TABLE packs ADD COLUMN partial INTEGER NOT NULL DEFAULT 0");
            m_db.exec("PRAGMA user_version=" + std::to_string(kIndexSchemaVersion));
            t.commit();
        }
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, path.string());
    }
}

std::shared_ptr<IndexDb> open_index_db(const std::filesystem::path& path) { return std::make_shared<IndexDb>(path); }

void IndexDb::clear_all() {
    std::lock_guard g(m_mutex);
    SQLite::Transaction t(m_db);
    m_db.exec("DELETE FROM objects; DELETE FROM packs; DELETE FROM worktree; DELETE FROM file_packs;");
    t.commit();
}

}  // namespace dvt::objects
