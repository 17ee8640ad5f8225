// Fuzz target: the repository config file .dvt/config (core::Config::parse; docs/format.md "Config").
// Properties: a config that parses survives serialize() and parse() unchanged (what `dvt config KEY VALUE` does
// to every other key when it rewrites the file), and reading any key as a number either works or is a usage error.
#include "core/config.hpp"
#include "fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    core::Config c;
    if (!fuzz::accepted([&] { c = core::Config::parse(fuzz::text(data, size)); })) return 0;
    core::Config again;
    fuzz::require(fuzz::accepted([&] { again = core::Config::parse(c.serialize()); }),
                  "config: a parsed config does not parse after serialize()");
    fuzz::require(again.values() == c.values(), "config: serialize() and parse() changed the values");
    for (const auto& [k, v] : c.values()) {
        (void)v;
        try {
            (void)c.get_int(k, 0);
        } catch (const Error& e) {
            fuzz::require(e.kind() == ErrorKind::usage, "config: get_int failed with another kind than usage");
        }
    }
    return 0;
}
