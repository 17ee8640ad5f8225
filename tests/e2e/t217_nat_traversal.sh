#!/usr/bin/env bash
# Two pullers behind NAT routers without UPnP (tests/net/netbed.sh, routers with a home-router firewall: --firewall)
# fetch one version from a public seeder whose upload is capped, the second starting 3 s after the first. Neither
# can be reached from outside, yet they trade pieces directly:
#  * each learns the other from the seeder's PEX (ut_pex), which lists a peer that connected to it only if that peer
#    named its listen port ("p") in its extension handshake: libtorrent 2.0.8 leaves "p" out behind a NAT once a peer
#    told it its external address, and dvt puts it back (transport/reach.cpp; docs/transport.md, "BEP 55 hole
#    punching");
#  * both then open a uTP connection to the other at the same moment (simultaneous open): each router's outgoing
#    packet keeps its source port and lets the other's in; the JSON of the pulls shows payload from the other
#    puller's public address (found by PEX, over uTP);
#  * both get the version byte for byte.
# Every namespace and process is stopped by PID at exit.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require

nb_public
nb_host c 11.0.0.10
nb_home a 1 --firewall
nb_home b 2 --firewall

nb_source_repo "$T/s" $((8 << 20)) t217
# The seeder's upload is capped (1 MB/s for both pullers) so that the pulls overlap and each has pieces the other lacks.
nb_serve c "$T/s" "$T/serve.json" 11.0.0.10:7000 --upload-limit 1M

expect_exit 0 "$DVT" init "$T/a"
expect_exit 0 "$DVT" init "$T/b"
nb_bg b "$DVT" -C "$T/b" --json pull "$ID" --peer 11.0.0.10:7000 --listen 192.168.2.2:7000 --timeout 90 \
    >"$T/b.json" 2>"$T/b.err"
pb=$BG_PID
sleep 3
nb_bg a "$DVT" -C "$T/a" --json pull "$ID" --peer 11.0.0.10:7000 --listen 192.168.1.2:7000 --timeout 90 \
    >"$T/a.json" 2>"$T/a.err"
pa=$BG_PID
wait_bg "$pa"
[ "$BG_STATUS" = 0 ] || { cat "$T/a.err" >&2; fail "pull behind a exited $BG_STATUS"; }
wait_bg "$pb"
[ "$BG_STATUS" = 0 ] || { cat "$T/b.err" >&2; fail "pull behind b exited $BG_STATUS"; }
for p in a b; do
    expect_exit 0 "$DVT" -C "$T/$p" checkout "$ID"
    assert_same_tree "$T/want.digest" "$T/$p" "pull behind $p"
done

# payload between the pullers, by their routers' public addresses
direct() { # JSON FILE, OTHER PUBLIC ADDRESS -> bytes from it (found by PEX, over uTP)
    "${PY_FAST[@]}" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(sum(p["bytes"] for p in j["sources"]["peers"] if p["peer"] == sys.argv[2] and p["found"] == "pex" and p["via"] == "utp"))' "$1" "$2"
}
a_from_b=$(direct "$T/a.json" 11.0.0.102:7000)
b_from_a=$(direct "$T/b.json" 11.0.0.101:7000)
echo "  a from b: $a_from_b B, b from a: $b_from_a B (direct, through both NATs); holepunched:" \
    "$(json_get 'j["sources"]["holepunched"]' "$T/a.json")/$(json_get 'j["sources"]["holepunched"]' "$T/b.json")" >&2
[ $((a_from_b + b_from_a)) -gt 0 ] || fail "the pullers behind NATs exchanged no payload directly"
ok
