#!/usr/bin/env bash
# Push to followers: the time from `dvt push` of a new version to all of N followers (`dvt serve --follow dvt://KEY`)
# holding it, every uplink capped at 20 MB/s, and the bytes the publisher uploaded for it (issue #4's benchmark:
# target <= 1.3 copies of the new data, where a central server sends N copies).
#
#   bench/replicas.sh                # RUNS=3, N=8, 256 MiB of new data, publisher with and without --super-seed
#   bench/replicas.sh --report       # re-print the report of the last run
#   SIZE_MB=32 RUNS=1 N=4 MODES=super DVT=/tmp/dvt-snap/dvt bench/replicas.sh    # quick check
#
# Env: DVT=<repo>/build/dvt, BENCH_DIR=/tmp/dvt-bench-swarm (work dir), RUNS=3, N=8 (followers), SIZE_MB=256 (new data
#      per version, MiB, in FILES=4 files of incompressible bytes), LIMIT=20M (every uplink, bytes/s, dvt syntax),
#      MODES="plain super" (the publisher's `dvt serve` without / with --super-seed), INTERVAL=1 (the followers'
#      --follow-interval, seconds; the default of a real server is 10), TIMEOUT=600, QUIET_WAIT=30.
#
# Everything runs inside a private network namespace (`unshare --net`, own loopback) when that is permitted, else on
# the host's loopback. Processes: two DHT nodes (`dvt serve --bootstrap`, empty repositories, 127.0.0.11-12), the
# publisher's `dvt serve --upload-limit LIMIT [--super-seed]` (127.0.0.2), and N followers
# `dvt serve --follow dvt://KEY --follow-interval INTERVAL --upload-limit LIMIT` (127.0.0.<40+i>; the cap covers the
# session a follower fetches in). Downloads are not capped.
# Each run: a fresh publisher repository with a small first version (1 MiB), published by the publisher's own server
# (a key holder's `dvt serve` publishes its refs), that every follower fetches first (untimed: it makes the followers'
# DHT routes and swarms warm, as in a running team); then the publisher's server is
# restarted (so its upload counter starts at 0) and the new version (SIZE_MB of new files) is committed; timed from
# the start of `dvt commit` + `dvt push` (records only, no --replicas) to the moment the last follower's refs/remotes/follow/main
# names the new commit (polled every 0.1 s; a follower records it after the data is verified and imported). The clock
# starts at `dvt commit` (its seconds are reported apart), since the publisher's own server publishes the moved branch
# within 2 s by itself and could beat a clock started at `dvt push`.
# Publisher upload = the growth of its server's bytes_uploaded (payload; read with SIGUSR1 before the push and after
# the last follower), / the new data's bytes = copies.
# Each follower's copy is then checked with `dvt fsck` and compared file by file with the publisher's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"  # also lib.sh; sets repo, DVT, BENCH_DIR, RUNS
N=${N:-8}
SIZE_MB=${SIZE_MB:-256}
FILES=${FILES:-4}
LIMIT=${LIMIT:-20M}
MODES=${MODES:-plain super}
INTERVAL=${INTERVAL:-1}
TIMEOUT=${TIMEOUT:-600}
QUIET_WAIT=${QUIET_WAIT:-30}
W=$BENCH_DIR/replicas
OUT=$W/results

