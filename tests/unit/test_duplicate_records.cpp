// One object in two packs a commit names (a re-pack copies live objects of sparse packs into a new pack; a later
// version may name the old pack again), both held here in part: a pull fetched the object's record into one of them
// only. The version check restricted to the named packs (core::NamedPackObjects, what a pull runs before it stores a
// version) reads the record where its bytes are, whichever pack the commit lists first, and never reads the part of a
// partial pack that was not fetched; a record fetched into neither is missing (not_found), not damaged.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/named_packs.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core_fixture.hpp"
#include "objects/codec.hpp"
#include "objects/index_db.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::CoreRepo;
using dvt::test::kind_of;
using dvt::test::TempDir;
namespace fs = std::filesystem;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Copies `from` to `to` (writable), with the bytes of `hole` (a record) zeroed when given: what a partial pack holds
// when the pieces of that record were never fetched.
void copy_with_hole(const fs::path& from, const fs::path& to, const PackEntry* hole) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
    if (!hole) return;
    Bytes zeros(kRecordHeaderSize + hole->stored_len, 0);
    util::Fd fd(::open(to.c_str(), O_WRONLY | O_CLOEXEC));
    REQUIRE(fd.get() >= 0);
    util::pwrite_all(fd.get(), zeros.data(), zeros.size(), hole->offset, to.string());
}

}  // namespace

TEST_CASE("an object in two named partial packs is read where it was fetched, never from the unfetched part",
          "[partial][delta]") {
    // the source: two versions of a table, the second stored as delta chunks against the first
    CoreRepo r("dup-src");
    r.repo->config().set("pack.size", "1048576");
    r.repo->save_config();
    std::string s1, s2;  // the second version inserts a row after every 100th
    for (int i = 0; i < 20000; ++i) {
        std::string row = std::to_string(i) + ",n,value-" + std::to_string(i * 7919 % 10007) + ",constant text\n";
        s1 += row;
        s2 += row;
        if (i % 100 == 0) s2 += std::to_string(i) + "a,inserted\n";
    }
    r.write("t.csv", text(s1));
    r.commit("1");
    r.write("t.csv", text(s2));
    Hash32 c2 = r.commit("2");
    ObjectStore& src = r.repo->store();
    const Commit c = *src.read_commit(c2);
    auto flat = core::flatten_tree(src, c);
    auto file = src.read_file_object(flat.at("t.csv").id);
    std::optional<Location> x;  // a delta chunk of version 2
    for (const auto& ch : file.chunks) {
        auto l = src.locate(ch.id);
        REQUIRE(l);
        if (is_delta(l->entry.compression)) {
            x = l;
            break;
        }
    }
    REQUIRE(x);
    const Bytes x_bytes = src.read(x->entry.id);
    auto x_pack = src.pack(x->pack_num);
    REQUIRE(x_pack);
    // its copy: a pack holding the same delta record (as a re-pack writes it), sealed into packs/ but not indexed
    auto copies = src.write_copies({ObjectStore::CopyRecord{*x, false}}, 1 << 20, r.repo->codec_params());
    REQUIRE(copies.size() == 1);
    const SealedPack& copy = copies[0];
    REQUIRE(copy.entries.size() == 1);
    REQUIRE(copy.entries[0].id == x->entry.id);
    REQUIRE(is_delta(copy.entries[0].compression));

    // where the record's bytes are in the "clone": its own pack (0), the copy (1), or neither (2)
    for (int fetched_in = 0; fetched_in < 3; ++fetched_in)
        for (bool copy_first : {false, true}) {
            CAPTURE(fetched_in, copy_first);
            TempDir d("dup-clone");
            for (const char* sub : {"packs", "commits", "tmp", "partial"}) fs::create_directories(d.path / sub);
            IndexDb db(d.path / "index.db");
            ObjectStore store(d.path, db);
            // every pack the commit names, and the copy, held in part: all their records fetched and verified except
            // the record of x in the packs it was not fetched into (their bytes there are zeros)
            Commit named = c;
            std::vector<std::pair<PackRef, fs::path>> held;
            for (const auto& p : c.packs) held.emplace_back(p, src.pack_path(p.id));
            held.emplace_back(copy.ref, copy.path);
            named.packs.clear();
            if (copy_first) named.packs.push_back(copy.ref);
            for (const auto& p : c.packs) named.packs.push_back(p);
            if (!copy_first) named.packs.push_back(copy.ref);
            for (const auto& [ref, from] : held) {
                util::Fd in = util::open_read(from);
                PackIndex pi = read_pack_index(in.get(), from.string());
                const bool is_copy = ref.id == copy.ref.id, is_own = ref.id == x_pack->ref.id;
                const bool has_x = (is_own && fetched_in == 0) || (is_copy && fetched_in == 1);
                const PackEntry* hole = nullptr;
                std::vector<PackEntry> verified;
                for (const auto& e : pi.entries) {
                    if (e.id != x->entry.id) {
                        verified.push_back(e);
                    } else if (has_x) {
                        verified.push_back(e);
                    } else {
                        hole = &e;
                    }
                }
                copy_with_hole(from, store.partial_path(ref.id), hole);
                PackInfo info = store.add_partial_pack(ref);
                store.add_verified_objects(info.num, verified);
            }
            core::StoreObjects so(store);
            core::NamedPackObjects objs(so, store, named);
            if (fetched_in < 2) {
                CHECK_NOTHROW(core::check_version(objs, named, {}));
                CHECK_FALSE(objs.not_fetched());
                CHECK(store.read(x->entry.id) == x_bytes);
                // what a pull and fsck read: the chain through the rows, from the pack the record was fetched into
                auto l = store.locate(x->entry.id);
                REQUIRE(l);
                CHECK(store.pack(l->pack_num)->ref.id == (fetched_in == 0 ? x_pack->ref.id : copy.ref.id));
            } else {
                // fetched nowhere: missing, never read from the zeros of either partial pack
                CHECK(kind_of([&] { store.read(x->entry.id); }) == ErrorKind::not_found);
                CHECK_NOTHROW(core::check_version(objs, named, {}));
            }
        }
}

