#!/usr/bin/env bash
# End-to-end clone speed: one `dvt serve`, one `dvt clone <id>` (no rate caps) of the reference data v1, from the
# command to a verified, checked-out working tree; against `curl` of an uncompressed tarball of the same files from
# nginx piped into `tar -x`.
#
#   bench/clone.sh                   # RUNS=3, SCALE=1 (~2 GiB); markdown report on stdout, progress on stderr
#   bench/clone.sh --report          # re-print the report of the last run (from $BENCH_DIR/clone/results)
#   SCALE=0.05 RUNS=1 DVT=/tmp/dvt-snap/dvt bench/clone.sh        # quick check
#
# Env: DVT=<repo>/build/dvt, BENCH_DIR=/tmp/dvt-bench-swarm (work dir; the generated data, its dvt repository and the
#      tarball are kept in $BENCH_DIR/clone/ and reused), RUNS=3, SCALE=1 (passed to make_dataset.sh), SEED=42,
#      GEN=<repo>/../shared/bench/make_dataset.sh, TIMEOUT=600 (clone --timeout), QUIET_WAIT=30 (before each timed
#      step wait up to this many seconds for the machine to go idle; other jobs share this 2-core VM. The CPU the rest
#      of the machine used during each step is reported either way; for dvt it includes the seeder's own CPU).
#
# Setup (untimed, once): `make_dataset.sh --v1 $BENCH_DIR/clone/src-s<SCALE>`, `dvt init` + `dvt commit` there, a sha256
# manifest of the files, and `tar -cf v1.tar` of the same files (no .dvt) for nginx.
# Each run (dvt and http alternate which goes first):
#   dvt:  `dvt serve --listen 127.0.0.2:0` on the source repository, then, timed:
#         `dvt --json clone <id> DST --peer 127.0.0.2:PORT --listen 127.0.0.4` (download, verify, import, checkout).
#         "download s" is the clone's JSON "seconds"; the rest of the wall time is process start, commit fetch setup,
#         pack verification + fsync, import into .dvt and checkout of the working tree.
#   http: nginx 1.22 (1 worker, sendfile, private config) on 127.0.0.3:18081, timed:
#         `curl -sS --fail http://127.0.0.3:18081/v1.tar | tar -x -C DST`.
#   Both trees are then compared with the manifest (untimed). MB/s = bytes of v1's files (10^6) / wall.
# Page cache: no cache dropping here. Before each timed step the source side (the seeder's .dvt/packs, or the tarball)
# is read once, so it is served from RAM; the destination is written into the page cache. A `sync` runs before each
# step and is timed right after it ("sync after"): data the step left dirty. dvt fsyncs its packs inside the step,
# curl | tar does not, so "+ sync" gives the http side its writeback too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"  # also lib.sh; sets repo, DVT, BENCH_DIR, RUNS
export SCALE=${SCALE:-1} SEED=${SEED:-42}
GEN=${GEN:-$repo/../shared/bench/make_dataset.sh}
TIMEOUT=${TIMEOUT:-600}
export QUIET_WAIT=${QUIET_WAIT:-30}
W=$BENCH_DIR/clone
OUT=$W/results
SEED_IP=127.0.0.2 PULL_IP=127.0.0.4 NGINX_ADDR=127.0.0.3:18081

