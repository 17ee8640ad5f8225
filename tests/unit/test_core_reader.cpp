// core/reader: random access to the files of a version without a checkout. Reads at any offset and length return
// exactly the committed bytes (across chunk boundaries, through delta chains); lookups find files, symlinks and
// directories and nothing else; listings are the tree's entries; a chunk the repository lacks is an error, a file
// object that disagrees with its tree entry is corrupt, and nothing is read before it is needed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "core/reader.hpp"
#include "core/revision.hpp"
#include "core_fixture.hpp"
#include "objects/object_source.hpp"
#include "objects/pack.hpp"

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

// Where each chunk of `fo` starts in its file.
std::vector<std::uint64_t> chunk_starts(const objects::FileObject& fo) {
    std::vector<std::uint64_t> starts;
    std::uint64_t at = 0;
    for (const auto& c : fo.chunks) {
        starts.push_back(at);
        at += c.size;
    }
    return starts;
}

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

namespace {

// A source for repository `dst` that copies the objects it is asked for out of repository `src` (full records, into a
// pack installed through dst's store), except those in `deny`; it records each call.
class CopySource : public objects::ObjectSource {
public:
    CopySource(objects::ObjectStore& dst, const objects::ObjectStore& src) : m_dst(dst), m_src(src) {}
    void fetch(const std::vector<Hash32>& ids) override {
        calls.push_back(ids);
        std::filesystem::create_directories(m_dst.partial_dir());
        objects::PackWriter w(m_dst.tmp_dir(), m_dst.partial_dir());
        for (const auto& id : ids) {
            auto loc = m_src.locate(id);
            if (!loc || deny.count(id)) continue;
            Bytes raw = m_src.read(id);
            w.append(loc->entry.type, id, objects::Compression::none, static_cast<std::uint32_t>(raw.size()), raw);
        }
        if (w.count() == 0) return;
        std::vector<objects::SealedPack> packs{w.seal()};
        m_dst.install_packs(packs);
    }
    void fetch_ahead(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead) override {
        hints.push_back(ahead);
        fetch(ids);  // the hint is only recorded: nothing of it is copied
    }
    std::vector<std::vector<Hash32>> calls;
    std::vector<std::vector<Hash32>> hints;  // the `ahead` of each fetch_ahead call
    std::set<Hash32> deny;

private:
    objects::ObjectStore& m_dst;
    const objects::ObjectStore& m_src;
};

// An empty repository whose store reads what it lacks through a CopySource of `from`.
struct LazyCopy {
    test::CoreRepo empty;
    objects::ObjectStore& store;
    std::shared_ptr<CopySource> source;
    LazyCopy(const std::string& name, const objects::ObjectStore& from)
        : empty(name), store(empty.repo->store()), source(std::make_shared<CopySource>(store, from)) {
        store.set_source(source);
    }
};

}  // namespace

