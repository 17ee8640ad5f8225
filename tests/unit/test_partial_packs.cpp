// Partial packs in the object store (docs/format.md, "Partial packs"): a pack held in part has a row marked partial
// and index rows only for objects the caller verified; reads go to partial/<id>.pack and verify; completing the pack
// keeps its row (so object rows stay valid); reconcile drops the rows of a partial pack whose file is gone; an index
// database of schema 1 is migrated, not rebuilt; a full record replaces a delta row of the same chunk.
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>

#include <filesystem>
#include <random>

#include "objects/codec.hpp"
#include "objects/index_db.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "test_support.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::pseudo_random;
namespace fs = std::filesystem;

namespace {

struct Dir {
    fs::path path;
    Dir() {
        path = fs::temp_directory_path() / ("dvt-unit-partial-" + std::to_string(std::random_device{}()));
        for (const char* d : {"packs", "commits", "tmp", "partial"}) fs::create_directories(path / d);
    }
    ~Dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// A sealed pack of three raw chunks in dir/tmp, moved to dir/partial as if a pull had fetched it.
SealedPack make_pack(const fs::path& dvt, std::vector<Bytes>& chunks) {
    fs::path stage = dvt / "tmp" / "stage";
    fs::create_directories(stage);
    PackWriter w(dvt / "tmp", stage);
    for (unsigned i = 0; i < 3; ++i) {
        chunks.push_back(pseudo_random(20000 + i, i + 1));
        w.append(ObjectType::chunk, sha256(chunks.back()), Compression::none,
                 static_cast<std::uint32_t>(chunks.back().size()), chunks.back());
    }
    SealedPack s = w.seal();
    fs::rename(s.path, dvt / "partial" / s.path.filename());
    s.path = dvt / "partial" / s.path.filename();
    return s;
}

// A store in a temporary directory, and one pack of make_pack's chunks sealed into its partial/ (not registered).
struct PartialPack {
    Dir d;
    IndexDb db{d.path / "index.db"};
    ObjectStore store{d.path, db};
    std::vector<Bytes> chunks;
    SealedPack sp = make_pack(d.path, chunks);
};

}  // namespace

TEST_CASE_METHOD(PartialPack,
                 "a partial pack serves only the objects the caller verified, and becomes complete in place",
                 "[partial]") {

    PackInfo info = store.add_partial_pack(sp.ref);
    CHECK(info.partial);
    CHECK(store.file_of(info) == store.partial_path(sp.ref.id));
    CHECK_FALSE(store.has(sp.entries[0].id));

    store.add_verified_objects(info.num, {sp.entries[0]});
    auto e0 = sp.entries[0];
    CHECK(store.has(e0.id));
    Bytes got = store.read(e0.id);
    CHECK(sha256(got) == e0.id);
    CHECK_FALSE(store.has(sp.entries[1].id));

    // reopening keeps a partial pack whose file is there
    CHECK(store.reconcile() == 0);
    REQUIRE(store.pack_by_id(sp.ref.id));
    CHECK(store.pack_by_id(sp.ref.id)->partial);

    // completing it: the file moves to packs/, the row (and its number) stays, every object is indexed
    fs::rename(sp.path, store.pack_path(sp.ref.id));
    sp.path = store.pack_path(sp.ref.id);
    store.forget_open_packs();
    CHECK(store.add_packs({sp}) == std::vector<std::int64_t>{info.num});
    auto now = store.pack_by_id(sp.ref.id);
    REQUIRE(now);
    CHECK_FALSE(now->partial);
    for (const auto& e : sp.entries) CHECK(sha256(store.read(e.id)) == e.id);
    CHECK(store.piece_layer(now->num) == sp.piece_layer);
}

TEST_CASE_METHOD(PartialPack,
                 "a damaged byte in a partial pack is caught when the object is read", "[partial]") {
    PackInfo info = store.add_partial_pack(sp.ref);
    store.add_verified_objects(info.num, sp.entries);
    const auto& e = sp.entries[1];
    {
        fs::permissions(sp.path, fs::perms::owner_write, fs::perm_options::add);
        util::Fd fd(::open(sp.path.c_str(), O_WRONLY));
        std::uint8_t x = 0x5a;
        util::pwrite_all(fd.get(), &x, 1, e.offset + kRecordHeaderSize + 100, "test");
    }
    try {
        store.read(e.id);
        FAIL("a damaged object was returned");
    } catch (const Error& err) {
        CHECK(err.kind() == ErrorKind::corrupt);
    }
}

TEST_CASE_METHOD(PartialPack,
                 "reconcile forgets a partial pack whose file is gone, and a partial copy of a complete pack",
                 "[partial]") {
    PackInfo info = store.add_partial_pack(sp.ref);
    store.add_verified_objects(info.num, sp.entries);
    fs::remove(sp.path);
    CHECK(store.reconcile() == 1);
    CHECK_FALSE(store.pack_by_id(sp.ref.id));
    CHECK_FALSE(store.has(sp.entries[0].id));

    // a promotion interrupted after the rename: packs/ has the pack, partial/ still a copy, the row says partial
    std::vector<Bytes> more;
    Dir d2;
    SealedPack sp2 = make_pack(d2.path, more);
    fs::copy_file(sp2.path, store.pack_path(sp2.ref.id));
    fs::copy_file(sp2.path, store.partial_path(sp2.ref.id));
    util::atomic_write_file(store.resume_path(sp2.ref.id), std::string("x"));
    store.add_partial_pack(sp2.ref);
    store.reconcile();
    auto p = store.pack_by_id(sp2.ref.id);
    REQUIRE(p);
    CHECK_FALSE(p->partial);
    CHECK_FALSE(fs::exists(store.partial_path(sp2.ref.id)));
    CHECK_FALSE(fs::exists(store.resume_path(sp2.ref.id)));
    for (const auto& e : sp2.entries) CHECK(store.has(e.id));
}

TEST_CASE("an index database of schema 1 is migrated to schema 2 with its rows kept", "[partial]") {
    Dir d;
    auto path = d.path / "index.db";
    {
        SQLite::Database old(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        old.exec(
            "CREATE TABLE packs(num INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, length INTEGER NOT NULL, "
            "index_offset INTEGER NOT NULL, piece_layer BLOB NOT NULL);"
            "CREATE TABLE objects(id BLOB PRIMARY KEY, pack INTEGER NOT NULL, offset INTEGER NOT NULL, stored_len "
            "INTEGER NOT NULL, raw_len INTEGER NOT NULL, type INTEGER NOT NULL, compression INTEGER NOT NULL) WITHOUT "
            "ROWID;"
            "CREATE TABLE worktree(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns "
            "INTEGER NOT NULL, ino INTEGER NOT NULL, mode INTEGER NOT NULL, file_id BLOB NOT NULL, cached_at_ns "
            "INTEGER NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE file_packs(file_id BLOB PRIMARY KEY, packs BLOB NOT NULL) WITHOUT ROWID;"
            "INSERT INTO packs VALUES(7, x'" + std::string(64, 'a') + "', 100, 36, x'');"
            "PRAGMA user_version=1;");
    }
    IndexDb db(path);
    CHECK(db.db().execAndGet("PRAGMA user_version").getInt() == kIndexSchemaVersion);
    ObjectStore store(d.path, db);
    auto p = store.pack(7);
    REQUIRE(p);
    CHECK_FALSE(p->partial);
    CHECK(p->ref.length == 100);
}

// Commit 9c0d133: a partial pack's index rows may name a chunk as a delta record whose chain is not here; when the
// same chunk then arrives as a full record (a commit stores it again in full, or another pack holds it in full), the
// full record's row replaces the delta's, for zstd-prefix deltas (compression 2) and tensor deltas (compression 3)
// alike, and not the other way round.
TEST_CASE("a full record replaces a delta row (compression 2 or 3) of the same chunk, a delta never a full one",
          "[partial][delta]") {
    for (Compression kind : {Compression::zstd_delta, Compression::tensor_delta}) {
        DYNAMIC_SECTION("compression " << static_cast<int>(kind)) {
            Dir d;
            IndexDb db(d.path / "index.db");
            ObjectStore store(d.path, db);
            Bytes base = pseudo_random(4096, 11), chunk = base;
            for (std::size_t i = 0; i < chunk.size(); i += 64) chunk[i] ^= 0x5a;  // a nudged version of `base`
            const Hash32 id = sha256(chunk), base_id = sha256(base);
            Bytes stored;
            if (kind == Compression::zstd_delta)
                encode_delta(chunk, base, base_id, 3, stored);
            else
                encode_tensor_delta(chunk, base, base_id, 2, 3, stored);

            // pack A (partial): the chunk as a delta of depth 1 whose base is in no pack here
            fs::path stage = d.path / "tmp" / "stage";
            fs::create_directories(stage);
            auto partial = [&](auto&& fill) {
                PackWriter w(d.path / "tmp", stage);
                fill(w);
                SealedPack s = w.seal();
                fs::rename(s.path, d.path / "partial" / s.path.filename());
                s.path = d.path / "partial" / s.path.filename();
                return s;
            };
            SealedPack a = partial([&](PackWriter& w) {
                w.append(ObjectType::chunk, id, kind, static_cast<std::uint32_t>(chunk.size()), stored, 1);
            });
            // pack B (partial): the same chunk as a full record (and one other chunk, so that B's id differs)
            Bytes other = pseudo_random(1000, 12);
            SealedPack b = partial([&](PackWriter& w) {
                w.append(ObjectType::chunk, id, Compression::none, static_cast<std::uint32_t>(chunk.size()), chunk);
                w.append(ObjectType::chunk, sha256(other), Compression::none, static_cast<std::uint32_t>(other.size()),
                         other);
            });
            PackInfo pa = store.add_partial_pack(a.ref), pb = store.add_partial_pack(b.ref);
            REQUIRE(pa.num != pb.num);

            store.add_verified_objects(pa.num, a.entries);
            auto loc = store.locate(id);
            REQUIRE(loc);
            CHECK(loc->pack_num == pa.num);
            CHECK(loc->entry.compression == kind);
            CHECK(loc->entry.depth == 1);
            CHECK_THROWS_AS(store.read(id), Error);  // its base is not here

            store.add_verified_objects(pb.num, {b.entries[0]});
            loc = store.locate(id);
            REQUIRE(loc);
            CHECK(loc->pack_num == pb.num);
            CHECK(loc->entry.compression == Compression::none);
            CHECK(loc->entry.depth == 0);
            Bytes got = store.read(id);
            CHECK(got == chunk);

            // the delta row again: the full record's row stays
            store.add_verified_objects(pa.num, a.entries);
            loc = store.locate(id);
            REQUIRE(loc);
            CHECK(loc->pack_num == pb.num);
            CHECK(loc->entry.compression == Compression::none);
        }
    }
}
