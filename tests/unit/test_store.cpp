// The object store's write API through a real repository: install_packs() moves a verified pack into packs/, indexes
// it and removes its resume data, and is idempotent; lock options belong to each opened repository. (The stat cache:
// test_core_walk.cpp.)
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/repository.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

using namespace dvt;
using namespace dvt::objects;
using dvt::test::pseudo_random;
using dvt::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A sealed pack of three raw chunks, written with PackWriter straight into partial/ (where a pull verifies packs).
SealedPack pack_in_partial(ObjectStore& store, std::vector<Bytes>& chunks) {
    fs::create_directories(store.partial_dir());
    PackWriter w(store.tmp_dir(), store.partial_dir());
    for (unsigned i = 0; i < 3; ++i) {
        chunks.push_back(pseudo_random(30000 + i, 40 + i));
        w.append(ObjectType::chunk, sha256(chunks.back()), Compression::none,
                 static_cast<std::uint32_t>(chunks.back().size()), chunks.back());
    }
    return w.seal();
}

}  // namespace

TEST_CASE("install_packs moves a verified pack into packs/, indexes it, removes its resume data; twice is a no-op",
          "[store]") {
    TempDir t("store");
    auto repo = core::Repository::init(t.path / "r", core::InitOptions{});
    auto& store = repo->store();
    std::vector<Bytes> chunks;
    SealedPack sp = pack_in_partial(store, chunks);
    const Hash32 id = sp.ref.id;
    REQUIRE(sp.path == store.partial_path(id));
    util::atomic_write_file(store.resume_path(id), std::string("resume data"));

    std::vector<SealedPack> verified{sp};
    store.install_packs(verified);
    CHECK(verified[0].path == store.pack_path(id));
    CHECK(fs::exists(store.pack_path(id)));
    CHECK_FALSE(fs::exists(store.partial_path(id)));
    CHECK_FALSE(fs::exists(store.resume_path(id)));
    struct stat st {};
    REQUIRE(::stat(store.pack_path(id).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0444);
    auto info = store.pack_by_id(id);
    REQUIRE(info);
    CHECK_FALSE(info->partial);
    CHECK(store.piece_layer(info->num) == sp.piece_layer);
    for (const auto& c : chunks) CHECK(store.read(sha256(c)) == c);

    // the same packs again (their path is now packs/<id>.pack): nothing changes, the pack is not removed
    store.install_packs(verified);
    CHECK(fs::exists(store.pack_path(id)));
    CHECK(store.packs().size() == 1);
    CHECK(store.pack_by_id(id)->num == info->num);
    for (const auto& c : chunks) CHECK(store.read(sha256(c)) == c);

    // a second verified copy in partial/ (the pack was imported meanwhile): the copy and its resume data go
    fs::copy_file(store.pack_path(id), store.partial_path(id));
    util::atomic_write_file(store.resume_path(id), std::string("resume data"));
    std::vector<SealedPack> again{sp};
    store.install_packs(again);
    CHECK_FALSE(fs::exists(store.partial_path(id)));
    CHECK_FALSE(fs::exists(store.resume_path(id)));
    CHECK(fs::exists(store.pack_path(id)));
    CHECK(store.pack_by_id(id)->num == info->num);

    // a reopened repository finds the index in agreement with packs/
    repo.reset();
    auto reopened = core::Repository::open(t.path / "r");
    CHECK(reopened->store().reconcile() == 0);
    for (const auto& c : chunks) CHECK(reopened->store().read(sha256(c)) == c);
}

TEST_CASE("lock options belong to the opened repository", "[store]") {
    TempDir t("lockopts");
    auto a = core::Repository::init(t.path / "r", core::InitOptions{});
    CHECK(a->options().lock_timeout_ms == 60000);
    auto held = a->write_lock();
    std::string told;
    core::OpenOptions o;
    o.lock_timeout_ms = 100;
    o.on_lock_wait = [&](const std::string& msg) { told = msg; };
    auto b = core::Repository::open(t.path / "r", o);
    try {
        b->write_lock();
        FAIL("the lock was taken twice");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::lock_timeout);
    }
    CHECK(told.find("waiting for the repository lock") != std::string::npos);
    auto c = core::Repository::open(t.path / "r");  // another repository object keeps the defaults
    CHECK(c->options().lock_timeout_ms == 60000);
    CHECK_FALSE(c->options().on_lock_wait);
}