report() {
    PYTHONPATH="$here" python3 - "$OUT" <<'PY'
import os, sys
from report_lib import num as f, med, fmt, read_tsv, read_meta
out = sys.argv[1]
rows = read_tsv(os.path.join(out, "replicas.tsv"))
meta = read_meta(os.path.join(out, "meta.tsv"))
data, limit, n = f(meta["data_bytes"]), f(meta["limit_bps"]), int(meta["n"])
print(f"# dvt push to {n} followers: new version of {data / 2**20:.0f} MiB, every uplink {limit / 1e6:g} MB/s\n")
for k in ("data", "dvt", "network", "followers", "runs", "started", "finished"):
    if k in meta: print(f"- {k}: {meta[k]}")
print()
print("| publisher | commit -> all followers s (median) | each run s | of which commit s | push done at s | first follower s "
      "| publisher uploaded MiB (median) | copies of the new data (median) | each run copies | ideal central s | ok runs |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for mode in [m for m in ("plain", "super") if any(r["mode"] == m for r in rows)]:
    rs = [r for r in rows if r["mode"] == mode]
    good = [r for r in rs if r["ok"] == "1"]
    wall = med([f(r["wall_s"]) for r in good])
    up = med([f(r["pub_up_bytes"]) for r in good])
    first = med([f(r["first_s"]) for r in good])
    each = " / ".join(fmt(f(r["wall_s"])) + ("" if r["ok"] == "1" else " (FAILED)") for r in rs)
    eachc = " / ".join(fmt(f(r["pub_up_bytes"]) / data if f(r["pub_up_bytes"]) else None, 2) for r in rs)
    label = "`dvt serve --super-seed`" if mode == "super" else "`dvt serve`"
    tc = med([f(r.get("commit_s")) for r in good])
    tp = med([f(r.get("push_done_s")) for r in good])
    print(f"| {label} | {fmt(wall)} | {each} | {fmt(tc, 2)} | {fmt(tp, 2)} | {fmt(first)} | {fmt(up and up / 2**20)} | {fmt(up and up / data, 2)} | "
          f"{eachc} | {fmt(n * data / limit)} | {len(good)}/{len(rs)} |")
best = [med([f(r["pub_up_bytes"]) for r in rows if r["mode"] == m and r["ok"] == "1"]) for m in ("plain", "super")]
best = [b / data for b in best if b]
if best:
    print(f"\nTarget: publisher uploads ≤ 1.3 copies of the new data (a central server sends {n}): best median "
          f"{min(best):.2f} copies -> {'met' if min(best) <= 1.3 else '**not met**'}")
bad = [r for r in rows if r["ok"] != "1"]
print("\nFailures: " + ("none" if not bad else "; ".join(f"run {r['run']} {r['mode']}: {r['note']}" for r in bad)))
print("\nTime = start of `dvt commit` of the new version -> the last follower recorded it (after verifying and importing "
      "it); the commit's own seconds and the moment `dvt push` returned are given apart (the publisher's server also "
      "publishes a moved branch by itself within 2 s). "
      "Publisher uploaded = growth of its `dvt serve`'s bytes_uploaded from the push to the last follower (SIGUSR1 status lines); "
      "copies = / bytes of the new files. Ideal central = N x new bytes / one 20 MB/s uplink. MiB = 2^20 B.")
PY
}

if [[ ${1:-} == --report ]]; then
    report
    exit
fi

if [[ ${1:-} != --in-netns && -z ${DVT_IN_NETNS:-} ]] && unshare --net -- ip link set lo up 2>/dev/null; then
    exec unshare --net -- env DVT_IN_NETNS=1 bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
fi
NETWORK="host loopback"
[[ -n ${DVT_IN_NETNS:-} ]] && NETWORK="private network namespace (unshare --net), own loopback"

install_cleanup
[[ -x $DVT ]] || { echo "no dvt binary at $DVT (set DVT=...)" >&2; exit 1; }
limit_bps=$(awk -v s="$LIMIT" 'BEGIN{u=substr(s,length(s)); v=s+0; m=(u=="M")?1e6:(u=="k"||u=="K")?1e3:(u=="G")?1e9:1; printf "%.0f", v*m}')
export DVT_AUTHOR_NAME="dvt bench" DVT_AUTHOR_EMAIL="bench@example.invalid"

# New data: FILES files of AES-CTR keystream (deterministic), generated once and copied into each run's publisher
gen=$W/new-${SIZE_MB}M
if [[ ! -s $gen/.done ]]; then
    echo "generating $SIZE_MB MiB of random data in $FILES files into $gen" >&2
    rm -rf "$gen"
    mkdir -p "$gen"
    per=$((SIZE_MB * 1048576 / FILES))
    for ((i = 0; i < FILES; i++)); do
        openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:dvt-replicas-$i" </dev/zero 2>/dev/null | head -c "$per" \
            >"$gen/new-$i.bin" || true
        [[ $(stat -c %s "$gen/new-$i.bin") == "$per" ]] || { echo "data generation failed" >&2; exit 1; }
    done
    touch "$gen/.done"
fi
data_bytes=$(find "$gen" -name '*.bin' -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')

mkdir -p "$OUT"
printf 'run\tmode\twall_s\tfirst_s\tpub_up_bytes\tok\tnote\tcommit_s\tpush_done_s\n' >"$OUT/replicas.tsv"
{
    printf 'data\t%s bytes of new files (%s MiB in %s files), on top of a 1 MiB first version\n' "$data_bytes" "$SIZE_MB" "$FILES"
    printf 'data_bytes\t%s\n' "$data_bytes"
    printf 'limit_bps\t%s\n' "$limit_bps"
    printf 'n\t%s\n' "$N"
    printf 'dvt\t%s (%s)\n' "$DVT" "$("$DVT" --version 2>&1)"
    printf 'network\t%s\n' "$NETWORK"
    printf 'followers\t%s x `dvt serve --follow dvt://KEY --follow-interval %s --upload-limit %s`, 2 DHT nodes\n' "$N" "$INTERVAL" "$LIMIT"
    printf 'runs\t%s\n' "$RUNS"
    printf 'started\t%s\n' "$(date -u '+%F %T UTC')"
} >"$OUT/meta.tsv"

# serve_bg NAME REPO IP:PORT [options]: `dvt --json serve` in the background; sets SPID and SADDR
serve_bg() {
    local name=$1 r=$2 at=$3
    shift 3
    "$DVT" -C "$r" --json serve --listen "$at" "$@" >"$d/$name.out" 2>"$d/$name.err" &
    SPID=$!
    track "$SPID"
    wait_json_line "$d/$name.out" "$SPID" 30
    SADDR=$(json_field "$d/$name.out" listen)
}

# serve_status PID OUT: SIGUSR1 to a `dvt --json serve`, wait for the status line it appends to OUT, print its
# bytes_uploaded
serve_status() {
    local pid=$1 out=$2 n i
    n=$(wc -l <"$out")
    kill -USR1 "$pid"
    for ((i = 0; i < 100; i++)); do
        if (($(wc -l <"$out") > n)) && [[ -z $(tail -c 1 "$out") ]]; then
            json_field "$out" bytes_uploaded -1
            return 0
        fi
        sleep 0.05
    done
    echo "no status line from PID $pid" >&2
    return 1
}

# wait_followers COMMIT MAX_S: until every follower's refs/remotes/follow/main names COMMIT; prints the seconds at
# which each got it (relative to $t0) in FOLLOW_AT; fails after MAX_S
wait_followers() {
    local want=$1 max=$2 i got start
    start=$(tmark)
    FOLLOW_AT=()
    local pending=()
    for ((i = 1; i <= N; i++)); do pending+=("$i"); done
    while ((${#pending[@]})); do
        local keep=()
        for i in "${pending[@]}"; do
            got=$(cat "$d/f$i/.dvt/refs/remotes/follow/main" 2>/dev/null || true)
            if [[ $got == "$want" ]]; then
                FOLLOW_AT+=("$(awk -v a="$t0" -v b="$(tmark)" 'BEGIN{printf "%.2f", b-a}')")
            else
                keep+=("$i")
            fi
        done
        pending=("${keep[@]}")
        ((${#pending[@]})) || break
        if awk -v a="$start" -v b="$(tmark)" -v m="$max" 'BEGIN{exit !(b-a>m)}'; then
            echo "  followers ${pending[*]} did not get ${want:0:12} within ${max}s" >&2
            for i in "${pending[@]}"; do tail -n 3 "$d/f$i.err" >&2 || true; done
            return 1
        fi
        sleep 0.1
    done
}

one_run() {
    local run=$1 mode=$2
    d=$W/run
    rm -rf "$d"
    mkdir -p "$d"
    local pids_all=()
    # DHT nodes (node 1 names node 2's fixed port)
    local i p2=17112
    for i in 1 2; do "$DVT" -q init "$d/node$i" >/dev/null; done
    serve_bg node1 "$d/node1" 127.0.0.11:17111 --bootstrap "127.0.0.12:$p2"
    pids_all+=("$SPID")
    serve_bg node2 "$d/node2" "127.0.0.12:$p2" --bootstrap 127.0.0.11:17111
    pids_all+=("$SPID")
    local boot=(--bootstrap 127.0.0.11:17111 --bootstrap "127.0.0.12:$p2")
    # publisher: a small first version, pushed; followers fetch it
    local pub=$d/pub
    "$DVT" -q init "$pub" >/dev/null
    mkdir -p "$pub/base"
    head -c 1048576 /dev/urandom >"$pub/base/seed.bin"
    local v1 v2 key
    v1=$("$DVT" -C "$pub" --json commit -m v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    key=$("$DVT" -C "$pub" --json key show | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
    local popts=(--upload-limit "$LIMIT" "${boot[@]}")
    [[ $mode == super ]] && popts+=(--super-seed)
    serve_bg pub "$pub" 127.0.0.2:0 "${popts[@]}"
    local pub_pid=$SPID
    pids_all+=("$SPID")
    # v1 is published by the publisher's server itself (a key holder's `dvt serve` publishes its refs), so the timed
    # `dvt push` below is the first push from this host (see docs/transport.md, "Signed refs", on repeated pushes)
    for ((i = 1; i <= N; i++)); do
        "$DVT" -q init "$d/f$i" >/dev/null
        serve_bg "f$i" "$d/f$i" "127.0.0.$((40 + i)):0" "${boot[@]}" --follow "$key" --follow-interval "$INTERVAL" \
            --upload-limit "$LIMIT"
        pids_all+=("$SPID")
    done
    t0=$(tmark)
    wait_followers "$v1" 120 || { note="followers did not get the first version"; return 1; }
    # the server's upload counter so far (SIGUSR1 prints a status line)
    local up0
    up0=$(serve_status "$pub_pid" "$d/pub.out")
    cp "$gen"/*.bin "$pub/base/"
    sync
    wait_quiet "$QUIET_WAIT"
    local busy0 tc
    busy0=$(_busy_cpu_s)
    # timed from the commit: the publisher's server publishes a moved branch by itself within 2 s, so a clock started
    # at `dvt push` could start after the followers did; commit seconds are reported apart
    t0=$(tmark)
    v2=$("$DVT" -C "$pub" --json commit -m v2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    tc=$(awk -v a="$t0" -v b="$(tmark)" 'BEGIN{printf "%.2f", b-a}')
    "$DVT" -C "$pub" -q push "${boot[@]}" --listen 127.0.0.3 --timeout 60 >"$d/push2.out" 2>"$d/push2.err" ||
        { note="push exit $?"; return 1; }
    local tp
    tp=$(awk -v a="$t0" -v b="$(tmark)" 'BEGIN{printf "%.2f", b-a}')
    local ok=1
    wait_followers "$v2" "$TIMEOUT" || { ok=0; note="timeout; "; }
    local wall first
    wall=$(printf '%s\n' "${FOLLOW_AT[@]}" | sort -n | tail -1)
    first=$(printf '%s\n' "${FOLLOW_AT[@]}" | sort -n | head -1)
    local busy
    busy=$(awk -v a="$busy0" -v b="$(_busy_cpu_s)" 'BEGIN{printf "%.1f", b-a}')
    local up
    up=$(serve_status "$pub_pid" "$d/pub.out")
    up=$((up - up0))
    # every follower: fsck, and the files equal the publisher's
    (cd "$pub" && find . -path ./.dvt -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$d/pub.manifest"
    for ((i = 1; i <= N; i++)); do
        "$DVT" -C "$d/f$i" -q fsck >/dev/null 2>"$d/f$i.fsck" || { ok=0; note+="f$i fsck failed; "; }
        "$DVT" -C "$d/f$i" -q checkout "$v2" >/dev/null 2>&1 || { ok=0; note+="f$i checkout failed; "; }
        (cd "$d/f$i" && find . -path ./.dvt -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
            cmp -s - "$d/pub.manifest" || { ok=0; note+="f$i files differ; "; }
    done
    echo "  run $run $mode: commit ${tc}s, push done at ${tp}s, all $N followers at ${wall}s (each: ${FOLLOW_AT[*]}), publisher uploaded $up B" \
        "($(awk -v u="$up" -v b="$data_bytes" 'BEGIN{printf "%.2f", u/b}') copies), ok=$ok; machine busy CPU ${busy} s" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "$wall" "$first" "$up" "$ok" "${note:-}" "$tc" "$tp" >>"$OUT/replicas.tsv"
    for p in "${pids_all[@]}"; do stop_pid "$p" TERM >/dev/null 2>&1 || true; done
    mkdir -p "$OUT/logs/r$run-$mode"
    cp "$d"/*.out "$d"/*.err "$OUT/logs/r$run-$mode/" 2>/dev/null || true
    rm -rf "$d"
}

for ((run = 1; run <= RUNS; run++)); do
    for mode in $MODES; do
        echo "== run $run/$RUNS, publisher $mode ($(date -u +%T))" >&2
        note=""
        if ! one_run "$run" "$mode"; then
            printf '%s\t%s\tNA\tNA\tNA\t0\t%s\tNA\tNA\n' "$run" "$mode" "${note:-failed}" >>"$OUT/replicas.tsv"
            for p in "${BENCH_PIDS[@]}"; do stop_pid "$p" TERM >/dev/null 2>&1 || true; done
        fi
    done
done
printf 'finished\t%s\n' "$(date -u '+%F %T UTC')" >>"$OUT/meta.tsv"
report
