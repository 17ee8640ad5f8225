// Refs: compare-and-swap updates, reflog, HEAD, and ref-name validation.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "refs/refs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace dvt;
namespace fs = std::filesystem;

namespace {
struct TempRepo {
    fs::path dir;
    TempRepo() {
        dir = fs::temp_directory_path() / ("dvt-refs-" + std::to_string(std::random_device{}()));
        fs::create_directories(dir / "refs/heads");
        util::atomic_write_file(dir / "HEAD", "ref: refs/heads/main\n");
    }
    ~TempRepo() { fs::remove_all(dir); }
};
Hash32 h(int v) {
    Hash32 x;
    x.bytes.fill(static_cast<std::uint8_t>(v));
    return x;
}
}  // namespace

TEST_CASE("ref updates are compare-and-swap", "[refs]") {
    TempRepo t;
    refs::RefStore r(t.dir);
    r.update("refs/heads/main", std::nullopt, h(1), "first");
    CHECK(r.read("refs/heads/main") == h(1));
    try {
        r.update("refs/heads/main", h(9), h(2), "stale expectation");
        FAIL("accepted a stale expected value");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::conflict);
    }
    CHECK(r.read("refs/heads/main") == h(1));
    CHECK_THROWS_AS(r.update("refs/heads/main", std::nullopt, h(2), "must not exist"), Error);
    r.update("refs/heads/main", h(1), h(2), "second");
    CHECK(r.head().commit == h(2));
    r.update("refs/heads/main", h(2), std::nullopt, "delete");
    CHECK(!r.read("refs/heads/main"));
}

TEST_CASE("the reflog records every update, oldest first", "[refs]") {
    TempRepo t;
    refs::RefStore r(t.dir);
    r.update("refs/heads/main", std::nullopt, h(1), "one");
    r.update("refs/heads/main", h(1), h(2), "two");
    auto log = r.reflog("refs/heads/main");
    REQUIRE(log.size() == 2);
    CHECK(!log[0].old_id);
    CHECK(log[0].new_id == h(1));
    CHECK(log[1].old_id == h(1));
    CHECK(log[1].message == "two");
}

TEST_CASE("detached HEAD and switching branches", "[refs]") {
    TempRepo t;
    refs::RefStore r(t.dir);
    r.update("refs/heads/main", std::nullopt, h(1), "one");
    r.set_head_detached(h(5), "detach");
    CHECK(!r.head().branch_ref);
    CHECK(r.head().commit == h(5));
    r.advance_head(h(5), h(6), "commit on detached head");
    CHECK(r.head().commit == h(6));
    CHECK(r.read("refs/heads/main") == h(1));
    r.set_head_branch("refs/heads/main", "back");
    CHECK(r.head().branch_ref == "refs/heads/main");
}

TEST_CASE("ref names follow git's rules", "[refs]") {
    for (const char* ok : {"main", "feature/x", "v1.0", "release-2026"}) CHECK(refs::valid_ref_name(ok));
    for (const char* bad : {"", "a..b", "/x", "x/", ".hidden", "a/.b", "x.lock", "a b", "a~1", "a^", "a:b", "HEAD",
                            "-x", "a//b"})
        CHECK_FALSE(refs::valid_ref_name(bad));
    refs::RefStore r(fs::temp_directory_path());
    CHECK_THROWS_AS(r.read("refs/heads/../../etc/passwd"), Error);
}
