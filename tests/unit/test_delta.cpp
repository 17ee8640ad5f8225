// Delta records (docs/format.md, "Delta records"): a chunk stored as base_id ‖ one zstd frame made with its base
// chunk's raw bytes as prefix, compression 2, its chain depth in the record header and index entry. Golden bytes of
// one record; chains read through the store (at the depth limit, and each rule broken: depth mismatch, a base that
// is a file object, a base that is the record itself, a missing base); a delta in a version-1 pack; a frame whose
// content size is not raw_len; pack versions and ids; and commits writing them (pack.delta-depth).
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/maintenance.hpp"
#include "core/named_packs.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core_fixture.hpp"
#include "objects/codec.hpp"
#include "objects/limits.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::CoreRepo;
using dvt::test::kind_of;
using dvt::test::TempDir;
namespace fs = std::filesystem;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Rows of a sorted table, as the history benchmark makes them: `n` rows, keys from `first` in steps of `step`.
Bytes table(int first, int n, int step, const std::string& tag) {
    std::string s;
    for (int i = 0; i < n; ++i)
        s += std::to_string(first + i * step) + "," + tag + ",value-" + std::to_string((first + i * step) * 7919 % 10007) +
             ",some constant text that repeats on every row\n";
    return text(s);
}

// The bytes of `path` in `commit`, read chunk by chunk through the store (every chunk verified).
Bytes read_back(CoreRepo& r, const objects::Commit& commit, const std::string& path) {
    auto f = r.repo->store().read_file_object(core::flatten_tree(r.repo->store(), commit).at(path).id);
    Bytes back;
    for (const auto& ch : f.chunks) {
        Bytes b = r.repo->store().read(ch.id);
        back.insert(back.end(), b.begin(), b.end());
    }
    return back;
}

// Each of `commits` passes the version check restricted to the packs it names, and reads back as `versions`.
void check_versions(CoreRepo& r, const std::vector<Hash32>& commits, const std::vector<Bytes>& versions,
                    const std::string& path) {
    for (std::size_t i = 0; i < commits.size(); ++i) {
        INFO("version " << i);
        auto c = r.repo->store().read_commit(commits[i]);
        REQUIRE(c);
        core::StoreObjects so(r.repo->store());
        core::NamedPackObjects named(so, r.repo->store(), *c);
        CHECK_NOTHROW(core::check_version(named, *c, {}));
        CHECK(read_back(r, *c, path) == versions[i]);
    }
}

std::string hex_of(const Bytes& b) { return to_hex(b.data(), b.size()); }
Bytes unhex(const std::string& h) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

Bytes delta_of(const Bytes& raw, const Bytes& base) {
    Bytes out;
    encode_delta(raw, base, sha256(base), 3, out);
    return out;
}

struct Written {
    Hash32 id;
    Bytes raw;
};

// Writes records into one new pack of `store` and indexes it.
struct PackBuilder {
    ObjectStore& store;
    PackWriter w;
    explicit PackBuilder(ObjectStore& s) : store(s), w(s.tmp_dir(), s.packs_dir()) {}
    void full(const Bytes& raw, ObjectType t = ObjectType::chunk) {
        w.append(t, sha256(raw), Compression::none, static_cast<std::uint32_t>(raw.size()), raw);
    }
    void delta(const Hash32& id, std::uint32_t raw_len, const Bytes& stored, std::uint16_t depth) {
        w.append(ObjectType::chunk, id, Compression::zstd_delta, raw_len, stored, depth);
    }
    SealedPack done() {
        SealedPack s = w.seal();
        store.add_packs({s});
        return s;
    }
};

}  // namespace

