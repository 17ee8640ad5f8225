// Trees as flat path maps, and building trees from a snapshot of the working tree.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/ingest.hpp"
#include "core/worktree.hpp"
#include "objects/store.hpp"

namespace dvt::core {

struct FlatEntry {
    objects::EntryKind kind = objects::EntryKind::file;
    std::uint64_t size = 0;
    Hash32 id;           // file object (zero for symlinks)
    std::string target;  // symlinks
    bool same_content(const FlatEntry& o) const { return kind == o.kind && id == o.id && target == o.target; }
};
using FlatTree = std::map<std::string, FlatEntry>;  // files and symlinks only, by path

// Walks a stored tree. With limits, only paths equal to or below one of them are returned. Every tree read is
// verified against its id. Before anything is flattened the whole tree is measured (core/version.hpp: each distinct
// tree read once): a tree over the limits of docs/format.md (depth, path length, entries of a version) or with a
// wrong directory size is ErrorKind::corrupt, so a hostile tree costs a few reads, not the memory of its paths. The
// walk is iterative.
FlatTree flatten_tree(const objects::ObjectStore& store, const Hash32& tree, const std::vector<std::string>& limits = {});
// The same for a commit's tree, whose `files` and `bytes` must also be what the tree holds.
FlatTree flatten_tree(const objects::ObjectStore& store, const objects::Commit& commit,
                      const std::vector<std::string>& limits = {});
// flatten_tree(store, commit, limits) for a version of which only the trees on the way to the limits and below them
// may be here (a partial pull through the version's locator, docs/format.md "Locator"). When every tree is here it
// is exactly flatten_tree. Otherwise each directory below a limit is measured whole (measure_tree: depth, path
// length, entries, sizes), and each tree on the way to one locally: its entries' sizes sum to the size its parent
// names (the root's to the commit's `bytes`), within the depth and path-length limits; trees off the way are not
// read. A tree needed and absent is not_found. Without limits: flatten_tree.
FlatTree flatten_paths(const objects::ObjectStore& store, const objects::Commit& commit,
                       const std::vector<std::string>& limits);

// The working tree as a FlatTree: stat cache first, then hashing (without storing) what it misses. New stat data is
// written back to the cache, so the next call is fast.
// `chunker`: cut files as the version they are compared with was cut (Repository::chunker_of; default: the
// repository's). The stat cache is used (and written) only with the repository's own chunker, whose file ids it holds.
FlatTree worktree_state(Repository& repo, const std::vector<std::string>& limits = {},
                        std::optional<objects::ChunkerParams> chunker = std::nullopt);

struct BuiltTree {
    Hash32 root;
    std::uint64_t files = 0, bytes = 0;
};
// Builds (and, if the ingest stores, stores) the trees for entries whose ids are known (ids[i] for entries[i];
// symlinks carry their target instead).
BuiltTree build_trees(Ingest& ingest, const std::vector<WorkEntry>& entries, const std::vector<Hash32>& ids);

struct DiffEntry {
    std::string path;
    char status = 'M';  // 'A' added, 'D' deleted, 'M' modified (content or executable bit), 'T' type change
    std::optional<FlatEntry> before, after;
};
std::vector<DiffEntry> diff_trees(const FlatTree& a, const FlatTree& b);

}  // namespace dvt::core