TEST_CASE("forgetting a partial pack keeps the objects a complete pack holds too", "[partial]") {
    TempDir d("dup-forget");
    for (const char* sub : {"packs", "commits", "tmp", "partial"}) fs::create_directories(d.path / sub);
    IndexDb db(d.path / "index.db");
    ObjectStore store(d.path, db);
    std::vector<Bytes> chunks;
    for (unsigned i = 0; i < 3; ++i) chunks.push_back(dvt::test::pseudo_random(20000 + i, i + 7));
    auto write = [&](const std::vector<std::size_t>& which) {
        PackWriter w(d.path / "tmp", d.path / "packs");
        for (auto i : which)
            w.append(ObjectType::chunk, sha256(chunks[i]), Compression::none,
                     static_cast<std::uint32_t>(chunks[i].size()), chunks[i]);
        return w.seal();
    };
    // a partial pack with chunks 0 and 1 (both fetched), then a complete pack with chunks 0 and 2: chunk 0 keeps its
    // row in the partial pack
    SealedPack a = write({0, 1});
    fs::rename(a.path, store.partial_path(a.ref.id));
    PackInfo ai = store.add_partial_pack(a.ref);
    store.add_verified_objects(ai.num, a.entries);
    SealedPack b = write({0, 2});
    store.add_packs({b});
    REQUIRE(store.locate(sha256(chunks[0]))->pack_num == ai.num);
    // the partial pack goes (gc: no reachable commit names it): chunk 0 is read from the complete pack, chunk 1 is gone
    store.forget_partial_packs({a.ref.id});
    auto l0 = store.locate(sha256(chunks[0]));
    REQUIRE(l0);
    CHECK(store.pack(l0->pack_num)->ref.id == b.ref.id);
    fs::remove(store.partial_path(a.ref.id));
    store.forget_open_packs();
    CHECK(store.read(sha256(chunks[0])) == chunks[0]);
    CHECK(store.read(sha256(chunks[2])) == chunks[2]);
    CHECK(kind_of([&] { store.read(sha256(chunks[1])); }) == ErrorKind::not_found);
}
