// The version locator (objects/locator.hpp, core/locator.hpp; docs/format.md, "Locator"): its encoding, the rules a
// decoder enforces on hostile bytes, the commit header naming it, and what `dvt commit` writes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "core/locator.hpp"
#include "core/tree.hpp"
#include "core_fixture.hpp"
#include "objects/locator.hpp"
#include "objects/pack.hpp"

using namespace dvt;
using namespace dvt::objects;

namespace {

Hash32 hh(char c) {
    Hash32 h;
    h.bytes.fill(static_cast<std::uint8_t>(c));
    return h;
}

Locator sample() {
    Locator l;
    l.packs = {hh('1'), hh('2')};
    l.dirs.push_back(LocatorDir{"", {{ObjectType::tree, 1, 5000, 120}}, {}});
    l.dirs.push_back(LocatorDir{"a",
                                {{ObjectType::chunk, 0, 16, 4000}, {ObjectType::chunk, 0, 4016, 100},
                                 {ObjectType::file, 1, 16, 300}, {ObjectType::tree, 1, 316, 90}},
                                {}});
    l.dirs.push_back(LocatorDir{"a/b", {{ObjectType::file, 1, 406, 64}}, {}});
    l.dirs.push_back(LocatorDir{"a.b", {{ObjectType::tree, 1, 470, 12}}, {}});
    return l;
}

std::vector<PackRef> sample_packs() { return {{hh('1'), 100000, 90000}, {hh('2'), 8000, 6000}}; }

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

TEST_CASE("locator byte layout and round trip", "[locator]") {
    Bytes b = sample().encode();
    // header 8, 4 + 2 pack ids, 4; root: 2 + 0 + 4 + 21; "a": 2 + 1 + 4 + 4*21; "a/b": 2 + 3 + 4 + 21; "a.b" likewise
    CHECK(b.size() == 8 + 68 + 4 + 27 + 91 + 30 + 30);
    CHECK(std::string(b.begin(), b.begin() + 4) == "DVTL");
    CHECK(b[4] == 2);
    CHECK(load_u32(b.data() + 8) == 2);
    CHECK(Hash32::from_bytes(std::span<const std::uint8_t>(b.data() + 44, 32)) == hh('2'));
    CHECK(load_u32(b.data() + 76) == 4);
    Locator d = Locator::decode(b, sample_packs());
    CHECK(d.dirs == sample().dirs);
    CHECK(d.encode() == b);
    REQUIRE(d.find("a/b"));
    CHECK(d.find("a/b")->extents.front().offset == 406);
    CHECK(d.find("") == &d.dirs.front());
    CHECK_FALSE(d.find("b"));
    CHECK_FALSE(d.find("a/"));
    // a version-2 locator lists no delta ids (a reader derives them): encoding one that carries some is a bug
    Locator with_ids = sample();
    with_ids.dirs[1].delta_ids = {hh('d')};
    CHECK_THROWS_MATCHES(with_ids.encode(), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::internal; }));
}

TEST_CASE("a version-1 locator (delta ids listed per directory) still decodes", "[locator]") {
    Locator one = sample();
    one.version = 1;
    one.dirs[1].delta_ids = {hh('d'), hh('e')};
    Bytes b = one.encode();
    // each directory 4 bytes longer (its id count), "a" also 2 ids
    CHECK(b.size() == 8 + 68 + 4 + 31 + 95 + 64 + 34 + 34);
    CHECK(b[4] == 1);
    CHECK(load_u32(b.data() + 80 + 2 + 4 + 21) == 0);  // the root's id count
    Locator d = Locator::decode(b, sample_packs());
    CHECK(d.version == 1);
    CHECK(d.dirs == one.dirs);
    CHECK(d.encode() == b);
    // its id counts are bounded like any count, and a truncated id is refused
    Bytes huge = b;
    put_le(huge, 80 + 2 + 4 + 21, 0x10000000u, 4);
    CHECK_THROWS_MATCHES(Locator::decode(huge, sample_packs()), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::corrupt; }));
    CHECK_THROWS_AS(Locator::decode(Bytes(b.begin(), b.end() - 1), sample_packs()), Error);
}