TEST_CASE("delta record golden vector", "[delta]") {
    const Bytes base = text(
        "id,name,value\n1,alpha,10\n2,beta,20\n3,gamma,30\n4,delta,40\n5,epsilon,50\n6,zeta,60\n7,eta,70\n8,theta,80\n");
    const Bytes raw = text(
        "id,name,value\n1,alpha,10\n2,beta,20\n3,gamma,31\n4,delta,40\n5,epsilon,50\n5a,new,55\n6,zeta,60\n7,eta,70\n"
        "8,theta,80\n");
    // base id ‖ one zstd frame (level 3, content size stated, no checksum) with `base` as prefix
    const std::string golden_hex =
        "f7ce7b24f11b06570f0c5c8a062d2038a828d199bf0eb896f4836202704c6ef0"
        "28b52ffd206ead0000503135612c6e65772c3535030071680e96eb344310";
    Bytes stored = delta_of(raw, base);
    CHECK(hex_of(stored) == golden_hex);
    Bytes golden = unhex(golden_hex);
    CHECK(delta_base_id(golden, "t") == sha256(base));
    Bytes out;
    decode_delta(golden, static_cast<std::uint32_t>(raw.size()), base, out, "t");
    CHECK(out == raw);
    // the frame states the content size: any other raw_len is corrupt, and so is a record shorter than a base id
    CHECK(kind_of([&] { decode_delta(golden, static_cast<std::uint32_t>(raw.size() + 1), base, out, "t"); }) ==
          ErrorKind::corrupt);
    CHECK(kind_of([&] { decode_delta(golden, static_cast<std::uint32_t>(raw.size() - 1), base, out, "t"); }) ==
          ErrorKind::corrupt);
    CHECK(kind_of([&] { decode_delta(std::span(golden).first(31), 100, base, out, "t"); }) == ErrorKind::corrupt);
    // decode_record refuses a delta outright (it needs its base)
    CHECK(kind_of([&] { decode_record(golden, Compression::zstd_delta, static_cast<std::uint32_t>(raw.size()), out, "t"); }) ==
          ErrorKind::corrupt);
    // with another base, zstd decodes other bytes or fails: never the record's id
    Bytes other = base;
    other[20] ^= 1;
    bool refused_or_other = true;
    try {
        decode_delta(golden, static_cast<std::uint32_t>(raw.size()), other, out, "t");
        refused_or_other = out != raw;
    } catch (const Error& e) {
        refused_or_other = e.kind() == ErrorKind::corrupt;
    }
    CHECK(refused_or_other);
}

TEST_CASE("a pack with a delta record is version 2, its id the merkle root of its bytes; one without stays version 1",
          "[delta]") {
    CoreRepo r("delta-pack");
    auto& store = r.repo->store();
    Bytes a = table(0, 2000, 3, "a"), b = table(1, 2000, 3, "a");
    REQUIRE(a.size() > kBlockSize);  // the header's block is hashed before the delta comes
    SealedPack p1, p2;
    {
        PackBuilder pb(store);
        pb.full(a);
        p1 = pb.done();
    }
    {
        PackBuilder pb(store);
        pb.full(b);  // more than one block before the delta record
        Bytes c = table(2, 2000, 3, "a");
        pb.delta(sha256(c), static_cast<std::uint32_t>(c.size()), delta_of(c, a), 1);
        p2 = pb.done();
    }
    SealedPack p3;  // a pack smaller than one block: its only block is patched before it is hashed
    {
        PackBuilder pb(store);
        Bytes small_base = table(5, 40, 1, "s"), small = table(5, 41, 1, "s");
        pb.full(small_base);
        pb.delta(sha256(small), static_cast<std::uint32_t>(small.size()), delta_of(small, small_base), 1);
        p3 = pb.done();
        REQUIRE(p3.ref.length < kBlockSize);
        CHECK(store.read(sha256(small)) == small);
    }
    for (const auto& [p, version] : {std::pair{p1, 1u}, std::pair{p2, 2u}, std::pair{p3, 2u}}) {
        Bytes file = util::read_file(p.path);
        CHECK(load_u32(file.data() + 8) == version);
        CHECK(load_u32(file.data() + file.size() - 64 + 24) == version);
        CHECK(merkle_root(file) == p.ref.id);
        util::Fd fd = util::open_read(p.path);
        CHECK(read_pack_index(fd.get(), "t").version == version);
    }
    CHECK(store.read(sha256(table(2, 2000, 3, "a"))) == table(2, 2000, 3, "a"));
}

