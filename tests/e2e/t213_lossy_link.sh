#!/usr/bin/env bash
# A pull over a slow, lossy, distant link (tests/net/netbed.sh): the puller's router adds 25 ms each way (50 ms round
# trip), drops 1 % of the packets in each direction and caps the link at 5 MB/s both ways. A seeder on the public
# segment serves a 4 MiB version:
#  * a clone over uTP (the default for non-loopback addresses) arrives byte for byte (tree digest), its JSON naming
#    uTP as the path;
#  * a pull with config net.utp = false arrives byte for byte over TCP;
#  * the forwarder really dropped packets (its counters), so both transports recovered from loss;
#  * socket buffers (docs/transport.md, "Socket buffers"): the seeder's UDP socket (uTP) has the session's fixed
#    1 MiB receive buffer (the kernel doubles it), while the puller's TCP connections keep the kernel's receive
#    autotuning (a fixed SO_RCVBUF would show as exactly twice the value asked for, whatever the connection needs);
#  * the request queue follows the round trip (docs/transport.md, "Socket buffers"): both pulls measured the 50 ms
#    round trip (more when a SYN was lost) and queued 2 s of requests or more, by request_queue_seconds' rule.
# Times are printed for information; the assertions are about bytes, not speed (bench/wan.sh measures speed).
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require

nb_public
nb_host seed 11.0.0.10
nb_home b 2 --delay-ms 25 --loss 0.01 --up 5M --down 5M

nb_source_repo "$T/a" $((4 << 20)) net213
nb_serve seed "$T/a" "$T/serve.json" 11.0.0.10:7000
# SO_RCVBUF 1 MiB on the UDP socket: the kernel caps it at rmem_max and doubles it.
want_udp=$((2 * $(( $(cat /proc/sys/net/core/rmem_max) < 1048576 ? $(cat /proc/sys/net/core/rmem_max) : 1048576 ))))
nb seed ss -uamn 'sport = :7000' >"$T/udp.ss"
assert_grep "rb$want_udp," "$T/udp.ss" "the seeder's UDP socket does not have the 1 MiB receive buffer"

expect_exit 0 nb b "$DVT" --json clone "$ID" "$T/b1" --peer 11.0.0.10:7000 --timeout 180
cp "$OUT" "$T/utp.json"
assert_same_tree "$T/want.digest" "$T/b1" "clone over uTP through the lossy link"
assert_json 'j["sources"]["utp"] == j["bytes_downloaded"] > 0' "$T/utp.json"
# 30 round trips of requests, between 1 and 3 s (transport/reach.cpp, request_queue_seconds)
queue_rule='(j["sources"]["round_trip_ms"] >= 45 and j["sources"]["request_queue_seconds"] >= 2 and
    j["sources"]["request_queue_seconds"] == min(3, (j["sources"]["round_trip_ms"] * 30 + 999) // 1000))'
assert_json "$queue_rule" "$T/utp.json"
echo "  uTP: $(json_get 'j["bytes_downloaded"]' "$T/utp.json") B in $(json_get 'j["seconds"]' "$T/utp.json") s" >&2

expect_exit 0 nb b "$DVT" init "$T/b2"
expect_exit 0 "$DVT" -C "$T/b2" config net.utp false
nb_bg b "$DVT" -C "$T/b2" --json pull "$ID" --peer 11.0.0.10:7000 --timeout 180 >"$T/tcp.json" 2>"$T/tcp.err"
pull=$BG_PID
# The puller's TCP connections to the seeder while it pulls: their receive buffers (ss -m "rb").
: >"$T/tcp-rb.txt"
while kill -0 "$pull" 2>/dev/null; do
    nb b ss -tmn state established dst 11.0.0.10 2>/dev/null | grep -o 'rb[0-9]*' >>"$T/tcp-rb.txt" || true
    sleep 0.1
done
wait_bg "$pull"
[ "$BG_STATUS" = 0 ] || { cat "$T/tcp.err" >&2; fail "pull over TCP exited $BG_STATUS"; }
[ -s "$T/tcp-rb.txt" ] || fail "no TCP connection to the seeder was seen while pulling"
# autotuning: never the fixed 2 x 1 MiB of a set SO_RCVBUF
assert_no_grep "^rb2097152$" "$T/tcp-rb.txt" "a TCP connection had a fixed 1 MiB receive buffer (no autotuning)"
echo "  TCP receive buffers seen: $(sort -u "$T/tcp-rb.txt" | tr -d rb | sort -n | tr '\n' ' ')" >&2
assert_json 'j["sources"]["tcp"] == j["bytes_downloaded"] > 0' "$T/tcp.json"
assert_json "$queue_rule" "$T/tcp.json"
echo "  round trips: uTP $(json_get 'j["sources"]["round_trip_ms"]' "$T/utp.json") ms," \
    "TCP $(json_get 'j["sources"]["round_trip_ms"]' "$T/tcp.json") ms" >&2
expect_exit 0 "$DVT" -C "$T/b2" checkout "$ID"
assert_same_tree "$T/want.digest" "$T/b2" "pull over TCP through the lossy link"
echo "  TCP: $(json_get 'j["bytes_downloaded"]' "$T/tcp.json") B in $(json_get 'j["seconds"]' "$T/tcp.json") s" >&2

kill -TERM "${NB_DELAY_PID[b]}"
wait_bg "${NB_DELAY_PID[b]}"
cat "$T/netbed/b-gw/netdelay.log" >&2
"${PY_FAST[@]}" -c 'import re, sys
n, d = map(int, re.search(r"in (\d+), dropped (\d+)", open(sys.argv[1]).read()).groups())
sys.exit(0 if n > 2000 and d > 0.005 * n else 1)' "$T/netbed/b-gw/netdelay.log" ||
    fail "the forwarder did not drop packets as configured"
ok
