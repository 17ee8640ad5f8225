// core/maintenance fsck, the rule "every object a commit reaches lives in a pack the commit names" when an object
// lives in several packs (#15 item 6: two publishers committed the same file; a repository that pulled both versions
// failed fsck with "does not name pack", --repair too), and the index database as a cache that rebuilds itself when
// its tables are damaged or works on a copy when .dvt is read-only.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>

#include "core/history.hpp"
#include "core/maintenance.hpp"
#include "core/named_packs.hpp"
#include "core/version.hpp"
#include "core/revision.hpp"
#include "core_fixture.hpp"
#include "objects/torrent_id.hpp"

using namespace dvt;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> problems_of(const core::FsckResult& f) {
    std::vector<std::string> out;
    for (const auto& p : f.problems) out.push_back(p.what + ": " + p.message);
    return out;
}

// Stores `forged` (a valid id, hostile content) as refs/heads/bad and runs fsck: its id, and the problems reported.
std::pair<Hash32, std::vector<std::string>> fsck_forged(test::CoreRepo& r, const objects::Commit& forged) {
    Bytes bytes = forged.encode();
    Hash32 id = objects::commit_id_of(bytes);
    r.repo->store().write_commit(id, bytes);
    r.set_ref("refs/heads/bad", id);
    return {id, problems_of(core::fsck(*r.repo, {}))};
}

// Whether one of `ps` is about commit `id` and says `what`.
bool reports(const std::vector<std::string>& ps, const Hash32& id, const std::string& what) {
    return std::any_of(ps.begin(), ps.end(), [&](const std::string& p) {
        return p.starts_with("commit " + id.hex()) && p.find(what) != std::string::npos;
    });
}

// Copies a commit of `from` and the packs it names into `to`'s .dvt (as a pull installs them), and points `ref` at it.
void import_commit(core::Repository& from, const fs::path& to, const Hash32& id) {
    auto c = core::load_commit(from, id);
    for (const auto& p : c.packs) {
        fs::path dst = to / ".dvt" / "packs" / from.store().pack_path(p.id).filename();
        if (!fs::exists(dst)) fs::copy_file(from.store().pack_path(p.id), dst);
    }
    fs::copy_file(from.store().commit_path(id), to / ".dvt" / "commits" / id.hex());
}

// Runs SQL on a closed index database file (no repository open).
void sql(const fs::path& db, const std::string& statement) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(h);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("fsck: an object in two packs is fine for a commit that names either (two publishers)", "[core][fsck]") {
    // Two publishers commit the same big file next to files of their own: the shared chunks and file object are in
    // both their packs, which differ (so do their commits).
    Bytes shared = test::pseudo_random(300000, 7);
    test::CoreRepo a("fsck-pub-a"), b("fsck-pub-b"), c("fsck-pub-c");
    a.write("shared.bin", shared);
    a.write("only-a.txt", std::string("publisher a\n"));
    Hash32 ca = a.commit("from a");
    b.write("shared.bin", shared);
    b.write("only-b.txt", std::string("publisher b\n"));
    Hash32 cb = b.commit("from b");
    auto packs_a = core::load_commit(*a.repo, ca).packs, packs_b = core::load_commit(*b.repo, cb).packs;
    for (const auto& pa : packs_a)
        for (const auto& pb : packs_b) REQUIRE(pa.id != pb.id);

    // Both versions pulled into a third repository, A's first: the index has one row per object (pointing into A's
    // pack), but B's commit names only B's pack, which holds the same objects.
    const fs::path croot = c.root();
    import_commit(*a.repo, croot, ca);
    import_commit(*b.repo, croot, cb);
    c.repo.reset();
    c.repo = core::Repository::open(croot);
    c.set_ref("refs/heads/a", ca);
    c.set_ref("refs/heads/b", cb);

    auto f = core::fsck(*c.repo, {});
    INFO(Catch::Detail::stringify(problems_of(f)));
    CHECK(f.problems.empty());
    CHECK(f.packs == packs_a.size() + packs_b.size());
    CHECK(f.reachable_commits == 2);
    auto repaired = core::fsck(*c.repo, core::FsckOptions{true});
    INFO(Catch::Detail::stringify(problems_of(repaired)));
    CHECK(repaired.problems.empty());
    CHECK(repaired.reindexed_packs == packs_a.size() + packs_b.size());

    // The rule still holds: a commit (valid id, hostile content) whose pack list omits every pack holding its file
    // is reported, naming the pack.
    objects::Commit bad = core::load_commit(*c.repo, cb);
    bad.packs.clear();
    bad.locator.reset();  // its pack is gone from the list too
    bad.message = "names no pack";
    auto [bad_id, ps] = fsck_forged(c, bad);
    INFO(Catch::Detail::stringify(ps));
    CHECK(reports(ps, bad_id, "does not name pack"));
    CHECK_FALSE(reports(ps, ca, ""));
    CHECK_FALSE(reports(ps, cb, ""));
}

