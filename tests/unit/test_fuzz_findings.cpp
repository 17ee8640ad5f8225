// Regression tests for bugs the fuzz targets (fuzz/, docs/fuzzing.md) found, one per finding, each with the input
// shape that showed it.
#include <catch2/catch.hpp>

#include <libtorrent/entry.hpp>

#include "core/config.hpp"
#include "transport/dht.hpp"
#include "util/error.hpp"

using namespace dvt;

namespace {

Hash32 some_commit() {
    Hash32 h;
    h.bytes.fill(2);
    return h;
}

}  // namespace

// fuzz/dht.cpp: lt::entry::find_key on an entry that is not a dictionary throws boost::system::system_error, which
// nothing catches. A record's value is whatever its publisher signed.
TEST_CASE("web seeds of a DHT value that is not a dictionary are none, not an exception", "[dht][fuzz]") {
    lt::entry list(lt::entry::list_t);
    list.list().emplace_back(std::string("http://127.0.0.1:1/"));
    for (const lt::entry& v : {lt::entry(std::string("w")), lt::entry(std::int64_t(1)), list}) {
        std::vector<std::string> seeds;
        REQUIRE_NOTHROW(seeds = transport::record_web_seeds(v));
        CHECK(seeds.empty());
    }
    lt::entry v = transport::ref_value(some_commit());
    v["w"] = lt::entry::list_type{lt::entry(std::string("http://127.0.0.1:8080/m")), lt::entry(std::string("ftp://x/"))};
    CHECK(transport::record_web_seeds(v) == std::vector<std::string>{"http://127.0.0.1:8080/m"});
}

// fuzz/config.cpp: a config whose keys serialize() cannot write back was accepted, so the next `dvt config KEY VALUE`
// rewrote those keys as other keys (or as a comment, or as a file that no longer parses).
TEST_CASE("config keys that would not survive being written back are refused", "[config][fuzz]") {
    for (const char* text : {
             "[a .b]\nk = v\n",   // would come back as "a.b.k"
             "[a. b]\nk = v\n",   // the same
             "[.h]\nk = v\n",     // would be written as "[]": the file would no longer parse
             "[a.#b]\nk = v\n",   // would be written as a comment
             "[a.;b]\nk = v\n",   // the same
             "[a.[b]\nk = v\n",   // would be written as a malformed section line
             "[a.b=c]\nk = v\n",  // would come back as "a.b" = "c.k = v"
         }) {
        INFO(text);
        try {
            core::Config::parse(text);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::corrupt);
            CHECK(std::string(e.what()).find("config line 2") != std::string::npos);
        }
    }
    // Everything dvt writes, and dotted sections, still parse and survive serialize() unchanged.
    for (const char* text : {"[core]\n\tformat = 1\n[remote]\n\torigin.peers = 127.0.0.1:1\n",
                             "[remote.origin]\npeers = 127.0.0.1:1\n[x]\n = empty name\n", "; c\n# c\n[a]b]\nk=\n"}) {
        INFO(text);
        auto c = core::Config::parse(text);
        CHECK_FALSE(c.values().empty());
        CHECK(core::Config::parse(c.serialize()).values() == c.values());
    }
    CHECK(core::Config::parse("[remote.origin]\npeers = p\n").get("remote.origin.peers") == "p");
}
