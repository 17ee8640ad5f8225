#include "core/locator.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "objects/limits.hpp"
#include "objects/locator.hpp"
#include "objects/pack.hpp"
#include "objects/stat_cache.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

// One record of a directory: where it lies (index into the commit's packs) and its type.
struct Rec {
    ObjectType type;
    std::uint32_t pack;
    std::uint64_t offset, end;
    bool operator<(const Rec& o) const {
        return std::make_tuple(static_cast<int>(type), pack, offset) <
               std::make_tuple(static_cast<int>(o.type), o.pack, o.offset);
    }
};

// The extents of one directory: its records sorted, records that follow each other exactly merged into one extent
// (so every record of an extent is one of the directory's).
LocatorDir make_dir(std::string path, std::vector<Rec> recs) {
    std::sort(recs.begin(), recs.end());
    recs.erase(std::unique(recs.begin(), recs.end(),
                           [](const Rec& a, const Rec& b) { return !(a < b) && !(b < a); }),
               recs.end());
    LocatorDir d;
    d.path = std::move(path);
    for (const auto& r : recs) {
        if (!d.extents.empty()) {
            auto& last = d.extents.back();
            if (last.type == r.type && last.pack == r.pack && last.offset + last.length == r.offset) {
                last.length = r.end - last.offset;
                continue;
            }
        }
        d.extents.push_back(LocatorExtent{r.type, r.pack, r.offset, r.end - r.offset});
    }
    return d;
}

}  // namespace

std::optional<Locator> build_locator(Repository& repo, const Commit& c) {
    auto& store = repo.store();
    std::map<std::int64_t, std::uint32_t> pack_index;  // index row -> position in c.packs
    for (std::uint32_t i = 0; i < c.packs.size(); ++i)
        if (auto info = store.pack_by_id(c.packs[i].id); info && !info->partial) pack_index.emplace(info->num, i);
    auto rec_of = [&](const Location& loc, std::vector<Rec>& out) {
        auto it = pack_index.find(loc.pack_num);
        if (it == pack_index.end()) return false;  // a pack the commit does not name: left to the pack indexes
        out.push_back(Rec{loc.entry.type, it->second, loc.entry.offset,
                          loc.entry.offset + kRecordHeaderSize + loc.entry.stored_len});
        return true;
    };
    Locator l;
    std::uint64_t bytes = 12;
    // The first parent's locator: a directory whose tree is unchanged keeps its entries and those below it (their
    // packs renumbered), when every pack they name is named here too in the same order, so that a commit that
    // changed a few directories reads only those (a hint: anything amiss and the directory is built afresh).
    std::optional<Locator> prev;
    std::optional<Commit> parent;
    std::vector<std::optional<std::uint32_t>> prev_pos;  // the parent locator's pack index -> our position
    if (!c.parents.empty()) try {
            parent = store.read_commit(c.parents.front());
            if (parent && parent->locator && store.has(parent->locator->id)) {
                prev = Locator::decode(store.read(parent->locator->id), parent->packs);
                std::map<Hash32, std::uint32_t> ours;
                for (std::uint32_t i = 0; i < c.packs.size(); ++i) ours.emplace(c.packs[i].id, i);
                for (const auto& pid : prev->packs) {
                    auto it = ours.find(pid);
                    prev_pos.push_back(it == ours.end() ? std::nullopt : std::optional<std::uint32_t>(it->second));
                }
            }
        } catch (const Error&) {
            prev.reset();
        }
    // the parent's entries of `path` and below, renumbered; nullopt if a pack is not named here or the order changes
    auto reuse = [&](const std::string& path) -> std::optional<std::vector<LocatorDir>> {
        std::vector<LocatorDir> out;
        auto it = std::lower_bound(prev->dirs.begin(), prev->dirs.end(), path,
                                   [](const LocatorDir& d, const std::string& x) { return tree_order_less(d.path, x); });
        for (; it != prev->dirs.end() && (path.empty() || it->path == path ||
                                          (it->path.size() > path.size() && it->path.starts_with(path) &&
                                           it->path[path.size()] == '/'));
             ++it) {
            LocatorDir d = *it;
            d.delta_ids.clear();  // a version-1 parent's: version 2 lists none
            for (std::size_t i = 0; i < d.extents.size(); ++i) {
                auto& x = d.extents[i];
                if (x.pack >= prev_pos.size() || !prev_pos[x.pack]) return std::nullopt;
                x.pack = *prev_pos[x.pack];
                const auto& before = d.extents[i > 0 ? i - 1 : 0];
                if (i > 0 && !(std::make_tuple(static_cast<int>(before.type), before.pack, before.offset) <
                               std::make_tuple(static_cast<int>(x.type), x.pack, x.offset)))
                    return std::nullopt;  // the extents would no longer be sorted
            }
            out.push_back(std::move(d));
        }
        if (out.empty() || out.front().path != path) return std::nullopt;
        return out;
    };
    struct Pending {
        Hash32 id;
        std::string path;
        std::uint32_t depth;
        std::optional<Hash32> prev;  // the parent version's tree at this path
    };
    // every object of a directory that changed is located: in one read transaction (the commit's packs are
    // registered by now), not one each
    IndexSnapshot snap(store);
    Bytes raw;
    std::vector<Pending> todo{{c.tree, "", 0, parent ? std::optional<Hash32>(parent->tree) : std::nullopt}};
    while (!todo.empty()) {
        Pending p = std::move(todo.back());
        todo.pop_back();
        if (p.depth > kMaxTreeDepth) throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + " nests deeper than the limit");
        if (prev && p.prev == p.id)
            if (auto kept = reuse(p.path)) {
                for (auto& d : *kept) {
                    bytes += 6 + d.path.size() + 21 * d.extents.size();
                    l.dirs.push_back(std::move(d));
                }
                if (bytes > kMaxChunkSize) return std::nullopt;
                continue;
            }
        std::optional<Tree> before;
        if (prev && p.prev) try {
                before = store.read_tree(*p.prev);
            } catch (const Error&) {
            }
        std::vector<Rec> recs;
        if (auto loc = snap.locate(p.id)) rec_of(*loc, recs);
        Tree t = store.read_tree(p.id);
        std::set<Hash32> seen;
        for (const auto& e : t.entries) {
            if (e.kind == EntryKind::directory) {
                std::optional<Hash32> was;
                if (before)
                    if (const auto* b = before->find(e.name); b && b->kind == EntryKind::directory) was = b->id;
                todo.push_back(Pending{e.id, p.path.empty() ? e.name : p.path + "/" + e.name, p.depth + 1, was});
                continue;
            }
            if (e.kind == EntryKind::symlink || !seen.insert(e.id).second) continue;
            auto floc = snap.locate(e.id);
            if (!floc) continue;
            rec_of(*floc, recs);
            store.read_at(*floc, raw);  // verified against e.id
            FileObject fo;
            try {
                fo = FileObject::decode(raw);
            } catch (const Error& x) {
                throw Error(x.kind(), std::string(x.what()) + " (object " + e.id.hex() + ")");
            }
            for (const auto& ch : fo.chunks) {
                if (!seen.insert(ch.id).second) continue;
                auto cloc = snap.locate(ch.id);
                if (!cloc || !rec_of(*cloc, recs) || !is_delta(cloc->entry.compression)) continue;
                for (const auto& b : store.delta_chain(*cloc))
                    if (seen.insert(b.entry.id).second) rec_of(b, recs);
            }
        }
        LocatorDir d = make_dir(std::move(p.path), std::move(recs));
        bytes += 6 + d.path.size() + 21 * d.extents.size();
        if (bytes > kMaxChunkSize) return std::nullopt;  // too scattered to be worth it: pullers use the indexes
        l.dirs.push_back(std::move(d));
    }
    std::sort(l.dirs.begin(), l.dirs.end(),
              [](const LocatorDir& a, const LocatorDir& b) { return tree_order_less(a.path, b.path); });
    // extents name positions in c.packs so far: the locator names the packs it uses by id (the commit's list is
    // sorted by id, so renumbering keeps every directory's extents in order)
    std::set<std::uint32_t> used;
    for (const auto& d : l.dirs)
        for (const auto& x : d.extents) used.insert(x.pack);
    std::map<std::uint32_t, std::uint32_t> index;
    for (auto pos : used) {
        index.emplace(pos, static_cast<std::uint32_t>(l.packs.size()));
        l.packs.push_back(c.packs[pos].id);
    }
    for (auto& d : l.dirs)
        for (auto& x : d.extents) x.pack = index.at(x.pack);
    if (bytes + 32 * l.packs.size() > kMaxChunkSize) return std::nullopt;
    return l;
}