TEST_CASE("fsck: a commit's locator pack is not part of the version (absent: fine; holding data: not named)",
          "[core][fsck][locator]") {
    // pack.locator unset: the commit names a locator in a pack of its own
    test::CoreRepo a("fsck-loc-a"), c("fsck-loc-c");
    for (int d = 0; d < 3; ++d) a.write("d" + std::to_string(d) + "/f.bin", test::pseudo_random(40000, 10 + d));
    Hash32 ca = a.commit("with a locator");
    objects::Commit com = core::load_commit(*a.repo, ca);
    REQUIRE(com.locator);
    REQUIRE(com.packs.size() >= 2);

    // a repository holding every pack but the locator's (what a whole pull leaves): fsck and the named-pack version
    // check pass, the locator's pack counted nowhere
    const fs::path croot = c.root();
    for (const auto& p : com.packs)
        if (p.id != com.locator->pack)
            fs::copy_file(a.repo->store().pack_path(p.id), croot / ".dvt" / "packs" / a.repo->store().pack_path(p.id).filename());
    fs::copy_file(a.repo->store().commit_path(ca), croot / ".dvt" / "commits" / ca.hex());
    c.repo.reset();
    c.repo = core::Repository::open(croot);
    c.set_ref("refs/heads/main", ca);
    auto f = core::fsck(*c.repo, {});
    INFO(Catch::Detail::stringify(problems_of(f)));
    CHECK(f.problems.empty());
    CHECK(f.packs == com.packs.size() - 1);
    CHECK(f.objects_not_fetched == 0);
    {
        core::StoreObjects so(c.repo->store());
        core::NamedPackObjects objs(so, c.repo->store(), com, {});
        CHECK_NOTHROW(core::check_version(objs, com, {}));
    }
    // ... but the rest is still required: without a data pack, fsck reports it
    for (const auto& p : com.packs)
        if (p.id != com.locator->pack) {
            c.repo.reset();
            fs::rename(croot / ".dvt" / "packs" / a.repo->store().pack_path(p.id).filename(), croot / "away.pack");
            c.repo = core::Repository::open(croot);
            CHECK_FALSE(core::fsck(*c.repo, {}).problems.empty());
            c.repo.reset();
            fs::rename(croot / "away.pack", croot / ".dvt" / "packs" / a.repo->store().pack_path(p.id).filename());
            c.repo = core::Repository::open(croot);
            break;
        }

    // a hostile commit that names a data pack as its locator's: what lies only there is in no pack the commit names
    // (for fsck and for the version check), even where that pack is here
    objects::Commit bad = com;
    auto data = std::find_if(com.packs.begin(), com.packs.end(), [&](const objects::PackRef& p) {
        auto info = a.repo->store().pack_by_id(p.id);
        return p.id != com.locator->pack && info && a.repo->store().objects_in_pack(info->num).size() > 1;
    });
    REQUIRE(data != com.packs.end());
    bad.locator->pack = data->id;
    bad.message = "data in the locator's pack";
    auto [bad_id, ps] = fsck_forged(a, bad);
    INFO(Catch::Detail::stringify(ps));
    CHECK(reports(ps, bad_id, "does not name pack"));
    CHECK_FALSE(reports(ps, ca, ""));
    core::StoreObjects so(a.repo->store());
    core::NamedPackObjects objs(so, a.repo->store(), bad, {});
    CHECK_THROWS_AS(core::check_version(objs, bad, {}), Error);
}

