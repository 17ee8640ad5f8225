// core/reader: random access to the files of a version without a checkout. Reads at any offset and length return
// exactly the committed bytes (across chunk boundaries, through delta chains); lookups find files, symlinks and
// directories and nothing else; listings are the tree's entries; a chunk the repository lacks is an error, a file
// object that disagrees with its tree entry is corrupt, and nothing is read before it is needed.
#include <catch2/catch.hpp>

#include <random>

#include "core/reader.hpp"
#include "core/revision.hpp"
#include "core_fixture.hpp"

using namespace dvt;
using dvt::test::kind_of;

namespace {

struct ReaderRepo {
    test::CoreRepo r{"reader"};
    const Bytes big0 = test::pseudo_random(700 * 1024 + 13, 5);  // many chunks
    Bytes big = big0;
    Hash32 v1, v2;
    ReaderRepo() {
        r.write("data/big.bin", big);
        r.write("data/small.txt", "hello\n");
        r.write("empty", Bytes{});
        r.write("run.sh", "#!/bin/sh\n");
        r.set_executable("run.sh", true);
        r.symlink("link", "data/small.txt");
        v1 = r.commit("v1");
        // v2 changes bytes in the middle of big.bin (its new chunks may be deltas) and removes small.txt
        for (std::size_t i = 300000; i < 300100; ++i) big[i] ^= 0x5a;
        r.write("data/big.bin", big);
        r.remove("data/small.txt");
        v2 = r.commit("v2");
    }
    core::VersionReader reader(const Hash32& id) { return core::VersionReader(r.repo->store(), core::load_commit(*r.repo, id)); }
};

Bytes read_all(const core::VersionReader& rd, const core::ReaderEntry& e, std::uint64_t off, std::size_t n) {
    Bytes out(n);
    out.resize(rd.read(e, off, out));
    return out;
}

}  // namespace

TEST_CASE("reader: reads at any offset and length give the committed bytes", "[reader]") {
    ReaderRepo f;
    auto rd = f.reader(f.v2);
    auto e = rd.lookup("data/big.bin");
    REQUIRE(e);
    CHECK(e->kind == objects::EntryKind::file);
    REQUIRE(e->size == f.big.size());
    CHECK(read_all(rd, *e, 0, f.big.size() + 100) == f.big);  // past the end: only what there is
    std::mt19937_64 g(3);
    for (int i = 0; i < 200; ++i) {
        std::uint64_t off = g() % (f.big.size() + 10);
        std::size_t n = static_cast<std::size_t>(g() % 70000);
        Bytes want;
        if (off < f.big.size())
            want.assign(f.big.begin() + static_cast<std::ptrdiff_t>(off),
                        f.big.begin() + static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(off + n, f.big.size())));
        INFO("offset " << off << " length " << n);
        REQUIRE(read_all(rd, *e, off, n) == want);
    }
    // the older version still reads its own bytes
    auto rd1 = f.reader(f.v1);
    auto e1 = rd1.lookup("data/big.bin");
    REQUIRE(e1);
    Bytes old = read_all(rd1, *e1, 299990, 30);
    CHECK(old == Bytes(f.big0.begin() + 299990, f.big0.begin() + 300020));
}

TEST_CASE("reader: lookups and listings", "[reader]") {
    ReaderRepo f;
    auto rd = f.reader(f.v1);
    auto root = rd.lookup("");
    REQUIRE(root);
    CHECK(root->kind == objects::EntryKind::directory);
    CHECK(rd.lookup("/")->id == root->id);
    CHECK(rd.lookup("data/")->kind == objects::EntryKind::directory);
    CHECK(rd.lookup("run.sh")->kind == objects::EntryKind::executable);
    auto link = rd.lookup("link");
    REQUIRE(link);
    CHECK(link->kind == objects::EntryKind::symlink);
    CHECK(link->target == "data/small.txt");
    auto empty = rd.lookup("empty");
    REQUIRE(empty);
    CHECK(empty->size == 0);
    CHECK(read_all(rd, *empty, 0, 10).empty());
    CHECK(read_all(rd, *rd.lookup("data/small.txt"), 2, 100) == test::text_bytes("llo\n"));
    // what a version cannot hold is not found
    for (const char* p : {"nope", "data/nope", "data/small.txt/x", "../data", "data/../run.sh", "data//small.txt", ".dvt"})
        CHECK_FALSE(rd.lookup(p));
    CHECK_FALSE(f.reader(f.v2).lookup("data/small.txt"));

    std::vector<std::string> names;
    for (const auto& e : rd.list("")) names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"data", "empty", "link", "run.sh"});
    CHECK(rd.list("data").size() == 2);
    CHECK(kind_of([&] { rd.list("nope"); }) == ErrorKind::not_found);
    CHECK(kind_of([&] { rd.list("run.sh"); }) == ErrorKind::usage);
    CHECK(kind_of([&] { read_all(rd, *root, 0, 1); }) == ErrorKind::usage);
}

TEST_CASE("reader: a missing chunk is an error and a lying tree entry is corrupt; never other bytes", "[reader]") {
    ReaderRepo f;
    auto rd = f.reader(f.v1);
    auto e = rd.lookup("data/big.bin");
    REQUIRE(e);
    // a tree entry whose size differs from its file object's
    core::ReaderEntry lying = *e;
    lying.size += 1;
    CHECK(kind_of([&] { read_all(rd, lying, 0, 10); }) == ErrorKind::corrupt);
    // a file id the repository does not have
    core::ReaderEntry unknown = *e;
    unknown.id = Hash32::from_hex(std::string(64, 'a')).value();
    CHECK(kind_of([&] { read_all(rd, unknown, 0, 10); }) == ErrorKind::not_found);
}
