#!/usr/bin/env bash
# Many packs (#16 item 3): one `dvt serve`, one `dvt clone` of a version of ~1,000+ packs on loopback, paired runs of
# two dvt binaries (before / after). Reports per run and as medians: wall time of the clone, the CPU time of the
# clone's main thread (the alert loop) and of the whole process, the longest gap between two progress lines (cli.md
# promises one a second), the clone's max RSS, and the clone's own JSON "seconds" / "transfer_seconds".
#
#   bench/scale_packs.sh                           # MODE=small PACKS=1150, RUNS=3, DVT_BEFORE vs DVT
#   MODE=data MB=1100 bench/scale_packs.sh         # ~1.1 GB of incompressible data, pack.size 1 MiB (~1,050 packs)
#   bench/scale_packs.sh --report                  # re-print the table of the last run
#
# Env: DVT=<repo>/build/dvt (after), DVT_BEFORE=/work/main/build-dev/dvt (before; empty: only DVT),
#      BENCH_DIR=/tmp/dvt-bench-swarm, RUNS=3, MODE=small|data, PACKS=1150 (small), MB=1100 (data),
#      TIMEOUT=600 (clone --timeout).
# MODE=small: tests/hostile/gen_hostile.py small-packs (well-formed: each file's chunk in a pack of its own, as a
#   history of many small commits leaves them; what t180 clones): many torrents, files and connections, few bytes.
#   It measures the cost per pack. MODE=data: `dvt init --pack-size 1048576` and MB MiB of pseudo-random files of
#   64 MiB: the issue's case (1,053 packs of 1 MiB).
# Main-thread CPU: utime+stime of /proc/PID/task/PID/stat (the thread that runs the alert loop), sampled every 0.1 s
# until the clone exits (the last sample; the checkout's CPU after the transfer is included in both binaries alike).
# The source side is read once before each run (page cache); pair order alternates.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"
MODE=${MODE:-small}
PACKS=${PACKS:-1150}
MB=${MB:-1100}
TIMEOUT=${TIMEOUT:-600}
DVT_BEFORE=${DVT_BEFORE-/work/main/build-dev/dvt}
W=$BENCH_DIR/scale_packs
OUT=$W/results-$MODE
PY=/usr/bin/python3

report() {
    "$PY" - "$OUT" <<'PY'
import json, statistics, sys, os
rows = [json.loads(l) for l in open(os.path.join(sys.argv[1], "runs.jsonl"))]
keys = [("wall", "wall s"), ("main_cpu", "main-thread CPU s"), ("cpu", "process CPU s"), ("gap", "max progress gap s"),
        ("rss_mib", "max RSS MiB"), ("seconds", "download s (JSON)"), ("transfer", "transfer s (JSON)")]
bins = sorted({r["bin"] for r in rows})
print("| run | binary | " + " | ".join(k[1] for k in keys) + " |")
print("|---|---|" + "---|" * len(keys))
for r in rows:
    print("| %d | %s | " % (r["run"], r["bin"]) + " | ".join("%.2f" % r[k] for k, _ in keys) + " |")
for b in bins:
    rs = [r for r in rows if r["bin"] == b]
    print("| median (%d) | %s | " % (len(rs), b) + " | ".join("%.2f" % statistics.median(r[k] for r in rs) for k, _ in keys) + " |")
PY
}

if [[ ${1:-} == --report ]]; then
    report
    exit 0
fi
install_cleanup
mkdir -p "$W" "$OUT"
: >"$OUT/runs.jsonl"

SRC=$W/src-$MODE
if [[ ! -f $SRC/.id ]]; then
    rm -rf "$SRC"
    if [[ $MODE == small ]]; then
        "$DVT" init -q "$W/probe" >/dev/null 2>&1 || true
        FORMAT=$(awk '/^\[/ { c = ($0 == "[core]") } c && $1 == "format" { print $3 }' "$W/probe/.dvt/config")
        rm -rf "$W/probe"
        "$PY" "$repo/tests/hostile/gen_hostile.py" small-packs "$SRC" --commit-version "$FORMAT" --packs "$PACKS" \
            --digest "$W/digest-small" >"$W/id-small"
        cp "$W/id-small" "$SRC/.id"
    else
        "$DVT" init -q --pack-size 1048576 "$SRC" >/dev/null
        mkdir -p "$SRC/data"
        for ((i = 0; i * 64 < MB; i++)); do
            head -c $((64 << 20)) /dev/urandom >"$SRC/data/f$i.bin"
        done
        (cd "$SRC" && "$DVT" --json commit -m data | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])') >"$SRC/.id"
    fi
