#!/usr/bin/env bash
# Swarm scaling: one `dvt serve` and N concurrent `dvt clone`s against one nginx serving the same bytes to N curls,
# every uplink capped at 20 MB/s (the "distribution improves with participation" promise; transport-feasibility
# section 2g measured raw libtorrent at 25.2-25.7 s for N=8 and 256 MiB, central 113 s).
#
#   bench/swarm.sh                   # RUNS=3, N = 1 4 8, 256 MiB; markdown report on stdout, progress on stderr
#   bench/swarm.sh --report          # re-print the report of the last run (from $BENCH_DIR/swarm/results)
#   SIZE_MB=64 RUNS=1 NS="1 4" DVT=/tmp/dvt-snap/dvt bench/swarm.sh     # quick check
#
# Env: DVT=<repo>/build/dvt, BENCH_DIR=/tmp/dvt-bench-swarm (work dir; generated data is reused), RUNS=3,
#      SEED_OPTS="" (extra `dvt serve` options for the seeder, e.g. --super-seed),
#      NS="1 4 8", SIZE_MB=256 (version size, MiB), FILES=4 (files it is split into), LIMIT=20M (every uplink, bytes/s,
#      dvt syntax: 20M = 20,000,000 B/s), DISCOVERY=pex|mesh (how pullers find each other, below), TIMEOUT=600 (clone
#      --timeout), CENTRAL=tc|limit_rate|none (baseline method, below; default tc when `unshare --net` + tc work),
#      QUIET_WAIT=30 (before each measurement wait up to this many seconds for the 2-core VM to go idle; the machine's
#      total busy CPU seconds during each measurement are logged: far above dvt's own use means another job interfered).
#
# Data: FILES files of incompressible bytes (AES-128-CTR keystream from openssl, deterministic), committed once into
# $BENCH_DIR/swarm/src-<SIZE_MB>M; the central server serves the same files as one uncompressed tar.
#
# dvt side (host loopback, one 127.0.0.x address per process): `dvt serve --listen 127.0.0.2:0 --upload-limit 20M`,
# then N x `dvt --json clone <id> DIR --peer <seeder> --listen 127.0.0.<10+i>:17000 --upload-limit 20M` started
# together. dvt puts loopback peers into libtorrent's global peer class, so the caps apply here. Discovery:
#   pex  (default) each puller is given only the seeder; pullers learn about each other through ut_pex.
#   mesh each puller is also given every other puller's fixed listen address (--peer ... x N-1).
# A puller exits (and stops seeding) as soon as its own clone is checked out, as a real `dvt clone` does.
# Wall time = first clone started -> last clone exited (verified and checked out). Seeder upload = bytes_uploaded of
# `dvt serve`'s stop line (payload bytes). Every clone's tree is checked against the source's sha256 manifest.
#
# Central baseline. nginx's limit_rate is per connection, but what we want to model is the server's *total* uplink:
# 20 MB/s shared by all clients. CENTRAL=tc (default) makes that cap real: the whole baseline runs inside a private
# network namespace (`unshare --net`, only its own `lo`, so nothing can leave the machine), where an HTB qdisc on lo
# shapes every packet from nginx's address and port (127.0.0.3:18080) to 160 Mbit/s = 20,000,000 B/s (headers
# included, like libtorrent's rate_limit_ip_overhead); the clients' requests and ACKs are not shaped. N curls
# (`curl -o file`, each from its own 127.0.0.x) start together; time = start -> last curl done. CENTRAL=limit_rate
# (fallback when namespaces or tc are unavailable) uses `limit_rate 20000000/N` per connection on the host's lo instead,
# an approximation that is exact only while all N downloads run (a client that finishes early leaves its share unused).
# "ideal central" = N x tar bytes / 20 MB/s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"  # also lib.sh; sets repo, DVT, BENCH_DIR, RUNS
NS=${NS:-1 4 8}
SIZE_MB=${SIZE_MB:-256}
FILES=${FILES:-4}
LIMIT=${LIMIT:-20M}
DISCOVERY=${DISCOVERY:-pex}
SEED_OPTS=${SEED_OPTS:-}
TIMEOUT=${TIMEOUT:-600}
CENTRAL=${CENTRAL:-auto}
QUIET_WAIT=${QUIET_WAIT:-30}
W=$BENCH_DIR/swarm
OUT=$W/results
SEED_IP=127.0.0.2 NGINX_ADDR=127.0.0.3:18080 PULL_PORT=17000

