// Object encodings: byte layouts per docs/format.md, golden ids, round trips, and rejection of non-canonical input.
#include <catch2/catch.hpp>

#include <functional>

#include "objects/object.hpp"
#include "objects/torrent_id.hpp"
#include "test_support.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::kind_of;
using dvt::test::v2_commit;

static Hash32 h(char c) {
    Hash32 x;
    x.bytes.fill(static_cast<std::uint8_t>(c));
    return x;
}
static std::string hexof(const Bytes& b) { return to_hex(b.data(), b.size()); }

static FileObject sample_file() {
    FileObject f;
    f.chunks = {{h('a'), 5}, {h('b'), 7}};
    f.size = 12;
    return f;
}

static Tree sample_tree() {
    Tree t;
    t.entries.push_back(TreeEntry{"README", EntryKind::file, 12, h('f'), {}});
    t.entries.push_back(TreeEntry{"data", EntryKind::directory, 100, h('d'), {}});
    t.entries.push_back(TreeEntry{"latest", EntryKind::symlink, 4, Hash32{}, "data"});
    t.entries.push_back(TreeEntry{"run.sh", EntryKind::executable, 3, h('e'), {}});
    return t;
}

static Commit sample_commit() {  // format 1 (no chunker header)
    Commit c;
    c.format = 1;
    c.chunker.reset();
    c.tree = h('t');
    c.parents = {h('p')};
    c.author_name = "Ada Lovelace";
    c.author_email = "ada@example.org";
    c.time = 1700000000;
    c.tz_offset_minutes = 60;
    c.files = 3;
    c.bytes = 115;
    c.packs = {PackRef{h('1'), 4096, 4000}, PackRef{h('2'), 8192, 8000}};
    c.message = "first version\n";
    return c;
}

TEST_CASE("file object byte layout", "[encoding]") {
    Bytes b = sample_file().encode();
    // "DVTF" 01 00 00 00 | u64 size 12 | u32 count 2 | id (32 x 'a') u32 5 | id (32 x 'b') u32 7
    std::string expect = "4456544601000000" "0c00000000000000" "02000000" + hexof(Bytes(32, 0x61)) + "05000000" +
                         hexof(Bytes(32, 0x62)) + "07000000";
    CHECK(hexof(b) == expect);
    CHECK(sha256(b).hex() == "f99de42e12947e3e4730688137ac7d228ae33751fcfccdc45c9f4bee76650f33");
}

TEST_CASE("file object round trip and validation", "[encoding]") {
    auto f = sample_file();
    auto d = FileObject::decode(f.encode());
    CHECK(d.size == f.size);
    CHECK(d.chunks == f.chunks);
    Bytes b = f.encode();
    b[8] = 13;  // size no longer the sum of the chunk sizes
    CHECK_THROWS_AS(FileObject::decode(b), Error);
    Bytes t = f.encode();
    t.push_back(0);
    CHECK_THROWS_AS(FileObject::decode(t), Error);
    Bytes v = f.encode();
    v[4] = 2;  // unknown version
    try {
        FileObject::decode(v);
        FAIL("accepted version 2");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unsupported);
    }
}

TEST_CASE("tree byte layout and golden id", "[encoding]") {
    Bytes b = sample_tree().encode();
    std::string start = "4456545401000000"  // "DVTT" 01 00 00 00
                        "04000000"          // 4 entries
                        "01" "0600" + hexof(Bytes{'R', 'E', 'A', 'D', 'M', 'E'}) + "0c00000000000000" +
                        hexof(Bytes(32, 'f'));
    CHECK(hexof(b).substr(0, start.size()) == start);
    CHECK(sha256(b).hex() == "a2a6f1d7139c36e9bd129a928935b219d223ee8c87e57bddad21a7b37166b822");
    CHECK(Tree::decode(b).entries == sample_tree().entries);
}

TEST_CASE("tree decoding rejects unsafe or non-canonical entries", "[encoding]") {
    for (const char* bad : {"..", ".", ".dvt", ".git", "a/b", ""}) {
        Tree t;
        t.entries.push_back(TreeEntry{bad, EntryKind::file, 1, h('x'), {}});
        CHECK_THROWS_AS(t.encode(), Error);
    }
    // hand-made encoding with ".." as a name must not decode
    Bytes b = {'D', 'V', 'T', 'T', 1, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, '.', '.', 1, 0, 0, 0, 0, 0, 0, 0};
    Bytes id(32, 'x');
    b.insert(b.end(), id.begin(), id.end());
    CHECK_THROWS_AS(Tree::decode(b), Error);
    // unsorted entries
    Tree t = sample_tree();
    Bytes ok = t.encode();
    std::swap(t.entries[0], t.entries[1]);
    CHECK_THROWS(t.encode());
    Bytes trailing = ok;
    trailing.push_back(0);
    CHECK_THROWS_AS(Tree::decode(trailing), Error);
}

TEST_CASE("commit text encoding and golden id", "[encoding]") {
    Bytes b = sample_commit().encode();
    std::string text(b.begin(), b.end());
    std::string expect = "dvt-commit 1\n"
                         "tree " + h('t').hex() + "\n"
                         "parent " + h('p').hex() + "\n"
                         "author Ada Lovelace <ada@example.org> 1700000000 +0100\n"
                         "files 3\n"
                         "bytes 115\n"
                         "pack " + h('1').hex() + " 4096 4000\n"
                         "pack " + h('2').hex() + " 8192 8000\n"
                         "\n"
                         "first version\n";
    CHECK(text == expect);
    CHECK(commit_id_of(b).hex() == "c4af89fb0a18ca188df7d476bc0fa9782aa67c5b2cb03ecf59f26e75fba1abf5");
    Commit d = Commit::decode(b);
    CHECK(d.encode() == b);
    CHECK(d.tz_offset_minutes == 60);
    CHECK(d.packs == sample_commit().packs);
}