report() {
    PYTHONPATH="$here" python3 - "$OUT" <<'PY'
import os, sys
import report_lib
from report_lib import num as f, med, read_tsv, read_meta
out = sys.argv[1]
t = {r["name"]: r for r in read_tsv(os.path.join(out, "clone.tsv"))}
extra = read_tsv(os.path.join(out, "extra.tsv"))
meta = read_meta(os.path.join(out, "meta.tsv"))
def fmt(x, d=2):
    return report_lib.fmt(x, d)
data = f(meta["data_bytes"])
runs = sorted({int(r["run"]) for r in extra})
print("# dvt clone vs curl | tar (one seeder, one puller, no caps)\n")
for k in ("data", "dvt", "page_cache", "runs", "started", "finished"):
    if k in meta: print(f"- {k}: {meta[k]}")
print()
print("| method | wall s (median) | wall s (each run) | MB/s end to end | + sync s | MB/s incl. sync | download s (JSON) "
      "| rest s (verify/import/checkout) | CPU s | others' CPU s | peak RSS MiB | verified |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for tool, label in (("dvt", "dvt clone"), ("http", "curl \\| tar -x (nginx)")):
    rows = [t.get(f"r{i}.{tool}") for i in runs]
    ex = [r for r in extra if r["tool"] == tool]
    good = [r for r in rows if r and r["rc"] == "0"]
    wall = med([f(r["wall_s"]) for r in good])
    sync = med([f(r["sync_after_s"]) for r in good])
    dl = med([f(r["download_s"]) for r in ex if r["ok"] == "yes"]) if tool == "dvt" else None
    each = " / ".join(fmt(f(r["wall_s"])) + ("" if r["rc"] == "0" else f" (rc {r['rc']})") if r else "—" for r in rows)
    print(f"| {label} | {fmt(wall)} | {each} | {fmt(wall and data / wall / 1e6, 0)} | {fmt(sync)} | "
          f"{fmt(wall and data / (wall + (sync or 0)) / 1e6, 0)} | {fmt(dl)} | {fmt(wall - dl if wall and dl else None)} | "
          f"{fmt(med([f(r['cpu_s']) for r in good]))} | {fmt(med([f(r['others_cpu_s']) for r in good]), 1)} | "
          f"{fmt(med([f(r['peak_rss_mib']) for r in good]), 0)} | "
          f"{sum(r['ok'] == 'yes' for r in ex)}/{len(ex)} |")
d = [r for r in extra if r["tool"] == "dvt" and r["ok"] == "yes"]
dl = med([f(r["download_s"]) for r in d])
wall = med([f(t[f"r{r['run']}.dvt"]["wall_s"]) for r in d])
if wall:
    mbps = data / wall / 1e6
    print(f"\ndvt: download {fmt(dl)} s of {fmt(wall)} s wall ({fmt(dl / wall * 100, 0)} %); "
          f"wire rate {fmt(med([f(r['bytes_downloaded']) / f(r['download_s']) / 1e6 for r in d]), 0)} MB/s of payload "
          f"({fmt(med([f(r['bytes_downloaded']) for r in d]) / 1e6, 1)} MB downloaded for {data / 1e6:,.1f} MB of files). "
          f"Target ≥ 200 MB/s end to end: {fmt(mbps, 0)} MB/s -> {'met' if mbps >= 200 else '**not met**'}.")
bad = [f"run {r['run']} {r['tool']}: {r['note']}" for r in extra if r["ok"] != "yes"]
print("\nFailures: " + ("none" if not bad else "; ".join(bad)))
print("\nwall = the timed command (dvt clone / curl | tar), median of the runs; MB/s = v1 file bytes / wall (10^6); "
      "+ sync = a `sync` right after the step; CPU = user+sys of the client side; others' CPU = the rest of the machine "
      "during the step (includes the dvt seeder / nginx; much more than that means another job disturbed the run).")
PY
}

if [[ ${1:-} == --report ]]; then
    report
    exit
fi

install_cleanup
[[ -x $DVT ]] || { echo "no dvt binary at $DVT (set DVT=...)" >&2; exit 1; }
ensure_tools "" >/dev/null

# ---------------------------------------------------------------------------------------------------------------
# Setup: v1 in a dvt repository, its manifest and tarball (reused)
src=$W/src-s$SCALE www=$W/www-s$SCALE man=$W/manifest-s$SCALE
if [[ ! -s $src.id || ! -d $src/.dvt ]]; then
    echo "generating reference data v1 (SCALE=$SCALE) into $src" >&2
    rm -rf "$src" "$src.id" "$www" "$man"
    "$GEN" --v1 "$src" >&2
    manifest "$src" >"$man"
    "$DVT" -q init "$src" >&2
    echo "committing v1" >&2
    "$DVT" -C "$src" --json commit -m v1 >"$W/commit-s$SCALE.json"
    json_field "$W/commit-s$SCALE.json" id >"$src.id.tmp"
    mv "$src.id.tmp" "$src.id"
fi
ID=$(cat "$src.id")
mkdir -p "$www"
if [[ ! -s $www/v1.tar ]]; then
    echo "making v1.tar" >&2
    tar -C "$src" --exclude=./.dvt -cf "$www/v1.tar.tmp" .
    mv "$www/v1.tar.tmp" "$www/v1.tar"
fi
data_bytes=$(find "$src" -path "$src/.dvt" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
nfiles=$(wc -l <"$man")

mkdir -p "$OUT"
export RESULTS_TSV=$OUT/clone.tsv LOG_DIR=$OUT/logs
rm -rf "$RESULTS_TSV" "$LOG_DIR"
printf 'run\ttool\tok\tdownload_s\tbytes_downloaded\tnote\n' >"$OUT/extra.tsv"
{
    printf 'data\treference v1, SCALE=%s SEED=%s: %s files, %s bytes; commit %s\n' "$SCALE" "$SEED" "$nfiles" "$data_bytes" "${ID:0:16}"
    printf 'data_bytes\t%s\n' "$data_bytes"
    printf 'dvt\t%s (%s)\n' "$DVT" "$("$DVT" --version 2>&1)"
    printf 'page_cache\t%s\n' "source side warm (packs / tarball read once before each step), destination written into the page cache; RAM $(free -g | awk '/^Mem/{print $2}') GiB"
    printf 'runs\t%s\n' "$RUNS"
    printf 'started\t%s\n' "$(date -u '+%F %T UTC')"
} >"$OUT/meta.tsv"

verify_dst() { # DST -> yes/no
    if [[ -d $1 ]] && manifest "$1" | cmp -s - "$man"; then echo yes; else echo no; fi
}

dvt_once() {
    local run=$1 dst=$W/dst-dvt note="" ok
    rm -rf "$dst" "$W/seed.out" "$W/seed.err"
    "$DVT" -C "$src" --json serve --listen "$SEED_IP:0" >"$W/seed.out" 2>"$W/seed.err" &
    local sp=$!
    track "$sp"
    wait_json_line "$W/seed.out" "$sp" 60
    local port
    port=$(json_field "$W/seed.out" port)
    warm "$src/.dvt/packs" "$src/.dvt/commits"
    local rc=0
    measure "r$run.dvt" "$DVT" --json clone "$ID" "$dst" --peer "$SEED_IP:$port" --listen "$PULL_IP" --timeout "$TIMEOUT" || rc=$?
    stop_pid "$sp" TERM || note+="serve exit $?; "
    mkdir -p "$LOG_DIR"
    cp "$W/seed.out" "$LOG_DIR/r$run.dvt.seed.out"
    cp "$W/seed.err" "$LOG_DIR/r$run.dvt.seed.err"
    local secs=NA bytes=NA
    if ((rc == 0)); then
        secs=$(json_field "$MEASURE_OUT" seconds -1 2>/dev/null || echo NA)
        bytes=$(json_field "$MEASURE_OUT" bytes_downloaded -1 2>/dev/null || echo NA)
    else
        note+="clone exit $rc: $(tail -n 2 "$LOG_DIR/r$run.dvt.err" | tr '\n' ' ' | cut -c1-300); "
    fi
    ok=$(verify_dst "$dst")
    [[ $ok == yes ]] || note+="tree differs from v1; "
    [[ -z $note ]] || ok=no
    echo "  dvt: wall ${MEASURE_WALL}s, download ${secs}s, $(awk -v b="$data_bytes" -v w="$MEASURE_WALL" 'BEGIN{printf "%.0f", b/w/1e6}') MB/s, verified=$ok ${note}" >&2
    printf '%s\tdvt\t%s\t%s\t%s\t%s\n' "$run" "$ok" "$secs" "$bytes" "$note" >>"$OUT/extra.tsv"
    rm -rf "$dst"
}

http_once() {
    local run=$1 dst=$W/dst-http note="" ok rc=0
    rm -rf "$dst"
    mkdir -p "$dst"
    start_nginx "$W/nginx" "$NGINX_ADDR" "$www"
    warm "$www"
    # shellcheck disable=SC2016  # expanded by the inner bash
    measure "r$run.http" bash -c 'set -o pipefail; curl -sS --fail --interface "$3" "http://$1/v1.tar" | tar -x -C "$2"' \
        _ "$NGINX_ADDR" "$dst" "$PULL_IP" || rc=$?
    stop_pid "$NGINX_PID" TERM || true
    ((rc == 0)) || note+="curl | tar exit $rc: $(tail -n 2 "$LOG_DIR/r$run.http.err" | tr '\n' ' '); "
    ok=$(verify_dst "$dst")
    [[ $ok == yes ]] || note+="tree differs from v1; "
    [[ -z $note ]] || ok=no
    echo "  http: wall ${MEASURE_WALL}s, $(awk -v b="$data_bytes" -v w="$MEASURE_WALL" 'BEGIN{printf "%.0f", b/w/1e6}') MB/s, verified=$ok ${note}" >&2
    printf '%s\thttp\t%s\t\t\t%s\n' "$run" "$ok" "$note" >>"$OUT/extra.tsv"
    rm -rf "$dst" "$W/nginx"
}

for ((run = 1; run <= RUNS; run++)); do
    echo "== run $run/$RUNS ($(date -u +%T))" >&2
    if ((run % 2)); then
        dvt_once "$run"
        http_once "$run"
    else
        http_once "$run"
        dvt_once "$run"
    fi
done
printf 'finished\t%s\n' "$(date -u '+%F %T UTC')" >>"$OUT/meta.tsv"
report
