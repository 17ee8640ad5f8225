#include "objects/sqlite_error.hpp"

#include <sqlite3.h>

namespace dvt::objects {

Error translate_sqlite(const SQLite::Exception& e, const std::string& what) {
    std::string msg = "index database: " + what + ": " + e.what();
    switch (e.getErrorCode() & 0xff) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return Error(ErrorKind::corrupt, msg + " (the index is a cache: run 'dvt fsck --repair' to rebuild it)");
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Error(ErrorKind::lock_timeout, msg + " (another process kept the index database busy)");
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_PERM:
        default:
            return Error(ErrorKind::io, msg);
    }
}

}  // namespace dvt::objects