fi
ID=$(cat "$SRC/.id")
echo "version $ID: $(ls "$SRC/.dvt/packs" | wc -l) packs, $(du -sm "$SRC/.dvt/packs" | cut -f1) MiB" >&2

"$DVT" -C "$SRC" --json serve --listen 127.0.0.2:0 >"$W/serve.json" 2>"$W/serve.err" &
SERVE=$!
track "$SERVE"
wait_json_line "$W/serve.json" "$SERVE" 60
PEER=$(json_field "$W/serve.json" listen)

one_run() {  # one_run RUN LABEL BINARY
    local run=$1 label=$2 bin=$3 pid t0 t1 main=0 cpu=0
    local dst=$W/dst-$label-$run
    rm -rf "$dst"
    cat "$SRC"/.dvt/packs/* >/dev/null
    sync
    t0=$(tmark)
    /usr/bin/time -f '%M' -o "$W/rss" "$bin" --json clone "$ID" "$dst" --peer "$PEER" --listen 127.0.0.4 \
        --timeout "$TIMEOUT" >"$W/clone.json" 2>"$W/clone.err" &
    pid=$!
    track "$pid"
    local cpid=""
    while kill -0 "$pid" 2>/dev/null; do
        if [[ -z $cpid ]]; then  # the clone itself (a child of time): tracked too, so cleanup stops it as well
            cpid=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | head -n 1) || cpid=""
            [[ -n $cpid ]] && track "$cpid"
        fi
        if [[ -n $cpid && -r /proc/$cpid/task/$cpid/stat ]]; then
            # fields 14, 15 (utime, stime) after the ") " that ends the command name
            m=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$cpid/task/$cpid/stat" 2>/dev/null || true)
            c=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$cpid/stat" 2>/dev/null || true)
            [[ -n ${m:-} ]] && main=$m
            [[ -n ${c:-} ]] && cpu=$c
        fi
        sleep 0.1
    done
    wait "$pid" || { cat "$W/clone.err" >&2; echo "clone failed" >&2; exit 1; }
    untrack "$pid"
    [[ -n $cpid ]] && untrack "$cpid"
    t1=$(tmark)
    "$PY" - "$W" "$run" "$label" "$t0" "$t1" "$main" "$cpu" "$(getconf CLK_TCK)" >>"$OUT/runs.jsonl" <<'PY'
import json, sys
w, run, label, t0, t1, main, cpu, hz = sys.argv[1:]
prog = []
for l in open(w + "/clone.err"):
    try:
        j = json.loads(l)
    except ValueError:
        continue
    if "progress" in j:
        prog.append(j["progress"]["elapsed_seconds"])
gaps = [b - a for a, b in zip(prog, prog[1:])]
c = json.load(open(w + "/clone.json"))
print(json.dumps({"run": int(run), "bin": label, "wall": float(t1) - float(t0), "main_cpu": float(main) / int(hz),
                  "cpu": float(cpu) / int(hz), "gap": max(gaps) if gaps else 0.0, "lines": len(prog),
                  "rss_mib": int(open(w + "/rss").read().split()[-1]) / 1024, "seconds": c["seconds"],
                  "transfer": c["transfer_seconds"], "packs": c["packs"]}))
PY
    echo "run $run $label: $(tail -n 1 "$OUT/runs.jsonl")" >&2
    rm -rf "$dst"
}

for ((r = 1; r <= RUNS; r++)); do
    if [[ -z $DVT_BEFORE ]]; then
        one_run "$r" after "$DVT"
    elif ((r % 2)); then
        one_run "$r" before "$DVT_BEFORE"
        one_run "$r" after "$DVT"
    else
        one_run "$r" after "$DVT"
        one_run "$r" before "$DVT_BEFORE"
    fi
done
stop_pid "$SERVE" >/dev/null || true
report
