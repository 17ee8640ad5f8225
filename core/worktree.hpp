// The working tree: scanning it (honouring .dvtignore) and the stat cache that lets status and commit skip files
// whose (size, mtime, ctime, inode, mode) did not change since they were last hashed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/repository.hpp"
#include "objects/object.hpp"
#include "objects/stat_cache.hpp"

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

// All regular files and symlinks below root (directories are implied by paths; empty ones are not tracked, as in
// git). `.dvt`, `.git` and whatever .dvtignore files exclude are skipped; so are sockets, FIFOs and devices.
// If `limit` is non-empty, only paths equal to or below one of its entries are returned. Sorted by path bytes.
std::vector<WorkEntry> scan_worktree(const std::filesystem::path& root, const std::vector<std::string>& limit = {});

// Normalizes a user-supplied path (relative to `cwd`) to a repository-relative path; throws usage if it is outside.
std::string repo_relative(const Repository& repo, const std::filesystem::path& cwd, const std::string& user_path);

bool path_in_limits(const std::string& path, const std::vector<std::string>& limit);

// One file's stat data and id (objects/stat_cache.hpp); StatCache::store sets cached_at_ns itself.
using StatRow = objects::StatCacheRow;

class StatCache {
public:
    explicit StatCache(Repository& repo);
    // The file id cached for e, if e's stat data is unchanged and the entry is not "racy" (modified within the
    // timestamp granularity of when it was cached).
    std::optional<Hash32> lookup(const WorkEntry& e) const;
    void store(const std::vector<StatRow>& rows);  // upsert, one transaction; cached_at_ns = now

private:
    Repository& m_repo;
    std::unordered_map<std::string, StatRow> m_rows;
};

std::int64_t now_ns();

}  // namespace dvt::core