TEST_CASE("locator decoding refuses hostile bytes", "[locator]") {
    auto refused = [](const Bytes& b, const std::vector<PackRef>& packs = sample_packs()) {
        try {
            Locator::decode(b, packs);
        } catch (const Error& e) {
            return e.kind() == ErrorKind::corrupt;
        }
        return false;
    };
    const Bytes good = sample().encode();
    REQUIRE_FALSE(refused(good));
    SECTION("magic, version, truncation, trailing bytes") {
        Bytes b = good;
        b[0] = 'X';
        CHECK(refused(b));
        b = good;
        b[4] = 3;  // versions 1 and 2 are known
        CHECK(refused(b));
        b[4] = 0;
        CHECK(refused(b));
        b = good;
        b[5] = 1;  // reserved byte
        CHECK(refused(b));
        CHECK(refused(Bytes(good.begin(), good.end() - 1)));
        b = good;
        b.push_back(0);
        CHECK(refused(b));
        CHECK(refused(Bytes(good.begin(), good.begin() + 7)));
    }
    SECTION("counts larger than the bytes can hold are refused before anything is allocated") {
        Bytes b = good;
        put_le(b, 8, 0x10000000u, 4);  // pack ids
        CHECK(refused(b));
        b = good;
        put_le(b, 76, 0xffffffffu, 4);  // directories
        CHECK(refused(b));
        b = good;
        put_le(b, 80 + 2, 0x7fffffffu, 4);  // the root's extents
        CHECK(refused(b));
        b = good;
        put_le(b, 80 + 2 + 4 + 21 + 2 + 1, 0x10000000u, 4);  // the extents of "a", the second directory
        CHECK(refused(b));
    }
    auto with = [&](const std::function<void(Locator&)>& change) {
        Locator l = sample();
        change(l);
        // encode() refuses what decode() would: build the bytes by hand from a valid locator's layout
        Bytes b;
        try {
            b = l.encode();
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::internal);
            return true;  // the encoder keeps the same rules
        }
        return refused(b);
    };
    SECTION("directories: order, uniqueness, names") {
        CHECK(with([](Locator& l) { std::swap(l.dirs[2], l.dirs[3]); }));  // "a.b" before "a/b": not tree order
        CHECK(with([](Locator& l) { l.dirs[2].path = "a"; }));             // duplicate
        CHECK(with([](Locator& l) { l.dirs[2].path = "a//b"; }));
        CHECK(with([](Locator& l) { l.dirs[2].path = "a/.."; }));
        CHECK(with([](Locator& l) { l.dirs[2].path = "a/.dvt"; }));
        CHECK(with([](Locator& l) { l.dirs[2].path = "a/b/"; }));
        CHECK(with([](Locator& l) { l.dirs[3].path = std::string(4096, 'x'); }));
    }
    SECTION("extents: types, order, overlap, range") {
        CHECK(with([](Locator& l) { l.dirs[0].extents[0].type = ObjectType::commit; }));
        CHECK(with([](Locator& l) { std::swap(l.dirs[1].extents[0], l.dirs[1].extents[1]); }));
        CHECK(with([](Locator& l) { l.dirs[1].extents[0].length = 4001; }));  // overlaps the next
        CHECK(with([](Locator& l) { l.dirs[1].extents[1] = l.dirs[1].extents[0]; }));
        CHECK(with([](Locator& l) { l.dirs[0].extents[0].offset = 15; }));   // inside the pack header
        CHECK(with([](Locator& l) { l.dirs[0].extents[0].length = 11; }));   // shorter than a record header
        CHECK(with([](Locator& l) { l.dirs[0].extents[0].offset = ~0ull - 100; }));
    }
    SECTION("pack ids: sorted, unique, each named by the commit") {
        CHECK(with([](Locator& l) { std::swap(l.packs[0], l.packs[1]); }));
        CHECK(with([](Locator& l) { l.packs[1] = l.packs[0]; }));
        CHECK(with([](Locator& l) { l.dirs[0].extents[0].pack = 2; }));  // only two pack ids
        Locator l = sample();
        l.packs[1] = hh('3');  // not a pack of the commit
        CHECK(refused(l.encode()));
        CHECK_FALSE(refused(l.encode(), {}));
    }
    SECTION("extents must lie in the records of a pack the commit names") {
        Locator l = sample();
        l.dirs[0].extents[0].offset = 5900;  // 5900 + 120 > 6000, pack 1's index offset
        CHECK(refused(l.encode()));
        l.dirs[0].extents[0].offset = 5880;  // ends exactly at the index
        CHECK_FALSE(refused(l.encode()));
        CHECK_FALSE(refused(sample().encode(), {}));  // no pack list: the range checks alone
    }
}

