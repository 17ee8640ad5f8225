// FileWriter: the file holds exactly the bytes appended, in order, whatever the append sizes, for small files (page
// cache) and large ones (O_DIRECT where the file system allows it, with an unaligned tail).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "util/file_writer.hpp"
#include "util/fs.hpp"

using namespace dvt;
namespace fs = std::filesystem;

namespace {

struct TempFile {
    fs::path path;
    TempFile() {
        char tmpl[] = "/tmp/dvt-unit-writer-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

// Writes `data` through a FileWriter in appends of random sizes (up to `max_append`); returns whether it went direct.
bool write_through(const fs::path& path, const Bytes& data, std::size_t max_append, std::mt19937& rng) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    REQUIRE(fd >= 0);
    util::Fd g(fd);
    util::FileWriter w(fd, data.size(), path.string());
    bool direct = w.direct();
    std::size_t off = 0;
    while (off < data.size()) {
        std::size_t n = std::min<std::size_t>(data.size() - off, 1 + rng() % max_append);
        w.append(data.data() + off, n);
        off += n;
    }
    w.finish();
    return direct;
}

}  // namespace

TEST_CASE("FileWriter writes exactly the bytes appended", "[file_writer]") {
    std::mt19937 rng(7);
    auto sizes = GENERATE(as<std::size_t>{}, 0, 1, 4095, 4096, 1 << 20, (1 << 20) + 1, (8u << 20) - 1, (8u << 20),
                          (9u << 20) + 12345, (12u << 20) + 4096);
    auto max_append = GENERATE(as<std::size_t>{}, 100, 70000, 3u << 20);
    Bytes data(sizes);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    TempFile f;
    bool direct = write_through(f.path, data, max_append, rng);
    CHECK(util::read_file(f.path) == data);
    CHECK(fs::file_size(f.path) == sizes);
    if (sizes < util::FileWriter::kDirectMin) CHECK_FALSE(direct);  // small files never bypass the page cache
}

TEST_CASE("FileWriter sized for a small file still writes every byte appended past that size", "[file_writer]") {
    // the buffer of a writer told 5,000 bytes is 8 KiB: more bytes go out in several writes, none lost or reordered
    std::mt19937 rng(11);
    Bytes data(300007);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    TempFile f;
    {
        int fd = ::open(f.path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        REQUIRE(fd >= 0);
        util::Fd g(fd);
        util::FileWriter w(fd, 5000, f.path.string());
        CHECK_FALSE(w.direct());
        for (std::size_t off = 0; off < data.size();) {
            std::size_t n = std::min<std::size_t>(data.size() - off, 1 + rng() % 20000);
            w.append(data.data() + off, n);
            off += n;
        }
        w.finish();
    }
    CHECK(util::read_file(f.path) == data);
}
