// Reachability settings (transport/reach.hpp): uTP beside TCP, port mapping only where it cannot multicast from a
// machine's loopback, and the config keys that choose them.
#include <catch2/catch.hpp>

#include "core/config.hpp"
#include "transport/reach.hpp"
#include "transport/session.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

using namespace dvt;
using dvt::test::kind_of;

namespace {
transport::Endpoint ep(const char* text) { return transport::parse_endpoint(text, "address", true); }
}  // namespace

TEST_CASE("port mapping is never allowed on loopback, link-local or unspecified addresses", "[reach]") {
    for (const char* a : {"127.0.0.1", "127.0.0.2", "169.254.3.4", "0.0.0.0", "::1", "fe80::1", "::"})
        CHECK_FALSE(transport::port_mapping_allowed(lt::make_address(a)));
    for (const char* a : {"192.168.1.2", "10.0.0.5", "11.0.0.101", "2001:db8::1"})
        CHECK(transport::port_mapping_allowed(lt::make_address(a)));
}

TEST_CASE("a session on loopback never maps ports or opens outgoing uTP, whatever is asked", "[reach]") {
    lt::settings_pack p;
    transport::reach_settings(p, ep("127.0.0.2:7000"), true, true);
    CHECK_FALSE(p.get_bool(lt::settings_pack::enable_upnp));
    CHECK_FALSE(p.get_bool(lt::settings_pack::enable_natpmp));
    CHECK_FALSE(p.get_bool(lt::settings_pack::enable_outgoing_utp));
    CHECK(p.get_bool(lt::settings_pack::enable_incoming_utp));

    // the defaults every session starts with (SwarmSession::settings): no port mapping anywhere
    auto s = transport::SwarmSession::settings(ep("192.168.1.2:7000"));
    CHECK_FALSE(s.get_bool(lt::settings_pack::enable_upnp));
    CHECK_FALSE(s.get_bool(lt::settings_pack::enable_natpmp));
    CHECK(s.get_bool(lt::settings_pack::enable_outgoing_utp));
    CHECK(s.get_bool(lt::settings_pack::enable_incoming_utp));
    CHECK(s.get_bool(lt::settings_pack::enable_outgoing_tcp));
}

TEST_CASE("on a LAN address port mapping follows the request and uTP can be turned off", "[reach]") {
    lt::settings_pack p;
    transport::reach_settings(p, ep("192.168.1.2:7000"), true, true);
    CHECK(p.get_bool(lt::settings_pack::enable_upnp));
    CHECK(p.get_bool(lt::settings_pack::enable_natpmp));
    CHECK(p.get_bool(lt::settings_pack::enable_outgoing_utp));
    lt::settings_pack q;
    transport::reach_settings(q, ep("192.168.1.2:7000"), false, false);
    CHECK_FALSE(q.get_bool(lt::settings_pack::enable_upnp));
    CHECK_FALSE(q.get_bool(lt::settings_pack::enable_outgoing_utp));
    CHECK_FALSE(q.get_bool(lt::settings_pack::enable_incoming_utp));
}

TEST_CASE("net.utp and net.port-mapping: defaults, the flag, auto, and bad values", "[reach]") {
    using transport::PortMapping;
    core::Config c;
    auto n = transport::net_options(&c, false);
    CHECK(n.utp);
    CHECK(n.port_mapping == PortMapping::automatic);
    auto lan = lt::make_address("192.168.1.2"), lo = lt::make_address("127.0.0.2");
    CHECK_FALSE(transport::wants_port_mapping(n, lan, false));  // auto, but the user chose the address
    CHECK(transport::wants_port_mapping(n, lan, true));         // auto: dvt chose it and uses the DHT or LSD
    CHECK_FALSE(transport::wants_port_mapping(n, lo, true));    // never on loopback
    CHECK(transport::net_options(&c, true).port_mapping == PortMapping::on);
    c.set("net.port-mapping", "false");
    CHECK(transport::net_options(&c, false).port_mapping == PortMapping::off);
    CHECK_FALSE(transport::wants_port_mapping(transport::net_options(&c, false), lan, true));
    CHECK(transport::net_options(&c, true).port_mapping == PortMapping::on);  // the flag wins
    c.set("net.port-mapping", "true");
    CHECK(transport::wants_port_mapping(transport::net_options(&c, false), lan, false));
    CHECK_FALSE(transport::wants_port_mapping(transport::net_options(&c, false), lo, false));
    c.set("net.utp", "false");
    CHECK_FALSE(transport::net_options(&c, false).utp);
    c.set("net.utp", "maybe");
    CHECK(kind_of([&] { transport::net_options(&c, false); }) == ErrorKind::usage);
    c.set("net.utp", "true");
    c.set("net.port-mapping", "sometimes");
    CHECK(kind_of([&] { transport::net_options(&c, false); }) == ErrorKind::usage);
    CHECK(transport::net_options(nullptr, false).port_mapping == PortMapping::automatic);
}

TEST_CASE("path totals add bytes by transport, mirror, hole punch and direction", "[reach]") {
    std::vector<transport::PathBytes> p = {{"11.0.0.1:7000", "tcp", "named", false, 100},
                                           {"11.0.0.2:7000", "utp", "pex", true, 30},
                                           {"11.0.0.3:7000", "utp", "incoming", false, 5},
                                           {"http://11.0.0.4:80", "http", "mirror", false, 7}};
    auto t = transport::path_totals(p);
    CHECK(t.tcp == 100);
    CHECK(t.utp == 35);
    CHECK(t.mirror == 7);
    CHECK(t.holepunched == 30);
    CHECK(t.incoming == 5);
}

TEST_CASE("the request queue holds at least 30 round trips, between 1 and 3 s", "[reach]") {
    CHECK(transport::request_queue_seconds(0) == 1);  // no round trip measured yet (or only incoming connections)
    CHECK(transport::request_queue_seconds(1) == 1);  // LAN
    CHECK(transport::request_queue_seconds(33) == 1);
    CHECK(transport::request_queue_seconds(34) == 2);
    CHECK(transport::request_queue_seconds(50) == 2);
    CHECK(transport::request_queue_seconds(66) == 2);
    CHECK(transport::request_queue_seconds(67) == 3);
    CHECK(transport::request_queue_seconds(100) == 3);
    CHECK(transport::request_queue_seconds(2000) == 3);
    CHECK(transport::request_queue_seconds(-5) == 1);
    // every session starts at 1 s (SwarmSession::settings); poll() raises it once a distant peer delivered
    auto s = transport::SwarmSession::settings(ep("192.168.1.2:7000"));
    CHECK(s.get_int(lt::settings_pack::request_queue_time) == 1);
}
