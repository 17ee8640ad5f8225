#include "core/swarms.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "core/locator.hpp"
#include "core/named_packs.hpp"
#include "core/version.hpp"
#include "objects/limits.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

// A live fraction below this, once a version re-packs at all, dissolves the pack too (docs/performance.md,
// "Bounded swarms": measured on make_history.py).
constexpr double kDensity = 0.25;

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0); }

std::uint64_t record_bytes(const PackEntry& e) { return kRecordHeaderSize + e.stored_len; }

}  // namespace

std::size_t swarm_bound(std::uint64_t bytes, std::uint64_t pack_size, std::size_t extra) {
    return static_cast<std::size_t>(ceil_div(bytes, std::max<std::uint64_t>(pack_size, 1))) + extra;
}

std::vector<std::size_t> choose_packs_to_dissolve(const std::vector<PackLiveness>& packs, std::size_t target,
                                                  std::uint64_t pack_target, double density) {
    std::vector<std::size_t> out;
    if (packs.size() <= target) return out;
    pack_target = std::max<std::uint64_t>(pack_target, 1);
    auto fraction = [&](std::size_t i) {
        const auto& p = packs[i];
        return p.length ? static_cast<double>(p.live_data + p.live_meta) / static_cast<double>(p.length) : 0.0;
    };
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < packs.size(); ++i)
        if (packs[i].movable) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        double fa = fraction(a), fb = fraction(b);
        if (fa != fb) return fa < fb;
        auto la = packs[a].live_data + packs[a].live_meta, lb = packs[b].live_data + packs[b].live_meta;
        if (la != lb) return la < lb;
        return a < b;
    });
    std::uint64_t data = 0, meta = 0;
    std::size_t k = 0;
    auto named_after = [&] {
        return packs.size() - k + static_cast<std::size_t>(ceil_div(data, pack_target) + ceil_div(meta, pack_target));
    };
    while (k < order.size() && (named_after() > target || fraction(order[k]) < density)) {
        data += packs[order[k]].live_data;
        meta += packs[order[k]].live_meta;
        ++k;
    }
    out.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

struct Rec {
    std::size_t pack;  // index into the named packs
    PackEntry entry;
};

struct Named {
    PackRef ref;
    std::int64_t num = 0;
    bool partial = false;
    std::unordered_set<Hash32, Hash32Hasher> fetched;  // of a partial pack: the objects indexed here
};

}  // namespace

