#!/usr/bin/env bash
# dvt's store size and chunk count by average chunk size (v1 then v2 of the reference dataset, same path).
#
#   bench/chunking.sh                 # markdown report on stdout, progress on stderr
#   bench/chunking.sh --report DIR    # re-print the report of an earlier run
#
# Env: SIZES="8 16 32 64" (KiB; min = avg/4 and max = avg*4, dvt's defaults), SCALE=1, DATA=/tmp/dvtbench/data,
#      WORK=/tmp/dvtbench/chunking, OUT=/tmp/dvtbench/results/chunking, DVT=<repo>/build-bench/dvt,
#      QUIET_WAIT=30 (seconds to wait before each timed step for the VM to go idle).
#
# Per size: copy v1 to a work dir (untimed) -> dvt init --chunk-avg N -> commit v1 (timed) -> make_dataset.sh
# --mutate (untimed) -> commit v2 (timed). Reported: packs + commits size after v1, bytes added by v2, metadata
# (raw and stored sizes of file manifests + trees, from the index database's objects table, read from a copy of
# index.db so the repository is never touched), unique chunks, index.db size, commit times, and the same per TB.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

SIZES=${SIZES:-"8 16 32 64"}
export SCALE=${SCALE:-1}
DATA=${DATA:-/tmp/dvtbench/data}
WORK=${WORK:-/tmp/dvtbench/chunking}
OUT=${OUT:-/tmp/dvtbench/results/chunking}
DVT=${DVT:-$repo/build-bench/dvt}
GEN=${GEN:-$repo/../shared/bench/make_dataset.sh}
export QUIET_WAIT=${QUIET_WAIT:-30}

