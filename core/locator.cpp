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

// The extents of one directory: its records (or ranges of records) sorted, and those that follow each other exactly
// or overlap merged into one extent (so every record of an extent is one of the directory's).
LocatorDir make_dir(std::string path, std::vector<Rec> recs) {
    std::sort(recs.begin(), recs.end());
    LocatorDir d;
    d.path = std::move(path);
    for (const auto& r : recs) {
        if (!d.extents.empty()) {
            auto& last = d.extents.back();
            if (last.type == r.type && last.pack == r.pack && r.offset <= last.offset + last.length) {
                last.length = std::max(last.length, r.end - last.offset);
                continue;
            }
        }
        d.extents.push_back(LocatorExtent{r.type, r.pack, r.offset, r.end - r.offset});
    }
    return d;
}

std::uint64_t dir_bytes(const LocatorDir& d) { return 6 + d.path.size() + 21 * d.extents.size(); }

}  // namespace

std::optional<Locator> build_locator(Repository& repo, const Commit& c, LocatorBuild how, LocatorStats* stats) {
    LocatorStats counts;
    auto& store = repo.store();
    std::map<std::int64_t, std::uint32_t> pack_index;  // index row -> position in c.packs (complete packs)
    std::map<std::int64_t, std::uint32_t> any_index;   // ... also of packs only partly here
    std::map<Hash32, std::uint32_t> named;             // pack id -> position in c.packs
    for (std::uint32_t i = 0; i < c.packs.size(); ++i) {
        named.emplace(c.packs[i].id, i);
        if (auto info = store.pack_by_id(c.packs[i].id)) {
            any_index.emplace(info->num, i);
            if (!info->partial) pack_index.emplace(info->num, i);
        }
    }
    // `partial`: a record in a pack only partly here counts too (what a patch takes out of a parent's entry, which
    // may have been written where the pack was complete)
    auto rec_of = [&](const Location& loc, std::vector<Rec>& out, bool partial = false) {
        const auto& index = partial ? any_index : pack_index;
        auto it = index.find(loc.pack_num);
        if (it == index.end()) return false;  // a pack the commit does not name: left to the pack indexes
        out.push_back(Rec{loc.entry.type, it->second, loc.entry.offset,
                          loc.entry.offset + kRecordHeaderSize + loc.entry.stored_len});
        return true;
    };
    // every object located is located in one read transaction (the commit's packs are registered by now), not one
    // each
    IndexSnapshot snap(store);
    Bytes raw;
    // The records of file `id` (its file object, its chunks and every record of their delta chains) that lie in the
    // commit's packs, skipping ids in `seen` (the directory's objects so far). False if its file object is not here.
    auto file_recs = [&](const Hash32& id, std::set<Hash32>& seen, std::vector<Rec>& recs, bool partial = false) {
        if (!seen.insert(id).second) return true;
        auto floc = snap.locate(id);
        if (!floc) return false;
        rec_of(*floc, recs, partial);
        store.read_at(*floc, raw);  // verified against id
        FileObject fo;
        try {
            fo = FileObject::decode(raw);
        } catch (const Error& x) {
            throw Error(x.kind(), std::string(x.what()) + " (object " + id.hex() + ")");
        }
        for (const auto& ch : fo.chunks) {
            if (!seen.insert(ch.id).second) continue;
            auto cloc = snap.locate(ch.id);
            if (!cloc || !rec_of(*cloc, recs, partial) || !is_delta(cloc->entry.compression)) continue;
            for (const auto& b : store.delta_chain(*cloc))
                if (seen.insert(b.entry.id).second) rec_of(b, recs, partial);
        }
        return true;
    };
    Locator l;
    std::uint64_t bytes = 12;
    // The first parent's locator (LocatorBuild::incremental): a directory whose tree is unchanged keeps its entries
    // and those below it, a changed one is its entry patched (patch() below), when every pack they name is named here
    // too (its records are where they were, also in a pack only partly here, as after a pull of some paths), so that
    // a commit costs per changed file, not per file of the directories it changed. A hint: anything amiss and the
    // directory is built afresh.
    std::optional<Locator> prev;
    std::optional<Commit> parent;
    std::vector<std::optional<std::uint32_t>> prev_pos;  // the parent locator's pack index -> our position
    if (how == LocatorBuild::incremental && !c.parents.empty()) try {
            parent = store.read_commit(c.parents.front());
            if (parent && parent->locator && store.has(parent->locator->id)) {
                prev = Locator::decode(store.read(parent->locator->id), parent->packs);
                for (const auto& pid : prev->packs) {
                    auto it = named.find(pid);
                    prev_pos.push_back(it == named.end() ? std::nullopt : std::optional<std::uint32_t>(it->second));
                }
            }
        } catch (const Error&) {
            prev.reset();
        }
    // an entry of the parent's with its packs renumbered to ours; false if one is not named here
    auto renumber = [&](LocatorDir& d) {
        d.delta_ids.clear();  // a version-1 parent's: version 2 lists none
        for (auto& x : d.extents) {
            if (x.pack >= prev_pos.size() || !prev_pos[x.pack]) return false;
            x.pack = *prev_pos[x.pack];
        }
        return true;
    };
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
            if (!renumber(d)) return std::nullopt;
            for (std::size_t i = 1; i < d.extents.size(); ++i) {
                const auto &before = d.extents[i - 1], &x = d.extents[i];
                if (!(std::make_tuple(static_cast<int>(before.type), before.pack, before.offset) <
                      std::make_tuple(static_cast<int>(x.type), x.pack, x.offset)))
                    return std::nullopt;  // the extents would no longer be sorted
            }
            out.push_back(std::move(d));
        }
        if (out.empty() || out.front().path != path) return std::nullopt;
        return out;
    };
    // A changed directory's entry from the parent's entry of the same path (`before`: the parent's tree there): its
    // extents minus the records of the old tree and of the files that went (by id: a file renamed within the
    // directory stays), plus those of the new tree and the new files. A record of a file that went which a new file
    // also has stays. nullopt (built afresh) when a pack of the parent's entry is not named here, a file that went
    // cannot be read, or one of its records is not in the parent's entry (so the entry is not what this writer
    // would have built).
    //
    // What it cannot see without reading every file of the directory: a chunk that a file which went shares with a
    // file that stays (the same chunk in two different files, or a delta base of the one that is a chunk of the
    // other) is left out, and a partial pull of the directory then finds it through the pack indexes (the locator is
    // a hint: docs/format.md, "Locator").
    auto patch = [&](const std::string& path, const Tree& t, const Tree& before,
                     const Hash32& tree_id, const Hash32& before_id) -> std::optional<LocatorDir> {
        const LocatorDir* pe = prev->find(path);
        if (!pe) return std::nullopt;
        LocatorDir d = *pe;
        if (!renumber(d)) return std::nullopt;
        // the file ids of each side, sorted (sets of a thousand cost more than the rest of a patch)
        auto file_ids = [](const Tree& tree) {
            std::vector<Hash32> ids;
            ids.reserve(tree.entries.size());
            for (const auto& e : tree.entries)
                if (e.kind == EntryKind::file || e.kind == EntryKind::executable) ids.push_back(e.id);
            std::sort(ids.begin(), ids.end());
            ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
            return ids;
        };
        const std::vector<Hash32> now_ids = file_ids(t), was_ids = file_ids(before);
        std::vector<Rec> gone, added;
        std::set<Hash32> gone_seen, added_seen;
        if (auto loc = snap.locate(before_id)) rec_of(*loc, gone, true);
        if (auto loc = snap.locate(tree_id)) rec_of(*loc, added);
        try {  // what went is of the parent version: not all of it need be here (then the directory is built)
            for (const auto& id : was_ids)
                if (!std::binary_search(now_ids.begin(), now_ids.end(), id) && !file_recs(id, gone_seen, gone, true))
                    return std::nullopt;
        } catch (const Error&) {
            return std::nullopt;
        }
        for (const auto& id : now_ids)
            if (!std::binary_search(was_ids.begin(), was_ids.end(), id)) file_recs(id, added_seen, added);
        // the parent's extents as ranges, sorted (they are: the renumbering keeps the order), minus the gone records
        std::vector<Rec> ranges;
        for (const auto& x : d.extents) ranges.push_back(Rec{x.type, x.pack, x.offset, x.offset + x.length});
        std::sort(added.begin(), added.end());
        std::sort(gone.begin(), gone.end());
        for (const auto& g : gone) {
            if (std::binary_search(added.begin(), added.end(), g)) continue;  // a new file has it too
            auto it = std::upper_bound(ranges.begin(), ranges.end(), g);
            if (it == ranges.begin()) return std::nullopt;
            --it;
            if (it->type != g.type || it->pack != g.pack || g.offset < it->offset || g.end > it->end)
                return std::nullopt;
            Rec tail{g.type, g.pack, g.end, it->end};
            it->end = g.offset;
            if (it->end == it->offset) it = ranges.erase(it);
            else ++it;
            if (tail.end > tail.offset) ranges.insert(it, tail);
        }
        ranges.insert(ranges.end(), added.begin(), added.end());
        return make_dir(path, std::move(ranges));
    };
    struct Pending {
        Hash32 id;
        std::string path;
        std::uint32_t depth;
        std::optional<Hash32> prev;  // the parent version's tree at this path
    };
    std::vector<Pending> todo{{c.tree, "", 0, parent ? std::optional<Hash32>(parent->tree) : std::nullopt}};
    while (!todo.empty()) {
        Pending p = std::move(todo.back());
        todo.pop_back();
        if (p.depth > kMaxTreeDepth) throw Error(ErrorKind::corrupt, "tree " + p.id.hex() + " nests deeper than the limit");
        if (prev && p.prev == p.id)
            if (auto kept = reuse(p.path)) {
                for (auto& d : *kept) {
                    ++counts.kept;
                    bytes += dir_bytes(d);
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
        Tree t = store.read_tree(p.id);
        for (const auto& e : t.entries)
            if (e.kind == EntryKind::directory) {
                std::optional<Hash32> was;
                if (before)
                    if (const auto* b = before->find(e.name); b && b->kind == EntryKind::directory) was = b->id;
                todo.push_back(Pending{e.id, p.path.empty() ? e.name : p.path + "/" + e.name, p.depth + 1, was});
            }
        std::optional<LocatorDir> d;
        if (before) d = patch(p.path, t, *before, p.id, *p.prev);
        ++(d ? counts.patched : counts.built);
        if (!d) {
            std::vector<Rec> recs;
            if (auto loc = snap.locate(p.id)) rec_of(*loc, recs);
            std::set<Hash32> seen;
            for (const auto& e : t.entries)
                if (e.kind == EntryKind::file || e.kind == EntryKind::executable) file_recs(e.id, seen, recs);
            d = make_dir(std::move(p.path), std::move(recs));
        }
        bytes += dir_bytes(*d);
        if (bytes > kMaxChunkSize) return std::nullopt;  // too scattered to be worth it: pullers use the indexes
        l.dirs.push_back(std::move(*d));
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
    if (stats) *stats = counts;
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
