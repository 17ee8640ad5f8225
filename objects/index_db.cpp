#include "objects/index_db.hpp"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "objects/sqlite_error.hpp"
#include "objects/store.hpp"
#include "util/error.hpp"

namespace dvt::objects {

namespace fs = std::filesystem;

namespace {

SQLite::Database open_db(const fs::path& path) {
    try {
        return SQLite::Database(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX,
                                60000);
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, "cannot open " + path.string());
    }
}

// Moves a damaged index aside (index.db.damaged) with its WAL files.
void move_aside(const fs::path& path) {
    std::error_code ec;
    fs::rename(path, path.string() + ".damaged", ec);
    fs::remove(path.string() + "-wal", ec);
    fs::remove(path.string() + "-shm", ec);
}

// The index is a cache: a file SQLite cannot read is moved aside and rebuilt from the packs. Only its header and
// schema are read here: a check of every page (PRAGMA quick_check) would cost every command time in proportion to the
// number of objects (0.1 s at 100,000 files). A page damaged further in is met by the query that reads it (corrupt,
// exit 5, with the hint to run `dvt fsck --repair`, which checks every page and rebuilds the file: clear_all()).
SQLite::Database open_or_reset(const fs::path& path, const IndexNotice& notice) {
    try {
        SQLite::Database db = open_db(path);
        db.execAndGet("PRAGMA user_version");
        return db;
    } catch (const SQLite::Exception& e) {
        int code = e.getErrorCode() & 0xff;
        if (code != SQLITE_NOTADB && code != SQLITE_CORRUPT) throw;
        move_aside(path);
        if (notice)
            notice("the index database " + path.string() + " was unreadable (" + e.what() + "): moved to " +
                   path.filename().string() + ".damaged, rebuilding it from the packs");
        return open_db(path);
    }
}

// Statements every user of the index prepares, in the shapes they use: each names every column of its table and the
// key its upserts need. One that does not prepare means the schema is damaged (a table or index dropped, a column
// missing), whatever user_version says.
constexpr const char* kSchemaProbes[] = {
    "SELECT num, id, length, index_offset, piece_layer, partial FROM packs LIMIT 0",
    "INSERT INTO packs(id, length, index_offset, piece_layer, partial) VALUES(?,?,?,?,0) ON CONFLICT(id) DO NOTHING",
    "INSERT INTO objects(id, pack, offset, stored_len, raw_len, type, compression) VALUES(?,?,?,?,?,?,?) "
    "ON CONFLICT(id) DO NOTHING",
    "INSERT INTO worktree(path, size, mtime_ns, ctime_ns, ino, mode, file_id, cached_at_ns) VALUES(?,?,?,?,?,?,?,?) "
    "ON CONFLICT(path) DO NOTHING",
    "INSERT INTO file_packs(file_id, packs) VALUES(?,?) ON CONFLICT(file_id) DO NOTHING",
};

// nullopt if the schema is whole, else what SQLite said about the first statement that did not prepare.
std::optional<std::string> schema_damage(SQLite::Database& db) {
    for (const char* q : kSchemaProbes) {
        try {
            SQLite::Statement s(db, q);
        } catch (const SQLite::Exception& e) {
            return std::string(e.what());
        }
    }
    return std::nullopt;
}

// Creates (or migrates to) the current schema; unsupported if the file is newer than this dvt.
void create_schema(SQLite::Database& db) {
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > kIndexSchemaVersion)
        throw Error(ErrorKind::unsupported, "index database schema " + std::to_string(version) +
                                                " is newer than this dvt knows (" + std::to_string(kIndexSchemaVersion) +
                                                "); delete .dvt/index.db to rebuild it");
    if (version < kIndexSchemaVersion) {
        SQLite::Transaction t(db);
        db.exec(
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
        if (version == 1) db.exec("ALTER TABLE packs ADD COLUMN partial INTEGER NOT NULL DEFAULT 0");
        db.exec("PRAGMA user_version=" + std::to_string(kIndexSchemaVersion));
        t.commit();
    }
}

bool writable(const fs::path& p) { return ::access(p.c_str(), W_OK) == 0; }

}  // namespace

