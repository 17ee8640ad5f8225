// Bounded swarms per version (docs/format.md, "Re-packing"; core/swarms.hpp): the bound, which packs are dissolved,
// the copies a commit writes (verified, a delta kept as a delta or stored in full), and a history whose every commit
// stays within the bound, reads back byte for byte, passes the version check on the packs it names, fsck and gc.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/checkout.hpp"
#include "core/maintenance.hpp"
#include "core/named_packs.hpp"
#include "core/swarms.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core_fixture.hpp"
#include "objects/codec.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::CoreRepo;
using dvt::test::kind_of;
using dvt::core::PackLiveness;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A key-sorted table of `n` rows where version `v` changed every 50th row: neighbouring versions share most bytes,
// so a commit stores its chunks as delta records against the previous version.
Bytes table(int n, int v, int salt) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += std::to_string(i) + ",salt-" + std::to_string(salt) + ",value-" + std::to_string((i * 7919 + salt) % 10007);
        if (i % 50 == v % 50) s += ",changed-in-" + std::to_string(v);
        s += ",some constant text that repeats on every row of the table\n";
    }
    return text(s);
}

PackLiveness pl(std::uint64_t length, std::uint64_t data, std::uint64_t meta = 0, bool movable = true) {
    return PackLiveness{length, data, meta, movable};
}

std::size_t named_packs_of(CoreRepo& r, const Hash32& c) { return r.repo->store().read_commit(c)->packs.size(); }

}  // namespace

TEST_CASE("the swarm bound is ceil(bytes / pack.size) + extra", "[swarms]") {
    CHECK(core::swarm_bound(0, 1 << 20, 32) == 32);
    CHECK(core::swarm_bound(1, 1 << 20, 32) == 33);
    CHECK(core::swarm_bound(1 << 20, 1 << 20, 32) == 33);
    CHECK(core::swarm_bound((1 << 20) + 1, 1 << 20, 32) == 34);
    CHECK(core::swarm_bound(10ull << 30, 64ull << 20, 0) == 160);
}

TEST_CASE("packs are dissolved sparsest first until the version names at most the target", "[swarms]") {
    const std::uint64_t MiB = 1 << 20;
    // live fractions: 0 -> 0.9, 1 -> 0.1, 2 -> 0.5, 3 -> 0.05 (not movable), 4 -> 0.2, 5 -> 0.95
    std::vector<PackLiveness> packs{pl(MiB, 9 * MiB / 10),      pl(MiB, MiB / 10),      pl(MiB, MiB / 2),
                                    pl(MiB, MiB / 20, 0, false), pl(MiB, MiB / 10, MiB / 10), pl(MiB, 95 * MiB / 100)};
    // within the target: nothing
    CHECK(core::choose_packs_to_dissolve(packs, 6, MiB, 0).empty());
    CHECK(core::choose_packs_to_dissolve(packs, 9, MiB, 0.25).empty());
    // target 5: dissolving pack 1 (0.1) alone copies 0.1 MiB into one new pack: still 6; with pack 4 (0.2): 6 - 2 +
    // 1 data + 1 metadata pack = 6; with pack 2 (0.5): 6 - 3 + 1 (0.7 MiB data) + 1 = 5
    CHECK(core::choose_packs_to_dissolve(packs, 5, MiB, 0) == std::vector<std::size_t>{1, 2, 4});
    // the density rule adds the packs below it once any is dissolved (both below 0.25 are chosen anyway)
    CHECK(core::choose_packs_to_dissolve(packs, 5, MiB, 0.25) == std::vector<std::size_t>{1, 2, 4});
    // ... and picks a sparse pack even when the target is met without it
    CHECK(core::choose_packs_to_dissolve(packs, 5, MiB, 0.6) == std::vector<std::size_t>{1, 2, 4});
    CHECK(core::choose_packs_to_dissolve(packs, 5, MiB, 0.92) == std::vector<std::size_t>{0, 1, 2, 4});
    // a target no choice reaches: every movable pack (the partial one stays)
    CHECK(core::choose_packs_to_dissolve(packs, 1, MiB, 0) == std::vector<std::size_t>{0, 1, 2, 4, 5});
    // a pack nothing of the version lives in goes first and costs no copy
    std::vector<PackLiveness> with_dead = packs;
    with_dead.push_back(pl(MiB, 0));
    CHECK(core::choose_packs_to_dissolve(with_dead, 6, MiB, 0) == std::vector<std::size_t>{6});
}