# ---------------------------------------------------------------------------------------------------------------
# Central baseline, one measurement: N curls from nginx. Runs inside the namespace (`--central-ns`) or on the host.
# Prints one JSON line {"wall", "first", "ok", "clients"} on stdout.
central_once() {
    local n=$1 tar=$2 dir=$3 limit=${4:-}
    local size t0 i rc pid fin ok=1 first=""
    size=$(stat -c %s "$tar")
    rm -rf "$dir/dl"
    mkdir -p "$dir/dl"
    start_nginx "$dir/nginx" "$NGINX_ADDR" "$(dirname "$tar")" "$limit"
    local pids=()
    t0=$(tmark)
    for ((i = 1; i <= n; i++)); do
        curl -sS --fail --interface "127.0.0.$((10 + i))" -o "$dir/dl/c$i.tar" "http://$NGINX_ADDR/$(basename "$tar")" \
            2>"$dir/dl/c$i.err" &
        pids+=($!)
        track "$!"
    done
    local last=$t0
    for ((i = 1; i <= n; i++)); do
        rc=0
        wait -n -p fin "${pids[@]}" || rc=$?
        last=$(tmark)
        untrack "$fin"
        [[ -n $first ]] || first=$(awk -v a="$t0" -v b="$last" 'BEGIN{printf "%.2f", b-a}')
        ((rc == 0)) || { ok=0; echo "curl (PID $fin) exited $rc: $(cat "$dir"/dl/*.err)" >&2; }
        local keep=()
        for pid in "${pids[@]}"; do [[ $pid == "$fin" ]] || keep+=("$pid"); done
        pids=("${keep[@]}")
    done
    stop_pid "$NGINX_PID" TERM || true
    for ((i = 1; i <= n; i++)); do
        [[ $(stat -c %s "$dir/dl/c$i.tar" 2>/dev/null || echo 0) == "$size" ]] || { ok=0; echo "client $i: wrong size" >&2; }
    done
    cmp -s "$tar" "$dir/dl/c1.tar" || { ok=0; echo "client 1: bytes differ from the served tar" >&2; }
    rm -rf "$dir/dl"
    printf '{"wall": %s, "first": %s, "ok": %s, "clients": %s}\n' \
        "$(awk -v a="$t0" -v b="$last" 'BEGIN{printf "%.2f", b-a}')" "${first:-null}" "$ok" "$n"
}

