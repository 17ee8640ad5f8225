// StatCacheFile: the rows of the work tree's stat cache, `.dvt/stat-cache` (docs/format.md, "Stat cache");
// core::StatCache decides what they mean (which files may skip hashing).
//
// Contract:
//  - A row is keyed by its path (repository-relative, '/'-separated); it records the stat data of the file when it
//    was hashed, its file id and when the row was written (cached_at_ns). It is a cache: losing rows only costs
//    rehashing.
//  - The file holds the rows sorted in tree order (tree_order_compare: a path compared component by component, the
//    order in which a walk of sorted directories meets the files), in blocks of at most kStatBlockBytes, each
//    verified against its SHA-256 before any row of it is used. Reading is sequential with one block in memory:
//    no per-row heap objects, whatever the number of rows.
//  - A reader stops at the first thing that is not a well-formed, verified block in order (a file of another layout,
//    a torn or damaged block, rows out of order): the rows after it are simply absent, so they are re-hashed and the
//    next write replaces the file. Nothing in the file is trusted before its block hash matches.
//  - merge() rewrites the file (temp file + rename: all or nothing): the given rows replace the rows of the same path
//    or are added, the paths in `drop` are removed, every other row is kept. Without the repository write lock the
//    caller accepts losing a race with another writer (the cache is advisory: status writes it too).
//  - Errors are dvt::Error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/fs.hpp"
#include "util/hash.hpp"

namespace dvt::objects {

// <0, 0, >0 as a is before, equal to, after b in tree order: byte order with '/' below every other byte, so that a
// directory's files come right after its name ("a/x" < "a.b", as the tree entries "a" < "a.b").
int tree_order_compare(std::string_view a, std::string_view b);
inline bool tree_order_less(std::string_view a, std::string_view b) { return tree_order_compare(a, b) < 0; }

struct StatCacheRow {
    std::string path;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    std::uint64_t ino = 0;
    std::uint32_t mode = 0;
    Hash32 file_id;
    std::int64_t cached_at_ns = 0;
};

constexpr std::uint32_t kStatCacheLayout = 1;
constexpr std::size_t kStatBlockBytes = 1u << 20;

// A sequential reader of a stat cache file. The row it hands out lives until the next call.
class StatCacheReader {
public:
    explicit StatCacheReader(const std::filesystem::path& file);  // a missing or unreadable file reads as empty
    // The next row, or nullptr at the end (or at the first damage).
    const StatCacheRow* next();
    // The row of `path`, skipping the rows before it; nullptr if there is none. Asked in tree order this reads the
    // file once; a path before the last one asked starts again from the beginning.
    const StatCacheRow* find(std::string_view path);
    bool damaged() const { return m_damaged; }  // stopped before the end of the file
    // Rows find() passed over without being asked for (paths no longer there), and how often it had to start again.
    std::uint64_t skipped() const { return m_skipped; }
    std::uint64_t rewinds() const { return m_rewinds; }

private:
    bool load_block();
    void rewind();

    util::Fd m_fd;
    std::uint64_t m_offset = 0, m_size = 0;
    std::vector<std::uint8_t> m_block;
    std::size_t m_pos = 0;
    std::uint32_t m_rows_left = 0;
    StatCacheRow m_row;
    std::string m_prev;  // the path of the row before m_row
    bool m_have = false;   // m_row holds the current row (find() has not consumed it)
    bool m_end = false, m_damaged = false;
    std::uint64_t m_skipped = 0, m_rewinds = 0;
};

// Writes a new stat cache file (rows strictly increasing in tree order) to a temp file; commit() renames it into place.
class StatCacheWriter {
public:
    explicit StatCacheWriter(const std::filesystem::path& file);
    ~StatCacheWriter();  // removes the temp file unless committed
    StatCacheWriter(const StatCacheWriter&) = delete;
    StatCacheWriter& operator=(const StatCacheWriter&) = delete;
    void add(const StatCacheRow& r);  // internal error if not after the previous row
    void commit();

private:
    void flush_block();

    std::filesystem::path m_file, m_tmp;
    util::Fd m_fd;
    std::vector<std::uint8_t> m_block;
    std::uint32_t m_rows = 0;
    std::string m_prev;
    bool m_any = false, m_committed = false;
};

class StatCacheFile {
public:
    explicit StatCacheFile(std::filesystem::path file) : m_file(std::move(file)) {}
    const std::filesystem::path& path() const { return m_file; }

    void for_each(const std::function<void(const StatCacheRow&)>& visit) const;  // in tree order
    // `rows` and `drop` need not be sorted; a path in both keeps the row.
    void merge(std::vector<StatCacheRow> rows, std::vector<std::string> drop = {});

private:
    std::filesystem::path m_file;
};

}  // namespace dvt::objects