report() {
    python3 - "$1" <<'PY'
import csv, os, sys
out = sys.argv[1]
def rows(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return list(csv.DictReader(f, delimiter="\t"))
times = {r["name"]: r for r in rows("chunking.tsv")}
res = rows("sizes.tsv")
meta = {r["key"]: r["value"] for r in rows("meta.tsv")}
def n(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None
def f(x, d=1):
    return "—" if x is None else f"{x:,.{d}f}"
def t(kib, step, field="wall_s"):
    r = times.get(f"avg{kib}k.{step}")
    return n(r[field]) if r else None
MB = 1e6
print("# dvt store size by average chunk size\n")
for k in ("dataset", "dvt", "dvt_commit", "started", "finished"):
    if k in meta:
        print(f"- {k}: {meta[k]}")
print()
print("| avg chunk (min–max) | store after v1 MB | added by v2 MB | v2 added / ideal 43 MB | metadata raw MB (v2 repo: files + trees) "
      "| metadata stored MB | unique chunks after v1 | after v2 | new chunks v2 | index.db MB after v1 / v2 | "
      "commit v1 s | commit v2 s | peak RSS MiB (v1 / v2) | others' CPU s (v1 / v2) | rc |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in res:
    k = int(r["avg_kib"])
    s1, s2 = n(r["store_v1"]), n(r["store_v2"])
    add = s2 - s1 if s1 is not None and s2 is not None else None
    rc = f"{times.get(f'avg{k}k.commit-v1', {}).get('rc', '—')} / {times.get(f'avg{k}k.commit-v2', {}).get('rc', '—')}"
    print(f"| {k} KiB ({k/4:g}–{k*4:g} KiB) | {f(s1 and s1/MB)} | {f(add and add/MB)} | {f(add and add/43e6, 2)}x | "
          f"{f(n(r['meta_raw_v2']) and n(r['meta_raw_v2'])/MB, 2)} | {f(n(r['meta_stored_v2']) and n(r['meta_stored_v2'])/MB, 2)} | "
          f"{f(n(r['chunks_v1']), 0)} | {f(n(r['chunks_v2']), 0)} | {f(n(r['chunks_new_v2']), 0)} | "
          f"{f(n(r['index_v1']) and n(r['index_v1'])/MB, 2)} / {f(n(r['index_v2']) and n(r['index_v2'])/MB, 2)} | "
          f"{f(t(k, 'commit-v1'), 2)} | {f(t(k, 'commit-v2'), 2)} | "
          f"{f(t(k, 'commit-v1', 'peak_rss_mib'), 0)} / {f(t(k, 'commit-v2', 'peak_rss_mib'), 0)} | "
          f"{f(t(k, 'commit-v1', 'others_cpu_s'))} / {f(t(k, 'commit-v2', 'others_cpu_s'))} | {rc} |")
print("\nMB = 10^6 bytes. store = .dvt/packs + .dvt/commits (du -sb); added by v2 = its growth. metadata = file manifests "
      "+ trees in the index database's objects table (type 2 and 3), raw = encoded size, stored = after zstd, "
      "in the packs. unique chunks = objects of type chunk. index.db includes -wal/-shm if present. Ideal growth 43 MB "
      "(perf-baselines section 2).\n")

print("## Extrapolated per TB of data (from v1: unique chunks, metadata and index.db after commit v1, / v1 bytes)\n")
print("| avg chunk | chunks per TB | metadata raw per TB | index.db per TB | index.db bytes per chunk | "
      "metadata raw bytes per chunk |")
print("|---|---|---|---|---|---|")
for r in res:
    k = int(r["avg_kib"])
    db = n(r["dataset_bytes"])
    c1, i1, m1 = n(r["chunks_v1"]), n(r["index_v1"]), n(r["meta_raw_v1"])
    if not (db and c1):
        print(f"| {k} KiB | — | — | — | — | — |")
        continue
    s = 1e12 / db
    print(f"| {k} KiB | {c1*s/1e6:,.1f} M | {m1*s/1e9:,.2f} GB | {i1*s/1e9:,.2f} GB | {i1/c1:,.0f} | {m1/c1:,.1f} |")
print("\nPer TB = value × 10^12 / v1 bytes; assumes data like the reference set (56% of the bytes are 20–200 KiB "
      "images, one to a few chunks each at these sizes; a TB of large files would have ~10^12 / avg chunks). index.db "
      "also holds one stat-cache row per work-tree file, so per-chunk index bytes are overstated for small test sets.")
PY
}

if [[ ${1:-} == --report ]]; then
    report "${2:-$OUT}"
    exit
fi

ensure_tools || exit 1
ensure_dvt "$repo" "$(dirname "$DVT")" || { echo "cannot build dvt" >&2; exit 1; }
ensure_dataset "$DATA" "$GEN" || { echo "dataset generation failed" >&2; exit 1; }

mkdir -p "$OUT"
RESULTS_TSV=$OUT/chunking.tsv
LOG_DIR=$OUT/logs
rm -rf "$RESULTS_TSV" "$LOG_DIR" "$OUT/sizes.tsv" "$OUT/meta.tsv"
dataset_bytes=$(find "$DATA/v1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}')
{
    printf 'key\tvalue\n'
    printf 'dataset\t%s (SCALE=%s): v1 %s files, %s bytes\n' "$DATA" "$SCALE" "$(find "$DATA/v1" -type f | wc -l)" \
        "$dataset_bytes"
    printf 'dvt\t%s (%s)\n' "$DVT" "$("$DVT" --version 2>&1)"
    printf 'dvt_commit\t%s%s\n' "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)" \
        "$([[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' + uncommitted changes in the work tree')"
    printf 'started\t%s\n' "$(date -u '+%F %T UTC')"
} >"$OUT/meta.tsv"
printf 'avg_kib\tdataset_bytes\tstore_v1\tstore_v2\tindex_v1\tindex_v2\tchunks_v1\tchunks_v2\tchunks_new_v2\tmeta_raw_v1\tmeta_stored_v1\tmeta_raw_v2\tmeta_stored_v2\n' \
    >"$OUT/sizes.tsv"

dvt_store() { bytes_of "$1/.dvt/packs" "$1/.dvt/commits"; }
dvt_index() { bytes_of "$1/.dvt/index.db" "$1/.dvt/index.db-wal" "$1/.dvt/index.db-shm"; }
# "chunks meta_raw meta_stored" from a copy of the index database (objects: type 1 chunk, 2 file, 3 tree)
db_counts() {
    local tmp
    tmp=$(mktemp -d)
    cp "$1/.dvt/index.db"* "$tmp/"
    sqlite3 "$tmp/index.db" "SELECT (SELECT count(*) FROM objects WHERE type=1), \
        (SELECT coalesce(sum(raw_len),0) FROM objects WHERE type IN (2,3)), \
        (SELECT coalesce(sum(stored_len),0) FROM objects WHERE type IN (2,3));" | tr '|' ' '
    rm -rf "$tmp"
}

for kib in $SIZES; do
    echo "== avg $kib KiB ($(date -u +%T))" >&2
    w=$WORK/avg$kib
    rm -rf "$WORK"
    mkdir -p "$WORK"
    cp -a "$DATA/v1" "$w"
    "$DVT" -q init "$w" --chunk-avg $((kib * 1024)) >&2 || echo "ANOMALY: dvt init failed" >&2
    warm "$w"
    measure "avg${kib}k.commit-v1" "$DVT" -C "$w" commit -m v1 --json
    s1=$(dvt_store "$w") i1=$(dvt_index "$w")
    read -r c1 mr1 ms1 <<<"$(db_counts "$w")"
    "$GEN" --mutate "$w" >&2 || echo "ANOMALY: mutate failed" >&2
    warm "$w"
    measure "avg${kib}k.commit-v2" "$DVT" -C "$w" commit -m v2 --json
    new2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["chunks_new"])' "$MEASURE_OUT" 2>/dev/null || echo NA)
    s2=$(dvt_store "$w") i2=$(dvt_index "$w")
    read -r c2 mr2 ms2 <<<"$(db_counts "$w")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kib" "$dataset_bytes" "$s1" "$s2" "$i1" "$i2" \
        "$c1" "$c2" "$new2" "$mr1" "$ms1" "$mr2" "$ms2" >>"$OUT/sizes.tsv"
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
done
printf 'finished\t%s\n' "$(date -u '+%F %T UTC')" >>"$OUT/meta.tsv"
report "$OUT"
