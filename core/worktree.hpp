// The working tree: scanning it (honouring .dvtignore) and the stat cache that lets status and commit skip files
// whose (size, mtime, ctime, inode, mode) did not change since they were last hashed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "objects/object.hpp"
#include "objects/stat_cache.hpp"
#include "util/fs.hpp"
#include "util/ignore.hpp"

namespace dvt::core {

struct WorkEntry {
    std::string path;  // relative, '/'-separated
    objects::EntryKind kind = objects::EntryKind::file;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    std::uint64_t ino = 0;
    std::uint32_t mode = 0;
    std::string target;  // symlinks
};

// Reads a work tree one directory at a time, honouring .dvtignore (a directory's ignore file is loaded when the
// directory is read, so parents must be read before their children, as a walk does) and `limit` (as scan_worktree).
class WorkScanner {
public:
    explicit WorkScanner(std::vector<std::string> limit = {});
    // The files, symlinks and subdirectories (kind directory, only path and mode set) of directory `dirfd`, whose
    // repository-relative path is `rel` ("" for the root), in name order; ignored and irrelevant ones left out.
    std::vector<WorkEntry> read_dir(int dirfd, const std::string& rel);

private:
    util::IgnoreRules m_ignore;
    std::vector<std::string> m_limit;
};
util::Fd open_worktree_root(const std::filesystem::path& root);
// Opens subdirectory `dir` (an entry read_dir returned for dirfd) without following a symlink; nullopt if it is gone.
std::optional<util::Fd> open_subdir(int dirfd, const WorkEntry& dir);

// All regular files and symlinks below root (directories are implied by paths; empty ones are not tracked, as in
// git). `.dvt`, `.git` and whatever .dvtignore files exclude are skipped; so are sockets, FIFOs and devices.
// If `limit` is non-empty, only paths equal to or below one of its entries are returned. Sorted by path bytes.
std::vector<WorkEntry> scan_worktree(const std::filesystem::path& root, const std::vector<std::string>& limit = {});

// Normalizes a user-supplied path (relative to `cwd`) to a repository-relative path; throws usage if it is outside.
std::string repo_relative(const Repository& repo, const std::filesystem::path& cwd, const std::string& user_path);

bool path_in_limits(const std::string& path, const std::vector<std::string>& limit);

// One file's stat data and id (objects/stat_cache.hpp); StatCache::store sets cached_at_ns itself.
using StatRow = objects::StatCacheRow;

// The stat cache (objects/stat_cache.hpp) as status, commit and checkout use it: lookups in tree order read the
// cache file once, sequentially, with no per-file memory.
class StatCache {
public:
    explicit StatCache(Repository& repo);
    // The file id cached for e, if e's stat data is unchanged and the entry is not "racy" (modified within the
    // timestamp granularity of when it was cached). Fastest asked in tree order (objects::tree_order_compare).
    std::optional<Hash32> lookup(const WorkEntry& e);
    // Whether row `s` still describes e (same stat data, not racy).
    static bool fresh(const StatRow& s, const WorkEntry& e);
    // Adds or replaces `rows` and removes the rows of `drop` (paths gone), rewriting the cache file atomically;
    // cached_at_ns = when this object was made, which must be before the rows' stat data was taken (so a change in
    // the same timestamp tick as that stat is re-hashed next time).
    void store(std::vector<StatRow> rows, std::vector<std::string> drop = {});

private:
    Repository& m_repo;
    objects::StatCacheReader m_reader;
    std::int64_t m_now;
};

// A walk's use of the stat cache (status, commit): every regular file of the work tree is looked up once, in tree
// order, so the cache file is read once, sequentially. A new cache file is written only when something changed (a
// file re-hashed, a row of a path no longer there, a damaged or older cache): the rows before the first change are
// copied from the old file, later ones written as the walk meets them; rows of files being hashed are held back
// (waiting()) until their ids are known, so the file stays in tree order. Nothing per file is kept in memory.
class StatCacheUpdate {
public:
    explicit StatCacheUpdate(Repository& repo);
    ~StatCacheUpdate();
    StatCacheUpdate(const StatCacheUpdate&) = delete;
    StatCacheUpdate& operator=(const StatCacheUpdate&) = delete;
    // The cached id of regular file e if its row is fresh (StatCache::fresh) and `usable` (if given) accepts the id;
    // the row is kept. Otherwise nullopt: the caller hashes the file (expect()) or leaves it out of the cache.
    std::optional<Hash32> lookup(const WorkEntry& e, const std::function<bool(const Hash32&)>& usable = {});
    // After a miss: e will be hashed; returns the slot that set() or forget() resolves.
    std::size_t expect(const WorkEntry& e);
    void set(std::size_t slot, const Hash32& id);
    void forget(std::size_t slot);  // the file changed while it was read: no row
    std::size_t waiting() const { return m_buf.size(); }
    // Writes the new cache file if anything changed. Slots not resolved are forgotten.
    void finish();

private:
    struct Slot {
        StatRow row;
        bool ready = false, keep = true;
    };
    void start();
    void emit(const StatRow& r);
    void drain();

    Repository& m_repo;
    objects::StatCacheReader m_reader, m_copy;
    std::unique_ptr<objects::StatCacheWriter> m_writer;
    std::uint64_t m_hits = 0;  // rows kept before writing started: the first rows of the old file
    std::int64_t m_now;
    std::vector<Slot> m_buf;
    std::size_t m_base = 0, m_pending = 0;
    bool m_off = false;  // the new file could not be written: only reading
};

std::int64_t now_ns();

}  // namespace dvt::core
