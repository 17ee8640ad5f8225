#include "core/tree.hpp"

#include <algorithm>
#include <functional>

#include "core/version.hpp"
#include "objects/limits.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

// Could a path below directory `path` match one of `limits` (so the walk must read it)?
bool dir_relevant(const std::string& path, const std::vector<std::string>& limits) {
    if (limits.empty()) return true;
    for (const auto& l : limits)
        if (path_in_limits(path, {l}) || (l.size() > path.size() && l.compare(0, path.size(), path) == 0 &&
                                          l[path.size()] == '/'))
            return true;
    return false;
}

// The walk itself, iterative; measure_tree has checked depth, path lengths and the number of entries first.
FlatTree flatten_measured(const ObjectStore& store, const Hash32& root, const std::vector<std::string>& limits) {
    FlatTree out;
    struct Pending {
        Hash32 id;
        std::string prefix;
        std::uint32_t depth;
    };
    std::vector<Pending> todo{{root, "", 0}};
    while (!todo.empty()) {
        Pending p = std::move(todo.back());
        todo.pop_back();
        if (p.depth > kMaxTreeDepth)  // measure_tree refuses such a tree first; never recurse on faith
            throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + " nests deeper than the limit");
        Tree t = store.read_tree(p.id);
        for (const auto& e : t.entries) {
            std::string path = p.prefix.empty() ? e.name : p.prefix + "/" + e.name;
            if (e.kind == EntryKind::directory) {
                if (dir_relevant(path, limits)) todo.push_back(Pending{e.id, std::move(path), p.depth + 1});
                continue;
            }
            if (!path_in_limits(path, limits)) continue;
            out[path] = FlatEntry{e.kind, e.size, e.id, e.target};
        }
    }
    return out;
}

}  // namespace

FlatTree flatten_tree(const ObjectStore& store, const Hash32& tree, const std::vector<std::string>& limits) {
    measure_tree(StoreObjects(store), tree);
    return flatten_measured(store, tree, limits);
}

FlatTree flatten_tree(const ObjectStore& store, const Commit& commit, const std::vector<std::string>& limits) {
    measure_commit(StoreObjects(store), commit);
    return flatten_measured(store, commit.tree, limits);
}

FlatTree flatten_paths(const ObjectStore& store, const Commit& commit, const std::vector<std::string>& limits) {
    if (limits.empty() || std::any_of(limits.begin(), limits.end(), [](const std::string& l) { return l.empty(); }))
        return flatten_tree(store, commit, limits);
    try {
        measure_commit(StoreObjects(store), commit);
        return flatten_measured(store, commit.tree, limits);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::not_found) throw;
    }
    // only the way to the limits is here (or should be): measured as far as it is needed
    struct Pending {
        Hash32 id;
        std::string prefix;
        std::uint32_t depth;
        std::uint64_t size;
    };
    std::vector<Pending> todo{{commit.tree, "", 0, commit.bytes}};
    while (!todo.empty()) {
        Pending p = std::move(todo.back());
        todo.pop_back();
        if (p.depth > kMaxTreeDepth)
            throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + " nests deeper than the limit");
        Tree t = store.read_tree(p.id);
        if (p.depth > 0 && t.entries.empty())
            throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + ": an empty directory (a tree records none)");
        std::uint64_t sum = 0;
        for (const auto& e : t.entries) {
            if (sum + e.size < sum) throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + ": sizes overflow");
            sum += e.size;
            if (e.kind != EntryKind::directory) continue;
            std::string path = p.prefix.empty() ? e.name : p.prefix + "/" + e.name;
            if (path.size() > kMaxPathLength)
                throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + ": a path longer than the limit");
            if (path_in_limits(path, limits)) {  // wanted whole: measured whole
                TreeShape s = measure_tree(StoreObjects(store), e.id);
                if (s.bytes != e.size)
                    throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + ": directory '" + e.name + "' has size " +
                                                        std::to_string(e.size) + " but holds " +
                                                        std::to_string(s.bytes) + " bytes");
                if (p.depth + 1 + s.depth > kMaxTreeDepth || path.size() + 1 + s.longest > kMaxPathLength)
                    throw Error(ErrorKind::corrupt, "directory '" + path + "' exceeds the depth or path-length limit");
            } else if (dir_relevant(path, limits)) {
                todo.push_back(Pending{e.id, std::move(path), p.depth + 1, e.size});
            }
        }
        if (sum != p.size)
            throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + " holds " + std::to_string(sum) +
                                                " bytes but its parent (or the commit) states " + std::to_string(p.size));
    }
    return flatten_measured(store, commit.tree, limits);
}