TEST_CASE("commit locator header", "[locator][encoding]") {
    Commit c;
    c.tree = hh('t');
    c.author_name = "A";
    c.author_email = "a@example.org";
    c.packs = sample_packs();
    c.locator = Commit::LocatorRef{hh('l'), hh('2')};
    c.message = "m\n";
    Bytes b = c.encode();
    std::string text(b.begin(), b.end());
    CHECK(text.find("\nlocator " + hh('l').hex() + " " + hh('2').hex() + "\npack ") != std::string::npos);
    Commit d = Commit::decode(b);
    REQUIRE(d.locator);
    CHECK(*d.locator == *c.locator);
    CHECK(d.encode() == b);
    // the locator's pack must be one the commit names
    c.locator->pack = hh('3');
    Bytes bad = c.encode();
    CHECK_THROWS_MATCHES(Commit::decode(bad), Error, Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::corrupt; }));
    // a format-1 commit has no such header: encoding one is a bug, and the line is an unknown header when read
    Commit one = d;
    one.format = 1;
    one.chunker.reset();
    CHECK_THROWS(one.encode());
    one.locator.reset();
    Bytes b1 = one.encode();
    std::string t1(b1.begin(), b1.end());
    t1.insert(t1.find("pack "), "locator " + hh('l').hex() + " " + hh('2').hex() + "\n");
    CHECK_THROWS_MATCHES(Commit::decode(Bytes(t1.begin(), t1.end())), Error,
                         Catch::Predicate<Error>([](const Error& e) { return e.kind() == ErrorKind::corrupt; }));
}

// Every directory of version `c` has its entry, and each of its records (tree, file objects, chunks) lies in one of
// its extents of that type; returns the locator.
static Locator check_locator(test::CoreRepo& r, const Commit& c) {
    auto& store = r.repo->store();
    REQUIRE(c.locator);
    Locator l = Locator::decode(store.read(c.locator->id), c.packs);
    auto covered = [&](const LocatorDir& d, const Hash32& id) {
        auto loc = store.locate(id);
        REQUIRE(loc);
        std::size_t pos = 0;
        while (pos < c.packs.size() && store.pack_by_id(c.packs[pos].id)->num != loc->pack_num) ++pos;
        REQUIRE(pos < c.packs.size());
        std::uint64_t end = loc->entry.offset + kRecordHeaderSize + loc->entry.stored_len;
        return std::any_of(d.extents.begin(), d.extents.end(), [&](const LocatorExtent& x) {
            return x.type == loc->entry.type && l.packs[x.pack] == c.packs[pos].id && x.offset <= loc->entry.offset &&
                   end <= x.offset + x.length;
        });
    };
    std::vector<std::pair<std::string, Hash32>> todo{{"", c.tree}};
    std::size_t dirs = 0;
    while (!todo.empty()) {
        auto [path, tid] = todo.back();
        todo.pop_back();
        const LocatorDir* d = l.find(path);
        REQUIRE(d);
        ++dirs;
        CHECK(covered(*d, tid));
        for (const auto& e : store.read_tree(tid).entries) {
            std::string p = path.empty() ? e.name : path + "/" + e.name;
            if (e.kind == EntryKind::directory) {
                todo.emplace_back(p, e.id);
                continue;
            }
            CHECK(covered(*d, e.id));
            for (const auto& ch : store.read_file_object(e.id).chunks) CHECK(covered(*d, ch.id));
        }
    }
    CHECK(dirs == l.dirs.size());
    // the locator's pack is named by the commit and holds just the locator
    auto info = store.pack_by_id(c.locator->pack);
    REQUIRE(info);
    CHECK(store.objects_in_pack(info->num) == std::vector<Hash32>{c.locator->id});
    return l;
}

