// Checking a version (a commit and everything its tree reaches) against the rules of docs/format.md that no single
// decoder can see: the limits on depth, path length and entries of a whole version ("Limits"), a directory's size
// being the sum below it, a file entry's size being its file object's size, and every chunk being as long as its
// manifest says (and, for a format-2 commit, no longer than its chunker's max).
//
// Every walk here is iterative and visits each distinct tree once (memoized by id): a 30,000-deep chain is refused
// at depth 257 after 257 reads, and a "DAG bomb" (trees naming one subtree twice, 2^32 paths in 5.6 KB) after a few
// dozen reads, before anything is flattened. Errors are ErrorKind::corrupt naming the object and the rule.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "objects/object.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"

namespace dvt::core {

// Where a check reads a version's objects: the object store, or packs verified but not installed yet (a pull checks
// the version it received before anything is stored).
class VersionObjects {
public:
    virtual ~VersionObjects() = default;
    virtual objects::Tree tree(const Hash32& id) const = 0;        // verified; not_found if absent
    virtual objects::FileObject file(const Hash32& id) const = 0;  // verified; not_found if absent
    // The index entry of a chunk (type and raw length; reading it verifies both), nullopt if absent.
    virtual std::optional<objects::PackEntry> chunk(const Hash32& id) const = 0;
};

class StoreObjects : public VersionObjects {
public:
    explicit StoreObjects(const objects::ObjectStore& store) : m_store(store) {}
    objects::Tree tree(const Hash32& id) const override { return m_store.read_tree(id); }
    objects::FileObject file(const Hash32& id) const override { return m_store.read_file_object(id); }
    std::optional<objects::PackEntry> chunk(const Hash32& id) const override;

private:
    const objects::ObjectStore& m_store;
};

// The objects of pack files whose index was verified (SealedPack: path and entries), then those of `fallback` (the
// store, for what the repository has already), if given.
class PackObjects : public VersionObjects {
public:
    PackObjects(const std::vector<objects::SealedPack>& packs, const objects::ObjectStore* fallback);
    ~PackObjects() override;
    objects::Tree tree(const Hash32& id) const override;
    objects::FileObject file(const Hash32& id) const override;
    std::optional<objects::PackEntry> chunk(const Hash32& id) const override;

private:
    Bytes read(const Hash32& id) const;
    struct Impl;
    std::unique_ptr<Impl> m;
};

// What a tree holds below it. depth: directory levels below it (0: no subdirectory); longest: the longest path
// below it, relative to it, in bytes.
struct TreeShape {
    std::uint64_t files = 0;  // files and symlinks
    std::uint64_t dirs = 0;   // directories below (not counting the tree itself)
    std::uint64_t bytes = 0;  // total size of the files and symlinks
    std::uint32_t depth = 0;
    std::size_t longest = 0;
};
using TreeShapes = std::map<Hash32, TreeShape>;  // memo, shareable between calls (fsck measures many commits)

// Measures the tree `root` (iteratively, each distinct tree once) and checks it: depth <= kMaxTreeDepth, paths <=
// kMaxPathLength, files + dirs <= kMaxVersionEntries, no empty subdirectory, every directory's size the sum below
// it. Reads trees only.
TreeShape measure_tree(const VersionObjects& objs, const Hash32& root, TreeShapes* memo = nullptr);
// measure_tree, and the commit's `files` and `bytes` must be what the tree holds.
TreeShape measure_commit(const VersionObjects& objs, const objects::Commit& c, TreeShapes* memo = nullptr);

struct VersionCheckOptions {
    bool require_chunks = true;  // false: a chunk that is absent is fine (a partial pull checks what it has)
    bool require_files = true;   // false: a file object that is absent (not_found) is fine, and its chunks unchecked
                                 // (a partial pull fetches the file objects under its paths only)
};
struct VersionCheck {
    TreeShape shape;
    std::uint64_t file_objects = 0, chunks = 0;  // distinct ones checked
};
// The whole version: measure_commit, then every distinct file object: its size is its tree entries' size, and each
// chunk is present as a chunk record (unless !require_chunks), as long as the manifest says, and (format 2) no
// longer than the commit's chunker max. Throws corrupt (not_found for an absent tree or file object).
VersionCheck check_version(const VersionObjects& objs, const objects::Commit& c, const VersionCheckOptions& o);

// The file object of a tree entry about to be written out, checked against the entry (same size) and with the
// location of every chunk, each checked to be a chunk record as long as the manifest says. Throws not_found for an
// absent chunk, corrupt for a mismatch. (Reading a location verifies the bytes against the id and that length.)
struct CheckedFile {
    objects::FileObject file;
    std::vector<objects::Location> chunks;
};
CheckedFile read_file_checked(const objects::ObjectStore& store, const Hash32& file_id, std::uint64_t entry_size,
                              const std::string& path);

}  // namespace dvt::core