TEST_CASE("reader: a read the store lacks asks the source once for its chunks and, when sequential, the next ones",
          "[reader]") {
    ReaderRepo f;
    LazyCopy lazy("reader-lazy", f.r.repo->store());
    auto& store = lazy.store;
    auto& src = lazy.source;
    core::VersionReader::Limits lim;
    lim.read_ahead_bytes = 200 * 1024;
    core::VersionReader rd(store, core::load_commit(*f.r.repo, f.v1), lim);
    auto e = rd.lookup("data/big.bin");
    REQUIRE(e);
    auto fo = f.r.repo->store().read_file_object(e->id);
    REQUIRE(fo.chunks.size() >= 6);
    const std::vector<std::uint64_t> starts = chunk_starts(fo);
    // the first byte: one call for the chunks of the next 200 KiB (and the one holding the byte), not the whole file
    std::size_t before = src->calls.size();
    CHECK(read_all(rd, *e, 0, 1) == Bytes(f.big0.begin(), f.big0.begin() + 1));
    std::vector<Hash32> want;
    for (std::size_t i = 0; i < fo.chunks.size() && starts[i] < 1 + lim.read_ahead_bytes; ++i) want.push_back(fo.chunks[i].id);
    REQUIRE(want.size() < fo.chunks.size());
    REQUIRE(src->calls.size() == before + 2);  // the file object, then the chunks
    CHECK(src->calls.back() == want);
    // a read of the last chunk asks for it alone (the file ends there)
    const std::size_t last = fo.chunks.size() - 1;
    CHECK(read_all(rd, *e, starts[last] + 1, 5) == Bytes(f.big0.begin() + starts[last] + 1, f.big0.begin() + starts[last] + 6));
    CHECK(src->calls.back() == std::vector<Hash32>{fo.chunks[last].id});
    // a read-ahead chunk the source cannot give does not fail the read; a chunk the read covers does
    std::size_t next = want.size();  // the first chunk not fetched yet
    REQUIRE(next + 1 < last);
    src->deny.insert(fo.chunks[next + 1].id);
    CHECK(read_all(rd, *e, starts[next], 10) == Bytes(f.big0.begin() + starts[next], f.big0.begin() + starts[next] + 10));
    CHECK(kind_of([&] { read_all(rd, *e, starts[next + 1], 10); }) == ErrorKind::not_found);
    src->deny.clear();  // a later read tries again
    CHECK(read_all(rd, *e, starts[next + 1], 10) ==
          Bytes(f.big0.begin() + starts[next + 1], f.big0.begin() + starts[next + 1] + 10));
}

TEST_CASE("reader: a directory read in order reads ahead into the next files; a read out of order does not",
          "[reader]") {
    test::CoreRepo src("reader-dir");
    std::vector<Bytes> data;
    for (int i = 0; i < 4; ++i) {
        data.push_back(test::pseudo_random(40 * 1024 + static_cast<std::size_t>(i), 20 + static_cast<std::uint64_t>(i)));
        src.write("d/f" + std::to_string(i) + ".bin", data.back());
    }
    Hash32 v = src.commit("v");
    LazyCopy lazy("reader-dir-lazy", src.repo->store());
    auto& store = lazy.store;
    auto& source = lazy.source;
    core::VersionReader::Limits lim;
    lim.read_ahead_bytes = 1 << 20;
    core::VersionReader rd(store, core::load_commit(*src.repo, v), lim);
    std::vector<core::ReaderEntry> e;
    std::vector<std::vector<Hash32>> chunks;
    for (int i = 0; i < 4; ++i) {
        e.push_back(*rd.lookup("d/f" + std::to_string(i) + ".bin"));
        std::vector<Hash32> ids;
        for (const auto& c : src.repo->store().read_file_object(e.back().id).chunks) ids.push_back(c.id);
        chunks.push_back(ids);
    }
    std::vector<Hash32> files;
    for (const auto& x : e) files.push_back(x.id);
    store.ensure(files);  // the file objects are here (a lazy source fetches them with the trees)
    // f0 read whole, then f2: not the next file, so only f2's chunks are asked for
    CHECK(read_all(rd, e[0], 0, data[0].size()) == data[0]);
    CHECK(source->calls.back() == chunks[0]);
    CHECK(read_all(rd, e[2], 0, data[2].size()) == data[2]);
    CHECK(source->calls.back() == chunks[2]);
    // f3 right after f2: its chunks only (it is the last file); then f1: the file last read to its end (f2) does not
    // come before it
    CHECK(read_all(rd, e[3], 0, 10) == Bytes(data[3].begin(), data[3].begin() + 10));
    CHECK(source->calls.back() == chunks[3]);
    CHECK(read_all(rd, e[1], 0, 10) == Bytes(data[1].begin(), data[1].begin() + 10));
    CHECK(source->calls.back() == chunks[1]);
}