TEST_CASE("dvt commit writes a locator that leads to every record of each directory", "[locator][core]") {
    test::CoreRepo r("locator-writer");
    r.repo->config().set("pack.locator", "1");
    for (int d = 0; d < 3; ++d)
        for (int f = 0; f < 5; ++f)
            r.write("d" + std::to_string(d) + "/f" + std::to_string(f), std::string(3000 + 100 * f + d, char('a' + f)));
    r.write("d1/sub/deep", std::string(70000, 'z'));  // several chunks
    r.write("top", "top file");
    auto res = r.commit_result("one");
    auto& store = r.repo->store();
    Locator l = check_locator(r, res.commit);
    std::vector<std::string> paths;
    for (const auto& d : l.dirs) paths.push_back(d.path);
    CHECK(paths == std::vector<std::string>{"", "d0", "d1", "d1/sub", "d2"});
    // a partial flatten needs only the trees on the way: with all of them here, it is the plain flatten
    auto partial = core::flatten_paths(store, res.commit, {"d1/sub"});
    auto plain = core::flatten_tree(store, res.commit, {"d1/sub"});
    REQUIRE(partial.size() == 1);
    REQUIRE(plain.size() == 1);
    CHECK(partial.begin()->first == "d1/sub/deep");
    CHECK(partial.begin()->second.id == plain.begin()->second.id);
    // the next commit keeps the entries of the directories it did not change (their packs renumbered) and builds the
    // others: every record is still found
    r.write("d2/f0", std::string(5000, 'q'));
    r.write("d3/new", std::string(2000, 'n'));
    auto res2 = r.commit_result("two");
    Locator l2 = check_locator(r, res2.commit);
    CHECK(l2.dirs.size() == 6);
    CHECK(l2.find("d0")->extents.size() == l.find("d0")->extents.size());
    // pack.locator 0: no locator
    r.repo->config().set("pack.locator", "0");
    r.write("d3/new", std::string(2001, 'n'));
    CHECK_FALSE(r.commit_result("three").commit.locator);
}

namespace {

// A key-sorted table of `n` rows; version `v` changed every 40th row, so a commit stores its chunks as delta records
// against the previous version's.
std::string table(int n, int v, int salt) {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += std::to_string(i) + ",salt-" + std::to_string(salt) + ",value-" + std::to_string((i * 7919 + salt) % 10007);
        if (i % 40 == v % 40) s += ",changed-in-" + std::to_string(v);
        s += ",a constant text repeated on every row of the table\n";
    }
    return s;
}

// The locator `c` names, decoded.
Locator stored_locator(test::CoreRepo& r, const Commit& c) {
    REQUIRE(c.locator);
    return Locator::decode(r.repo->store().read(c.locator->id), c.packs);
}

}  // namespace

