#include "core/tree.hpp"

#include <functional>

namespace dvt::core {

using namespace dvt::objects;

static void flatten_into(const ObjectStore& store, const Hash32& id, const std::string& prefix,
                         const std::vector<std::string>& limits, FlatTree& out) {
    Tree t = store.read_tree(id);
    for (const auto& e : t.entries) {
        std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
        if (e.kind == EntryKind::directory) {
            bool relevant = limits.empty();
            for (const auto& l : limits)
                if (path_in_limits(path, {l}) || (l.size() > path.size() && l.compare(0, path.size(), path) == 0 &&
                                                  l[path.size()] == '/'))
                    relevant = true;
            if (relevant) flatten_into(store, e.id, path, limits, out);
            continue;
        }
        if (!path_in_limits(path, limits)) continue;
        out[path] = FlatEntry{e.kind, e.size, e.id, e.target};
    }
}

FlatTree flatten_tree(const ObjectStore& store, const Hash32& tree, const std::vector<std::string>& limits) {
    FlatTree out;
    flatten_into(store, tree, "", limits, out);
    return out;
}

FlatTree worktree_state(Repository& repo, const std::vector<std::string>& limits) {
    auto entries = scan_worktree(repo.root(), limits);
    StatCache cache(repo);
    FlatTree out;
    std::vector<const WorkEntry*> misses;
    for (const auto& e : entries) {
        if (e.kind == EntryKind::symlink) {
            out[e.path] = FlatEntry{e.kind, e.size, Hash32{}, e.target};
        } else if (auto id = cache.lookup(e)) {
            out[e.path] = FlatEntry{e.kind, e.size, *id, {}};
        } else {
            misses.push_back(&e);
        }
    }
    if (!misses.empty()) {
        Ingest ingest(repo, false);
        auto ids = ingest.add_files(misses);
        std::vector<StatRow> rows;
        for (std::size_t i = 0; i < misses.size(); ++i) {
            const auto& e = *misses[i];
            out[e.path] = FlatEntry{e.kind, e.size, ids[i], {}};
            rows.push_back(StatRow{e.path, e.size, e.mtime_ns, e.ctime_ns, e.ino, e.mode, ids[i]});
        }
        try {
            cache.store(rows);
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
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        DirNode* node = &root;
        std::size_t start = 0;
        while (true) {
            auto slash = e.path.find('/', start);
            if (slash == std::string::npos) break;
            node = &node->dirs[e.path.substr(start, slash - start)];
            start = slash + 1;
        }
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
