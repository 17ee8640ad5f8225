// Helpers shared by the unit tests: a temporary directory removed at the end of the test, files of given bytes,
// reproducible pseudo-random data, and what an error was.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "objects/object.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

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

// The ErrorKind `f` throws (its message into *message, if given); ErrorKind::internal if it throws nothing (no test
// expects internal).
inline ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.kind();
    }
    return ErrorKind::internal;
}

// A well-formed version-2 commit (tree, one pack and hashes made of repeated characters) that tests edit field by field.
inline objects::Commit v2_commit() {
    auto filled = [](char c) {
        Hash32 x;
        x.bytes.fill(static_cast<std::uint8_t>(c));
        return x;
    };
    objects::Commit c;
    c.tree = filled('t');
    c.author_name = "Ada";
    c.author_email = "ada@example.org";
    c.time = 1700000000;
    c.files = 1;
    c.bytes = 5;
    c.chunker = objects::ChunkerParams{};
    c.packs = {objects::PackRef{filled('1'), 4096, 4000}};
    c.message = "m\n";
    return c;
}

// The message of the error `f` throws; empty if it throws nothing.
inline std::string message_of(const std::function<void()>& f) {
    std::string m;
    kind_of(f, &m);
    return m;
}

}  // namespace dvt::test