TEST_CASE("index.db with a table dropped is rebuilt when the repository opens, with a note", "[core][fsck]") {
    test::CoreRepo r("fsck-schema");
    r.write("f.bin", test::pseudo_random(100000, 3));
    Hash32 id = r.commit("one");
    const fs::path root = r.root();
    fs::path db = root / ".dvt" / "index.db";
    for (const char* damage : {"DROP TABLE objects", "DROP TABLE worktree", "DROP TABLE file_packs",
                               "ALTER TABLE packs DROP COLUMN piece_layer", "DROP TABLE packs; DROP TABLE objects"}) {
        INFO(damage);
        r.repo.reset();
        sql(db, damage);
        std::vector<std::string> notes;
        core::OpenOptions o;
        o.on_notice = [&](const std::string& m) { notes.push_back(m); };
        r.repo = core::Repository::open(root, o);
        REQUIRE(notes.size() == 1);
        CHECK(notes[0].find("damaged") != std::string::npos);
        CHECK(fs::exists(db.string() + ".damaged"));
        CHECK(r.repo->store().has(core::load_commit(*r.repo, id).tree));  // reindexed from the packs
        CHECK(core::fsck(*r.repo, {}).problems.empty());
        CHECK(core::fsck(*r.repo, core::FsckOptions{true}).problems.empty());
        fs::remove(db.string() + ".damaged");
    }
    // an intact index is left alone (no note)
    r.repo.reset();
    std::vector<std::string> notes;
    core::OpenOptions o;
    o.on_notice = [&](const std::string& m) { notes.push_back(m); };
    r.repo = core::Repository::open(root, o);
    CHECK(notes.empty());
    CHECK_FALSE(fs::exists(db.string() + ".damaged"));
}

namespace {
// The root page number of table `name` in SQLite file `db` (the dbstat table), and the page size.
std::pair<std::int64_t, std::int64_t> root_page(const fs::path& db, const std::string& name) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, "SELECT rootpage FROM sqlite_schema WHERE name=?", -1, &q, nullptr) == SQLITE_OK);
    sqlite3_bind_text(q, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    std::int64_t page = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    REQUIRE(sqlite3_prepare_v2(h, "PRAGMA page_size", -1, &q, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    std::int64_t size = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return {page, size};
}

void scribble_page(const fs::path& db, std::int64_t page, std::int64_t size) {
    Bytes b = util::read_file(db);
    REQUIRE(static_cast<std::int64_t>(b.size()) >= page * size);
    for (std::int64_t i = (page - 1) * size; i < page * size; ++i) b[static_cast<std::size_t>(i)] = 0xA5;
    fs::remove(db);
    test::write_file(db, b);
}
}  // namespace

TEST_CASE("index.db with a damaged page: opening reads no more than it needs; reconcile or fsck --repair rebuilds it",
          "[core][fsck][scale]") {
    test::CoreRepo r("fsck-page");
    for (int i = 0; i < 40; ++i) r.write("d/f" + std::to_string(i), test::pseudo_random(3000, static_cast<unsigned>(i)));
    Hash32 id = r.commit("one");
    const fs::path root = r.root();
    const fs::path db = root / ".dvt" / "index.db";
    r.repo.reset();  // the last connection checkpoints the WAL into the file
    REQUIRE_FALSE(fs::exists(db.string() + "-wal"));
    std::vector<std::string> notes;
    core::OpenOptions o;
    o.on_notice = [&](const std::string& m) { notes.push_back(m); };

    // the objects table's root page: opening does not read it (no check of every page), the first lookup fails as
    // corrupt with the hint, and fsck --repair checks every page and rebuilds the file
    auto [objects_root, page_size] = root_page(db, "objects");
    scribble_page(db, objects_root, page_size);
    r.repo = core::Repository::open(root, o);
    CHECK(notes.empty());
    try {
        r.repo->store().has(core::load_commit(*r.repo, id).tree);
        FAIL("a damaged page was read without an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::corrupt);
        CHECK(std::string(e.what()).find("fsck --repair") != std::string::npos);
    }
    CHECK(core::fsck(*r.repo, core::FsckOptions{true}).problems.empty());
    CHECK(fs::exists(db.string() + ".damaged"));
    CHECK(r.repo->store().has(core::load_commit(*r.repo, id).tree));
    CHECK(core::fsck(*r.repo, {}).problems.empty());
    fs::remove(db.string() + ".damaged");

    // the packs table's root page, which every open reads (reconcile): rebuilt there, with a note
    r.repo.reset();
    REQUIRE_FALSE(fs::exists(db.string() + "-wal"));
    auto [packs_root, size2] = root_page(db, "packs");
    scribble_page(db, packs_root, size2);
    r.repo = core::Repository::open(root, o);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].find("damaged") != std::string::npos);
    CHECK(fs::exists(db.string() + ".damaged"));
    CHECK(r.repo->store().has(core::load_commit(*r.repo, id).tree));
    CHECK(core::fsck(*r.repo, {}).problems.empty());
}
