// StatCacheTable: the rows of the work tree's stat cache (the worktree table of the index database, docs/format.md
// "Index database"); core::StatCache decides what they mean (which files may skip hashing).
//
// Contract:
//  - A row is keyed by its path (repository-relative, '/'-separated); it records the stat data of the file when it
//    was hashed, its file id and when the row was written (cached_at_ns). It is a cache: losing rows only costs
//    rehashing.
//  - for_each() visits every row in path byte order (memcmp order); rows whose file id is malformed are skipped.
//  - replace() inserts the rows, replacing the row of the same path, all in one transaction (all or none after a
//    crash). Needs the repository write lock, or the caller accepts losing a race with another writer (the cache is
//    advisory: status writes it too).
//  - Errors are dvt::Error (see objects/sqlite_error.hpp); never a SQLite exception.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "util/hash.hpp"

namespace dvt::objects {

class IndexDb;  // objects/index_db.hpp, private to objects/

struct StatCacheRow {
    std::string path;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    std::uint64_t ino = 0;
    std::uint32_t mode = 0;
    Hash32 file_id;
    std::int64_t cached_at_ns = 0;
};

class StatCacheTable {
public:
    explicit StatCacheTable(IndexDb& db) : m_db(db) {}  // `db` must outlive this

    void for_each(const std::function<void(const StatCacheRow&)>& visit) const;
    void replace(std::span<const StatCacheRow> rows);

private:
    IndexDb& m_db;
};

}  // namespace dvt::objects
