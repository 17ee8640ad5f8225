// Shared helpers of the fuzz targets (docs/fuzzing.md).
//
// Every target defines LLVMFuzzerTestOneInput. The input is hostile: a decoder may refuse it with dvt::Error (the
// documented way to say "corrupt", "unsupported", ...), and the target catches exactly that. Anything else (another
// exception, a crash, a sanitizer report, a broken property checked with require()) is a bug and must end the
// process, so libFuzzer (or the replay driver under CTest) reports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace dvt::fuzz {

// A property every accepted input must have. Aborts (a crash for libFuzzer) with the message when it does not hold.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "dvt fuzz: property violated: %s\n", what);
    std::fflush(stderr);
    std::abort();
}

// How often a decoder accepted something: the replay driver counts the inputs that raised it, so a corpus that no
// longer decodes (a format changed and the corpus was not regenerated: fuzz/make_corpus.sh) fails under CTest.
inline std::uint64_t accepted_count = 0;
inline void note_accepted() { ++accepted_count; }

// Runs `f`; a dvt::Error (the decoder refused the input) gives false, success gives true. Everything else escapes.
template <class F>
bool accepted(F&& f) {
    try {
        f();
        note_accepted();
        return true;
    } catch (const dvt::Error&) {
        return false;
    }
}

inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) { return {data, size}; }
inline std::string text(const std::uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace dvt::fuzz
