// Remotes in the repository config, and the command-line values of the transport: rates, tracker URLs.
#include <catch2/catch.hpp>

#include "core/config.hpp"
#include "transport/lsd.hpp"
#include "transport/remote.hpp"
#include "transport/session.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::kind_of;

TEST_CASE("a remote round-trips through the config file, and can be replaced and removed", "[remote]") {
    core::Config c;
    transport::Remote r;
    r.name = "origin";
    r.peers = {transport::parse_endpoint("127.0.0.2:7001", "peer", false),
               transport::parse_endpoint("[::1]:7002", "peer", false)};
    r.trackers = {"http://127.0.0.1:6969/announce"};
    transport::save_remote(c, r);
    auto text = c.serialize();
    auto back = transport::load_remote(core::Config::parse(text), "origin");
    REQUIRE(back.peers.size() == 2);
    CHECK(transport::endpoint_string(back.peers[0]) == "127.0.0.2:7001");
    CHECK(transport::endpoint_string(back.peers[1]) == "[::1]:7002");
    CHECK(back.trackers == r.trackers);

    r.peers.resize(1);
    r.trackers.clear();
    transport::save_remote(c, r);
    back = transport::load_remote(c, "origin");
    CHECK(back.peers.size() == 1);
    CHECK(back.trackers.empty());
    CHECK(transport::list_remotes(c).size() == 1);

    transport::remove_remote(c, "origin");
    CHECK(kind_of([&] { transport::load_remote(c, "origin"); }) == ErrorKind::not_found);
    CHECK(transport::list_remotes(c).empty());
}

TEST_CASE("remote names and saved values are checked", "[remote]") {
    core::Config c;
    for (const char* bad : {"", ".hidden", "-x", "a b", "a/b", "x=y"})
        CHECK(kind_of([&] { transport::load_remote(c, bad); }) == ErrorKind::usage);
    c.set("remote.broken.peers", "localhost:7000");
    CHECK(kind_of([&] { transport::load_remote(c, "broken"); }) == ErrorKind::corrupt);
}

TEST_CASE("rates accept decimal and binary suffixes and nothing else", "[remote]") {
    CHECK(transport::parse_rate("20M", "r") == 20'000'000);
    CHECK(transport::parse_rate("1.5G", "r") == 1'500'000'000);
    CHECK(transport::parse_rate("500k", "r") == 500'000);
    CHECK(transport::parse_rate("64Ki", "r") == 65'536);
    CHECK(transport::parse_rate("1000", "r") == 1000);
    CHECK(transport::parse_rate("0", "r") == 0);
    for (const char* bad : {"", "M", "20X", "-5M", "fast", "1e30"})
        CHECK(kind_of([&] { transport::parse_rate(bad, "r"); }) == ErrorKind::usage);
}

TEST_CASE("tracker URLs need a scheme and a host", "[remote]") {
    CHECK(transport::check_tracker_url("http://127.0.0.1:6969/announce") == "http://127.0.0.1:6969/announce");
    CHECK(transport::check_tracker_url("udp://tracker.example:1337") == "udp://tracker.example:1337");
    for (const char* bad : {"127.0.0.1:6969", "ftp://x/announce", "http:///announce", "http://a b/announce"})
        CHECK(kind_of([&] { transport::check_tracker_url(bad); }) == ErrorKind::usage);
    CHECK(transport::tracker_address("http://127.0.0.5:6969/announce") == lt::make_address("127.0.0.5"));
    CHECK_FALSE(transport::tracker_address("http://tracker.example/announce"));
}

TEST_CASE("LAN discovery is off unless the flag or config lsd.enabled asks for it", "[remote]") {
    core::Config c;
    CHECK_FALSE(transport::lsd_option(nullptr, false));
    CHECK(transport::lsd_option(nullptr, true));
    CHECK_FALSE(transport::lsd_option(&c, false));
    c.set("lsd.enabled", "true");
    CHECK(transport::lsd_option(&c, false));
    c.set("lsd.enabled", "false");
    CHECK_FALSE(transport::lsd_option(&c, false));
    CHECK(transport::lsd_option(&c, true));  // the flag wins over the config
    c.set("lsd.enabled", "yes");
    CHECK(kind_of([&] { transport::lsd_option(&c, false); }) == ErrorKind::usage);
}
