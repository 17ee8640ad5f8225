// VersionReader: random access to the files of one version without checking it out (#18: the mount, the HTTP
// endpoint and the Python package read through it).
//
// Contract:
//  - Every byte it returns was verified against its id by the object store (a delta chunk through its chain). What
//    the repository lacks is asked of the store's ObjectSource (ObjectStore::set_source: a lazy source fetches it from
//    peers); a chunk that cannot be had is an Error (not_found, no_peers, network, corrupt), never other bytes.
//  - A version is hostile until read: each tree and file object is checked as it is read (decoders enforce the limits
//    of objects/limits.hpp), a path deeper than kMaxTreeDepth or longer than kMaxPathLength is not looked up, a file
//    entry whose size differs from its file object's, or a chunk whose bytes differ in length from its reference, is
//    ErrorKind::corrupt. Nothing is read ahead of need: opening a reader reads no object, a lookup reads the trees on
//    the path, a read the file object and the chunks it covers.
//  - Memory is bounded: trees, file objects and chunks are kept in LRU caches of fixed byte budgets.
//  - Read-ahead (for a lazy source, which fetches many chunks in one round as cheaply as one): when a read finds its
//    first chunk neither cached nor in the store, it asks the store (ObjectStore::ensure, one call to the source) for
//    every chunk the read covers and, when the read is sequential (at the file's start, or near where an earlier read
//    of the file ended), for the chunks of the next read_ahead_bytes of the same file; a read at the start of a file
//    whose preceding file in its directory was just read to its end (a directory read in order) reads ahead into
//    the following files of that directory too (those whose file objects are here): at first
//    Limits::next_files_bytes, doubling with each further file of the directory read to its end in order, up to the
//    same budget. The
//    chunks of the next background_bytes past those (same file, then the following files) go to the store as a hint
//    (ObjectStore::ensure's `ahead`: a lazy source fetches them in the background, not waited for; each chunk is
//    hinted once), so the next round's chunks are on their way when it starts. Only a chunk the read itself covers
//    failing to arrive fails the read.
//  - Thread-safe: any method may be called from several threads at once (the mount's worker threads).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "objects/store.hpp"

namespace dvt::core {

// A file, symlink or directory of the version.
struct ReaderEntry {
    objects::EntryKind kind = objects::EntryKind::directory;
    std::uint64_t size = 0;  // file: bytes; symlink: target length; directory: bytes of all files below
    Hash32 id;               // file object or tree (zero for a symlink)
    std::string target;      // symlinks
    Hash32 parent;           // the tree holding it (zero for the root), and its name there (set by lookup)
    std::string name;
};

class VersionReader {
public:
    struct Limits {
        std::size_t tree_cache_bytes = 32u << 20;   // encoded bytes of cached trees
        std::size_t file_cache_bytes = 32u << 20;   // encoded bytes of cached file objects
        std::size_t chunk_cache_bytes = 64u << 20;  // raw bytes of cached chunks
        std::uint64_t read_ahead_bytes = 8u << 20;  // of the same file, past a sequential read (0: none)
        std::uint64_t background_bytes = 32u << 20;  // past those: hinted to the source, not waited for (0: none)
        // Into the following files of a directory read in order: at first this much (waited for) and four times it
        // (hinted), doubling with each further file read to its end in order, up to the two above. A reader of a
        // random sample that happens to read two neighbours costs this, not the whole window.
        std::uint64_t next_files_bytes = 256u << 10;
    };
    VersionReader(const objects::ObjectStore& store, const objects::Commit& commit) : VersionReader(store, commit, Limits{}) {}
    VersionReader(const objects::ObjectStore& store, const objects::Commit& commit, Limits limits);

    const objects::Commit& commit() const { return m_commit; }

    // The entry at `path` ("a/b/c"; "" or "/" is the root directory); nullopt if the version has no such path (or a
    // component is not a directory). A path that is not a valid relative path (".." components, empty components,
    // over the limits) is nullopt as well: it cannot name anything in a version.
    std::optional<ReaderEntry> lookup(std::string_view path) const;
    // The entries of directory `dir` (as lookup() finds it), sorted by name. ErrorKind::not_found if there is no such
    // path, ErrorKind::usage if it is not a directory.
    std::vector<objects::TreeEntry> list(std::string_view dir) const;
    // Reads up to out.size() bytes of file object `file` (of a file entry found by lookup, whose size it must have)
    // from `offset`; returns the number of bytes read (less only at the end of the file; 0 at or past it).
    std::size_t read(const ReaderEntry& file, std::uint64_t offset, std::span<std::uint8_t> out) const;

private:
    struct FileIndex {
        objects::FileObject object;
        std::vector<std::uint64_t> starts;  // offset of each chunk in the file
    };
    std::shared_ptr<const objects::Tree> tree(const Hash32& id) const;
    std::shared_ptr<const FileIndex> file_index(const Hash32& id, std::uint64_t expected_size) const;
    std::shared_ptr<const Bytes> chunk(const objects::ChunkRef& ref) const;
    void read_ahead(const ReaderEntry& file, const FileIndex& f, std::size_t i, std::uint64_t offset,
                    std::size_t want) const;

    // A byte-budgeted LRU of shared values by id.
    template <class V>
    class Lru {
    public:
        explicit Lru(std::size_t budget) : m_budget(budget) {}
        std::shared_ptr<const V> get(const Hash32& id);
        void put(const Hash32& id, std::shared_ptr<const V> v, std::size_t bytes);

    private:
        struct Item {
            Hash32 id;
            std::shared_ptr<const V> value;
            std::size_t bytes;
        };
        std::size_t m_budget, m_used = 0;
        std::list<Item> m_order;  // most recent first
        std::unordered_map<Hash32, typename std::list<Item>::iterator, Hash32Hasher> m_map;
    };

    const objects::ObjectStore& m_store;
    objects::Commit m_commit;
    mutable std::mutex m_mutex;  // guards the caches (store reads happen outside it)
    mutable Lru<objects::Tree> m_trees;
    mutable Lru<FileIndex> m_files;
    mutable Lru<Bytes> m_chunks;
    std::uint64_t m_read_ahead, m_background;
    mutable std::mutex m_ahead_mutex;  // guards m_ahead_sent (taken before m_mutex, never inside it)
    mutable std::unordered_map<Hash32, std::uint64_t, Hash32Hasher> m_ahead_sent;  // file -> chunks starting before
                                                                                   // it were hinted
    mutable std::unordered_map<Hash32, std::uint64_t, Hash32Hasher> m_read_end;  // file -> where its last read ended
    struct Finished {
        Hash32 parent;     // the last file read to its end: its directory's tree,
        std::string name;  // its name there,
        std::uint32_t run;  // and how many files of that directory were read to their end in order up to it (>= 1)
    };
    mutable std::optional<Finished> m_finished;
    std::uint64_t m_next_files;
};

}  // namespace dvt::core
