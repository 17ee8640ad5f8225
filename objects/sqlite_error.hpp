// Private to objects/: turns SQLite's exceptions into dvt::Error, so no caller outside objects/ sees a foreign
// exception type. Every public entry point of ObjectStore and StatCacheTable that runs SQL goes through guarded().
//
// Mapping (by the primary result code):
//   SQLITE_CORRUPT, SQLITE_NOTADB                              -> ErrorKind::corrupt, with a hint to run
//                                                                 `dvt fsck --repair` (the index is a cache)
//   SQLITE_BUSY, SQLITE_LOCKED                                 -> ErrorKind::lock_timeout
//   SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL,
//   SQLITE_PERM and everything else                            -> ErrorKind::io
#pragma once

#ifndef DVT_WITH_SQLITE
#error "this header exposes SQLite: only objects/ (and unit tests) may include it; use ObjectStore or StatCacheTable"
#endif

#include <SQLiteCpp/Exception.h>

#include <string>
#include <utility>

#include "util/error.hpp"

namespace dvt::objects {

// The dvt::Error for a SQLite failure while doing `what` ("index database: <what>: <sqlite message>").
Error translate_sqlite(const SQLite::Exception& e, const std::string& what);

// Runs f(), translating a SQLite::Exception it throws (dvt::Error and others pass through unchanged).
template <class F>
decltype(auto) guarded(const char* what, F&& f) {
    try {
        return std::forward<F>(f)();
    } catch (const SQLite::Exception& e) {
        throw translate_sqlite(e, what);
    }
}

}  // namespace dvt::objects
