#!/usr/bin/env bash
# A pull between two peers behind NAT routers (tests/net/netbed.sh), the seeder's router running miniupnpd:
#  * `dvt serve --port-map` on 192.168.1.2 behind router a-gw asks for a port mapping (UPnP / NAT-PMP) and reports it;
#    the router then holds a DNAT rule for the port;
#  * a clone behind another NAT (b, no UPnP) reaches the seeder at the router's public address 11.0.0.101:7000 and
#    gets the version byte for byte; its JSON says the bytes came from that peer, over uTP (outgoing uTP is on for
#    non-loopback addresses), found as a named peer; with config net.utp = false a pull comes over TCP;
#  * the same server behind a router without UPnP (c) cannot be reached: the clone fails with no_peers (10) and
#    leaves nothing behind.
# Every namespace and process is stopped by PID at exit.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require

nb_public
nb_home a 1 --upnp
nb_home b 2
nb_home c 3

# The version: a small tree and 6 MiB of random bytes.
nb_source_repo "$T/a" $((6 << 20)) net211
cp -a "$T/a" "$T/c"

# --- a: the mapped server
# (text mode: the mapping's result is an info line on stderr, which --json leaves out)
nb_bg a "$DVT" -C "$T/a" serve --listen 192.168.1.2:7000 --port-map >"$T/serve-a.out" 2>"$T/serve-a.err"
nb_wait_grep 10 "serving 1 commits and [0-9]+ packs on 192\.168\.1\.2:7000" "$T/serve-a.out"
assert_grep "asking the router to map port 7000" "$T/serve-a.err"
nb_wait_grep 20 "port 7000 mapped to external port 7000 by (NAT-PMP|UPnP) \(tcp\)" "$T/serve-a.err"
for _ in $(seq 1 50); do nb_upnp_maps a-gw | grep -q "192.168.1.2:7000" && break; sleep 0.1; done
nb_upnp_maps a-gw >"$T/maps.txt"
assert_grep "dport 7000 .*dnat.*192\.168\.1\.2:7000" "$T/maps.txt" "a-gw holds no port map for 192.168.1.2:7000"

expect_exit 0 nb b "$DVT" --json clone "$ID" "$T/b1" --peer 11.0.0.101:7000 --timeout 60
cp "$OUT" "$T/clone-b1.json"
assert_same_tree "$T/want.digest" "$T/b1" "clone through the mapped port"
assert_json 'len(j["sources"]["peers"]) == 1 and j["sources"]["peers"][0]["peer"] == "11.0.0.101:7000"' "$T/clone-b1.json"
assert_json 'j["sources"]["peers"][0]["via"] == "utp" and j["sources"]["peers"][0]["found"] == "named"' "$T/clone-b1.json"
assert_json 'j["sources"]["utp"] == j["bytes_downloaded"] and j["sources"]["tcp"] == 0 and j["sources"]["mirror"] == 0' \
    "$T/clone-b1.json"

# config net.utp = false: TCP only.
expect_exit 0 nb b "$DVT" init "$T/b2"
expect_exit 0 "$DVT" -C "$T/b2" config net.utp false
expect_exit 0 nb b "$DVT" -C "$T/b2" --json pull "$ID" --peer 11.0.0.101:7000 --timeout 60
cp "$OUT" "$T/pull-b2.json"
assert_json 'j["sources"]["tcp"] == j["bytes_downloaded"] > 0 and j["sources"]["utp"] == 0' "$T/pull-b2.json"
# no delay in this testbed: a round trip of a millisecond or two (counted as at least 1), so the queue stays at 1 s
assert_json '0 < j["sources"]["round_trip_ms"] < 30 and j["sources"]["request_queue_seconds"] == 1' "$T/pull-b2.json"
expect_exit 0 "$DVT" -C "$T/b2" checkout "$ID"
assert_same_tree "$T/want.digest" "$T/b2" "pull over TCP"

# --- c: the same server behind a router without UPnP is out of reach.
nb_serve c "$T/c" "$T/serve-c.json" 192.168.3.2:7000 --port-map
expect_exit 10 nb b "$DVT" clone "$ID" "$T/b3" --peer 11.0.0.103:7000 --timeout 5

ok
