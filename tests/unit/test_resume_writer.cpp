// ResumeWriter (transport/resume_writer.hpp): resume data written on a thread of its own, in batches, each file
// renamed into place whole; flush() waits for what was queued; a failure is reported, not lost. And the clone mark
// (core/clone_state.hpp) that lets an interrupted clone resume.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "core/clone_state.hpp"
#include "transport/resume_writer.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<char> text(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("the resume writer writes every queued file, the newest contents of each, in batches", "[transport][resume]") {
    TempDir dir("resume");
    transport::ResumeWriter w;
    constexpr int kFiles = 300;
    for (int round = 0; round < 3; ++round)
        for (int k = 0; k < kFiles; ++k)
            w.put(dir.path / ("p" + std::to_string(k) + ".resume"),
                  text("round " + std::to_string(round) + " file " + std::to_string(k)));
    w.flush();
    for (int k = 0; k < kFiles; ++k) {
        auto got = util::try_read_text(dir.path / ("p" + std::to_string(k) + ".resume"));
        REQUIRE(got);
        CHECK(*got == "round 2 file " + std::to_string(k));
    }
    // 900 puts: written in batches (far fewer than one per put), never more files than were put
    CHECK(w.batches() >= 1);
    CHECK(w.batches() < 900);
    CHECK(w.files() >= static_cast<std::size_t>(kFiles));
    CHECK(w.files() <= 900);
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) {
        CHECK_FALSE(e.path().filename().string().starts_with(".tmp-"));
        ++entries;
    }
    CHECK(entries == kFiles);
    // flush() with nothing queued returns at once; a later put is written too
    w.flush();
    w.put(dir.path / "p0.resume", text("again"));
    w.flush();
    CHECK(util::try_read_text(dir.path / "p0.resume") == std::optional<std::string>("again"));
}

TEST_CASE("a resume file that cannot be written is reported by the next flush, once, and the others are written",
          "[transport][resume]") {
    TempDir dir("resume");
    transport::ResumeWriter w;
    w.put(dir.path / "missing-dir" / "a.resume", text("x"));
    w.put(dir.path / "b.resume", text("y"));
    try {
        w.flush();
        FAIL("no error reported");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::io);
        CHECK(std::string(e.what()).find("a.resume") != std::string::npos);
    }
    CHECK(util::try_read_text(dir.path / "b.resume") == std::optional<std::string>("y"));
    w.flush();  // reported once
}

TEST_CASE("the destructor of the resume writer writes what is still queued", "[transport][resume]") {
    TempDir dir("resume");
    {
        transport::ResumeWriter w;
        for (int k = 0; k < 50; ++k) w.put(dir.path / (std::to_string(k) + ".resume"), text(std::to_string(k)));
    }
    for (int k = 0; k < 50; ++k)
        CHECK(util::try_read_text(dir.path / (std::to_string(k) + ".resume")) == std::optional<std::string>(std::to_string(k)));
}

TEST_CASE("the clone mark names the commit of an interrupted clone; a malformed one is corrupt", "[core][clone]") {
    TempDir dir("clonemark");
    fs::create_directories(dir.path / ".dvt");
    CHECK_FALSE(core::interrupted_clone(dir.path));
    CHECK_FALSE(core::interrupted_clone(dir.path / "nowhere"));
    Hash32 id = sha256(reinterpret_cast<const std::uint8_t*>("c"), 1);
    core::mark_clone(dir.path / ".dvt", id);
    CHECK(core::interrupted_clone(dir.path) == id);
    CHECK(util::try_read_text(dir.path / ".dvt" / "clone") == std::optional<std::string>("dvt-clone 1\n" + id.hex() + "\n"));
    core::unmark_clone(dir.path / ".dvt");
    CHECK_FALSE(core::interrupted_clone(dir.path));
    core::unmark_clone(dir.path / ".dvt");  // gone already: nothing to do
    for (std::string bad : {std::string("dvt-clone 1\n") + std::string(64, 'g') + "\n", std::string("dvt-clone 2\n") + id.hex() + "\n",
                            std::string("dvt-clone 1\n") + id.hex(), std::string(1 << 20, 'a'), std::string()}) {
        util::atomic_write_file(dir.path / ".dvt" / "clone", bad);
        try {
            (void)core::interrupted_clone(dir.path);
            FAIL("accepted a malformed mark");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::corrupt);
        }
    }
}