TEST_CASE("a delta chain at the depth limit reads; every rule broken is corrupt, a missing base not_found", "[delta]") {
    CoreRepo r("delta-chain");
    auto& store = r.repo->store();
    // a chain of kMaxDeltaDepth deltas over one full chunk, each version a row longer
    std::vector<Bytes> v;
    for (int i = 0; i <= kMaxDeltaDepth; ++i) v.push_back(table(0, 300 + i, 2, "t"));
    {
        PackBuilder pb(store);
        pb.full(v[0]);
        for (int i = 1; i <= kMaxDeltaDepth; ++i)
            pb.delta(sha256(v[i]), static_cast<std::uint32_t>(v[i].size()), delta_of(v[i], v[i - 1]),
                     static_cast<std::uint16_t>(i));
        pb.done();
    }
    CHECK(store.read(sha256(v[kMaxDeltaDepth])) == v[kMaxDeltaDepth]);
    auto loc = store.locate(sha256(v[kMaxDeltaDepth]));
    REQUIRE(loc);
    CHECK(loc->entry.depth == kMaxDeltaDepth);
    CHECK(store.delta_chain(*loc).size() == kMaxDeltaDepth);

    // one more level cannot be written, nor read: depth 65 is over the limit wherever it appears
    {
        PackWriter w(store.tmp_dir(), store.packs_dir());
        Bytes x = table(0, 400, 2, "t");
        CHECK(kind_of([&] {
                  w.append(ObjectType::chunk, sha256(x), Compression::zstd_delta, static_cast<std::uint32_t>(x.size()),
                           delta_of(x, v[kMaxDeltaDepth]), kMaxDeltaDepth + 1);
              }) == ErrorKind::internal);
        PackEntry e{sha256(x), 16, 100, static_cast<std::uint32_t>(x.size()), ObjectType::chunk, Compression::zstd_delta,
                    kMaxDeltaDepth + 1};
        CHECK(kind_of([&] { check_entry_limits(e, "t"); }) == ErrorKind::corrupt);
        e.depth = 0;  // a delta of depth 0, a non-delta with a depth, a delta that is not a chunk
        CHECK(kind_of([&] { check_entry_limits(e, "t"); }) == ErrorKind::corrupt);
        e.compression = Compression::zstd;
        e.depth = 1;
        CHECK(kind_of([&] { check_entry_limits(e, "t"); }) == ErrorKind::corrupt);
        e.compression = Compression::zstd_delta;
        e.type = ObjectType::file;
        CHECK(kind_of([&] { check_entry_limits(e, "t"); }) == ErrorKind::corrupt);
    }

    const Bytes base = table(1000, 300, 2, "b");
    const Bytes file_raw = FileObject{static_cast<std::uint64_t>(base.size()),
                                      {ChunkRef{sha256(base), static_cast<std::uint32_t>(base.size())}}}
                               .encode();
    const Bytes mismatch = table(1000, 301, 2, "b"), of_file = table(1000, 302, 2, "b"), self = table(1000, 303, 2, "b"),
                orphan = table(1000, 304, 2, "b");
    {
        PackBuilder pb(store);
        pb.full(base);
        pb.full(file_raw, ObjectType::file);
        // depth 2 over a full chunk (depth 0): the base must have depth d-1
        pb.delta(sha256(mismatch), static_cast<std::uint32_t>(mismatch.size()), delta_of(mismatch, base), 2);
        // a base that is a file object
        Bytes s;
        encode_delta(of_file, file_raw, sha256(file_raw), 3, s);
        pb.delta(sha256(of_file), static_cast<std::uint32_t>(of_file.size()), s, 1);
        // a base id that is the record's own id
        s.clear();
        encode_delta(self, base, sha256(self), 3, s);
        pb.delta(sha256(self), static_cast<std::uint32_t>(self.size()), s, 1);
        // a base that is nowhere
        s.clear();
        encode_delta(orphan, base, sha256(text("not stored anywhere")), 3, s);
        pb.delta(sha256(orphan), static_cast<std::uint32_t>(orphan.size()), s, 1);
        pb.done();
    }
    CHECK(kind_of([&] { store.read(sha256(mismatch)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.read(sha256(of_file)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.read(sha256(self)); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.read(sha256(orphan)); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { store.delta_chain(*store.locate(sha256(mismatch))); }) == ErrorKind::corrupt);
    CHECK(kind_of([&] { store.delta_chain(*store.locate(sha256(orphan))); }) == ErrorKind::not_found);
    // and fsck names each of them
    auto fr = core::fsck(*r.repo, {});
    std::string all;
    for (const auto& p : fr.problems) all += p.what + ": " + p.message + "\n";
    for (const auto& id : {sha256(mismatch), sha256(of_file), sha256(self)})
        CHECK(all.find("object " + id.hex()) != std::string::npos);
    // a delta whose base is not here is no problem of its pack (a clone of some versions fetches whole packs whose
    // other deltas need bases only older versions name); it is one for a version that reaches it (step 4)
    CHECK(all.find("object " + sha256(orphan).hex()) == std::string::npos);
    CHECK(all.find("object " + sha256(v[kMaxDeltaDepth]).hex()) == std::string::npos);
}

TEST_CASE("a delta record in a version-1 pack is corrupt", "[delta]") {
    CoreRepo r("delta-v1");
    auto& store = r.repo->store();
    Bytes a = table(0, 100, 1, "x"), b = table(0, 101, 1, "x");
    fs::path path;
    {
        PackWriter w(store.tmp_dir(), store.tmp_dir());
        w.append(ObjectType::chunk, sha256(a), Compression::none, static_cast<std::uint32_t>(a.size()), a);
        w.append(ObjectType::chunk, sha256(b), Compression::zstd_delta, static_cast<std::uint32_t>(b.size()),
                 delta_of(b, a), 1);
        path = w.seal().path;
    }
    Bytes file = util::read_file(path);
    REQUIRE(load_u32(file.data() + 8) == 2);
    {
        util::Fd fd = util::open_read(path);
        CHECK(read_pack_index(fd.get(), "t").entries.size() == 2);
    }
    // the same pack claiming version 1 (header and footer; the index checksum does not cover them)
    file[8] = 1;
    file[file.size() - 64 + 24] = 1;
    fs::path forged = store.tmp_dir() / "forged.pack";
    util::atomic_write_file(forged, file);
    util::Fd fd = util::open_read(forged);
    CHECK(kind_of([&] { read_pack_index(fd.get(), "t"); }) == ErrorKind::corrupt);
    // a header and footer that disagree
    file[8] = 2;
    util::atomic_write_file(forged, file);
    util::Fd fd2 = util::open_read(forged);
    CHECK(kind_of([&] { read_pack_index(fd2.get(), "t"); }) == ErrorKind::corrupt);
}

TEST_CASE("commit writes delta records against the previous version of a path; pack.delta-depth 0 writes none",
          "[delta]") {
    for (int depth : {0, 2}) {
        CoreRepo r("delta-commit");
        r.repo->config().set("pack.delta-depth", std::to_string(depth));
        r.repo->config().set("pack.size", "1048576");
        r.repo->save_config();
        // a sorted table that gains rows all through it in every version
        std::vector<Bytes> versions;
        for (int v = 0; v < 5; ++v) {
            std::string s;
            for (int i = 0; i < 6000; ++i)
                if (i % 97 >= v * 3 || i % 5 != 0)
                    s += std::to_string(i) + ",row " + std::to_string(i * 31 % 1009) + ",version-independent text\n";
            versions.push_back(text(s));
        }
        std::vector<Hash32> commits;
        for (const auto& v : versions) {
            r.write("data/table.csv", v);
            commits.push_back(r.commit("v"));
        }
        std::uint64_t deltas = 0, v2packs = 0, max_depth = 0;
        for (const auto& p : r.repo->store().packs()) {
            util::Fd fd = util::open_read(r.repo->store().pack_path(p.ref.id));
            auto pi = read_pack_index(fd.get(), "t");
            v2packs += pi.version == 2;
            for (const auto& e : pi.entries) {
                deltas += e.compression == Compression::zstd_delta;
                max_depth = std::max<std::uint64_t>(max_depth, e.depth);
            }
        }
        if (depth == 0) {
            CHECK(deltas == 0);
            CHECK(v2packs == 0);
        } else {
            CHECK(deltas > 0);
            CHECK(v2packs > 0);
            CHECK(max_depth <= static_cast<std::uint64_t>(depth));
        }
        // every version reads back byte for byte, and passes the version check restricted to the packs it names
        check_versions(r, commits, versions, "data/table.csv");
        CHECK(core::fsck(*r.repo, {}).problems.empty());
    }
}

TEST_CASE("a previous version's chunk damaged on disk is never a delta base", "[delta]") {
    // The writer loads a previous version's full records without checking their ids (their bytes are anchors, hints)
    // and checks a chunk against its id before it serves as a base (core/ingest.cpp base_of).
    for (bool damaged : {false, true}) {
        CoreRepo r(damaged ? "delta-damaged-base" : "delta-sound-base");
        std::mt19937 g(17);
        Bytes v1(4000);  // below chunker.min: one chunk; incompressible: stored raw, so a flipped byte still decodes (to wrong bytes)
        for (auto& b : v1) b = static_cast<std::uint8_t>(g());
        r.write("blob.bin", v1);
        auto one = r.commit_result("v1");
        REQUIRE(one.stats.chunks_new == 1);
        auto f1 = r.repo->store().read_file_object(core::flatten_tree(r.repo->store(), one.commit).at("blob.bin").id);
        REQUIRE(f1.chunks.size() == 1);
        auto loc = r.repo->store().locate(f1.chunks[0].id);
        REQUIRE(loc);
        REQUIRE(loc->entry.compression == Compression::none);
        if (damaged) {
            auto info = r.repo->store().pack(loc->pack_num);
            REQUIRE(info);
            fs::path p = r.repo->store().file_of(*info);
            fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
            std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
            auto at = static_cast<std::streamoff>(loc->entry.offset + kRecordHeaderSize + 3000);
            f.seekp(at);
            char c = 0x55;
            f.write(&c, 1);
        }
        Bytes v2 = v1;
        for (std::size_t i = 2000; i < 2008; ++i) v2[i] ^= 0xff;  // a small edit: the same first bytes (an anchor)
        r.write("blob.bin", v2);
        auto two = r.commit_result("v2");
        REQUIRE(two.stats.chunks_new == 1);
        if (damaged) {
            CHECK(two.stats.chunks_delta == 0);  // stored whole, not against bytes that are not what their id says
        } else {
            CHECK(two.stats.chunks_delta == 1);  // the same edit against a sound base is a delta
        }
        CHECK(read_back(r, two.commit, "blob.bin") == v2);
    }
}

TEST_CASE("a commit naming a delta but not the pack of its base fails the version check", "[delta]") {
    CoreRepo r("delta-named");
    r.repo->config().set("pack.size", "1048576");
    r.repo->save_config();
    std::string s1, s2;  // the second version inserts a row after every 100th
    for (int i = 0; i < 20000; ++i) {
        std::string row = std::to_string(i) + ",n,value-" + std::to_string(i * 7919 % 10007) + ",constant text\n";
        s1 += row;
        s2 += row;
        if (i % 100 == 0) s2 += std::to_string(i) + "a,inserted\n";
    }
    Bytes v1 = text(s1), v2 = text(s2);
    r.write("t.csv", v1);
    r.commit("1");
    r.write("t.csv", v2);
    Hash32 c2 = r.commit("2");
    auto c = *r.repo->store().read_commit(c2);
    core::StoreObjects so(r.repo->store());
    {
        core::NamedPackObjects named(so, r.repo->store(), c);
        REQUIRE_NOTHROW(core::check_version(named, c, {}));
    }
    // drop from the commit's list each pack that holds only bases (objects the tree does not reach)
    auto flat = core::flatten_tree(r.repo->store(), c);
    auto f = r.repo->store().read_file_object(flat.at("t.csv").id);
    std::set<Hash32> reached{c.tree, flat.at("t.csv").id};
    bool any_delta = false;
    for (const auto& ch : f.chunks) {
        reached.insert(ch.id);
        any_delta |= r.repo->store().locate(ch.id)->entry.compression == Compression::zstd_delta;
    }
    REQUIRE(any_delta);
    Commit forged = c;
    forged.packs.clear();
    for (const auto& p : c.packs) {
        auto info = r.repo->store().pack_by_id(p.id);
        bool needed = false;
        for (const auto& id : r.repo->store().objects_in_pack(info->num)) needed |= reached.count(id) > 0;
        if (needed) forged.packs.push_back(p);
    }
    REQUIRE(forged.packs.size() < c.packs.size());
    core::NamedPackObjects named(so, r.repo->store(), forged);
    CHECK(kind_of([&] { core::check_version(named, forged, {}); }) == ErrorKind::corrupt);
}

// docs/format.md, "Delta records": when a chunk's chain has reached pack.delta-depth, the next version's chunk is a
// delta against the link of that chain at depth pack.delta-depth / 2 (a skip delta), not a new full chunk.
TEST_CASE("at pack.delta-depth a changed chunk is a skip delta, not a keyframe; every version reads back",
          "[delta]") {
    CoreRepo r("delta-skip");
    r.repo->config().set("pack.delta-depth", "2");
    r.repo->config().set("pack.size", "1048576");
    r.repo->save_config();
    // fixed-width rows; every version rewrites one digit of every 40th row (same length: every chunk changes)
    std::vector<std::string> rows;
    for (int i = 0; i < 8000; ++i) {
        char row[64];
        std::snprintf(row, sizeof row, "%06d,station-%04d,value 0,reading %07d\n", i, i * 37 % 9973, i * 7919 % 1000003);
        rows.push_back(row);
    }
    std::vector<Bytes> versions;
    std::vector<Hash32> commits;
    for (int v = 0; v < 7; ++v) {
        std::string s;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i % 40 == 0) rows[i][26] = static_cast<char>('0' + v);  // "value v"
            s += rows[i];
        }
        versions.push_back(text(s));
        r.write("data/table.csv", versions.back());
        auto res = r.commit_result("v" + std::to_string(v));
        commits.push_back(res.id);
        INFO("version " << v);
        if (v == 0) {
            CHECK(res.stats.chunks_full_no_previous == res.stats.chunks_new);
            continue;
        }
        // versions 3 to 6 meet chains at depth 2: without skip deltas they would store keyframes (no base below the
        // limit); a few chunks whose cut points moved may still be stored whole as their delta does not pay
        CHECK(res.stats.chunks_new > 0);
        CHECK(res.stats.chunks_full_no_base == 0);
        CHECK(res.stats.chunks_delta * 4 >= res.stats.chunks_new * 3);
    }
    std::uint64_t max_depth = 0, depth2 = 0;
    for (const auto& p : r.repo->store().packs()) {
        util::Fd fd = util::open_read(r.repo->store().pack_path(p.ref.id));
        for (const auto& e : read_pack_index(fd.get(), "t").entries) {
            max_depth = std::max<std::uint64_t>(max_depth, e.depth);
            depth2 += e.depth == 2;
        }
    }
    CHECK(max_depth == 2);
    CHECK(depth2 > 0);
    check_versions(r, commits, versions, "data/table.csv");
    CHECK(core::fsck(*r.repo, {}).problems.empty());
}

TEST_CASE("a commit reads only the old chunks around an edit to find delta bases; with no unchanged chunk near, all",
          "[delta]") {
    CoreRepo r("delta-window");
    r.repo->config().set("pack.delta-depth", "16");
    r.repo->save_config();
    Bytes v0 = table(0, 50000, 2, "a");  // ~3.7 MB: some 230 chunks
    r.write("data/table.csv", v0);
    auto first = r.commit_result("v0");
    CHECK(first.stats.bytes_base_read == 0);

    // one row edited in the middle: the chunk around it is a delta, against one of the few old chunks read
    std::string s(v0.begin(), v0.end());
    const std::size_t at = s.find("\n50000,") + 1;
    REQUIRE(at > 0);
    s.replace(at + 6, 1, "B");
    std::vector<Bytes> versions{v0, text(s)};
    // rows appended: the old last chunk is the base of the new ones, and no other old chunk is needed
    const Bytes tail = table(100000, 400, 2, "a");
    s += std::string(tail.begin(), tail.end());
    versions.push_back(text(s));
    std::vector<Hash32> commits{first.id};
    for (std::size_t v = 1; v < versions.size(); ++v) {
        INFO("version " << v);
        r.write("data/table.csv", versions[v]);
        auto res = r.commit_result("v" + std::to_string(v));
        commits.push_back(res.id);
        CHECK(res.stats.chunks_delta >= 1);
        CHECK(res.stats.bytes_base_read > 0);
        CHECK(res.stats.bytes_base_read <= versions[v - 1].size() / 16);
    }
    // every 40th row's tag changes: no chunk is unchanged, so the whole previous version is read
    {
        std::size_t line = 0;
        for (std::size_t p = 0; p < s.size(); p = s.find('\n', p) + 1, ++line)
            if (line % 40 == 0) s[s.find(',', p) + 1] = 'c';
    }
    versions.push_back(text(s));
    r.write("data/table.csv", versions.back());
    auto all = r.commit_result("shifted");
    commits.push_back(all.id);
    CHECK(all.stats.chunks_delta > 0);
    CHECK(all.stats.bytes_base_read == versions[versions.size() - 2].size());

    check_versions(r, commits, versions, "data/table.csv");
    CHECK(core::fsck(*r.repo, {}).problems.empty());
}