TEST_CASE("reader: after a file is read to its end, the next file's first read fetches the following files too",
          "[reader]") {
    test::CoreRepo src("reader-dir2");
    std::vector<Bytes> data;
    for (int i = 0; i < 3; ++i) {
        data.push_back(test::pseudo_random(30 * 1024, 40 + static_cast<std::uint64_t>(i)));
        src.write("d/f" + std::to_string(i) + ".bin", data.back());
    }
    Hash32 v = src.commit("v");
    LazyCopy lazy("reader-dir2-lazy", src.repo->store());
    auto& store = lazy.store;
    auto& source = lazy.source;
    core::VersionReader rd(store, core::load_commit(*src.repo, v));
    std::vector<core::ReaderEntry> e;
    std::vector<Hash32> files, next;
    for (int i = 0; i < 3; ++i) {
        e.push_back(*rd.lookup("d/f" + std::to_string(i) + ".bin"));
        files.push_back(e.back().id);
        if (i > 0)
            for (const auto& c : src.repo->store().read_file_object(e.back().id).chunks) next.push_back(c.id);
    }
    store.ensure(files);
    CHECK(read_all(rd, e[0], 0, data[0].size()) == data[0]);
    const std::size_t calls = source->calls.size();
    CHECK(read_all(rd, e[1], 0, 100) == Bytes(data[1].begin(), data[1].begin() + 100));
    REQUIRE(source->calls.size() == calls + 1);
    CHECK(source->calls.back() == next);  // f1's chunks, then f2's, in one call
    CHECK(read_all(rd, e[2], 0, data[2].size()) == data[2]);
    CHECK(source->calls.size() == calls + 1);  // f2 was here already
}

TEST_CASE("reader: a sequential read hints the chunks past its read-ahead to the source, each chunk once",
          "[reader]") {
    ReaderRepo f;
    LazyCopy lazy("reader-hints", f.r.repo->store());
    auto& store = lazy.store;
    auto& src = lazy.source;
    core::VersionReader::Limits lim;
    lim.read_ahead_bytes = 100 * 1024;
    lim.background_bytes = 200 * 1024;
    core::VersionReader rd(store, core::load_commit(*f.r.repo, f.v1), lim);
    auto e = rd.lookup("data/big.bin");
    REQUIRE(e);
    auto fo = f.r.repo->store().read_file_object(e->id);
    const std::vector<std::uint64_t> starts = chunk_starts(fo);
    auto between = [&](std::uint64_t from, std::uint64_t to) {
        std::vector<Hash32> out;
        for (std::size_t i = 0; i < fo.chunks.size(); ++i)
            if (starts[i] >= from && starts[i] < to) out.push_back(fo.chunks[i].id);
        return out;
    };
    // the first byte: the chunks of the next 100 KiB are fetched (waited for), those of the 200 KiB after are hinted
    CHECK(read_all(rd, *e, 0, 1) == Bytes(f.big0.begin(), f.big0.begin() + 1));
    std::uint64_t until = 1 + lim.read_ahead_bytes, ahead_until = until + lim.background_bytes;
    CHECK(src->calls.back() == between(0, until));
    REQUIRE(src->hints.size() == 1);
    auto first = src->hints.back();
    CHECK(first == between(until, ahead_until));
    REQUIRE(!first.empty());
    // the hinted chunks are not here (the source only recorded them): the next read waits for them as its own round,
    // and hints only chunks past the ones hinted before
    std::size_t next = between(0, until).size();
    REQUIRE(next < fo.chunks.size());
    CHECK(!store.has(fo.chunks[next].id));
    CHECK(read_all(rd, *e, starts[next], 10) == Bytes(f.big0.begin() + starts[next], f.big0.begin() + starts[next] + 10));
    std::uint64_t sent = ahead_until;  // the first chunk starting at or past it was not hinted
    for (std::size_t i = 0; i < fo.chunks.size(); ++i)
        if (starts[i] >= ahead_until) {
            sent = starts[i];
            break;
        }
    until = starts[next] + 10 + lim.read_ahead_bytes;
    ahead_until = until + lim.background_bytes;
    CHECK(src->calls.back() == between(starts[next], until));
    REQUIRE(src->hints.size() == 2);
    CHECK(src->hints.back() == between(std::max(sent, until), ahead_until));
    for (const auto& id : src->hints.back()) CHECK(std::find(first.begin(), first.end(), id) == first.end());
    // a read of the last chunk: nothing past it to hint (no fetch_ahead call)
    const std::size_t last = fo.chunks.size() - 1;
    CHECK(read_all(rd, *e, starts[last] + 1, 5) == Bytes(f.big0.begin() + starts[last] + 1, f.big0.begin() + starts[last] + 6));
    CHECK(src->hints.size() == 2);
}