fs::path IndexDb::private_copy_if_read_only(const fs::path& path) {
    const fs::path dir = path.parent_path();
    std::error_code ec;
    bool exists = fs::exists(path, ec);
    // access(2) also says no on a read-only mount, and for a user the permissions deny (not for root and chmod)
    if (writable(dir) && (!exists || writable(path))) return {};
    std::string tmpl = (fs::temp_directory_path(ec) / "dvt-index-XXXXXX").string();
    if (ec || !::mkdtemp(tmpl.data()))
        throw Error(ErrorKind::io, dir.string() + " is read-only and no temporary directory could be made for a copy "
                                                  "of its index database");
    fs::path copy_dir = tmpl;
    for (const char* suffix : {"", "-wal"}) {  // the WAL holds the latest rows; -shm is rebuilt from it
        fs::path from = path.string() + suffix;
        if (fs::exists(from, ec)) fs::copy_file(from, copy_dir / ("index.db" + std::string(suffix)), ec);
        // a copy that failed is only a cache the reconcile at open rebuilds (an unreadable one is moved aside first)
    }
    return copy_dir;
}

IndexDb::IndexDb(const fs::path& path, const IndexNotice& notice)
    : m_notice(notice),
      m_copy_dir(private_copy_if_read_only(path)),
      m_db(open_or_reset(m_copy_dir.empty() ? path : m_copy_dir / "index.db", notice)) {
    const fs::path file = m_db.getFilename();
    try {
        create_schema(m_db);
        if (auto why = schema_damage(m_db)) {
            // Rebuilt like an unreadable file: a cache whose tables are gone would fail every command (exit 9).
            m_db = SQLite::Database(":memory:");  // closes the file before it is moved
            move_aside(file);
            if (notice)
                notice("the index database " + file.string() + " was damaged (" + *why + "): moved to " +
                       file.filename().string() + ".damaged, rebuilding it from the packs");
            m_db = open_db(file);
            create_schema(m_db);
            if (auto still = schema_damage(m_db))
                throw Error(ErrorKind::internal, "index database " + file.string() + ": new schema unusable: " + *still);
        }
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, file.string());
    }
}

IndexDb::~IndexDb() {
    if (m_copy_dir.empty()) return;
    m_db = SQLite::Database(":memory:");  // close before removing
    std::error_code ec;
    fs::remove_all(m_copy_dir, ec);
}

void IndexDb::replace_file() {
    const fs::path file = m_db.getFilename();
    m_db = SQLite::Database(":memory:");  // closes the file before it is moved
    move_aside(file);
    m_db = open_db(file);
    create_schema(m_db);
}

void IndexDb::replace_damaged(const std::string& why) {
    std::lock_guard g(m_mutex);
    const fs::path file = m_db.getFilename();
    try {
        replace_file();
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, file.string());
    }
    if (m_notice)
        m_notice("the index database " + file.string() + " was damaged (" + why + "): moved to " +
                 file.filename().string() + ".damaged, rebuilding it from the packs");
}

std::shared_ptr<IndexDb> open_index_db(const fs::path& path, const IndexNotice& notice) {
    return std::make_shared<IndexDb>(path, notice);
}

void IndexDb::clear_all() {
    std::lock_guard g(m_mutex);
    // every page checked first (opening does not): a damaged file is replaced by a new one, not emptied
    bool damaged = false;
    try {
        SQLite::Statement q(m_db, "PRAGMA quick_check(1)");
        damaged = !q.executeStep() || q.getColumn(0).getString() != "ok";
    } catch (const SQLite::Exception& e) {
        int code = e.getErrorCode() & 0xff;
        if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB) throw;
        damaged = true;
    }
    if (damaged) {
        replace_file();
        return;
    }
    SQLite::Transaction t(m_db);
    m_db.exec("DELETE FROM objects; DELETE FROM packs; DELETE FROM worktree; DELETE FROM file_packs;");
    t.commit();
}

}  // namespace dvt::objects
