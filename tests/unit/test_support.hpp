// Helpers shared by the unit tests: a temporary directory removed at the end of the test, files of given bytes, and
// reproducible pseudo-random data.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "util/bytes.hpp"

namespace dvt::test {

// A new directory /tmp/dvt-unit-<what>-XXXXXX (mkdtemp), removed with everything in it by the destructor.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& what) {
        std::string tmpl = (std::filesystem::temp_directory_path() / ("dvt-unit-" + what + "-XXXXXX")).string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// Writes `b` to `p` (creating its directories), replacing what was there.
inline void write_file(const std::filesystem::path& p, const Bytes& b) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// `n` bytes from a Mersenne Twister seeded with `seed`: incompressible, and the same for the same seed.
inline Bytes pseudo_random(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

}  // namespace dvt::test
