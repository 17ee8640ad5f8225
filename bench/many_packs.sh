#!/usr/bin/env bash
# The 1,000+-pack targets of issue #16 that bench/scale_packs.sh (paired binaries) does not cover, on loopback:
#  1. reliability: RUNS clones of a ~1.1 GB version of 1 MiB packs (`dvt init --pack-size 1048576`, ~1,100 packs),
#     each from a fresh `dvt serve`; every run's exit code, wall and transfer time, longest gap between progress lines
#     and peak RSS. Target: no clone fails, progress every second, puller memory <= 600 MiB.
#  2. the same files committed with the default 64 MiB packs, cloned BASE_RUNS times interleaved with the first
#     BASE_RUNS runs of 1: transfer time of 1 MiB packs against 64 MiB packs. Target: <= 1.2x.
#  3. serve under `ulimit -n 1024` with PULLERS clones at once (each under the same limit) of a version of PACKS
#     small packs (tests/hostile/gen_hostile.py small-packs, what t180 clones). Target: every clone completes, serve
#     stays up; reported: serve's peak open descriptors and peak RSS.
#
#   bench/many_packs.sh                      # markdown tables on stdout, progress on stderr
#
# Env: DVT=<repo>/build/dvt, BENCH_DIR=/tmp/dvt-bench-many-packs (scratch, removed at the end unless KEEP=1),
#      MB=1100, RUNS=20, BASE_RUNS=5, PULLERS=8, PACKS=1150, TIMEOUT=600 (clone --timeout).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_DIR=${BENCH_DIR:-/tmp/dvt-bench-many-packs}
RUNS=${RUNS:-20}  # before swarm_lib.sh, which defaults it to 3
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"
MB=${MB:-1100}
BASE_RUNS=${BASE_RUNS:-5}
PULLERS=${PULLERS:-8}
PACKS=${PACKS:-1150}
TIMEOUT=${TIMEOUT:-600}
PY=/usr/bin/python3
export DVT_NO_HOOKS=1 DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.org DVT_GIT_PROVENANCE=0
say() { echo "many_packs: $*" >&2; }
fresh_bench_dir
W=$BENCH_DIR
ROWS=$W/runs.jsonl
: >"$ROWS"

# --- the data, committed twice: 1 MiB packs and the default 64 MiB ---
mkdir -p "$W/data"
for ((i = 0; i * 64 < MB; i++)); do head -c $((64 << 20)) /dev/urandom >"$W/data/f$i.bin"; done
declare -A SRC ID
for kind in p1 p64; do
    SRC[$kind]=$W/src-$kind
    if [ "$kind" = p1 ]; then "$DVT" init -q --pack-size 1048576 "${SRC[$kind]}"; else "$DVT" init -q "${SRC[$kind]}"; fi
    cp -al "$W/data" "${SRC[$kind]}/data"
    ID[$kind]=$("$DVT" -C "${SRC[$kind]}" commit -q -m data)
    say "$kind: ${ID[$kind]}, $(ls "${SRC[$kind]}/.dvt/packs" | wc -l) packs"
done

