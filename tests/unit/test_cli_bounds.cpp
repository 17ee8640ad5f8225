// What the CLI and the config accept (#15 item 8): numbers and durations parsed strictly with bounds (no wrap-around,
// no "inf"), config keys and values that read back as written, and names and text from a repository shown so that
// they cannot reprogram the terminal (quote_name like git's quoting, escape_text for messages and authors).
#include <catch2/catch.hpp>

#include <sstream>

#include "cmd/cli.hpp"
#include "core/config.hpp"
#include "core_fixture.hpp"
#include "util/error.hpp"

using namespace dvt;
using dvt::test::kind_of;

namespace {

// dvt's exit status for `args` (run in-process), with stderr in `err`.
int run_dvt(std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.begin(), "dvt");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream o, e;
    int rc = cmd::run(static_cast<int>(argv.size()), argv.data(), o, e);
    if (err) *err = e.str();
    return rc;
}

}  // namespace

TEST_CASE("parse_count takes decimal digits within bounds only", "[cli]") {
    CHECK(cmd::parse_count("0", "n", 0, 10) == 0);
    CHECK(cmd::parse_count("4294967296", "--pack-size", 1 << 20, 4ull << 30) == 4ull << 30);
    CHECK(cmd::parse_count("18446744073709551615", "n", 0, UINT64_MAX) == UINT64_MAX);
    for (const char* bad : {"18446744073709551616", "99999999999999999999", "-1", "+5", " 5", "5 ", "1e3", "0x10", "",
                            "inf", "nan", "4294967297"}) {
        INFO(bad);
        CHECK(kind_of([&] { cmd::parse_count(bad, "--pack-size", 1 << 20, 4ull << 30); }) == ErrorKind::usage);
    }
    CHECK(kind_of([&] { cmd::parse_count("1048575", "--pack-size", 1 << 20, 4ull << 30); }) == ErrorKind::usage);
}

TEST_CASE("durations are finite, non-negative and bounded; the error names the option", "[cli]") {
    CHECK(cmd::parse_seconds("60", "x", 0, 604800) == 60);
    CHECK(cmd::parse_seconds("0.5", "x", 0, 604800) == 0.5);
    CHECK(cmd::parse_seconds("0", "x", 0, 604800) == 0);
    CHECK(cmd::parse_seconds("604800", "x", 0, 604800) == 604800);
    for (const char* bad : {"inf", "nan", "-5", "abc", "1e308", "1e3", "604801", "", ".", "0x10", " 1", "-0",
                            "99999999999999999999999999999999999"}) {
        INFO(bad);
        CHECK(kind_of([&] { cmd::parse_seconds(bad, "DVT_LOCK_TIMEOUT", 0, 604800); }) == ErrorKind::usage);
    }
    try {
        cmd::parse_seconds("abc", "DVT_LOCK_TIMEOUT", 0, 604800);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("DVT_LOCK_TIMEOUT") != std::string::npos);
    }
    CHECK(cmd::checked_seconds(1.5, "--timeout", 0.001, 1e7).count() == 1500);
    for (double bad : {std::numeric_limits<double>::infinity(), std::nan(""), -1.0, 0.0, 1e308, 1e7 + 1})
        CHECK(kind_of([&] { cmd::checked_seconds(bad, "--timeout", 0.001, 1e7); }) == ErrorKind::usage);
}

TEST_CASE("--lock-timeout and DVT_LOCK_TIMEOUT out of range are usage errors before anything runs", "[cli]") {
    test::TempDir t("cli-lock");
    std::string err;
    for (const char* bad : {"inf", "1e308", "-1", "nan", "abc", "604801"}) {
        INFO(bad);
        CHECK(run_dvt({"-C", t.path.string(), "--lock-timeout", bad, "status"}, &err) == 2);
        CHECK(err.find("--lock-timeout") != std::string::npos);
    }
    for (const char* bad : {"abc", "-5", "nan", "inf", "1e308"}) {
        INFO(bad);
        test::ScopedEnv env("DVT_LOCK_TIMEOUT", bad);
        CHECK(run_dvt({"-C", t.path.string(), "status"}, &err) == 2);
        CHECK(err.find("DVT_LOCK_TIMEOUT") != std::string::npos);
    }
    {
        test::ScopedEnv env("DVT_LOCK_TIMEOUT", "5");  // valid: the next error is that there is no repository
        CHECK(run_dvt({"-C", t.path.string(), "status"}) == 3);
    }
    CHECK(run_dvt({"-C", t.path.string(), "--lock-timeout", "604800", "status"}) == 3);
}