FlatTree worktree_state(Repository& repo, const std::vector<std::string>& limits,
                        std::optional<objects::ChunkerParams> chunker) {
    const bool own = !chunker || *chunker == repo.chunker_params();  // the stat cache holds ids of this chunker only
    std::optional<StatCache> cache;
    if (own) cache.emplace(repo);  // before the scan: see StatCache::store
    auto entries = scan_worktree(repo.root(), limits);
    // the stat cache is read in tree order (one pass over its file)
    std::vector<const WorkEntry*> order;
    order.reserve(entries.size());
    for (const auto& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(),
              [](const WorkEntry* a, const WorkEntry* b) { return objects::tree_order_less(a->path, b->path); });
    FlatTree out;
    std::vector<const WorkEntry*> misses;
    for (const WorkEntry* p : order) {
        const auto& e = *p;
        if (e.kind == EntryKind::symlink) {
            out[e.path] = FlatEntry{e.kind, e.size, Hash32{}, e.target};
        } else if (auto id = cache ? cache->lookup(e) : std::nullopt) {
            out[e.path] = FlatEntry{e.kind, e.size, *id, {}};
        } else {
            misses.push_back(&e);
        }
    }
    if (!misses.empty()) {
        Ingest ingest(repo, false, {}, chunker);
        std::vector<std::uint64_t> sizes;
        auto ids = ingest.add_files(misses, &sizes);
        std::vector<StatRow> rows;
        for (std::size_t i = 0; i < misses.size(); ++i) {
            const auto& e = *misses[i];
            out[e.path] = FlatEntry{e.kind, sizes[i], ids[i], {}};
            if (sizes[i] == e.size) rows.push_back(StatRow{e.path, e.size, e.mtime_ns, e.ctime_ns, e.ino, e.mode, ids[i]});
        }
        try {
            if (cache) cache->store(std::move(rows));
        } catch (const std::exception&) {
            // the cache is an optimisation; a busy or read-only index must not fail a read-only command
        }
    }
    return out;
}

namespace {
struct DirNode {
    std::map<std::string, DirNode> dirs;
    std::vector<TreeEntry> leaves;
};
}  // namespace

BuiltTree build_trees(Ingest& ingest, const std::vector<WorkEntry>& entries, const std::vector<Hash32>& ids) {
    DirNode root;
    BuiltTree result;
    // The limits of docs/format.md: a work tree the format cannot hold is refused before anything is stored.
    auto too_big = [](const std::string& what) {
        throw Error(ErrorKind::unsupported, what + " (docs/format.md, \"Limits\"); nothing was committed");
    };
    std::uint64_t dirs = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.path.size() > kMaxPathLength)
            too_big("path '" + e.path.substr(0, 64) + "...' is longer than " + std::to_string(kMaxPathLength) + " bytes");
        DirNode* node = &root;
        std::size_t start = 0;
        std::uint32_t depth = 0;
        while (true) {
            auto slash = e.path.find('/', start);
            if (slash == std::string::npos) break;
            if (++depth > kMaxTreeDepth)
                too_big("'" + e.path.substr(0, 64) + "...' lies more than " + std::to_string(kMaxTreeDepth) +
                        " directories deep");
            auto [it, fresh] = node->dirs.try_emplace(e.path.substr(start, slash - start));
            if (fresh && node->dirs.size() + node->leaves.size() > kMaxTreeEntries)
                too_big("directory '" + e.path.substr(0, start) + "' has more than " + std::to_string(kMaxTreeEntries) +
                        " entries");
            dirs += fresh;
            node = &it->second;
            start = slash + 1;
        }
        if (node->dirs.size() + node->leaves.size() + 1 > kMaxTreeEntries)
            too_big("directory '" + e.path.substr(0, start) + "' has more than " + std::to_string(kMaxTreeEntries) +
                    " entries");
        if (result.files + 1 + dirs > kMaxVersionEntries)
            too_big("the work tree has more than " + std::to_string(kMaxVersionEntries) + " files and directories");
        TreeEntry te;
        te.name = e.path.substr(start);
        te.kind = e.kind;
        te.size = e.size;
        if (e.kind == EntryKind::symlink)
            te.target = e.target;
        else
            te.id = ids[i];
        node->leaves.push_back(std::move(te));
        ++result.files;
        result.bytes += e.size;
    }
    std::function<std::pair<Hash32, std::uint64_t>(DirNode&)> build = [&](DirNode& n) {
        Tree t;
        std::uint64_t total = 0;
        for (auto& [name, sub] : n.dirs) {
            auto [id, size] = build(sub);
            t.entries.push_back(TreeEntry{name, EntryKind::directory, size, id, {}});
            total += size;
        }
        for (auto& l : n.leaves) {
            total += l.size;
            t.entries.push_back(std::move(l));
        }
        std::sort(t.entries.begin(), t.entries.end(),
                  [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
        return std::make_pair(ingest.put_meta(ObjectType::tree, t.encode()), total);
    };
    result.root = build(root).first;
    return result;
}

std::vector<DiffEntry> diff_trees(const FlatTree& a, const FlatTree& b) {
    std::vector<DiffEntry> out;
    auto ia = a.begin();
    auto ib = b.begin();
    while (ia != a.end() || ib != b.end()) {
        if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
            out.push_back(DiffEntry{ia->first, 'D', ia->second, std::nullopt});
            ++ia;
        } else if (ia == a.end() || ib->first < ia->first) {
            out.push_back(DiffEntry{ib->first, 'A', std::nullopt, ib->second});
            ++ib;
        } else {
            const auto& x = ia->second;
            const auto& y = ib->second;
            if (!x.same_content(y)) {
                bool type_change = (x.kind == EntryKind::symlink) != (y.kind == EntryKind::symlink);
                out.push_back(DiffEntry{ia->first, type_change ? 'T' : 'M', x, y});
            }
            ++ia;
            ++ib;
        }
    }
    return out;
}

}  // namespace dvt::core
