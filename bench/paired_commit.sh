#!/usr/bin/env bash
# Commit, status and checkout of the reference data, two dvt binaries paired (issue 17: "commit/checkout speed does
# not regress by more than 10 % against today's binary in the same run"). dvt only (bench/core.sh adds restic):
# ROUNDS rounds, the binaries alternating which goes first; each: copy v1 (untimed), `init`, `commit` v1, turn the
# tree into v2 by copying only the files that differ (untimed; unchanged files keep their stat data, as after an
# in-place edit), `commit` v2, no-op `status`, delete the work tree (keeping .dvt), `checkout -f` v2, verify every
# file's sha256 against v2's manifest.
#
#   DVT_A=/work/bin/base/dvt DVT_B=build/dvt bench/paired_commit.sh      # markdown table on stdout
#
# Env: DVT_A, DVT_B (required), ROUNDS=3, DATA=/tmp/dvtbench/refv2/data (v1/ and v2/ of make_dataset.sh, made
#      with SCALE (default 1) when absent, as bench/core.sh does; GEN=<make_dataset.sh>), WORK=/tmp/dvtbench/paired_commit (scratch and results),
#      QUIET_WAIT=10 (bench/lib.sh). Per step: median wall and CPU (user+sys) seconds of each binary, their ratio,
#      the largest peak RSS; others_cpu (bench/lib.sh) says how busy the rest of the VM was.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
: "${DVT_A:?set DVT_A}" "${DVT_B:?set DVT_B}"
ROUNDS=${ROUNDS:-3}
DATA=${DATA:-/tmp/dvtbench/refv2/data}
WORK=${WORK:-/tmp/dvtbench/paired_commit}
export QUIET_WAIT=${QUIET_WAIT:-10}
PY=/usr/bin/python3
GEN=${GEN:-$here/../../shared/bench/make_dataset.sh}
ensure_tools
ensure_dataset "$DATA" "$GEN" || { echo "dataset generation failed" >&2; exit 1; }
if [[ ! -s $DATA/v2.sha256 || $DATA/v2.sha256 -ot $DATA/v2 ]]; then
    manifest "$DATA/v2" >"$DATA/v2.sha256.tmp" && mv "$DATA/v2.sha256.tmp" "$DATA/v2.sha256"
fi
rm -rf "$WORK"
mkdir -p "$WORK"
export RESULTS_TSV=$WORK/results.tsv LOG_DIR=$WORK/logs
export DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.invalid DVT_NO_HOOKS=1 DVT_GIT_PROVENANCE=0
W=$WORK/tree
for round in $(seq 1 "$ROUNDS"); do
    order="A B"
    [ $((round % 2)) = 0 ] && order="B A"
    for which in $order; do
        bin=$DVT_A
        [ "$which" = B ] && bin=$DVT_B
        echo "round $round: $which" >&2
        rm -rf "$W"
        cp -a "$DATA/v1" "$W"
        "$bin" -C "$W" init -q
        measure "$which-r$round-commit-v1" "$bin" -C "$W" commit -q -m v1
        # v2: copy the files that differ, delete those v2 lacks (untimed)
        "$PY" - "$DATA/v2" "$W" <<'PY'
import filecmp, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
want = set()
for root, _, files in os.walk(src):
    for f in files:
        p = os.path.join(root, f); rel = os.path.relpath(p, src); want.add(rel); q = os.path.join(dst, rel)
        if not os.path.exists(q) or not filecmp.cmp(p, q, shallow=False):
            os.makedirs(os.path.dirname(q), exist_ok=True); shutil.copy2(p, q)
for root, dirs, files in os.walk(dst):
    if ".dvt" in dirs: dirs.remove(".dvt")
    for f in files:
        q = os.path.join(root, f)
        if os.path.relpath(q, dst) not in want: os.remove(q)
PY
        measure "$which-r$round-commit-v2" "$bin" -C "$W" commit -q -m v2
        measure "$which-r$round-status" "$bin" -C "$W" status
        id=$("$bin" -C "$W" log -n 1 --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["commits"][0]["id"])')
        find "$W" -mindepth 1 -maxdepth 1 ! -name .dvt -exec rm -rf {} +
        measure "$which-r$round-checkout-v2" "$bin" -C "$W" checkout -f "$id"
        (cd "$W" && sha256sum -c --quiet "$DATA/v2.sha256") || { echo "checkout of v2 by $which differs" >&2; exit 1; }
    done
done
rm -rf "$W"
"$PY" - "$RESULTS_TSV" "$DVT_A" "$DVT_B" "$ROUNDS" <<'PY'
import collections, statistics, sys
path, a, b, rounds = sys.argv[1:5]
rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
wall, cpu, rss, others = (collections.defaultdict(list) for _ in range(4))
for r in rows:
    which, _, step = r[0].split("-", 2)
    key = (step, which)
    wall[key].append(float(r[1])); cpu[key].append(float(r[2])); rss[key].append(float(r[5])); others[key].append(float(r[8]))
print(f"# dvt paired: A = {a}, B = {b}, {rounds} rounds (medians)\n")
print("| step | A wall s | B wall s | B/A wall | A cpu s | B cpu s | B/A cpu | A max RSS MiB | B max RSS MiB | others' cpu s (median) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for step in ("commit-v1", "commit-v2", "status", "checkout-v2"):
    m = lambda d, w: statistics.median(d[(step, w)])
    print(f"| {step} | {m(wall,'A'):.2f} | {m(wall,'B'):.2f} | {m(wall,'B')/m(wall,'A'):.2f} | {m(cpu,'A'):.2f} | {m(cpu,'B'):.2f} | "
          f"{m(cpu,'B')/max(m(cpu,'A'),1e-9):.2f} | {max(rss[(step,'A')]):.0f} | {max(rss[(step,'B')]):.0f} | "
          f"{statistics.median(others[(step,'A')] + others[(step,'B')]):.1f} |")
PY
