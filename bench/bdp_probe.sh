#!/usr/bin/env bash
# One puller over a long, fat link (issue #19 item 3, buffers that follow the bandwidth-delay product), in the network
# testbed (tests/net/netbed.sh): a seeder on the public segment (uplink capped at RATE), one puller behind a NAT
# router that adds DELAY_MS each way and caps the link at RATE both ways. Prints one line per run: payload bytes,
# transfer seconds, payload rate, share of the cap, the puller's peak RSS, and the largest socket receive buffer
# (`ss -m` rb) seen on its connections to the seeder while it pulled.
#
#   bench/bdp_probe.sh                    # 64 MiB, 20 MB/s, 50 ms each way (100 ms round trip), TCP, 2 runs
#   RUNS=3 TRANSPORT=utp bench/bdp_probe.sh
#
# Env: DVT=<repo>/build/dvt, SIZE_MIB=64, RATE=20M (bytes/s), DELAY_MS=50, TRANSPORT=tcp|utp, RUNS=2,
#      TIMEOUT=600 (pull --timeout, s).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export DVT=${DVT:-$repo/build/dvt}
SIZE_MIB=${SIZE_MIB:-64}
RATE=${RATE:-20M}
DELAY_MS=${DELAY_MS:-50}
TRANSPORT=${TRANSPORT:-tcp}
RUNS=${RUNS:-2}
TIMEOUT=${TIMEOUT:-600}

if [[ ${1:-} != --one ]]; then
    for r in $(seq 1 "$RUNS"); do
        echo "bdp_probe: run $r: $SIZE_MIB MiB, $RATE, $((2 * ${DELAY_MS%.*})) ms RTT, $TRANSPORT" >&2
        bash "$0" --one || echo "bdp_probe: run $r failed" >&2
    done
    exit 0
fi

NETNS=1
export DVT_TEST_LIB="$repo/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/lib.sh
source "$DVT_TEST_LIB" --one
# shellcheck source=../tests/net/netbed.sh
source "$repo/tests/net/netbed.sh"
nb_require
exec 3>&1 1>&2

nb_public
nb_host seed 11.0.0.10 --up "$RATE"
nb_home p 1 --up "$RATE" --down "$RATE" --delay-ms "$DELAY_MS"

mkdir -p "$T/s/data"
gen_bytes $((SIZE_MIB << 20)) bdp >"$T/s/data/blob.bin"
cd "$T/s"
expect_exit 0 "$DVT" init
ID=$(commit_id bdp)
cd "$T"
[ "$TRANSPORT" = tcp ] && "$DVT" -C "$T/s" config net.utp false
nb_serve seed "$T/s" "$T/serve.json" 11.0.0.10:7000

expect_exit 0 "$DVT" init "$T/p"
[ "$TRANSPORT" = tcp ] && "$DVT" -C "$T/p" config net.utp false
nb_bg p /usr/bin/time -f '%M' -o "$T/rss" "$DVT" -C "$T/p" --json pull "$ID" --peer 11.0.0.10:7000 \
    --timeout "$TIMEOUT" >"$T/pull.json" 2>"$T/pull.err"
pull=$BG_PID
# The puller's socket receive buffers (TCP: rb of its connections to the seeder; the kernel's autotuning grows it).
maxrb=0
while kill -0 "$pull" 2>/dev/null; do
    rb=$(nb p ss -tmn state established dst 11.0.0.10 2>/dev/null | grep -o 'rb[0-9]*' | tr -d rb | sort -n | tail -1 || true)
    [ -n "$rb" ] && [ "$rb" -gt "$maxrb" ] && maxrb=$rb
    if [ -n "${SS_LOG:-}" ]; then
        { echo "--- $(date +%s.%N) puller"; nb p ss -tmin state established dst 11.0.0.10
          echo "--- seeder"; nb seed ss -tmin state established src 11.0.0.10; } >>"$SS_LOG" 2>&1 || true
    fi
    sleep 0.2
done
wait_bg "$pull"
[ "$BG_STATUS" = 0 ] || { cat "$T/pull.err" >&2; fail "pull exited $BG_STATUS"; }
"${PY_FAST[@]}" - "$T/pull.json" "$RATE" "$(cat "$T/rss")" "$maxrb" "$TRANSPORT" >&3 <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = sys.argv[2]
cap = float(r[:-1]) * {"k": 1e3, "M": 1e6, "G": 1e9}[r[-1]] if r[-1] in "kMG" else float(r)
b, s = j["bytes_downloaded"], j["transfer_seconds"]
src = j.get("sources", {})
print("%s: %d B in %.2f s = %.2f MB/s (%.0f %% of cap); peak RSS %.0f MiB; max socket rb %.2f MiB; packs %s; "
      "round trip %s ms, request queue %s s" % (
    sys.argv[5], b, s, b / s / 1e6, 100 * b / s / cap, int(sys.argv[3]) / 1024, int(sys.argv[4]) / 1048576,
    j.get("packs_fetched", j.get("packs", "?")), src.get("round_trip_ms", "?"), src.get("request_queue_seconds", "?")))
PY