# clone_once RUN KIND: a fresh serve of SRC[KIND], one clone; appends a JSON row (a failed clone is a row, not an exit)
clone_once() {
    local run=$1 kind=$2 dst=$W/dst sp rc=0 t0 t1
    rm -rf "$dst"
    "$DVT" -C "${SRC[$kind]}" --json serve --listen 127.0.0.2:0 >"$W/serve.json" 2>"$W/serve.err" &
    sp=$!
    track "$sp"
    wait_json_line "$W/serve.json" "$sp" 60
    cat "${SRC[$kind]}"/.dvt/packs/* >/dev/null
    t0=$(tmark)
    /usr/bin/time -f '%M' -o "$W/rss" "$DVT" --json clone "${ID[$kind]}" "$dst" --peer "$(json_field "$W/serve.json" listen)" \
        --listen 127.0.0.3 --timeout "$TIMEOUT" >"$W/clone.json" 2>"$W/clone.err" || rc=$?
    t1=$(tmark)
    stop_pid "$sp" TERM >/dev/null || true
    "$PY" - "$W" "$run" "$kind" "$rc" "$t0" "$t1" >>"$ROWS" <<'PY'
import json, sys
w, run, kind, rc, t0, t1 = sys.argv[1:]
prog, err = [], ""
for l in open(w + "/clone.err"):
    try:
        j = json.loads(l)
    except ValueError:
        err = l.strip()
        continue
    if "progress" in j:
        prog.append(j["progress"]["elapsed_seconds"])
gaps = [b - a for a, b in zip(prog, prog[1:])]
try:
    c = json.load(open(w + "/clone.json"))
except ValueError:
    c = {}
print(json.dumps({"run": int(run), "kind": kind, "rc": int(rc), "wall": float(t1) - float(t0),
                  "transfer": c.get("transfer_seconds", -1.0), "gap": max(gaps) if gaps else 0.0,
                  "rss_mib": int(open(w + "/rss").read().split()[-1]) / 1024, "error": err if int(rc) else ""}))
PY
    say "run $run $kind: $(tail -n 1 "$ROWS")"
    rm -rf "$dst"
}

for ((r = 1; r <= RUNS; r++)); do
    if ((r <= BASE_RUNS && r % 2 == 0)); then
        clone_once "$r" p64
        clone_once "$r" p1
    else
        clone_once "$r" p1
        ((r <= BASE_RUNS)) && clone_once "$r" p64
    fi
done
rm -rf "$W/data" "${SRC[p64]}"

# --- serve with PULLERS clones at once, everything under ulimit -n 1024 ---
SMALL=$W/src-small
FORMAT=$(awk '/^\[/ { c = ($0 == "[core]") } c && $1 == "format" { print $3 }' "${SRC[p1]}/.dvt/config")
"$PY" "$repo/tests/hostile/gen_hostile.py" small-packs "$SMALL" --commit-version "$FORMAT" --packs "$PACKS" \
    --digest "$W/digest-small" >"$W/id-small"
SID=$(cat "$W/id-small")
bash -c 'ulimit -n 1024 && exec "$@"' _ "$DVT" -C "$SMALL" --json serve --listen 127.0.0.2:0 >"$W/serve.json" 2>"$W/serve.err" &
SP=$!
track "$SP"
wait_json_line "$W/serve.json" "$SP" 60
PEER=$(json_field "$W/serve.json" listen)
pids=()
for ((k = 1; k <= PULLERS; k++)); do
    bash -c 'ulimit -n 1024 && exec "$@"' _ "$DVT" --json clone "$SID" "$W/dst-$k" --peer "$PEER" --listen "127.0.1.$k" \
        --timeout "$TIMEOUT" >"$W/clone-$k.json" 2>"$W/clone-$k.err" &
    pids+=($!)
    track "$!"
done
max_fds=0
while :; do
    n=$(ls "/proc/$SP/fd" 2>/dev/null | wc -l)
    ((n > max_fds)) && max_fds=$n
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
done
ok=0
for ((k = 1; k <= PULLERS; k++)); do
    p=${pids[k - 1]}
    if wait "$p"; then ok=$((ok + 1)); else say "puller $k failed: $(tail -n 1 "$W/clone-$k.err")"; fi
    untrack "$p"
done
serve_up=no
kill -0 "$SP" 2>/dev/null && serve_up=yes
serve_hwm=$(awk '/VmHWM/ { print $2 / 1024 }' "/proc/$SP/status" 2>/dev/null || echo NA)
stop_pid "$SP" TERM >/dev/null || true
packs_small=$(ls "$SMALL/.dvt/packs" | wc -l)

"$PY" - "$ROWS" "$MB" "$PULLERS" "$ok" "$serve_up" "$max_fds" "$serve_hwm" "$packs_small" <<'PY'
import json, statistics, sys
path, mb, pullers, ok, serve_up, max_fds, hwm, packs = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]
p1 = [r for r in rows if r["kind"] == "p1"]
good = [r for r in p1 if r["rc"] == 0]
print(f"# {len(p1)} clones of a version of 1 MiB packs ({mb} MiB), one fresh serve each\n")
print("| clones | failed | wall s median | transfer s median | max progress gap s | max RSS MiB |")
print("|---|---|---|---|---|---|")
med = lambda rs, k: statistics.median(r[k] for r in rs) if rs else float("nan")
print(f"| {len(p1)} | {len(p1) - len(good)} | {med(good, 'wall'):.2f} | {med(good, 'transfer'):.2f} | "
      f"{max((r['gap'] for r in good), default=0):.2f} | {max((r['rss_mib'] for r in p1), default=0):.0f} |")
for r in p1:
    if r["rc"]:
        print(f"\nrun {r['run']}: exit {r['rc']}: {r['error']}")
base = [r for r in rows if r["kind"] == "p64" and r["rc"] == 0]
paired = [r for r in good if any(b["run"] == r["run"] for b in base)]
if base and paired:
    a, b = med(paired, "transfer"), med(base, "transfer")
    print(f"\n# 1 MiB packs against 64 MiB packs, {len(base)} interleaved pairs (transfer seconds, medians)\n")
    print("| pack.size | transfer s | wall s |\n|---|---|---|")
    print(f"| 1 MiB | {a:.2f} | {med(paired, 'wall'):.2f} |\n| 64 MiB | {b:.2f} | {med(base, 'wall'):.2f} |")
    print(f"\nratio 1 MiB / 64 MiB: {a / b:.2f} (target <= 1.2)")
print(f"\n# serve of {packs} small packs with {pullers} clones at once, all under ulimit -n 1024\n")
print("| clones completed | serve up after | serve peak descriptors | serve peak RSS MiB |\n|---|---|---|---|")
print(f"| {ok} of {pullers} | {serve_up} | {max_fds} | {hwm} |")
PY
