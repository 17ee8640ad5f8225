// Repository: finds and opens .dvt, checks its format version, and owns the object store, refs, the index database
// (private to objects/: reached only through store() and stat_table()) and the per-repository lock options.
//
// Layout (docs/format.md, "Repository layout"):
//   .dvt/config  HEAD  refs/  logs/  packs/<pack-id>.pack  commits/<commit-id>  tmp/  index.db  lock  hooks/
// A repository whose core.format is not one this dvt knows is refused before anything is read or written.
//
// Formats (docs/format.md, "Versioning"): 2 (new repositories) writes version-2 commits, which carry their chunker
// parameters; 1 (repositories made by older dvts, which they may still share) writes version-1 commits. Both read
// both kinds of commit; a format-1 repository becomes format 2 when it first stores a version-2 commit (a pull), as
// an older dvt could not read that commit anyway.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "objects/chunker.hpp"
#include "objects/codec.hpp"
#include "objects/stat_cache.hpp"
#include "objects/store.hpp"
#include "refs/refs.hpp"
#include "util/fs.hpp"

namespace dvt::core {

constexpr int kRepositoryFormatMin = 1;
constexpr int kRepositoryFormat = 2;  // written by init; the highest this dvt knows
constexpr std::uint16_t kDefaultExtraPacks = 32;  // pack.extra-packs when unset (docs/format.md, "Re-packing")
constexpr std::uint16_t kDefaultDeltaDepth = 16;  // pack.delta-depth when unset (docs/performance.md, "Delta records")

struct InitOptions {
    int format = kRepositoryFormat;  // 1 only to make a repository an older dvt can share (tests)
    objects::ChunkerParams chunker;
    int zstd_level = 3;
    std::uint64_t pack_size = 64ull << 20;
    std::string branch = "main";
};

struct Author {
    std::string name, email;
    std::int64_t time = 0;
    int tz_minutes = 0;
};

// How a command uses a repository it opens (per Repository object, not process-wide).
struct OpenOptions {
    int lock_timeout_ms = 60000;                             // --lock-timeout / DVT_LOCK_TIMEOUT
    std::function<void(const std::string&)> on_lock_wait;  // told once when write_lock() starts waiting
    std::function<void(const std::string&)> on_notice;     // told when opening repaired something (the index cache)
};

class Repository {
public:
    // Searches upward from `start` for .dvt.
    static std::unique_ptr<Repository> open(const std::filesystem::path& start, OpenOptions options = {});
    static std::unique_ptr<Repository> init(const std::filesystem::path& worktree, const InitOptions& opts);

    const std::filesystem::path& root() const { return m_root; }
    const std::filesystem::path& dvt_dir() const { return m_dvt; }
    Config& config() { return m_config; }
    void save_config() { m_config.save(m_dvt / "config"); }
    objects::ObjectStore& store() { return *m_store; }
    refs::RefStore& refs() { return *m_refs; }
    objects::StatCacheFile& stat_table() { return *m_stat_table; }  // the work tree's stat cache (.dvt/stat-cache)

    objects::ChunkerParams chunker_params() const;  // config chunker.*: how this repository cuts files
    int format() const;                              // core.format (checked by open: kRepositoryFormatMin..kRepositoryFormat)
    int commit_format() const { return format(); }   // the commit format this repository writes
    // How the files of commit `c` were cut: its own chunker (format 2), else this repository's (a format-1 commit
    // carries none; it was made by a repository with the chunker its reader assumes). Comparisons of a work tree with
    // `c`, and a commit on top of it, cut files with this.
    // (A format-1 commit was never cut at tensor boundaries.)
    objects::ChunkerParams chunker_of(const objects::Commit& c) const {
        if (c.chunker) return *c.chunker;
        auto p = chunker_params();
        p.tensors = false;
        return p;
    }
    // chunker.tensors when the config sets it (0 or 1), else nullopt (a commit then cuts as its parent did).
    std::optional<bool> tensor_chunking_setting() const;
    // Before storing a commit of format `commit_format`: raises core.format to it if it is lower (needs the write
    // lock). Never lowers it.
    void accept_commit_format(int commit_format);
    // Sets chunker.* (a clone takes the chunker of the commit it clones, so it cuts files as its origin does). Only
    // while HEAD names no commit (needs the write lock).
    void adopt_chunker(const objects::ChunkerParams& p);
    objects::CodecParams codec_params() const;
    std::uint64_t pack_size() const;
    // pack.extra-packs: a commit names at most ⌈its bytes / pack.size⌉ + this many packs (core/swarms.hpp).
    std::size_t extra_packs() const;
    // pack.delta-depth: the longest delta chain commit writes (0: no delta records). Always 0 in a format-1
    // repository (its packs must stay readable by a dvt that knows format 1 only).
    std::uint16_t delta_depth() const;
    // pack.tensor-delta-depth: the longest chain of tensor delta records commit writes (at most delta_depth()).
    std::uint16_t tensor_delta_depth() const;
    Author author() const;  // DVT_AUTHOR_NAME/EMAIL/DATE, then config user.*, then $USER@host

    // Shallow commits (docs/format.md, ".dvt/shallow"): commits fetched from a swarm without their ancestors. History
    // walks stop at them, and fsck does not require their parents. add_shallow() needs the write lock.
    std::set<Hash32> shallow() const;
    bool is_shallow(const Hash32& id) const { return shallow().count(id) > 0; }
    void add_shallow(const Hash32& id);

    // The repository write lock: commit, checkout, gc, ref changes. Waits (printing a message once) up to
    // options().lock_timeout_ms, then fails with ErrorKind::lock_timeout.
    util::FileLock write_lock();
    const OpenOptions& options() const { return m_options; }

    ~Repository();

private:
    Repository(std::filesystem::path root, OpenOptions options);
    std::filesystem::path m_root, m_dvt;
    OpenOptions m_options;
    Config m_config;
    std::shared_ptr<objects::IndexDb> m_index;  // opaque here (objects/ owns it); shared_ptr: deleter made in objects/
    std::unique_ptr<objects::StatCacheFile> m_stat_table;
    std::unique_ptr<objects::ObjectStore> m_store;
    std::unique_ptr<refs::RefStore> m_refs;
};

}  // namespace dvt::core
