#!/usr/bin/env bash
# dvt vs restic 0.14 on the reference dataset, the path scenario of perf-baselines section 5, interleaved.
#
#   bench/core.sh                   # RUNS=3 runs; markdown report on stdout, progress on stderr
#   bench/core.sh --report DIR      # re-print the report from an earlier run's results directory
#
# Env: RUNS=3, SCALE=1 (dataset scale; 0.01 for a quick test), DATA=/tmp/dvtbench/data (reused if present),
#      WORK=/tmp/dvtbench/core (scratch, removed run by run; KEEP=1 keeps the last run), OUT=/tmp/dvtbench/results/core
#      (TSVs + logs), DVT=<repo>/build-bench/dvt (built if missing; REBUILD=1 forces a build), CHUNK_AVG (dvt init
#      --chunk-avg; default: dvt's default), QUIET_WAIT=30 (before each step, wait up to this many seconds for other
#      processes on the VM to go idle; the others' CPU during each step is recorded either way).
#
# Each run, for dvt and for restic, each in its own work directory that starts as a copy of v1 (untimed):
#   commit v1 (dvt commit / restic backup)  ->  make_dataset.sh --mutate (v1 -> v2 in place, untimed)  ->
#   commit v2 (same path, so restic uses its parent snapshot and dvt its stat cache)  ->  dvt: no-op status (x2),
#   fsck (info)  ->  checkout v2 into an empty directory: dvt deletes every work-tree file (keeping .dvt) and runs
#   `dvt checkout -f <v2 id>`; restic runs `restic restore --tag v2 latest --target <empty dir>`  ->  both trees are
#   verified against a sha256 manifest of v2.
# dvt and restic alternate which goes first at every step (dvt first in odd runs). Inputs are read once before
# each timed step (warm page cache, as in perf-baselines); a `sync` runs before each step.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

RUNS=${RUNS:-3}
export SCALE=${SCALE:-1}
DATA=${DATA:-/tmp/dvtbench/data}
WORK=${WORK:-/tmp/dvtbench/core}
OUT=${OUT:-/tmp/dvtbench/results/core}
DVT=${DVT:-$repo/build-bench/dvt}
GEN=${GEN:-$repo/../shared/bench/make_dataset.sh}
CHUNK_AVG=${CHUNK_AVG:-}
export QUIET_WAIT=${QUIET_WAIT:-30}
export RESTIC_PASSWORD=dvtbench

