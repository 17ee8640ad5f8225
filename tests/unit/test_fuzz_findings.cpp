// Regression tests for bugs the fuzz targets (fuzz/, docs/fuzzing.md) found, one per finding, each with the input
// shape that showed it.
#include <catch2/catch.hpp>

#include <libtorrent/entry.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "transport/dht.hpp"
#include "util/error.hpp"
#include "util/ignore.hpp"

using namespace dvt;

namespace {

// glob_match as it was before the memo covered star loops: plain backtracking, exponential but obviously right.
bool reference_glob(std::string_view pat, std::size_t p, std::string_view text, std::size_t t) {
    while (p < pat.size()) {
        char pc = pat[p];
        if (pc == '*') {
            std::size_t e = p;
            while (e < pat.size() && pat[e] == '*') ++e;
            bool whole = e - p >= 2 && (p == 0 || pat[p - 1] == '/') && (e == pat.size() || pat[e] == '/');
            if (whole) {
                if (e == pat.size()) return true;
                for (std::size_t i = t; i <= text.size(); ++i)
                    if ((i == t || text[i - 1] == '/') && reference_glob(pat, e + 1, text, i)) return true;
                return false;
            }
            for (std::size_t i = t;; ++i) {
                if (reference_glob(pat, e, text, i)) return true;
                if (i >= text.size() || text[i] == '/') return false;
            }
        }
        if (t >= text.size()) return false;
        if (pc == '?' ? text[t] == '/' : pc != text[t]) return false;
        ++p;
        ++t;
    }
    return t == text.size();
}

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
    v["w"] = lt::entry::list_type{lt::entry(std::string("http://127.0.0.1:8080/m")),
                                  lt::entry(std::string("ftp://x/"))};
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

// fuzz/ignore.cpp: the glob matcher remembered failed positions but still looped over every end position of a star for
// every start, so "*a*a*a...b" against a long run of 'a's (or "**/**/.../b" against a deep path) took seconds to
// minutes per match, and a pattern of any length allocated pattern x path bits. A .dvtignore comes with any version
// pulled, and every scanned path is matched against every pattern.
TEST_CASE("glob_match stays polynomial on patterns built to backtrack, and agrees with plain backtracking",
          "[ignore][glob][fuzz]") {
    std::string stars, many_dirs, deep;
    for (int i = 0; i < 2000; ++i) stars += "*a";
    for (int i = 0; i < 1300; ++i) many_dirs += "**/";
    for (int i = 0; i < 2000; ++i) deep += "a/";
    const std::string as(4000, 'a');
    CHECK_FALSE(util::glob_match(stars + "b", as));  // minutes before the fix
    CHECK(util::glob_match(stars, as));
    CHECK_FALSE(util::glob_match(many_dirs + "b", deep + "a"));
    CHECK(util::glob_match(many_dirs + "a", deep + "a"));

    // The memo must not change any answer: small random patterns and texts over the characters that matter.
    std::mt19937 rng(15);
    const char pat_chars[] = {'a', 'b', '/', '*', '*', '?'};
    const char text_chars[] = {'a', 'b', '/'};
    for (int n = 0; n < 20000; ++n) {
        std::string pat, text;
        for (int i = 0, len = int(rng() % 9); i < len; ++i) pat += pat_chars[rng() % sizeof pat_chars];
        for (int i = 0, len = int(rng() % 9); i < len; ++i) text += text_chars[rng() % sizeof text_chars];
        INFO("pattern '" << pat << "' text '" << text << "'");
        REQUIRE(util::glob_match(pat, text) == reference_glob(pat, 0, text, 0));
    }
}

TEST_CASE("a .dvtignore pattern longer than 4096 bytes is skipped, one of 4096 is used", "[ignore][fuzz]") {
    const std::string longest(util::IgnoreRules::kMaxPatternLength - 1, '*');
    util::IgnoreRules rules;
    rules.add_file("", longest + "x\n" + longest + "*y\n");
    CHECK(rules.is_ignored("file.x", false));
    CHECK_FALSE(rules.is_ignored("file.y", false));
}

// fuzz/ignore.cpp: is_ignored matches every parent directory of a path again, so the work-tree scan paid path depth x
// patterns x pattern length x path length for each path: with a 4 KB "**/**/.../b" pattern and a 2000-deep directory,
// minutes per path. The scan walks top-down and never enters an ignored directory, so it asks is_ignored_in_walk.
TEST_CASE("is_ignored_in_walk gives is_ignored's answer wherever a top-down walk goes", "[ignore][fuzz]") {
    util::IgnoreRules rules;
    rules.add_file("", "build/\n!build/keep\n*.tmp\n/top/**/x\n**/cache/\n!*.keep.tmp\n");
    rules.add_file("src", "gen*/\n!gen-keep/\nz\n");
    const std::vector<std::string> names = {"build", "keep", "a.tmp", "b.keep.tmp", "top", "x", "cache", "src",
                                            "gen1", "gen-keep", "z", "y"};
    // Every path up to depth 4 over those names, walked as the scan walks: not below an ignored directory.
    std::vector<std::string> level = {""};
    int compared = 0;
    for (int depth = 0; depth < 4; ++depth) {
        std::vector<std::string> next;
        for (const auto& dir : level)
            for (const auto& n : names) {
                std::string path = dir.empty() ? n : dir + "/" + n;
                for (bool is_dir : {false, true}) {
                    INFO(path << (is_dir ? "/" : ""));
                    CHECK(rules.is_ignored_in_walk(path, is_dir) == rules.is_ignored(path, is_dir));
                    ++compared;
                }
                if (!rules.is_ignored_in_walk(path, true)) next.push_back(path);
            }
        level = std::move(next);
    }
    CHECK(compared > 1000);
    CHECK(rules.is_ignored("build/keep/x.c", false));  // below an ignored directory: the walk never gets there
    CHECK_FALSE(rules.is_ignored_in_walk("build/keep/x.c", false));

    std::string deep, many_dirs;
    for (int i = 0; i < 2000; ++i) deep += "a/";
    for (int i = 0; i < 1300; ++i) many_dirs += "**/";
    util::IgnoreRules hostile;
    hostile.add_file("", many_dirs + "b\n");
    CHECK_FALSE(hostile.is_ignored_in_walk(deep + "a", false));
    CHECK(hostile.is_ignored_in_walk(deep + "b", false));
}
