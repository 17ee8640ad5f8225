#!/usr/bin/env bash
# A BEP 55 hole punch (docs/transport.md, "BEP 55 hole punching"), in the network testbed (tests/net/netbed.sh):
# pullers A and B behind NAT routers without UPnP whose firewall refuses unsolicited packets (nb_home --reject: TCP
# reset, ICMP port unreachable, as OpenWrt's default WAN zone does), a public seeder C with a capped upload, and a
# public puller D. B starts first, D 2 s later, A 7 s after D:
#  * C's PEX names B to A in its first message to A, but names A to B only in its next message on that connection,
#    60 s after the first (sent when D arrived); D's first messages went out before A arrived too (libtorrent spaces
#    a session's PEX messages 3 s apart), so D does not name A to B either: A tries B alone;
#  * A's direct attempts fail (uTP: answered only by ICMP port unreachable, given up after ~3.7 s; TCP: reset), so
#    libtorrent asks C, which is connected to both over uTP, to introduce them (ut_holepunch rendezvous); C tells
#    each to connect to the other, and both routers then let the other's uTP packets in (each sent one out to the
#    same address and port);
#  * the capture on B's router (tcpdump, WAN side) shows the order: A's TCP attempt reset, and only after it the first
#    packet B ever sent to A (uTP from its listen port): B could have learned A's address only from the rendezvous;
#  * payload went between A and B directly (found by PEX, over uTP), and every puller gets the version byte for byte.
# libtorrent flags the connection each side opened on the introducer's word (holepunched); both open one at the same
# moment and keep one, so the flag shows on A's side, on B's, or (when both dropped theirs as duplicates and connected
# again through the mappings now open) on neither: printed, not asserted. If B learned A before A tried (the order
# above does not hold), the scenario runs again, once, with new routers and hosts.
# Every namespace and process is stopped by PID at exit.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require
command -v tcpdump >/dev/null || fail "tcpdump is required by this test (scripts/setup.sh installs it)"

nb_public
nb_host c 11.0.0.10
nb_source_repo "$T/s" $((16 << 20)) t218
# C's upload is capped (1 MB/s for all pullers) so that B still lacks pieces, and A wants B's, when A arrives.
nb_serve c "$T/s" "$T/serve.json" 11.0.0.10:7000 --upload-limit 1M

pull_bg() { # NAME LISTEN: a pull of $ID from C in NAME's namespace, in the background (sets BG_PID)
    expect_exit 0 "$DVT" init "$T/$1"
    nb_bg "$1" "$DVT" -C "$T/$1" --json pull "$ID" --peer 11.0.0.10:7000 --listen "$2" --timeout 120 \
        >"$T/$1.json" 2>"$T/$1.err"
}
from_peer() { # JSON FILE, OTHER PUBLIC ADDRESS, 0|1 (only hole-punched) -> bytes from it over uTP (found by PEX)
    "${PY_FAST[@]}" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(sum(p["bytes"] for p in j["sources"]["peers"] if p["peer"] == sys.argv[2] and p["via"] == "utp"
          and p["found"] == "pex" and (p["holepunched"] or sys.argv[3] == "0")))' "$1" "$2" "$3"
}
# round R (1 or 2): homes a$R and b$R behind routers 11.0.0.(100+N), public puller d$R at 11.0.0.(19+R)
round() {
    local r=$1 a=a$1 b=b$1 d=d$1 na=$((2 * $1 - 1)) nb=$((2 * $1)) p pid
    nb_host "$d" "11.0.0.$((19 + r))"
    nb_home "$a" "$na" --reject
    nb_home "$b" "$nb" --reject
    nb_bg "$b-gw" tcpdump -U -n -i wan -w "$T/$b-gw.pcap" "host ${NB_WAN[$a]}" 2>"$T/$b-gw.tcpdump.err"
    local cap=$BG_PID
    sleep 0.5
    pull_bg "$b" "192.168.$nb.2:7000"
    local pb=$BG_PID
    sleep 2
    pull_bg "$d" "11.0.0.$((19 + r)):7000"
    local pd=$BG_PID
    sleep 7
    pull_bg "$a" "192.168.$na.2:7000"
    local pa=$BG_PID
    for p in "$a:$pa" "$b:$pb" "$d:$pd"; do
        wait_bg "${p#*:}"
        [ "$BG_STATUS" = 0 ] || { cat "$T/${p%:*}.err" >&2; fail "pull by ${p%:*} exited $BG_STATUS"; }
    done
    for p in "$a" "$b" "$d"; do
        expect_exit 0 "$DVT" -C "$T/$p" checkout "$ID"
        assert_same_tree "$T/want.digest" "$T/$p" "pull by $p"
    done
    kill -TERM "$cap"
    wait_bg "$cap"
    local direct flagged
    direct=$(($(from_peer "$T/$a.json" "${NB_WAN[$b]}:7000" 0) + $(from_peer "$T/$b.json" "${NB_WAN[$a]}:7000" 0)))
    flagged="$(from_peer "$T/$a.json" "${NB_WAN[$b]}:7000" 1)/$(from_peer "$T/$b.json" "${NB_WAN[$a]}:7000" 1)"
    # the order on B's router: A's TCP SYN answered by a reset, then B's first packet of its own to A (UDP from :7000)
    order=$(tcpdump -n -tt -r "$T/$b-gw.pcap" 2>/dev/null | "${PY_FAST[@]}" -c 'import sys
A, B = sys.argv[1], sys.argv[2]
reset = first_b = None
for line in sys.stdin:
    f = line.split()
    if len(f) < 5 or f[1] != "IP": continue
    t, src, dst = float(f[0]), f[2], f[4].rstrip(":")
    if reset is None and src == B + ".7000" and dst.startswith(A + ".") and "Flags [R" in line: reset = t
    if first_b is None and src == B + ".7000" and dst == A + ".7000" and "Flags" not in line: first_b = t
print("reset=%s first_b=%s ok=%d" % (reset, first_b, reset is not None and first_b is not None and first_b > reset))' \
        "${NB_WAN[$a]}" "${NB_WAN[$b]}")
    echo "  round $r: $order; A-B payload $direct B, of it hole-punched (flagged by A/B) $flagged B" >&2
    [ "$direct" -gt 0 ] && [ "${order##*ok=}" = 1 ]
}
if ! round 1; then
    echo "  round 1 did not show a rendezvous (B reached A before A's attempts failed): once more" >&2
    round 2 || fail "no rendezvous punch: B spoke to A before A's direct attempts failed, or A and B exchanged nothing"
fi
ok
