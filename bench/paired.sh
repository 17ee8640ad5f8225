#!/usr/bin/env bash
# Paired comparison of two dvt binaries (before and after a change) on bench/core.sh and bench/clone.sh: ROUNDS rounds,
# each runs core.sh and then clone.sh once (RUNS=1) with each binary, the binaries alternating which goes first, so
# both see the same state of this noisy VM. Prints, per step, the median wall time of each binary and their ratio.
#
#   DVT_A=/path/old/dvt DVT_B=build/dvt bench/paired.sh          # ROUNDS=3, SCALE=0.25; table on stdout
#
# Env: DVT_A, DVT_B (required), BENCHES="core clone" (which of the two to run; "core" alone for commit/checkout), ROUNDS=3, FIRST=1 (the first round to run: FIRST=3 ROUNDS=4 adds two rounds to an
#      earlier run's results and reports all four), SCALE=0.25 (passed to both benches), WORK=/tmp/dvtbench/paired (results of
#      every run: core-<A|B>-r<i>/ and clone-<A|B>-r<i>/), QUIET_WAIT=10. restic, nginx and curl runs of the two
#      benches happen too (they are part of those scripts) but are not compared here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DVT_A:?give DVT_A (the baseline binary)}" "${DVT_B:?give DVT_B (the binary under test)}"
ROUNDS=${ROUNDS:-3}
BENCHES=${BENCHES:-core clone}
FIRST=${FIRST:-1}
export SCALE=${SCALE:-0.25} QUIET_WAIT=${QUIET_WAIT:-10}
WORK=${WORK:-/tmp/dvtbench/paired}
mkdir -p "$WORK"
BENCH_DIR=${BENCH_DIR:-$WORK/swarm}
export BENCH_DIR

run_one() {  # TAG BINARY ROUND
    local tag=$1 bin=$2 r=$3
    rm -rf "$WORK/core-$tag-r$r" "$WORK/clone-$tag-r$r"
    if [[ " $BENCHES " == *" core "* ]]; then
        DVT=$bin RUNS=1 OUT="$WORK/core-$tag-r$r" DATA="$WORK/data" WORK="$WORK/core-work" \
            "$here/core.sh" >"$WORK/core-$tag-r$r.md" 2>"$WORK/core-$tag-r$r.log"
    fi
    if [[ " $BENCHES " == *" clone "* ]]; then
        DVT=$bin RUNS=1 "$here/clone.sh" >"$WORK/clone-$tag-r$r.md" 2>"$WORK/clone-$tag-r$r.log"
        cp -r "$BENCH_DIR/clone/results" "$WORK/clone-$tag-r$r"
    fi
}

for r in $(seq "$FIRST" "$ROUNDS"); do
    if (( r % 2 )); then order=(A B); else order=(B A); fi
    for tag in "${order[@]}"; do
        bin=$DVT_A; [[ $tag == B ]] && bin=$DVT_B
        echo "round $r: $tag ($bin)" >&2
        run_one "$tag" "$bin" "$r"
    done
done

PYTHONPATH="$here" python3 - "$WORK" "$ROUNDS" "$DVT_A" "$DVT_B" <<'PY'
import os, sys
from report_lib import num, med, read_tsv
work, rounds, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
steps = {}
for tag in "AB":
    for r in range(1, rounds + 1):
        for bench, tsv in (("core", "core.tsv"), ("clone", "clone.tsv")):
            path = os.path.join(work, f"{bench}-{tag}-r{r}", tsv)
            if not os.path.exists(path):
                continue
            for row in read_tsv(path):
                name = row["name"]
                if ".dvt" not in name:
                    continue
                rest = name.split(".dvt", 1)[1]  # core: "r1.dvt.commit_v1"; clone: "r1.dvt"
                step = bench + (":" + rest[1:] if rest.startswith(".") else "")
                steps.setdefault(step, {"A": [], "B": []})[tag].append((num(row["wall_s"]), num(row["peak_rss_mib"])))
print(f"A = {a}\nB = {b}\n{rounds} paired rounds, SCALE={os.environ.get('SCALE')}; wall seconds, median (runs)\n")
print("| step | A wall s | B wall s | B / A | A peak RSS MiB | B peak RSS MiB |")
print("|---|---|---|---|---|---|")
for step, v in steps.items():
    wa = [x[0] for x in v["A"] if x[0] is not None]
    wb = [x[0] for x in v["B"] if x[0] is not None]
    ra = [x[1] for x in v["A"] if x[1] is not None]
    rb = [x[1] for x in v["B"] if x[1] is not None]
    ma, mb = med(wa), med(wb)
    ratio = f"{mb / ma:.2f}" if ma and mb else "-"
    fmt = lambda xs: " / ".join(f"{x:.2f}" for x in xs)
    print(f"| {step} | {ma:.2f} ({fmt(wa)}) | {mb:.2f} ({fmt(wb)}) | {ratio} | {med(ra) or 0:.0f} | {med(rb) or 0:.0f} |")
PY
