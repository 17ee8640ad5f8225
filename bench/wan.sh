#!/usr/bin/env bash
# WAN swarm benchmark (issue #19, "Benchmark") in the network testbed (tests/net/netbed.sh): one seeder and N pullers,
# each behind its own NAT router (the seeder's and every other puller's router run miniupnpd, and those peers ask for
# a port mapping), every link capped at RATE both ways, each router adding DELAY_MS each way and LOSS in each
# direction, against nginx behind the same kind of router and link (a static port forward) in the same run.
#
#   bench/wan.sh                                       # the full table: 128 MiB, 4 pullers, 5 MB/s, 50 ms RTT,
#                                                      # loss 0 and 1 %, uTP and TCP, plus one puller alone
#   SIZE_MIB=8 LOSSES=0 TRANSPORTS=utp SINGLE=0 bench/wan.sh     # smoke run (seconds)
#
# Env: DVT=<repo>/build/dvt, SIZE_MIB=128, PULLERS=4, RATE=5M (bytes/s, k/M/G decimal), DELAY_MS=12.5 (per router and
#      direction: a peer-to-peer round trip crosses two routers twice, 4 x 12.5 = 50 ms; puller to nginx likewise),
#      LOSSES="0 0.01", TRANSPORTS="utp tcp", SINGLE=1 (also a single puller alone, for the share of the link cap),
#      TIMEOUT=1200 (pull --timeout, s), OUT=/tmp/dvt-bench-wan (results: one JSON line per scenario in results.jsonl).
#
# Each scenario runs in its own process (`bench/wan.sh --one LOSS TRANSPORT N`), in a private network namespace
# that holds the testbed's namespaces, all stopped by PID when it ends. "tcp" sets config net.utp = false in every
# repository; "utp" leaves the default (outgoing uTP first, TCP fallback). Pullers know only the seeder's public
# address and the public addresses of the pullers with a mapped port (as a tracker would list them: PEX alone
# gossips once a minute, too late for short pulls); those behind a router without UPnP cannot be reached and can only
# connect out. nginx: all N pullers `curl` the same files at once from one server behind a RATE link.
#
# Columns: dvt wall = first pull started -> last pull done (verified, imported); nginx wall likewise for the curls;
# speedup = nginx / dvt; seed copies = seeder payload upload / version size; from seed / from pullers = share of the
# pullers' payload by source (the seeder's public address vs other pullers), incoming = share over connections the
# uploader opened to the puller, utp = share over uTP, punched = over BEP 55 hole-punched connections (none expected
# here: libtorrent punches only for peers learned by PEX whose direct connection failed, through a peer connected to
# both); link share (single) = payload rate / RATE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export DVT=${DVT:-$repo/build/dvt}
SIZE_MIB=${SIZE_MIB:-128}
PULLERS=${PULLERS:-4}
RATE=${RATE:-5M}
DELAY_MS=${DELAY_MS:-12.5}
LOSSES=${LOSSES:-0 0.01}
TRANSPORTS=${TRANSPORTS:-utp tcp}
SINGLE=${SINGLE:-1}
TIMEOUT=${TIMEOUT:-1200}
OUT=${OUT:-/tmp/dvt-bench-wan}

if [[ ${1:-} != --one ]]; then
    mkdir -p "$OUT"
    : >"$OUT/results.jsonl"
    for loss in $LOSSES; do
        for tr in $TRANSPORTS; do
            echo "wan: loss $loss, $tr, $PULLERS pullers, $SIZE_MIB MiB ..." >&2
            bash "$0" --one "$loss" "$tr" "$PULLERS" >>"$OUT/results.jsonl" || echo "wan: scenario failed" >&2
            if [ "$SINGLE" = 1 ]; then
                echo "wan: loss $loss, $tr, single puller ..." >&2
                bash "$0" --one "$loss" "$tr" 1 >>"$OUT/results.jsonl" || echo "wan: scenario failed" >&2
            fi
        done
    done
    /usr/bin/python3 - "$OUT/results.jsonl" "$RATE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def rate(s):
    m = {"k": 1e3, "M": 1e6, "G": 1e9}
    return float(s[:-1]) * m[s[-1]] if s[-1] in m else float(s)