TEST_CASE("reader: the read-ahead into the next files of a directory grows with the files read in order", "[reader]") {
    // 30 files of 40 KiB: after one file read to its end, the next file's first read takes next_files_bytes of the
    // files after it; after four in order, eight times that (a sample that reads two neighbours costs little)
    constexpr std::size_t kFiles = 30, kSize = 40 * 1024;
    test::CoreRepo src("reader-ramp");
    std::vector<Bytes> data;
    for (std::size_t i = 0; i < kFiles; ++i) {
        data.push_back(test::pseudo_random(kSize, 60 + i));
        src.write("d/f" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".bin", data.back());
    }
    Hash32 v = src.commit("v");
    LazyCopy lazy("reader-ramp-lazy", src.repo->store());
    auto& store = lazy.store;
    auto& source = lazy.source;
    core::VersionReader::Limits lim;
    lim.read_ahead_bytes = 1 << 20;
    lim.background_bytes = 0;
    lim.next_files_bytes = 2 * kSize;
    core::VersionReader rd(store, core::load_commit(*src.repo, v), lim);
    std::vector<core::ReaderEntry> e;
    std::vector<objects::FileObject> fo;
    std::vector<Hash32> files;
    for (std::size_t i = 0; i < kFiles; ++i) {
        e.push_back(*rd.lookup("d/f" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".bin"));
        fo.push_back(src.repo->store().read_file_object(e.back().id));
        files.push_back(e.back().id);
    }
    store.ensure(files);
    // the chunks of files first.. that start before `to` bytes past where file `first` starts
    auto chunks_of = [&](std::size_t first, std::uint64_t to) {
        std::vector<Hash32> out;
        std::uint64_t base = 0;
        for (std::size_t k = first; k < kFiles && base < to; base += kSize, ++k) {
            std::uint64_t at = base;
            for (const auto& c : fo[k].chunks) {
                if (at < to) out.push_back(c.id);
                at += c.size;
            }
        }
        return out;
    };
    CHECK(read_all(rd, e[0], 0, kSize) == data[0]);
    CHECK(source->calls.back() == chunks_of(0, kSize));
    // f1 after f0: f1 and the next 2 x 40 KiB (f2, f3)
    CHECK(read_all(rd, e[1], 0, 100) == Bytes(data[1].begin(), data[1].begin() + 100));
    CHECK(source->calls.back() == chunks_of(1, kSize + lim.next_files_bytes));
    const std::size_t calls = source->calls.size();
    for (std::size_t i = 1; i <= 3; ++i) CHECK(read_all(rd, e[i], 0, kSize) == data[i]);
    CHECK(source->calls.size() == calls);  // f2 and f3 were here
    // f4 after four files in order (f0-f3): eight times the first window (f5-f20), not the whole 1 MiB
    CHECK(read_all(rd, e[4], 0, 100) == Bytes(data[4].begin(), data[4].begin() + 100));
    CHECK(source->calls.back() == chunks_of(4, kSize + 8 * lim.next_files_bytes));
    CHECK(source->calls.back().size() < chunks_of(4, lim.read_ahead_bytes).size());
    // a file out of order: its own chunks only
    CHECK(read_all(rd, e[27], 0, kSize) == data[27]);
    CHECK(source->calls.back() == chunks_of(27, kSize));
}