TEST_CASE("init refuses pack and chunk sizes that used to wrap around", "[cli]") {
    test::TempDir t("cli-init");
    for (std::vector<std::string> extra : {std::vector<std::string>{"--pack-size", "18446744073709551616"},
                                           {"--pack-size", "5368709120"},
                                           {"--pack-size", "-1"},
                                           {"--pack-size", "1048575"},
                                           {"--chunk-avg", "4294983680"},
                                           {"--chunk-avg", "-16384"},
                                           {"--chunk-max", "99999999999999999999"}}) {
        std::vector<std::string> args = {"init", "-q", (t.path / "r").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        INFO(extra[0] << " " << extra[1]);
        CHECK(run_dvt(args) == 2);
        CHECK_FALSE(std::filesystem::exists(t.path / "r" / ".dvt" / "config"));
    }
    CHECK(run_dvt({"init", "-q", (t.path / "r").string(), "--pack-size", "4294967296"}) == 0);
    CHECK(core::Config::load(t.path / "r" / ".dvt" / "config").get_int("pack.size", 0) == 4294967296);
}

TEST_CASE("config: keys and values that would not read back, and numbers out of range, are refused", "[cli][config]") {
    core::Config c;
    for (const char* bad : {"a.b=c", "nodot", ".a", "a.", "a b.c", "[x].y", "a.b..c", "a.b.", "sec\xc3\xa9.x", "a.#b",
                            "a.b c", "a.b\tc"}) {
        INFO(bad);
        CHECK(kind_of([&] { c.set(bad, "v"); }) == ErrorKind::usage);
    }
    for (const char* bad : {"two\nlines", "cr\r", " lead", "trail ", "\ttab", "esc\x1b[2J", "del\x7f"}) {
        INFO(bad);
        CHECK(kind_of([&] { c.set("user.name", bad); }) == ErrorKind::usage);
    }
    for (const char* bad : {"99999999999999999999", "1024", "4294967297", "-1", "1e9", "0x100000", " 2097152", "abc"}) {
        INFO(bad);
        CHECK(kind_of([&] { c.set("pack.size", bad); }) == ErrorKind::usage);
    }
    CHECK(kind_of([&] { c.set("compression.level", "20"); }) == ErrorKind::usage);
    CHECK(c.values().empty());  // nothing of the above was kept

    c.set("user.name", "Ada Lovelace");
    c.set("user.email", "ada@example.org");
    c.set("remote.my_remote-2.peers", "127.0.0.1:7001 [::1]:7002");
    c.set("pack.size", "2097152");
    c.set("compression.level", "0");
    c.set("x.y", "a = b\twith = signs");
    auto back = core::Config::parse(c.serialize());
    CHECK(back.values() == c.values());
    CHECK(back.get_int("pack.size", 0) == 2097152);

    // read: a hand-edited value out of range is a usage error naming the key, not a wrapped number
    auto edited = core::Config::parse("[pack]\n\tsize = 99999999999999999999\n[compression]\n\tlevel = 99\n");
    CHECK(kind_of([&] { edited.get_int("pack.size", 0); }) == ErrorKind::usage);
    CHECK(kind_of([&] { edited.get_int("compression.level", 0); }) == ErrorKind::usage);
}

TEST_CASE("quote_name quotes names with control characters like git, leaves plain UTF-8 alone", "[cli]") {
    CHECK(cmd::quote_name("data/train.csv") == "data/train.csv");
    CHECK(cmd::quote_name("with space.txt") == "with space.txt");
    CHECK(cmd::quote_name("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac") == "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
    CHECK(cmd::quote_name("a\nb") == "\"a\\nb\"");
    CHECK(cmd::quote_name("tab\there") == "\"tab\\there\"");
    CHECK(cmd::quote_name("q\"uote") == "\"q\\\"uote\"");
    CHECK(cmd::quote_name("back\\slash") == "\"back\\\\slash\"");
    CHECK(cmd::quote_name("\x1b[31mred") == "\"\\033[31mred\"");
    CHECK(cmd::quote_name("del\x7f") == "\"del\\177\"");
    CHECK(cmd::quote_name("c1\xc2\x9b") == "\"c1\\302\\233\"");  // U+009B (CSI) as git does: octal bytes
    CHECK(cmd::quote_name("bad\xff") == "\"bad\\377\"");         // not UTF-8
    CHECK(cmd::quote_name("cr\r") == "\"cr\\r\"");
}

TEST_CASE("escape_text keeps newlines and tabs of a message, shows every other control", "[cli]") {
    CHECK(cmd::escape_text("plain message\n\nbody\twith tab") == "plain message\n\nbody\twith tab");
    CHECK(cmd::escape_text("\x1b]0;owned\x07 title") == "\\x1b]0;owned\\x07 title");
    CHECK(cmd::escape_text("\x1b[2J\r") == "\\x1b[2J\\x0d");
    CHECK(cmd::escape_text("c1 \xc2\x9b" "31m") == "c1 \\u009b31m");
    CHECK(cmd::escape_text("raw \x9b byte") == "raw \\x9b byte");
    CHECK(cmd::escape_text("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80");
    CHECK(cmd::escape_text("a\nb\tc", false) == "a\\x0ab\\x09c");
    CHECK(cmd::escape_text("del\x7f") == "del\\x7f");
    CHECK(cmd::escape_text("overlong \xc0\xaf") == "overlong \\xc0\\xaf");
    CHECK(cmd::indented_message("subject\n\nbody \x1b[1m\n") == "    subject\n    \n    body \\x1b[1m\n");
}