report() {
    PYTHONPATH="$here" python3 - "$1" <<'PY'
import os, sys
import report_lib
from report_lib import num, med, read_tsv
out = sys.argv[1]

def rows(name):
    return read_tsv(os.path.join(out, name))

times = {r["name"]: r for r in rows("core.tsv")}
sizes = rows("sizes.tsv")
verify = rows("verify.tsv")
meta = {r["key"]: r["value"] for r in rows("meta.tsv")}
runs = sorted({int(n.split(".")[0][1:]) for n in times})

def t(run, tool, step, field="wall_s"):
    r = times.get(f"r{run}.{tool}.{step}")
    return num(r[field]) if r else None

def fmt(x, d=2):
    return report_lib.fmt(x, d)

def size(run, tool, key):
    for r in sizes:
        if int(r["run"]) == run and r["tool"] == tool:
            return num(r[key])
    return None

MB = 1e6
print(f"# dvt vs restic: core scenario ({len(runs)} runs)\n")
for k in ("dataset", "dvt", "dvt_commit", "restic", "chunk_avg", "started", "finished"):
    if k in meta:
        print(f"- {k}: {meta[k]}")
print()

steps = [("commit-v1", "backup-v1", "commit v1", "≤ 0.4× restic", lambda d, r: d is not None and r and d <= 0.4 * r),
         ("commit-v2", "backup-v2", "commit v2", "≤ 2 s", lambda d, r: d is not None and d <= 2.0),
         ("checkout-v2", "restore-v2", "checkout v2 (empty dir)", "≤ 0.5× restic restore",
          lambda d, r: d is not None and r and d <= 0.5 * r),
         ("status-noop", None, "no-op status", "≤ 0.2 s", lambda d, r: d is not None and d <= 0.2)]

def yes(b):
    return "yes" if b else "**no**"

print("| step | dvt median s | restic median s | ratio dvt/restic | target | met? |")
print("|---|---|---|---|---|---|")
for ds, rs, label, target, ok in steps:
    d = med([t(i, "dvt", ds) for i in runs])
    r = med([t(i, "restic", rs) for i in runs]) if rs else None
    ratio = d / r if d is not None and r else None
    print(f"| {label} | {fmt(d)} | {fmt(r)} | {fmt(ratio)} | {target} | {yes(ok(d, r))} |")
# bytes added by v2
d = med([size(i, "dvt", "added_v2") for i in runs])
r = med([size(i, "restic", "added_v2") for i in runs])
print(f"| bytes added by v2 (MB) | {fmt(d and d / MB, 1)} MB | {fmt(r and r / MB, 1)} MB | "
      f"{fmt(d / r if d is not None and r else None)} | ≤ 100 MB | {yes(d is not None and d <= 100 * MB)} |")
# peak RSS over every dvt step of every run
def peak(tool):
    xs = [num(v["peak_rss_mib"]) for k, v in times.items() if k.split(".")[1] == tool]
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None
d, r = peak("dvt"), peak("restic")
print(f"| peak RSS, max over all steps (MiB) | {fmt(d, 0)} MiB | {fmt(r, 0)} MiB | {fmt(d / r if d and r else None)} | "
      f"≤ 200 MB (190.7 MiB) | {yes(d is not None and d <= 200e6 / 2**20)} |")
# info rows
d = med([size(i, "dvt", "store_v1") for i in runs])
r = med([size(i, "restic", "store_v1") for i in runs])
print(f"| store after v1 (MB) | {fmt(d and d / MB, 1)} MB | {fmt(r and r / MB, 1)} MB | "
      f"{fmt(d / r if d and r else None)} | — | — |")
d = med([size(i, "dvt", "index_v2") for i in runs])
print(f"| index.db after v2 (MB) | {fmt(d and d / MB, 1)} MB | — | — | — | — |")
d = med([t(i, "dvt", "status-noop2") for i in runs])
print(f"| no-op status, 2nd call | {fmt(d)} | — | — | — | — |")
d = med([t(i, "dvt", "fsck") for i in runs])
print(f"| fsck after v2 (info) | {fmt(d)} | — | — | — | — |")
bad = [v for v in verify if v["ok"] != "yes"]
failed = [k for k, v in times.items() if v["rc"] not in ("0", "")]
print()
print(f"Verification of restored trees against v2's sha256 manifest: "
      f"{len(verify) - len(bad)}/{len(verify)} ok" + ("" if not bad else
      " — FAILED: " + ", ".join(f"run {v['run']} {v['tool']}" for v in bad)))
print(f"Steps with a non-zero exit code: {', '.join(failed) if failed else 'none'}")
an = os.path.join(out, "anomalies.txt")
an = open(an).read().strip() if os.path.exists(an) else ""
print("Anomalies logged: " + ("none" if not an else "\n" + "\n".join("- " + l for l in an.splitlines())))
print("\nmedian of the runs; ratio = dvt median / restic median; MB = 10^6 bytes; dvt store = .dvt/packs + "
      ".dvt/commits, index.db (+ -wal/-shm) separately; restic store = the whole repository directory.\n")

print("## Per run: wall s / CPU s (user+sys) / peak RSS MiB\n")
print("| run | step | dvt wall | dvt CPU | dvt RSS | restic wall | restic CPU | restic RSS | dvt/restic | "
      "others' CPU s (dvt / restic) | rc (dvt / restic) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
pairs = [("commit-v1", "backup-v1"), ("commit-v2", "backup-v2"), ("checkout-v2", "restore-v2"),
         ("status-noop", None), ("status-noop2", None), ("fsck", None)]
for i in runs:
    for ds, rs in pairs:
        d = times.get(f"r{i}.dvt.{ds}")
        r = times.get(f"r{i}.restic.{rs}") if rs else None
        def g(x, f, dd=2):
            return fmt(num(x[f]), dd) if x else "—"
        ratio = (num(d["wall_s"]) / num(r["wall_s"])) if d and r and num(r["wall_s"]) else None
        print(f"| {i} | {ds}{' / ' + rs if rs else ''} | {g(d, 'wall_s')} | {g(d, 'cpu_s')} | {g(d, 'peak_rss_mib', 0)} | "
              f"{g(r, 'wall_s')} | {g(r, 'cpu_s')} | {g(r, 'peak_rss_mib', 0)} | {fmt(ratio)} | "
              f"{g(d, 'others_cpu_s', 1)} / {g(r, 'others_cpu_s', 1)} | "
              f"{d['rc'] if d else '—'} / {r['rc'] if r else '—'} |")

print("\n## Per run: store sizes (bytes)\n")
print("| run | tool | store after v1 | store after v2 | added by v2 | index.db after v1 | index.db after v2 | "
      "reported new stored v1 / v2 | verified |")
print("|---|---|---|---|---|---|---|---|---|")
vmap = {(v["run"], v["tool"]): v["ok"] for v in verify}
for r in sizes:
    def b(k):
        x = num(r.get(k))
        return "—" if x is None else f"{int(x):,}"
    print(f"| {r['run']} | {r['tool']} | {b('store_v1')} | {b('store_v2')} | {b('added_v2')} | {b('index_v1')} | "
          f"{b('index_v2')} | {r.get('reported_v1', '—')} / {r.get('reported_v2', '—')} | "
          f"{vmap.get((r['run'], r['tool']), '—')} |")
PY
}

if [[ ${1:-} == --report ]]; then
    report "${2:-$OUT}"
    exit
fi

ensure_tools restic || exit 1
ensure_dvt "$repo" "$(dirname "$DVT")" || { echo "cannot build dvt" >&2; exit 1; }
ensure_dataset "$DATA" "$GEN" || { echo "dataset generation failed" >&2; exit 1; }

mkdir -p "$OUT"
RESULTS_TSV=$OUT/core.tsv
LOG_DIR=$OUT/logs
rm -rf "$RESULTS_TSV" "$LOG_DIR" "$OUT/sizes.tsv" "$OUT/verify.tsv" "$OUT/meta.tsv" "$OUT/anomalies.txt"
touch "$OUT/anomalies.txt"
anomaly() { echo "ANOMALY: $*" | tee -a "$OUT/anomalies.txt" >&2; }
printf 'run\ttool\tstore_v1\tstore_v2\tadded_v2\tindex_v1\tindex_v2\treported_v1\treported_v2\n' >"$OUT/sizes.tsv"
printf 'run\ttool\tok\n' >"$OUT/verify.tsv"

# sha256 manifest of v2, made once per dataset
v2man=$DATA/v2.sha256
if [[ ! -s $v2man || $v2man -ot $DATA/v2 ]]; then
    echo "making the v2 manifest" >&2
    manifest "$DATA/v2" >"$v2man.tmp" && mv "$v2man.tmp" "$v2man"
fi
dataset_bytes=$(find "$DATA/v1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}')
{
    printf 'key\tvalue\n'
    printf 'dataset\t%s (SCALE=%s): v1 %s files, %s bytes; v2 %s files\n' "$DATA" "$SCALE" \
        "$(find "$DATA/v1" -type f | wc -l)" "$dataset_bytes" "$(find "$DATA/v2" -type f | wc -l)"
    printf 'dvt\t%s (%s)\n' "$DVT" "$("$DVT" --version 2>&1)"
    printf 'dvt_commit\t%s%s\n' "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)" \
        "$([[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' + uncommitted changes in the work tree')"
    printf 'restic\t%s\n' "$(restic version)"
    printf 'chunk_avg\t%s\n' "${CHUNK_AVG:-dvt default}"
    printf 'started\t%s\n' "$(date -u '+%F %T UTC')"
} >"$OUT/meta.tsv"

dvt_json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$@"; }
dvt_store() { bytes_of "$1/.dvt/packs" "$1/.dvt/commits"; }
dvt_index() { bytes_of "$1/.dvt/index.db" "$1/.dvt/index.db-wal" "$1/.dvt/index.db-shm"; }

# run_pair RUN DVT_STEP RESTIC_STEP -- dvt command... -- restic command...  (order alternates by run)
run_pair() {
    local run=$1 ds=$2 rs=$3
    shift 4
    local dcmd=() rcmd=()
    while [[ $# -gt 0 && $1 != -- ]]; do dcmd+=("$1"); shift; done
    shift
    rcmd=("$@")
    if ((run % 2)); then
        measure "r$run.dvt.$ds" "${dcmd[@]}"
        measure "r$run.restic.$rs" "${rcmd[@]}"
    else
        measure "r$run.restic.$rs" "${rcmd[@]}"
        measure "r$run.dvt.$ds" "${dcmd[@]}"
    fi
}

for ((run = 1; run <= RUNS; run++)); do
    echo "== run $run/$RUNS ($(date -u +%T))" >&2
    R=$WORK/run$run
    rm -rf "$WORK"
    mkdir -p "$R"
    wd=$R/dvt-work rsrc=$R/restic-src rrepo=$R/restic-repo rdst=$R/restic-restore
    export RESTIC_CACHE_DIR=$R/restic-cache
    cp -a "$DATA/v1" "$wd"
    cp -a "$DATA/v1" "$rsrc"
    init_args=()
    [[ -n $CHUNK_AVG ]] && init_args=(--chunk-avg "$CHUNK_AVG")
    "$DVT" -q init "$wd" "${init_args[@]}" >&2 || anomaly "run $run: dvt init failed"
    restic -q -r "$rrepo" init --repository-version 2 >&2 || anomaly "run $run: restic init failed"

    warm "$wd" "$rsrc"
    run_pair "$run" commit-v1 backup-v1 -- "$DVT" -C "$wd" commit -m v1 --json -- \
        restic -r "$rrepo" backup --host bench --tag v1 "$rsrc"
    d_rep1=$(dvt_json_field "$LOG_DIR/r$run.dvt.commit-v1.out" '["stats"]["bytes_new_stored"]' 2>/dev/null || echo NA)
    r_rep1=$(sed -nE 's/^Added to the repository: (.*)/\1/p' "$LOG_DIR/r$run.restic.backup-v1.out")
    d_s1=$(dvt_store "$wd") d_i1=$(dvt_index "$wd") r_s1=$(bytes_of "$rrepo")

    "$GEN" --mutate "$wd" >&2 && "$GEN" --mutate "$rsrc" >&2 || anomaly "run $run: --mutate failed"
    warm "$wd" "$rsrc"
    run_pair "$run" commit-v2 backup-v2 -- "$DVT" -C "$wd" commit -m v2 --json -- \
        restic -r "$rrepo" backup --host bench --tag v2 "$rsrc"
    v2id=$(dvt_json_field "$LOG_DIR/r$run.dvt.commit-v2.out" '["id"]' 2>/dev/null || echo NA)
    d_rep2=$(dvt_json_field "$LOG_DIR/r$run.dvt.commit-v2.out" '["stats"]["bytes_new_stored"]' 2>/dev/null || echo NA)
    r_rep2=$(sed -nE 's/^Added to the repository: (.*)/\1/p' "$LOG_DIR/r$run.restic.backup-v2.out")
    d_s2=$(dvt_store "$wd") d_i2=$(dvt_index "$wd") r_s2=$(bytes_of "$rrepo")
    printf '%s\tdvt\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$d_s1" "$d_s2" $((d_s2 - d_s1)) "$d_i1" "$d_i2" \
        "$d_rep1" "$d_rep2" >>"$OUT/sizes.tsv"
    printf '%s\trestic\t%s\t%s\t%s\t\t\t%s\t%s\n' "$run" "$r_s1" "$r_s2" $((r_s2 - r_s1)) "$r_rep1" "$r_rep2" \
        >>"$OUT/sizes.tsv"

    measure "r$run.dvt.status-noop" "$DVT" -C "$wd" status --json
    grep -q '"clean":true' "$MEASURE_OUT" || anomaly "run $run: dvt status after commit v2 is not clean ($MEASURE_OUT)"
    measure "r$run.dvt.status-noop2" "$DVT" -C "$wd" status --json
    measure "r$run.dvt.fsck" "$DVT" -C "$wd" fsck --json

    # checkout v2 into an empty directory: dvt keeps only .dvt; restic restores into a new directory
    find "$wd" -mindepth 1 -maxdepth 1 ! -name .dvt -exec rm -rf {} +
    warm "$wd/.dvt" "$rrepo"
    run_pair "$run" checkout-v2 restore-v2 -- "$DVT" -C "$wd" checkout -f "$v2id" --json -- \
        restic -r "$rrepo" restore --tag v2 latest --target "$rdst"
    for tool in dvt restic; do
        dir=$wd
        [[ $tool == restic ]] && dir=$rdst$rsrc
        if verify_tree "$dir" "$v2man"; then ok=yes; else ok=no; anomaly "run $run: $tool checkout/restore of v2 differs from v2 ($dir)"; fi
        printf '%s\t%s\t%s\n' "$run" "$tool" "$ok" >>"$OUT/verify.tsv"
    done
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
done
printf 'finished\t%s\n' "$(date -u '+%F %T UTC')" >>"$OUT/meta.tsv"
report "$OUT"