if [[ ${1:-} == --central-ns ]]; then
    # inside `unshare --net`: private lo, HTB cap on everything nginx sends
    install_cleanup
    n=$2 tar=$3 dir=$4 rate=$5
    ip link set lo up
    ip_=${NGINX_ADDR%:*} port_=${NGINX_ADDR#*:}
    tc qdisc add dev lo root handle 1: htb default 99 r2q 1000
    tc class add dev lo parent 1: classid 1:20 htb rate "$rate" ceil "$rate" burst 256k cburst 256k
    tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip src "$ip_/32" match ip sport "$port_" 0xffff flowid 1:20
    central_once "$n" "$tar" "$dir"
    tc -s class show dev lo classid 1:20 >&2
    exit 0
fi

report() {
    PYTHONPATH="$here" python3 - "$OUT" <<'PY'
import os, sys
from report_lib import num as f, med, fmt, read_tsv, read_meta
out = sys.argv[1]
rows = read_tsv(os.path.join(out, "swarm.tsv"))
meta = read_meta(os.path.join(out, "meta.tsv"))
data, tar, limit = f(meta["data_bytes"]), f(meta["tar_bytes"]), f(meta["limit_bps"])
print(f"# dvt swarm scaling: 1 seeder + N pullers, every uplink {limit/1e6:g} MB/s\n")
for k in ("data", "dvt", "seeder", "discovery", "central", "runs", "started", "finished"):
    if k in meta: print(f"- {k}: {meta[k]}")
print()
print("| N | dvt wall s (median) | dvt wall s (each run) | first puller done s | slowest download s | seeder uploaded MiB "
      "| copies of the data | central nginx s (median) | ideal central s | central / dvt | dvt ok runs |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
ns = sorted({int(r["n"]) for r in rows})
for n in ns:
    d = [r for r in rows if int(r["n"]) == n and r["tool"] == "dvt"]
    c = [r for r in rows if int(r["n"]) == n and r["tool"] == "central"]
    dw = med([f(r["wall_s"]) for r in d if r["ok"] == "1"])
    cw = med([f(r["wall_s"]) for r in c if r["ok"] == "1"])
    up = med([f(r["seed_up_bytes"]) for r in d if r["ok"] == "1"])
    first = med([f(r["first_s"]) for r in d if r["ok"] == "1"])
    each = " / ".join(fmt(f(r["wall_s"])) + ("" if r["ok"] == "1" else " (FAILED)") for r in d)
    ratio = cw / dw if cw and dw else None
    dl = med([f(r.get("dl_max_s")) for r in d if r["ok"] == "1"])
    print(f"| {n} | {fmt(dw)} | {each} | {fmt(first)} | {fmt(dl)} | {fmt(up and up / 2**20)} | {fmt(up and up / data, 2)} | "
          f"{fmt(cw)} | {fmt(n * tar / limit)} | {fmt(ratio, 2)}x | {sum(r['ok'] == '1' for r in d)}/{len(d)} |")
d8 = med([f(r["wall_s"]) for r in rows if r["n"] == "8" and r["tool"] == "dvt" and r["ok"] == "1"])
c8 = med([f(r["wall_s"]) for r in rows if r["n"] == "8" and r["tool"] == "central" and r["ok"] == "1"])
if d8 is not None:
    ok = d8 <= 28 and c8 is not None and c8 / d8 >= 4
    print(f"\nTarget (N=8): dvt ≤ 28 s and ≥ 4x faster than central: dvt {d8:.1f} s, "
          f"{'central ' + format(c8 / d8, '.2f') + 'x' if c8 else 'central not measured'} -> {'met' if ok else '**not met**'}"
          + ("" if abs(data - 256 * 2**20) < 2**20 else f" (note: measured with {data / 2**20:.0f} MiB, target is for 256 MiB)"))
bad = [r for r in rows if r["ok"] != "1"]
print("\nFailures: " + ("none" if not bad else "; ".join(f"run {r['run']} N={r['n']} {r['tool']}: {r['note']}" for r in bad)))
print("\nWall = start of the N downloads -> last one done (dvt: clone exited 0 after verify + checkout; central: curl "
      "wrote the whole tar). Slowest download = largest JSON \"seconds\" (download phase only) among the pullers; "
      "the rest of the wall time is process start, verification, import and checkout. Seeder uploaded = payload bytes from `dvt serve`'s stop line; copies = / data bytes. "
      "MiB = 2^20 B.")
PY
}

if [[ ${1:-} == --report ]]; then
    report
    exit
fi

install_cleanup
[[ -x $DVT ]] || { echo "no dvt binary at $DVT (set DVT=...)" >&2; exit 1; }
limit_bps=$(awk -v s="$LIMIT" 'BEGIN{u=substr(s,length(s)); v=s+0; m=(u=="M")?1e6:(u=="k"||u=="K")?1e3:(u=="G")?1e9:1; printf "%.0f", v*m}')
rate_mbit=$(awk -v b="$limit_bps" 'BEGIN{printf "%.0fkbit", b*8/1000}')

if [[ $CENTRAL == auto ]]; then
    if unshare --net -- bash -c 'ip link set lo up && tc qdisc add dev lo root handle 1: htb default 99' 2>/dev/null; then
        CENTRAL=tc
    else
        echo "note: unshare --net or tc htb unavailable; central baseline falls back to nginx limit_rate per connection" >&2
        CENTRAL=limit_rate
    fi
fi

# ---------------------------------------------------------------------------------------------------------------
# Data: SIZE_MB MiB in FILES files, committed once
src=$W/src-${SIZE_MB}M www=$W/www-${SIZE_MB}M
if [[ ! -s $src/.bench-commit ]]; then
    echo "generating $SIZE_MB MiB of random data in $FILES files into $src" >&2
    rm -rf "$src" "$www"
    mkdir -p "$src/data"
    per=$((SIZE_MB * 1048576 / FILES))
    for ((i = 0; i < FILES; i++)); do
        openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:dvt-swarm-$i" </dev/zero 2>/dev/null | head -c "$per" \
            >"$src/data/part-$i.bin" || true
        [[ $(stat -c %s "$src/data/part-$i.bin") == "$per" ]] || { echo "data generation failed" >&2; exit 1; }
    done
    "$DVT" -q init "$src" >&2
    "$DVT" -C "$src" --json commit -m "swarm bench ${SIZE_MB} MiB" >"$W/commit.json"
    json_field "$W/commit.json" id >"$src/.bench-commit.tmp"
    (cd "$src" && find . -path ./.dvt -prune -o -name '.bench-*' -prune -o -type f -print0 | LC_ALL=C sort -z |
        xargs -0 sha256sum | LC_ALL=C sort -k2) >"$W/manifest-${SIZE_MB}M"
    mv "$src/.bench-commit.tmp" "$src/.bench-commit"
fi
ID=$(cat "$src/.bench-commit")
data_bytes=$(find "$src/data" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
mkdir -p "$www"
if [[ ! -s $www/data.tar ]]; then
    tar -C "$src" -cf "$www/data.tar.tmp" data
    mv "$www/data.tar.tmp" "$www/data.tar"
fi
tar_bytes=$(stat -c %s "$www/data.tar")

mkdir -p "$OUT"
printf 'run\tn\ttool\twall_s\tfirst_s\tseed_up_bytes\tok\tnote\tdl_max_s\n' >"$OUT/swarm.tsv"
{
    printf 'data\t%s bytes in %s files (%s MiB), commit %s\n' "$data_bytes" "$FILES" "$SIZE_MB" "${ID:0:16}"
    printf 'data_bytes\t%s\n' "$data_bytes"
    printf 'tar_bytes\t%s\n' "$tar_bytes"
    printf 'limit_bps\t%s\n' "$limit_bps"
    printf 'dvt\t%s (%s)\n' "$DVT" "$("$DVT" --version 2>&1)"
    printf 'seeder\t%s\n' "dvt serve --upload-limit $LIMIT${SEED_OPTS:+ $SEED_OPTS}"
    printf 'discovery\t%s\n' "$DISCOVERY (pullers get --peer seeder$([[ $DISCOVERY == mesh ]] && echo ' + every other puller'))"
    printf 'central\t%s\n' "$CENTRAL: $(case $CENTRAL in tc) echo "nginx in a private netns, HTB $rate_mbit on everything it sends (total uplink cap)" ;; limit_rate) echo "nginx limit_rate $limit_bps/N per connection" ;; *) echo "not measured" ;; esac)"
    printf 'runs\t%s\n' "$RUNS"
    printf 'started\t%s\n' "$(date -u '+%F %T UTC')"
} >"$OUT/meta.tsv"

# ---------------------------------------------------------------------------------------------------------------
# largest of the numbers given (NA ignored)
median_max() { printf '%s\n' "$@" | awk '$1!="NA" && $1!=""{if(m==""||$1>m)m=$1} END{print (m==""?"NA":m)}'; }

# one dvt measurement: appends a row to swarm.tsv
dvt_once() {
    local run=$1 n=$2 d=$W/run
    rm -rf "$d"
    mkdir -p "$d"
    sync
    wait_quiet "$QUIET_WAIT"
    local busy0
    busy0=$(_busy_cpu_s)
    # shellcheck disable=SC2086  # SEED_OPTS: words
    "$DVT" -C "$src" --json serve --listen "$SEED_IP:0" --upload-limit "$LIMIT" $SEED_OPTS >"$d/seed.out" 2>"$d/seed.err" &
    local sp=$!
    track "$sp"
    wait_json_line "$d/seed.out" "$sp" 30
    local port
    port=$(json_field "$d/seed.out" port)
    local i j pids=() t0 last first="" rc fin ok=1 note=""
    t0=$(tmark)
    for ((i = 1; i <= n; i++)); do
        local peers=(--peer "$SEED_IP:$port")
        if [[ $DISCOVERY == mesh ]]; then
            for ((j = 1; j <= n; j++)); do ((j == i)) || peers+=(--peer "127.0.0.$((10 + j)):$PULL_PORT"); done
        fi
        "$DVT" --json clone "$ID" "$d/p$i" "${peers[@]}" --listen "127.0.0.$((10 + i)):$PULL_PORT" \
            --upload-limit "$LIMIT" --timeout "$TIMEOUT" >"$d/p$i.out" 2>"$d/p$i.err" &
        pids+=($!)
        track "$!"
        echo "$!" >"$d/p$i.pid"
    done
    last=$t0
    local done_at=()
    for ((i = 1; i <= n; i++)); do
        rc=0
        wait -n -p fin "${pids[@]}" || rc=$?
        last=$(tmark)
        untrack "$fin"
        [[ -n $first ]] || first=$(awk -v a="$t0" -v b="$last" 'BEGIN{printf "%.2f", b-a}')
        done_at+=("$(awk -v a="$t0" -v b="$last" 'BEGIN{printf "%.1f", b-a}')")
        if ((rc != 0)); then
            ok=0
            note+="clone PID $fin exit $rc; "
            echo "  clone (PID $fin) failed with exit $rc: $(grep -l "^$fin\$" "$d"/p*.pid | sed 's/\.pid$/.err/' | xargs tail -n 3)" >&2
        fi
        local keep=() p
        for p in "${pids[@]}"; do [[ $p == "$fin" ]] || keep+=("$p"); done
        pids=("${keep[@]}")
    done
    local wall up dlmax
    wall=$(awk -v a="$t0" -v b="$last" 'BEGIN{printf "%.2f", b-a}')
    stop_pid "$sp" TERM || { ok=0; note+="serve exit $?; "; }
    up=$(json_field "$d/seed.out" bytes_uploaded -1 2>/dev/null || echo NA)
    # per-puller download seconds and verification of each tree (untimed)
    local secs=() ups=() phases=() got
    for ((i = 1; i <= n; i++)); do
        secs+=("$(json_field "$d/p$i.out" seconds -1 2>/dev/null | awk '{printf "%.1f", $1}' || echo NA)")
        ups+=("$(json_field "$d/p$i.out" bytes_uploaded -1 2>/dev/null | awk '{printf "%.0f", $1 / 1048576}' || echo NA)")
        phases+=("$(python3 -c 'import json,sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("%.1f/%.1f/%.1f/%.1f" % (j["transfer_seconds"], j["seconds"] - j["transfer_seconds"], j["import_seconds"], j["checkout_seconds"]))' "$d/p$i.out" 2>/dev/null || echo NA)")
        if [[ -d $d/p$i ]]; then
            got=$( (cd "$d/p$i" && find . -path ./.dvt -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum |
                LC_ALL=C sort -k2) | cmp -s - "$W/manifest-${SIZE_MB}M" && echo same || echo differs)
        else
            got=missing
        fi
        [[ $got == same ]] || { ok=0; note+="p$i tree $got; "; }
    done
    echo "  run $run N=$n dvt: wall ${wall}s, pullers done at ${done_at[*]} s (download seconds ${secs[*]}; MiB uploaded ${ups[*]}; transfer/verify/import/checkout s ${phases[*]}), seeder uploaded $up B, ok=$ok; machine busy CPU during the run $(awk -v a="$busy0" -v b="$(_busy_cpu_s)" 'BEGIN{printf "%.1f", b-a}') s" >&2
    dlmax=$(median_max "${secs[@]}")
    printf '%s\t%s\tdvt\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$n" "$wall" "$first" "$up" "$ok" "${note:-}" "$dlmax" >>"$OUT/swarm.tsv"
    mkdir -p "$OUT/logs/r$run-n$n"
    cp "$d"/seed.* "$d"/p*.out "$d"/p*.err "$OUT/logs/r$run-n$n/" 2>/dev/null || true
    rm -rf "$d"
}

central_run() {
    local run=$1 n=$2 d=$W/central line
    rm -rf "$d"
    mkdir -p "$d"
    sync
    wait_quiet "$QUIET_WAIT"
    if [[ $CENTRAL == tc ]]; then
        unshare --net -- bash "$here/swarm.sh" --central-ns "$n" "$www/data.tar" "$d" "$rate_mbit" >"$d/result" 2>"$d/log" &
        local up=$!
        track "$up"
        wait "$up" || { echo "central baseline failed:" >&2; cat "$d/log" >&2; }
        untrack "$up"
    else
        central_once "$n" "$www/data.tar" "$d" "$((limit_bps / n))" >"$d/result" 2>"$d/log"
    fi
    line=$(tail -1 "$d/result" 2>/dev/null || true)
    local wall first ok
    wall=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["wall"])' "$line" 2>/dev/null || echo NA)
    first=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["first"])' "$line" 2>/dev/null || echo NA)
    ok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ok"])' "$line" 2>/dev/null || echo 0)
    echo "  run $run N=$n central ($CENTRAL): wall ${wall}s (first client ${first}s), ok=$ok" >&2
    printf '%s\t%s\tcentral\t%s\t%s\t\t%s\t%s\t\n' "$run" "$n" "$wall" "$first" "$ok" \
        "$([[ $ok == 1 ]] || tr '\n' ' ' <"$d/log" | cut -c1-200)" >>"$OUT/swarm.tsv"
    mkdir -p "$OUT/logs/r$run-n$n" && cp "$d/log" "$OUT/logs/r$run-n$n/central.log"
    rm -rf "$d"
}

for ((run = 1; run <= RUNS; run++)); do
    for n in $NS; do
        echo "== run $run/$RUNS, N=$n ($(date -u +%T))" >&2
        dvt_once "$run" "$n"
        [[ $CENTRAL == none ]] || central_run "$run" "$n"
    done
done
printf 'finished\t%s\n' "$(date -u '+%F %T UTC')" >>"$OUT/meta.tsv"
report
