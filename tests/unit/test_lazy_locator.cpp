// The lazy source through a version's locator (transport/lazy_source.hpp; docs/transport.md, "Lazy reads from the
// swarm"): opening a version with a locator fetches the locator and the root tree only (not every pack index, tree
// and file object); every file then reads byte for byte through core::VersionReader. A locator whose extents point at another
// directory's records (every id still valid) leads to other objects, never to wrong bytes: each file still reads as
// committed (found through the pack indexes); one whose extents do not start at a record makes the reads of that
// directory corrupt, never other bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/commit.hpp"
#include "core/reader.hpp"
#include "objects/locator.hpp"
#include "objects/pack.hpp"
#include "objects/torrent_id.hpp"
#include "seeder_fixture.hpp"
#include "test_support.hpp"
#include "transport/lazy_source.hpp"
#include "util/error.hpp"
#include "transport/session.hpp"

using namespace dvt;
namespace fs = std::filesystem;

namespace {

// d0..d3, each with 6 files of 3-6 KiB of random bytes, and d0/sub with 2 more
std::map<std::string, Bytes> write_dirs(const fs::path& root) {
    std::map<std::string, Bytes> files;
    std::uint64_t seed = 300;
    auto put = [&](const std::string& rel) {
        Bytes b = test::pseudo_random(3072 + static_cast<std::size_t>(seed % 7) * 512, seed);
        ++seed;
        test::write_file(root / rel, b);
        files[rel] = b;
    };
    for (int d = 0; d < 4; ++d)
        for (int f = 0; f < 6; ++f) put("d" + std::to_string(d) + "/f" + std::to_string(f) + ".bin");
    put("d0/sub/a.bin");
    put("d0/sub/b.bin");
    return files;
}

// Reads every file of `files` through a fresh lazy source of `repo` from `seed`; checks the bytes.
void read_lazily(core::Repository& repo, const test::RunningSeeder& seed, const Hash32& id,
                 const std::map<std::string, Bytes>& files, std::uint64_t* objects_at_open = nullptr) {
    transport::LazyOptions o;
    o.pull = seed.pull_options(std::chrono::seconds(30));
    auto src = std::make_shared<transport::LazySource>(repo, o);
    repo.store().set_source(src);
    objects::Commit c = src->add_commit(id);
    if (objects_at_open) *objects_at_open = src->stats().objects_fetched;
    core::VersionReader rd(repo.store(), c);
    for (const auto& [rel, bytes] : files) {
        INFO(rel);
        auto e = rd.lookup(rel);
        REQUIRE(e);
        Bytes out(bytes.size() + 10);
        out.resize(rd.read(*e, 0, out));
        CHECK(out == bytes);
    }
    repo.store().set_source(nullptr);
}

}  // namespace

TEST_CASE("lazy source: a version with a locator opens with its locator and root tree, and reads byte for byte",
          "[lazy][locator]") {
    test::TempDir t("lazy-locator");
    auto a = core::Repository::init(t.path / "a", core::InitOptions{});
    auto files = write_dirs(t.path / "a");
    core::CommitOptions co;
    co.message = "v1";
    Hash32 v1 = core::create_commit(*a, co).id;
    auto c1 = a->store().read_commit(v1);
    REQUIRE(c1);
    REQUIRE(c1->locator);

    // forged versions: the same tree and packs, but another locator (every id valid), in a pack of its own
    auto forge = [&](const std::function<void(objects::Locator&)>& change) {
        objects::Locator loc = objects::Locator::decode(a->store().read(c1->locator->id), c1->packs);
        change(loc);
        Bytes lb = loc.encode();
        objects::PackWriter w(a->store().tmp_dir(), a->store().packs_dir());
        w.append(objects::ObjectType::chunk, sha256(lb), objects::Compression::none, static_cast<std::uint32_t>(lb.size()), lb);
        std::vector<objects::SealedPack> sealed{w.seal()};
        const objects::PackRef lref = sealed.front().ref;
        a->store().install_packs(sealed);
        objects::Commit forged = *c1;
        forged.locator = objects::Commit::LocatorRef{sha256(lb), lref.id};
        std::erase_if(forged.packs, [&](const objects::PackRef& p) { return p.id == c1->locator->pack; });
        forged.packs.push_back(lref);
        std::sort(forged.packs.begin(), forged.packs.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
        Bytes fb = forged.encode();
        Hash32 id = objects::commit_id_of(fb);
        a->store().write_commit(id, fb);
        return id;
    };
    auto dir = [](objects::Locator& loc, const std::string& path) {
        auto d = std::find_if(loc.dirs.begin(), loc.dirs.end(), [&](const auto& x) { return x.path == path; });
        REQUIRE(d != loc.dirs.end());
        return d;
    };
    // d0's and d1's extents swapped (each extent still a run of whole records of that directory's packs)
    Hash32 vf = forge([&](objects::Locator& loc) {
        auto d0 = dir(loc, "d0"), d1 = dir(loc, "d1");
        REQUIRE(d0->extents != d1->extents);
        std::swap(d0->extents, d1->extents);
    });
    // d2's extents one byte into their first record (no longer at a record's header)
    Hash32 vs = forge([&](objects::Locator& loc) {
        for (auto& x : dir(loc, "d2")->extents) {
            x.offset += 1;
            x.length -= 1;
        }
    });

    test::RunningSeeder seed(a->root(), "127.0.0.2");

    // the honest locator: the commit's locator and the root tree at open, then every file byte for byte
    auto b = core::Repository::init(t.path / "b", core::InitOptions{});
    std::uint64_t at_open = 0;
    read_lazily(*b, seed, v1, files, &at_open);
    CHECK(at_open == 2);  // the locator record and the root tree (without it: every tree and file object)
    CHECK(b->store().has_commit(v1));

    // the swapped extents: d0's files are looked for in d1's records (and the other way round); they are not there,
    // so the pack indexes find them; every byte is still the committed one
    auto c = core::Repository::init(t.path / "c", core::InitOptions{});
    read_lazily(*c, seed, vf, files);

    // the shifted extents: what lies there is no record: a read of d2 is corrupt (a later one finds its objects
    // through the pack indexes), a read elsewhere exact; never other bytes
    auto d = core::Repository::init(t.path / "d", core::InitOptions{});
    transport::LazyOptions o;
    o.pull = seed.pull_options(std::chrono::seconds(30));
    auto src = std::make_shared<transport::LazySource>(*d, o);
    d->store().set_source(src);
    core::VersionReader rd(d->store(), src->add_commit(vs));
    std::size_t refused = 0;
    auto read_checked = [&](const std::string& rel) {
        INFO(rel);
        const Bytes& bytes = files.at(rel);
        Bytes out(bytes.size());
        try {
            auto e = rd.lookup(rel);
            REQUIRE(e);
            out.resize(rd.read(*e, 0, out));
            CHECK(out == bytes);
        } catch (const Error& err) {
            CHECK(err.kind() == ErrorKind::corrupt);
            ++refused;
        }
    };
    // d2 first (a pack index fetched for another directory would find its objects without the extents)
    for (const auto& f : files)
        if (f.first.starts_with("d2/")) read_checked(f.first);
    CHECK(refused > 0);
    // the other directories, once reads queued behind a failed one no longer fail with it (0.3 s): exact
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const std::size_t in_d2 = refused;
    for (const auto& f : files)
        if (!f.first.starts_with("d2/")) read_checked(f.first);
    CHECK(refused == in_d2);
    d->store().set_source(nullptr);
}