cap = rate(sys.argv[2])
print("| loss | transport | pullers | done | dvt wall s | nginx wall s | speedup | seed copies | from seed | from pullers | incoming | utp | punched | link share (single) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    b = r["bytes"]; tot = max(1, b["total"])
    pct = lambda x: "%.0f %%" % (100.0 * x / tot)
    single = "%.0f %%" % (100.0 * r["single_rate"] / cap) if r["pullers"] == 1 and r.get("single_rate") else ""
    nginx = "%.1f" % r["nginx_wall"] if r.get("nginx_wall") else ""
    speed = "%.2f" % (r["nginx_wall"] / r["dvt_wall"]) if r.get("nginx_wall") and r["dvt_wall"] else ""
    print("| %s %% | %s | %d | %d/%d | %.1f | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |" % (
        float(r["loss"]) * 100, r["transport"], r["pullers"], r["ok"], r["pullers"], r["dvt_wall"], nginx, speed,
        r["seed_copies"], pct(b["from_seed"]), pct(b["from_pullers"]), pct(b["incoming"]), pct(b["utp"]),
        pct(b["holepunched"]), single))
PY
    exit 0
fi

# ----------------------------------------------------------------------------------------------------------------
# One scenario: --one LOSS TRANSPORT N. Prints one JSON line on stdout.
LOSS=$2
TR=$3
N=$4
NETNS=1
export DVT_TEST_LIB="$repo/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/lib.sh
source "$DVT_TEST_LIB" --one "$LOSS" "$TR" "$N"
# shellcheck source=../tests/net/netbed.sh
source "$repo/tests/net/netbed.sh"
nb_require
exec 3>&1 1>&2  # progress on stderr; the result line goes to fd 3

link=(--up "$RATE" --down "$RATE" --delay-ms "$DELAY_MS" --loss "$LOSS")
nb_public
nb_home seed 1 --upnp "${link[@]}"
nb_home www 9 "${link[@]}"
nb_forward www 8080
for i in $(seq 1 "$N"); do
    if [ $((i % 2)) = 0 ]; then nb_home "p$i" $((i + 1)) --upnp "${link[@]}"; else nb_home "p$i" $((i + 1)) "${link[@]}"; fi
done

# The version: 4 files of incompressible bytes.
mkdir -p "$T/s/data" "$T/www"
for f in 1 2 3 4; do gen_bytes $((SIZE_MIB * 1048576 / 4)) "wan$f" >"$T/s/data/f$f.bin"; done
cp "$T/s/data/"*.bin "$T/www/"
cd "$T/s"
expect_exit 0 "$DVT" init
ID=$(commit_id wan)
cd "$T"
VERSION_BYTES=$((SIZE_MIB * 1048576))
[ "$TR" = tcp ] && "$DVT" -C "$T/s" config net.utp false

nb_serve seed "$T/s" "$T/serve.json" 192.168.1.2:7000 --port-map
for _ in $(seq 1 300); do nb_upnp_maps seed-gw | grep -q "192.168.1.2:7000" && break; sleep 0.1; done
nb_upnp_maps seed-gw | grep -q "192.168.1.2:7000" || fail "the seeder's port was not mapped within 30 s"

# --- dvt: N pulls at once
pids=()
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
    d="$T/p$i"
    expect_exit 0 "$DVT" init "$d"
    [ "$TR" = tcp ] && "$DVT" -C "$d" config net.utp false
    map=()
    [ $((i % 2)) = 0 ] && map=(--port-map)
    # the pullers that can be reached (mapped ports), as a tracker would list them
    for k in $(seq 2 2 "$N"); do [ "$k" = "$i" ] || map+=(--peer "11.0.0.$((101 + k)):7000"); done
    nb_bg "p$i" "$DVT" -C "$d" --json pull "$ID" --peer 11.0.0.101:7000 --listen "192.168.$((i + 1)).2:7000" \
        "${map[@]}" --timeout "$TIMEOUT" >"$T/pull$i.json" 2>"$T/pull$i.err"
    pids+=("$BG_PID")
done
ok_n=0
for i in $(seq 1 "$N"); do
    wait_bg "${pids[$((i - 1))]}"
    [ "$BG_STATUS" = 0 ] && ok_n=$((ok_n + 1)) || { echo "puller $i exited $BG_STATUS:" >&2; tail -3 "$T/pull$i.err" >&2; }
done
t1=$(date +%s.%N)
stop_serve "$SERVE_PID" "$T/serve.json"

# --- nginx: N curls at once, behind the same link
nginx_wall=null
if [ "$N" -gt 1 ]; then
    nb_nginx www 192.168.9.2:8080 "$T/www"
    cpids=()
    c0=$(date +%s.%N)
    for i in $(seq 1 "$N"); do
        nb_bg "p$i" bash -c 'for f in 1 2 3 4; do curl -sf -o /dev/null "http://11.0.0.109:8080/f$f.bin" || exit 1; done'
        cpids+=("$BG_PID")
    done
    for p in "${cpids[@]}"; do wait_bg "$p"; [ "$BG_STATUS" = 0 ] || echo "a curl failed ($BG_STATUS)" >&2; done
    c1=$(date +%s.%N)
    nginx_wall=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b-a}')
fi

"${PY_FAST[@]}" - "$T" "$N" "$LOSS" "$TR" "$t0" "$t1" "$nginx_wall" "$SERVE_UPLOADED" "$VERSION_BYTES" "$ok_n" >&3 <<'PY'
import json, sys
T, n, loss, tr, t0, t1, nginx, up, vbytes, ok = sys.argv[1:]
n = int(n)
b = dict(total=0, from_seed=0, from_pullers=0, incoming=0, utp=0, holepunched=0)
single_rate = None
for i in range(1, n + 1):
    try:
        j = json.load(open("%s/pull%d.json" % (T, i)))
    except Exception:
        continue
    for p in j["sources"]["peers"]:
        b["total"] += p["bytes"]
        if p["peer"] == "11.0.0.101:7000":
            b["from_seed"] += p["bytes"]
        else:
            b["from_pullers"] += p["bytes"]
        if p["found"] == "incoming":
            b["incoming"] += p["bytes"]
        if p["via"] == "utp":
            b["utp"] += p["bytes"]
        if p["holepunched"]:
            b["holepunched"] += p["bytes"]
    if n == 1 and j.get("transfer_seconds"):
        single_rate = j["bytes_downloaded"] / j["transfer_seconds"]
print(json.dumps(dict(loss=loss, transport=tr, pullers=n, ok=int(ok), dvt_wall=float(t1) - float(t0),
                      nginx_wall=None if nginx == "null" else float(nginx), seed_copies=int(up) / int(vbytes),
                      bytes=b, single_rate=single_rate)))
PY