TEST_CASE("commit provenance headers round trip", "[encoding]") {
    Commit c = sample_commit();
    c.git_commit = std::string(40, 'a');
    c.git_dirty = true;
    c.tz_offset_minutes = -330;
    Bytes b = c.encode();
    std::string text(b.begin(), b.end());
    CHECK(text.find("\ngit-commit " + std::string(40, 'a') + "\ngit-dirty 1\npack ") != std::string::npos);
    CHECK(text.find(" -0530\n") != std::string::npos);
    Commit d = Commit::decode(b);
    CHECK(d.git_commit == c.git_commit);
    CHECK(d.git_dirty == c.git_dirty);
    CHECK(d.tz_offset_minutes == -330);
}

TEST_CASE("commit decoding rejects unknown headers, versions and non-canonical numbers", "[encoding]") {
    std::string good(reinterpret_cast<const char*>(sample_commit().encode().data()), sample_commit().encode().size());
    auto bytes = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
    auto replace = [&](std::string from, std::string to) {
        std::string s = good;
        s.replace(s.find(from), from.size(), to);
        return bytes(s);
    };
    CHECK_THROWS_AS(Commit::decode(replace("files 3\n", "files 03\n")), Error);
    CHECK_THROWS_AS(Commit::decode(replace("bytes 115\n", "bytes 115\nweird x\n")), Error);
    CHECK_THROWS_AS(Commit::decode(replace("tree " + h('t').hex(), "tree " + std::string(64, 'T'))), Error);
    try {
        Commit::decode(replace("dvt-commit 1", "dvt-commit 3"));
        FAIL("accepted format 3");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unsupported);
    }
    // format 2 without its required chunker header
    CHECK_THROWS_AS(Commit::decode(replace("dvt-commit 1", "dvt-commit 2")), Error);
    // pack list must be sorted
    CHECK_THROWS_AS(Commit::decode(replace("pack " + h('1').hex(), "pack " + h('3').hex())), Error);
}

// `good` with the first occurrence of `from` replaced by `to`.
static Bytes edited_text(const std::string& good, const std::string& from, const std::string& to) {
    std::string s = good;
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return Bytes(s.begin(), s.end());
}

TEST_CASE("commit format 2: byte layout with the chunker header, golden id, round trip", "[encoding][limits]") {
    Commit c = v2_commit();
    c.parents = {h('p')};
    c.chunker = ChunkerParams{16384, 65536, 262144};
    c.git_commit = std::string(40, 'a');
    c.git_dirty = false;
    Bytes b = c.encode();
    std::string expect = "dvt-commit 2\n"
                         "tree " + h('t').hex() + "\n"
                         "parent " + h('p').hex() + "\n"
                         "author Ada <ada@example.org> 1700000000 +0000\n"
                         "files 1\n"
                         "bytes 5\n"
                         "chunker 16384 65536 262144\n"
                         "git-commit " + std::string(40, 'a') + "\n"
                         "git-dirty 0\n"
                         "pack " + h('1').hex() + " 4096 4000\n"
                         "\n"
                         "m\n";
    CHECK(std::string(b.begin(), b.end()) == expect);
    CHECK(commit_id_of(b).hex() == "f758ba02d4f11c2778e51739cb832c2688279b433640801e03b92f1e5fbbc276");
    Commit d = Commit::decode(b);
    CHECK(d.format == 2);
    REQUIRE(d.chunker);
    CHECK(*d.chunker == ChunkerParams{16384, 65536, 262144});
    CHECK(d.encode() == b);
    // format 1 has no chunker line; format 2 requires it; the encoder refuses a mismatch
    Commit v1 = c;
    v1.format = 1;
    CHECK(kind_of([&] { v1.encode(); }) == ErrorKind::internal);
    v1.chunker.reset();
    Commit d1 = Commit::decode(v1.encode());
    CHECK(d1.format == 1);
    CHECK(!d1.chunker);
    std::string good = expect;
    CHECK(kind_of([&] { Commit::decode(edited_text(good, "chunker 16384 65536 262144\n", "")); }) == ErrorKind::corrupt);
    Bytes v1bytes = v1.encode();
    std::string v1text(v1bytes.begin(), v1bytes.end());
    CHECK(kind_of([&] { Commit::decode(edited_text(v1text, "bytes 5\n", "bytes 5\nchunker 4096 16384 65536\n")); }) ==
          ErrorKind::corrupt);
    // chunker values: the chunker's own constraints, canonical numbers, exactly three
    for (std::string bad : {"chunker 16384 65535 262144", "chunker 16384 65536 16384", "chunker 32 64 128",
                            "chunker 16384 65536 33554432", "chunker 16384 65536 0262144", "chunker 16384 65536",
                            "chunker 16384 65536 262144 1", "chunker 16384  65536 262144", "chunker -1 65536 262144"})
        CHECK(kind_of([&] { Commit::decode(edited_text(good, "chunker 16384 65536 262144", bad)); }) == ErrorKind::corrupt);
    // a format this dvt does not know is unsupported (refused on the first line, before anything it names is fetched)
    for (std::string v : {"dvt-commit 3\n", "dvt-commit 10\n", "dvt-commit 02\n"})
        CHECK(kind_of([&] { Commit::decode(edited_text(good, "dvt-commit 2\n", v)); }) == ErrorKind::unsupported);
}