TEST_CASE("a commit's locator built from its parent's equals one built from scratch", "[locator][core]") {
    test::CoreRepo r("locator-incremental");
    r.repo->config().set("pack.locator", "1");
    r.repo->config().set("pack.size", "1048576");  // small packs: one commit below allows few and re-packs
    r.repo->config().set("pack.extra-packs", "32");
    r.repo->save_config();
    auto small = [](int d, int f, int v) {
        return std::string(1500 + 37 * f + d, static_cast<char>('a' + (f + v) % 26)) + std::to_string(v);
    };
    for (int d = 0; d < 4; ++d)
        for (int f = 0; f < 12; ++f) r.write("d" + std::to_string(d) + "/f" + std::to_string(f), small(d, f, 0));
    for (int t = 0; t < 6; ++t) r.write("tables/t" + std::to_string(t) + ".csv", table(4000, 0, t));
    r.write("d1/sub/deep", test::pseudo_random(200000, 7));  // several chunks
    r.write("top", "top file");
    std::size_t patched = 0, kept = 0, repacks = 0, after_repack = 0;
    int tv = 0;
    // each step changes the work tree, commits, and compares the locator the commit wrote with one built afresh
    std::vector<std::function<void(int)>> steps{
        [&](int v) { r.write("d0/f3", small(0, 3, v)); },                            // a file changed
        [&](int v) { r.write("d2/new" + std::to_string(v), small(2, 40 + v, v)); },  // a file added
        [&](int) { r.remove("d1/f5"); },                                             // a file deleted
        [&](int) {                                                                   // renamed within its directory
            std::filesystem::rename(r.root() / "d3/f1", r.root() / "d3/renamed1");
        },
        [&](int) { std::filesystem::rename(r.root() / "d2", r.root() / "d2moved"); },  // a directory renamed
        [&](int) { r.remove("d1/sub"); },                                              // a directory deleted
        [&](int) {  // a copy of a file beside it (the same file object twice), then a new directory
            r.write("d0/copy", r.read("d0/f7"));
            r.write("d4/x/y", small(4, 1, 1));
        },
        [&](int) { r.remove("d0/copy"); },  // one of the two copies goes: the other keeps the records
        [&](int) {                          // a file moved to another directory
            std::filesystem::rename(r.root() / "d0/f8", r.root() / "d3/f8");
        },
    };
    for (int round = 0; round < 3; ++round)
        for (std::size_t s = 0; s < steps.size(); ++s) {
            int v = round * 100 + static_cast<int>(s) + 1;
            if (round > 0 && (s == 2 || s == 3 || s == 4 || s == 5 || s == 8)) {
                // the paths those steps moved or removed are gone: change other files instead
                r.write("d3/f" + std::to_string(s), small(3, static_cast<int>(s), v));
            } else {
                steps[s](v);
            }
            // one commit in the middle is allowed few packs: it re-packs (the entries in dissolved packs are built)
            r.repo->config().set("pack.extra-packs", round == 1 && s == 0 ? "1" : "32");
            r.repo->save_config();
            ++tv;  // two tables change in every commit (delta records against the last version)
            for (int t : {tv % 6, (tv * 5 + 1) % 6}) r.write("tables/t" + std::to_string(t) + ".csv", table(4000, tv, t));
            auto res = r.commit_result("v" + std::to_string(v));
            INFO("step " << s << " round " << round);
            repacks += res.repack.dissolved > 0;
            core::LocatorStats st;
            auto fresh = core::build_locator(*r.repo, res.commit, core::LocatorBuild::from_scratch);
            auto again = core::build_locator(*r.repo, res.commit, core::LocatorBuild::incremental, &st);
            REQUIRE(fresh);
            REQUIRE(again);
            Locator written = stored_locator(r, res.commit);
            CHECK(written.packs == fresh->packs);
            CHECK(written.dirs == fresh->dirs);
            CHECK(written.encode() == fresh->encode());
            CHECK(again->encode() == fresh->encode());
            patched += st.patched;
            kept += st.kept;
            if (repacks > 0) ++after_repack;
        }
    CHECK(patched >= 20);  // the root and the changed directories were patched, not built
    CHECK(kept >= 20);
    CHECK(repacks > 0);
    CHECK(after_repack >= 2);
}