std::vector<PackRef> bound_commit_packs(Repository& repo, const Commit& commit, RepackStats* stats) {
    const Hash32& root = commit.tree;
    const std::uint64_t bytes = commit.bytes;
    const std::vector<PackRef>& packs = commit.packs;
    RepackStats st;
    st.packs_before = st.packs_after = packs.size();
    std::uint64_t pack_size = repo.pack_size();
    std::uint64_t pack_target = std::min<std::uint64_t>(pack_size, kMaxPackTarget);
    std::size_t extra = repo.extra_packs();
    // the version's locator pack, added after this, takes one of the extra packs (docs/format.md, "Locator")
    if (extra > 0 && will_write_locator(repo, commit)) --extra;
    std::size_t bound = swarm_bound(bytes, pack_size, extra);
    if (packs.size() <= bound) {
        if (stats) *stats = st;
        return packs;
    }
    // Re-pack down to half the slack, so that the next commits do not re-pack again at once (docs/performance.md).
    std::size_t target = swarm_bound(bytes, pack_size, extra / 2);
    ObjectStore& store = repo.store();

    // 1. The version's objects, in walk order (trees, then file objects and their chunks as the trees list them).
    std::vector<Hash32> live;
    std::unordered_set<Hash32, Hash32Hasher> seen;
    std::vector<std::pair<Hash32, std::vector<Hash32>>> files;  // file object -> its distinct chunks
    {
        std::vector<Hash32> stack{root};
        seen.insert(root);
        live.push_back(root);
        while (!stack.empty()) {
            Hash32 t = stack.back();
            stack.pop_back();
            Tree tree = store.read_tree(t);  // verified
            for (const auto& e : tree.entries) {
                if (e.kind == EntryKind::symlink) continue;
                if (!seen.insert(e.id).second) continue;
                live.push_back(e.id);
                if (e.kind == EntryKind::directory) {
                    stack.push_back(e.id);
                    continue;
                }
                FileObject f = store.read_file_object(e.id);  // verified
                std::vector<Hash32> chunks;
                std::unordered_set<Hash32, Hash32Hasher> mine;
                for (const auto& c : f.chunks) {
                    if (!mine.insert(c.id).second) continue;
                    chunks.push_back(c.id);
                    if (seen.insert(c.id).second) live.push_back(c.id);
                }
                files.emplace_back(e.id, std::move(chunks));
            }
        }
    }

    // 2. Where the named packs hold them (their indexes; of a partial pack only what was fetched).
    std::vector<Named> named(packs.size());
    std::unordered_map<Hash32, std::vector<Rec>, Hash32Hasher> recs;
    for (std::size_t i = 0; i < packs.size(); ++i) {
        auto info = store.pack_by_id(packs[i].id);
        if (!info) throw Error(ErrorKind::internal, "re-packing: pack " + packs[i].id.hex() + " is not indexed");
        named[i].ref = packs[i];
        named[i].num = info->num;
        named[i].partial = info->partial;
        if (info->partial)
            for (const auto& id : store.objects_in_pack(info->num)) named[i].fetched.insert(id);
        PackIndex pi = read_pack_index(util::open_read(store.file_of(*info)).get(), "pack " + packs[i].id.hex());
        for (const auto& e : pi.entries) {
            if (info->partial && !named[i].fetched.count(e.id)) continue;
            recs[e.id].push_back(Rec{i, e});
        }
    }
    auto records_of = [&](const Hash32& id) -> const std::vector<Rec>* {
        auto it = recs.find(id);
        return it == recs.end() ? nullptr : &it->second;
    };
    // Delta bases are live too: those of every delta record a live chunk has in a named pack (also when it has a full
    // record too: that one may lie in a pack that is dissolved while the delta's is kept).
    std::map<std::pair<std::size_t, Hash32>, Hash32> bases;  // (pack index, delta id) -> base id
    auto base_of = [&](const Rec& r) {
        auto k = std::make_pair(r.pack, r.entry.id);
        if (auto it = bases.find(k); it != bases.end()) return it->second;
        Hash32 b = store.delta_base(Location{named[r.pack].num, r.entry});
        bases.emplace(k, b);
        return b;
    };
    for (std::size_t i = 0; i < live.size(); ++i) {  // `live` grows while it is walked
        const auto* rs = records_of(live[i]);
        if (!rs) continue;
        for (const auto& r : *rs)
            if (is_delta(r.entry.compression)) {
                Hash32 b = base_of(r);
                if (seen.insert(b).second) live.push_back(b);
            }
    }

    // 3. Choose the packs to dissolve.
    std::vector<PackLiveness> liveness(packs.size());
    for (std::size_t i = 0; i < packs.size(); ++i) {
        liveness[i].length = packs[i].length;
        liveness[i].movable = !named[i].partial;
    }
    for (const auto& id : live)
        if (const auto* rs = records_of(id))
            for (const auto& r : *rs)
                (r.entry.type == ObjectType::chunk ? liveness[r.pack].live_data : liveness[r.pack].live_meta) +=
                    record_bytes(r.entry);
    auto chosen = choose_packs_to_dissolve(liveness, target, pack_target, kDensity);
    if (chosen.empty()) {
        if (stats) *stats = st;
        return packs;
    }
    std::vector<bool> dissolved(packs.size(), false);
    for (auto i : chosen) dissolved[i] = true;

    // 4. What to copy: each live object with no record in a kept pack, from a dissolved one (a full record first). A
    //    delta record is copied as it is when every record its base has in the new pack set has the depth one less
    //    (decided base first: in order of depth); otherwise it is stored in full.
    struct Copy {
        Rec from;
        bool full = false;
    };
    std::unordered_map<Hash32, Copy, Hash32Hasher> copies;
    std::vector<Hash32> copy_order;
    for (const auto& id : live) {
        const auto* rs = records_of(id);
        if (!rs) continue;  // not in a named pack: the ingest's pack set was already what it is
        if (std::any_of(rs->begin(), rs->end(), [&](const Rec& r) { return !dissolved[r.pack]; })) continue;
        const Rec* pick = nullptr;
        for (const auto& r : *rs)
            if (!pick || (is_delta(pick->entry.compression) &&
                          !is_delta(r.entry.compression)))
                pick = &r;
        copies.emplace(id, Copy{*pick, false});
        copy_order.push_back(id);
    }
    {
        std::vector<Hash32> by_depth = copy_order;
        std::stable_sort(by_depth.begin(), by_depth.end(), [&](const Hash32& a, const Hash32& b) {
            return copies.at(a).from.entry.depth < copies.at(b).from.entry.depth;
        });
        for (const auto& id : by_depth) {
            auto& c = copies.at(id);
            if (!is_delta(c.from.entry.compression)) continue;
            Hash32 b = base_of(c.from);
            std::uint16_t want = static_cast<std::uint16_t>(c.from.entry.depth - 1);
            bool ok = false;
            if (auto it = copies.find(b); it != copies.end()) {
                const auto& bc = it->second;
                ok = bc.from.entry.type == ObjectType::chunk && (bc.full ? 0 : bc.from.entry.depth) == want;
            } else if (const auto* rs = records_of(b)) {
                ok = true;
                bool any = false;
                for (const auto& r : *rs) {
                    if (dissolved[r.pack]) continue;
                    any = true;
                    ok = ok && r.entry.type == ObjectType::chunk && r.entry.depth == want;
                }
                ok = ok && any;
            }
            if (!ok) {
                c.full = true;
                ++st.reencoded;
            }
        }
    }

    // 5. Write the copies (verified as they are read) and register them with the index pointing to them.
    std::vector<ObjectStore::CopyRecord> to_copy;
    to_copy.reserve(copy_order.size());
    for (const auto& id : copy_order) {
        const auto& c = copies.at(id);
        to_copy.push_back(ObjectStore::CopyRecord{Location{named[c.from.pack].num, c.from.entry}, c.full});
        st.bytes_copied += record_bytes(c.from.entry);
    }
    std::vector<SealedPack> sealed = store.write_copies(to_copy, pack_target, repo.codec_params());
    std::vector<PackRef> out;
    for (std::size_t i = 0; i < packs.size(); ++i)
        if (!dissolved[i]) out.push_back(packs[i]);
    for (const auto& sp : sealed) out.push_back(sp.ref);
    std::sort(out.begin(), out.end(), [](const PackRef& a, const PackRef& b) { return a.id < b.id; });
    out.erase(std::unique(out.begin(), out.end(), [](const PackRef& a, const PackRef& b) { return a.id == b.id; }),
              out.end());
    {  // what a pull will check: every object and chain in the packs the commit names
        Commit nc = commit;
        nc.packs = out;
        try {
            StoreObjects so(store);
            NamedPackObjects in_named(so, store, nc, sealed);
            check_version(in_named, nc, {});
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::corrupt) throw;
            store.discard_copies(sealed);  // unindexed and named by no commit: nothing refers to them
            std::fprintf(stderr, "dvt: warning: not re-packing (%s); the commit names %zu packs\n", e.what(),
                         packs.size());
            if (stats) *stats = st;
            return packs;
        }
    }

    // The pack each live object is read from from now on: its copy, else its kept record (a full one first).
    std::unordered_map<Hash32, Hash32, Hash32Hasher> pack_of;  // object -> pack id
    std::unordered_map<Hash32, Hash32, Hash32Hasher> final_base;  // delta object -> base id
    for (const auto& sp : sealed)
        for (const auto& e : sp.entries) {
            pack_of[e.id] = sp.ref.id;
            if (is_delta(e.compression)) final_base[e.id] = base_of(copies.at(e.id).from);
        }
    std::vector<std::pair<std::int64_t, PackEntry>> repoint;
    for (const auto& id : live) {
        if (pack_of.count(id)) continue;
        const auto* rs = records_of(id);
        if (!rs) continue;
        const Rec* pick = nullptr;
        for (const auto& r : *rs)
            if (!dissolved[r.pack] && !named[r.pack].partial &&
                (!pick || (is_delta(pick->entry.compression) &&
                           !is_delta(r.entry.compression))))
                pick = &r;
        if (!pick) continue;  // only in a kept partial pack: read from there as before (its file keeps its old row)
        pack_of[id] = named[pick->pack].ref.id;
        if (is_delta(pick->entry.compression)) final_base[id] = base_of(*pick);
        auto loc = store.locate(id);
        if (!loc || loc->pack_num != named[pick->pack].num) repoint.emplace_back(named[pick->pack].num, pick->entry);
    }
    // file_packs rows for the version's files: the packs of the file object, its chunks and their chains.
    std::vector<FilePacks> file_packs;
    for (const auto& [fid, chunks] : files) {
        std::vector<Hash32> ps;
        bool complete = true;  // else its old row stays: it names packs that still hold all of it
        auto add = [&](const Hash32& id) {
            if (auto it = pack_of.find(id); it != pack_of.end()) ps.push_back(it->second);
            else complete = false;
        };
        add(fid);
        for (const auto& c : chunks) {
            Hash32 cur = c;
            add(cur);
            for (std::size_t depth = 0; depth < kMaxDeltaDepth; ++depth) {
                auto it = final_base.find(cur);
                if (it == final_base.end()) break;
                cur = it->second;
                add(cur);
            }
        }
        std::sort(ps.begin(), ps.end());
        ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
        if (complete) file_packs.push_back(FilePacks{fid, std::move(ps)});
    }
    store.add_repacked(sealed, repoint, file_packs);

    st.dissolved = chosen.size();
    st.written = sealed.size();
    st.packs_after = out.size();
    if (stats) *stats = st;
    return out;
}

}  // namespace dvt::core
