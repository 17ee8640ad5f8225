// Chunker: boundaries are content-defined, stable under insertions and deletions, within bounds, and pinned by a
// golden vector (changing them changes every chunk id: a format change).
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "objects/chunker.hpp"
#include "util/bytes.hpp"
#include "util/hash.hpp"

using namespace dvt;
using namespace dvt::objects;

static Bytes random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(n);
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t v = rng();
        for (std::size_t k = 0; k < 8 && i + k < n; ++k) b[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
    return b;
}

static std::vector<std::size_t> cut_all(const Chunker& c, const Bytes& data) {
    std::vector<std::size_t> sizes;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t n = c.cut(data.data() + pos, data.size() - pos, true);
        sizes.push_back(n);
        pos += n;
    }
    return sizes;
}

static std::set<Hash32> chunk_ids(const Chunker& c, const Bytes& data) {
    std::set<Hash32> ids;
    std::size_t pos = 0;
    for (auto n : cut_all(c, data)) {
        ids.insert(sha256(data.data() + pos, n));
        pos += n;
    }
    return ids;
}

TEST_CASE("gear table is derived from SHA-256 and pinned", "[chunker]") {
    const auto& g = Chunker::gear_table();
    CHECK(g[0] == 0x826662960ed09dbfull);
    CHECK(g[255] == 0x9d77d7f2a735d14eull);
    std::set<std::uint64_t> distinct(g.begin(), g.end());
    CHECK(distinct.size() == 256);
}

TEST_CASE("chunk boundaries of a pseudo-random buffer match the golden vector", "[chunker]") {
    Chunker c(ChunkerParams{4096, 16384, 65536});
    Bytes data = random_bytes(256 * 1024, 42);
    auto sizes = cut_all(c, data);
    std::vector<std::size_t> golden = {9772, 16923, 18983, 18598, 17483, 27924, 18284, 17566, 13899, 20657, 21746, 21987, 35143, 3179};
    CHECK(sizes == golden);
}

TEST_CASE("chunks stay within min and max and average near the target", "[chunker]") {
    ChunkerParams p{4096, 16384, 65536};
    Chunker c(p);
    Bytes data = random_bytes(16 << 20, 7);
    auto sizes = cut_all(c, data);
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        CHECK(sizes[i] >= p.min_size);
        CHECK(sizes[i] <= p.max_size);
    }
    double mean = static_cast<double>(data.size()) / static_cast<double>(sizes.size());
    CHECK(mean > 12000);
    CHECK(mean < 24000);
}

TEST_CASE("an insertion near the start changes only the chunks around it", "[chunker]") {
    Chunker c(ChunkerParams{4096, 16384, 65536});
    Bytes a = random_bytes(8 << 20, 11);
    Bytes b = a;
    Bytes ins = random_bytes(100, 99);
    b.insert(b.begin() + 10000, ins.begin(), ins.end());
    auto ia = chunk_ids(c, a), ib = chunk_ids(c, b);
    std::size_t shared = 0;
    for (const auto& id : ib) shared += ia.count(id);
    CHECK(ib.size() - shared <= 3);  // the chunk holding the insertion, maybe one neighbour
    CHECK(shared >= ia.size() - 3);
}

TEST_CASE("a deletion in the middle changes only the chunks around it", "[chunker]") {
    Chunker c(ChunkerParams{4096, 16384, 65536});
    Bytes a = random_bytes(8 << 20, 12);
    Bytes b = a;
    b.erase(b.begin() + (4 << 20), b.begin() + (4 << 20) + 5000);
    auto ia = chunk_ids(c, a), ib = chunk_ids(c, b);
    std::size_t shared = 0;
    for (const auto& id : ib) shared += ia.count(id);
    CHECK(ib.size() - shared <= 3);
}

TEST_CASE("all-zero input is cut at max size", "[chunker]") {
    Chunker c(ChunkerParams{4096, 16384, 65536});
    Bytes zeros(1 << 20, 0);
    auto sizes = cut_all(c, zeros);
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) CHECK(sizes[i] == 65536);
}

TEST_CASE("cut refuses a short buffer unless at end of input", "[chunker]") {
    Chunker c(ChunkerParams{4096, 16384, 65536});
    Bytes data = random_bytes(1000, 1);
    CHECK(c.cut(data.data(), data.size(), true) == 1000);
    CHECK_THROWS_AS(c.cut(data.data(), data.size(), false), Error);
}

TEST_CASE("invalid chunker parameters are rejected", "[chunker]") {
    CHECK_THROWS_AS(Chunker(ChunkerParams{4096, 10000, 65536}), Error);  // avg not a power of two
    CHECK_THROWS_AS(Chunker(ChunkerParams{16384, 16384, 65536}), Error); // min == avg
    CHECK_THROWS_AS(Chunker(ChunkerParams{4096, 16384, 16384}), Error);  // max == avg
}
