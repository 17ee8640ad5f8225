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

// Walks a stored tree. With limits, only paths equal to or below one of them are returned (subtrees outside are not
// read). Every tree read is verified against its id.
FlatTree flatten_tree(const objects::ObjectStore& store, const Hash32& tree, const std::vector<std::string>& limits = {});

// The working tree as a FlatTree: stat cache first, then hashing (without storing) what it misses. New stat data is
// written back to the cache, so the next call is fast.
FlatTree worktree_state(Repository& repo, const std::vector<std::string>& limits = {});

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
