#!/usr/bin/env bash
# Partial pulls (issue #16, "Targets": a pull of one directory receives <= 3x the directory's own bytes): one seeder
# (`dvt serve` on loopback), one puller into an empty repository, `dvt pull ID --peer ... -- DIR/`; received bytes
# against the directory's bytes, for a version whose commit names a locator (the default) and for the same tree
# committed with `pack.locator 0` (the puller then reads every pack's index and every tree), in the same run.
#
#   bench/partial_pull.sh                          # markdown table on stdout, progress on stderr
#
# Env: N_FILES=60000 (random files of 1-2 KiB, so nothing deduplicates), PER_DIR=500, DVT=<repo>/build/dvt,
#      BENCH_DIR=/tmp/dvt-bench-partial (scratch; removed at the end unless KEEP=1), RUNS=1 (bytes are deterministic
#      up to piece rounding; more runs only add times), SEED=1, MODES="locator none" (which seeders; `locator` alone
#      halves the set-up of a large case). The issue's second case: N_FILES=1000000 PER_DIR=1000 MODES=locator.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_DIR=${BENCH_DIR:-/tmp/dvt-bench-partial}
RUNS=${RUNS:-1}
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"
N_FILES=${N_FILES:-60000}
PER_DIR=${PER_DIR:-500}
SEED=${SEED:-1}
SEED_IP=127.0.0.2 PULL_IP=127.0.0.3
export DVT_NO_HOOKS=1 DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.org DVT_GIT_PROVENANCE=0
say() { echo "partial_pull: $*" >&2; }
fresh_bench_dir

say "tree: $N_FILES files, $PER_DIR per directory"
/usr/bin/python3 - "$BENCH_DIR/tree" "$N_FILES" "$PER_DIR" "$SEED" <<'PY'
import os, random, sys
root, n, per, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // per))
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%07d.bin" % i), "wb") as f:
        f.write(r.randbytes(r.randint(1024, 2048)))
PY
DIR=d0001
dir_bytes=$(find "$BENCH_DIR/tree/$DIR" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
dir_files=$(find "$BENCH_DIR/tree/$DIR" -type f | wc -l)

# Two seeders of the same tree: with a locator (default) and without (pack.locator 0).
declare -A IDS
MODES=${MODES:-locator none}
for mode in $MODES; do
    src=$BENCH_DIR/src-$mode
    mkdir -p "$src"
    cp -al "$BENCH_DIR/tree/." "$src/"  # hard links: the seeders only read the files
    "$DVT" -C "$src" init -q
    [ "$mode" = none ] && "$DVT" -C "$src" config pack.locator 0
    IDS[$mode]=$("$DVT" -C "$src" commit -q -m "v1")
    say "seeder $mode: commit ${IDS[$mode]}"
done
rm -rf "$BENCH_DIR/tree"

results=$BENCH_DIR/results.tsv
: >"$results"
for run in $(seq 1 "$RUNS"); do
    for mode in $MODES; do
        src=$BENCH_DIR/src-$mode dst=$BENCH_DIR/dst
        rm -rf "$dst" "$BENCH_DIR/seed.out"
        "$DVT" -C "$src" --json serve --listen "$SEED_IP:0" >"$BENCH_DIR/seed.out" 2>"$BENCH_DIR/seed.err" &
        sp=$!
        track "$sp"
        wait_json_line "$BENCH_DIR/seed.out" "$sp" 60
        port=$(json_field "$BENCH_DIR/seed.out" port)
        "$DVT" init -q "$dst"
        s=$(tmark)
        "$DVT" -C "$dst" --json pull "${IDS[$mode]}" --peer "$SEED_IP:$port" --listen "$PULL_IP" -- "$DIR/" \
            >"$BENCH_DIR/pull.out" 2>"$BENCH_DIR/pull.err" || { cat "$BENCH_DIR/pull.err" >&2; exit 1; }
        e=$(tmark)
        stop_pid "$sp" TERM >/dev/null || true
        got=$(find "$dst/$DIR" -type f | wc -l)
        [ "$got" = "$dir_files" ] || { say "pull wrote $got of $dir_files files"; exit 1; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "$(json_field "$BENCH_DIR/pull.out" bytes_received -1)" \
            "$(json_field "$BENCH_DIR/pull.out" bytes_downloaded -1)" "$(json_field "$BENCH_DIR/pull.out" bytes_needed -1)" \
            "$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b - a}')" >>"$results"
        say "run $run $mode: $(tail -1 "$results")"
        rm -rf "$dst"
    done
done

/usr/bin/python3 - "$results" "$N_FILES" "$PER_DIR" "$dir_bytes" "$dir_files" <<'PY'
import statistics, sys
path, n, per, dir_bytes, dir_files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [l.rstrip("\n").split("\t") for l in open(path)]
print(f"# partial pull of one directory ({dir_files} files, {dir_bytes:,} bytes) of a {n:,}-file version ({per} per directory)\n")
print("| commit | bytes received | x directory | bytes downloaded (payload) | bytes needed | wall s (median) |")
print("|---|---|---|---|---|---|")
for mode, label in (("locator", "with a locator (default)"), ("none", "without (`pack.locator 0`)")):
    rs = [r for r in rows if r[1] == mode]
    if not rs:
        continue
    rec = statistics.median(int(r[2]) for r in rs)
    print(f"| {label} | {rec:,.0f} | {rec / dir_bytes:.2f} | {statistics.median(int(r[3]) for r in rs):,.0f} | "
          f"{statistics.median(int(r[4]) for r in rs):,.0f} | {statistics.median(float(r[5]) for r in rs):.2f} |")
print("\ntarget: <= 3.00 x the directory's bytes received")
PY