TEST_CASE("a long history with a tiny pack.size keeps every commit within the bound; every version reads back",
          "[swarms]") {
    // Each version changes two of 12 tables and adds a small file: every commit writes new packs, and the packs of
    // the unchanged tables are spread over the whole history.
    auto run = [](std::size_t extra, std::vector<Hash32>& commits, std::vector<std::map<std::string, std::string>>& snaps,
                  std::size_t& repacks, CoreRepo& r) {
        r.repo->config().set("pack.size", "1048576");
        r.repo->config().set("pack.extra-packs", std::to_string(extra));
        r.repo->save_config();
        std::vector<int> version(12, 0);
        for (int v = 0; v < 14; ++v) {
            if (v == 0)
                for (int t = 0; t < 12; ++t) r.write("tables/t" + std::to_string(t) + ".csv", table(1500, 0, t));
            else
                for (int t : {v % 12, (v * 5 + 3) % 12}) r.write("tables/t" + std::to_string(t) + ".csv", table(1500, ++version[t], t));
            r.write("notes/n" + std::to_string(v) + ".txt", test::pseudo_random(3000, static_cast<unsigned>(v)));
            auto res = r.commit_result("v" + std::to_string(v));
            repacks += res.repack.dissolved > 0;
            commits.push_back(res.id);
            snaps.push_back(r.snapshot());
        }
    };
    std::size_t unbounded_max = 0;
    {
        CoreRepo r("swarms-free");
        std::vector<Hash32> commits;
        std::vector<std::map<std::string, std::string>> snaps;
        std::size_t repacks = 0;
        run(32, commits, snaps, repacks, r);
        for (const auto& c : commits) unbounded_max = std::max(unbounded_max, named_packs_of(r, c));
        CHECK(repacks == 0);
    }
    CoreRepo r("swarms");
    std::vector<Hash32> commits;
    std::vector<std::map<std::string, std::string>> snaps;
    std::size_t repacks = 0;
    run(2, commits, snaps, repacks, r);
    auto& store = r.repo->store();
    std::size_t deltas_named = 0;
    for (std::size_t i = 0; i < commits.size(); ++i) {
        auto c = *store.read_commit(commits[i]);
        std::size_t bound = core::swarm_bound(c.bytes, 1 << 20, 2);
        CHECK(c.packs.size() <= bound);
        if (i == commits.size() - 1) CHECK(unbounded_max > bound);  // without the bound the history exceeds it
        core::StoreObjects so(store);
        core::NamedPackObjects named(so, store, c);
        CHECK_NOTHROW(core::check_version(named, c, {}));
    }
    CHECK(repacks > 0);
    // the newest version reads delta chains (pack.delta-depth 16) from the packs it names, which passed the check
    const Commit newest = *store.read_commit(commits.back());
    for (const auto& p : newest.packs) {
        auto pi = read_pack_index(util::open_read(store.pack_path(p.id)).get(), "t");
        for (const auto& e : pi.entries) deltas_named += e.compression == Compression::zstd_delta;
    }
    CHECK(deltas_named > 0);
    CHECK(core::fsck(*r.repo, {}).problems.empty());
    // every version checks out byte for byte, the oldest through the packs it has always named
    for (std::size_t i : {std::size_t{0}, commits.size() / 2, commits.size() - 1}) {
        core::checkout(*r.repo, commits[i].hex(), {});
        CHECK(r.snapshot() == snaps[i]);
    }
    core::checkout(*r.repo, "main", {});
    // gc keeps every pack a reachable commit names (a dissolved pack stays while an old version names it)
    core::gc(*r.repo);
    for (const auto& id : commits) {
        const Commit c = *store.read_commit(id);
        for (const auto& p : c.packs) CHECK(store.pack_by_id(p.id).has_value());
    }
    CHECK(core::fsck(*r.repo, {}).problems.empty());
    core::checkout(*r.repo, commits[0].hex(), {});
    CHECK(r.snapshot() == snaps[0]);
}

TEST_CASE("write_copies verifies every record it copies, and stores a delta in full when asked", "[swarms]") {
    CoreRepo r("swarms-copy");
    auto& store = r.repo->store();
    Bytes base = table(400, 0, 1), next = table(400, 1, 1);
    Hash32 bid = sha256(base), nid = sha256(next);
    Bytes stored;
    encode_delta(next, base, bid, 3, stored);
    PackWriter w(store.tmp_dir(), store.packs_dir());
    w.append(ObjectType::chunk, bid, Compression::none, static_cast<std::uint32_t>(base.size()), base);
    w.append(ObjectType::chunk, nid, Compression::zstd_delta, static_cast<std::uint32_t>(next.size()), stored, 1);
    Bytes liar = text("these bytes are not what the id says");
    Hash32 lid = sha256(text("something else"));
    w.append(ObjectType::chunk, lid, Compression::none, static_cast<std::uint32_t>(liar.size()), liar);
    auto sp = w.seal();
    store.add_packs({sp});
    auto loc_n = *store.locate(nid), loc_b = *store.locate(bid), loc_l = *store.locate(lid);

    auto as_is = store.write_copies({{loc_b, false}, {loc_n, false}}, 1 << 20, r.repo->codec_params());
    REQUIRE(as_is.size() == 1);
    REQUIRE(as_is[0].entries.size() == 2);
    for (const auto& e : as_is[0].entries)
        if (e.id == nid) CHECK((e.compression == Compression::zstd_delta && e.depth == 1 && e.stored_len == loc_n.entry.stored_len));
    auto full = store.write_copies({{loc_n, true}}, 1 << 20, r.repo->codec_params());
    REQUIRE(full.size() == 1);
    REQUIRE(full[0].entries.size() == 1);
    CHECK(full[0].entries[0].compression != Compression::zstd_delta);
    CHECK(full[0].entries[0].depth == 0);
    store.add_repacked(full, {}, {});
    auto now = *store.locate(nid);  // the copy wins in the index
    CHECK(store.pack(now.pack_num)->ref.id == full[0].ref.id);
    CHECK(store.read(nid) == next);
    // a record whose bytes do not hash to its id is refused (also after good ones), and no pack is sealed for them
    auto pack_files = [&] {
        std::set<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(store.packs_dir())) names.insert(e.path().filename());
        return names;
    };
    auto before = pack_files();
    CHECK(kind_of([&] { store.write_copies({{loc_l, false}}, 1 << 20, r.repo->codec_params()); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.write_copies({{loc_b, false}, {loc_l, false}}, 1 << 20, r.repo->codec_params()); }) ==
          ErrorKind::corrupt);
    CHECK(pack_files() == before);
}