bool will_write_locator(Repository& repo, const Commit& c) {
    // pack.locator: 1 (unset), or 0 (docs/cli.md)
    std::int64_t on = repo.config().get_int("pack.locator", 1);
    if (on != 0 && on != 1)
        throw Error(ErrorKind::usage, "config pack.locator = " + std::to_string(on) + " is not 0 or 1");
    return c.format >= 2 && on == 1;
}

void add_locator(Repository& repo, Commit& c) {
    if (!will_write_locator(repo, c)) return;
    auto l = build_locator(repo, c);
    if (!l) return;
    Bytes raw = l->encode();
    Hash32 id = sha256(raw);
    auto& store = repo.store();
    Bytes stored;
    Compression comp = encode_record(raw, repo.codec_params(), stored);
    PackWriter w(store.tmp_dir(), store.packs_dir());
    w.append(ObjectType::chunk, id, comp, static_cast<std::uint32_t>(raw.size()), stored);
    SealedPack sp = w.seal();
    store.add_packs({sp});
    if (std::none_of(c.packs.begin(), c.packs.end(), [&](const PackRef& p) { return p.id == sp.ref.id; })) {
        auto at = std::lower_bound(c.packs.begin(), c.packs.end(), sp.ref.id,
                                   [](const PackRef& p, const Hash32& x) { return p.id < x; });
        c.packs.insert(at, sp.ref);
    }
    c.locator = Commit::LocatorRef{id, sp.ref.id};
}

}  // namespace dvt::core
