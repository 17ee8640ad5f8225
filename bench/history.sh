#!/usr/bin/env bash
# Long histories (issue 17): replays ../shared/bench/make_history.py (N versions, SCALE) into dvt, git, restic and
# borg (when installed) in one run, the same snapshots for all, and prints a markdown report.
#
#   bench/history.sh
#
# Env: N=100, SCALE=1, HISTORY=<path of make_history.py> (default ../shared/bench/make_history.py from the repository),
#      DVT=<repo>/build/dvt, WORK=/tmp/dvtbench/history (scratch, replaced), DELTA_DEPTH (dvt's pack.delta-depth for
#      the run; default: dvt's default), TENSOR_DEPTH (pack.tensor-delta-depth; default: dvt's default),
#      CLONES="10 50 100" (versions cloned at the end), PY=/usr/bin/python3, TOOLS="dvt git restic borg" (the tools
#      compared; dvt always runs; leaving out restic and borg makes a quick byte measurement of dvt's settings).
#
# After each version: `dvt commit` (timed), `git add -A && git commit` (a bare repository beside the tree, .dvt
# excluded), `restic backup` and `borg create` (same tree, .dvt excluded); the same for a second tree holding only
# tables/ + labels/ (dvt and git), the part of the history content-defined chunks alone cannot store well. At the
# versions in CLONES: the tree's own size and its `tar | zstd -3` size. At the end: `git gc` for both git
# repositories, store bytes of each tool, and a `dvt clone` of each version in CLONES from a `dvt serve` on loopback
# (bytes received, from its JSON).
#
# Each dvt commit runs with --json; its output is kept in $WORK/json/{tree,sub}-K.json and the report sums the
# new-chunk counts of versions 1..N (deltas, and why the others were stored whole).
#
# Report: store bytes (whole history and tables/ + labels/) and their ratios to the targets (dvt <= 0.5x restic, dvt
# tables+labels <= 2x git gc); dvt bytes added per version (median, p90); clone bytes against the version's size and
# its tar | zstd -3 size (target <= 1.3x); packs named per commit against ceil(bytes / pack.size) + 32; commit time
# per version at the start and at the end (median of the first and of the last five).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
N=${N:-100}
export SCALE=${SCALE:-1}
HISTORY=${HISTORY:-$repo/../shared/bench/make_history.py}
DVT=${DVT:-$repo/build/dvt}
WORK=${WORK:-/tmp/dvtbench/history}
CLONES=${CLONES:-"10 50 100"}
PY=${PY:-/usr/bin/python3}
[ -x "$DVT" ] || { echo "dvt not found at $DVT (build it or set DVT)" >&2; exit 1; }
[ -f "$HISTORY" ] || { echo "make_history.py not found at $HISTORY (set HISTORY)" >&2; exit 1; }
TOOLS=${TOOLS:-"dvt git restic borg"}
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
have_git=0 have_restic=0 have_borg=0
has_tool git && have_git=1
if has_tool restic; then
    command -v restic >/dev/null || { echo "restic is required (apt-get install restic; or leave it out of TOOLS)" >&2; exit 1; }
    have_restic=1
fi
has_tool borg && command -v borg >/dev/null && have_borg=1

rm -rf "$WORK"
mkdir -p "$WORK/json"
export PY DVT WORK CLONES DELTA_DEPTH="${DELTA_DEPTH:-}" TENSOR_DEPTH="${TENSOR_DEPTH:-}" RESTIC_PASSWORD=bench
export BORG_PASSPHRASE=bench have_git have_restic have_borg
export DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.invalid DVT_NO_HOOKS=1 DVT_GIT_PROVENANCE=0
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

# The step run in the tree after each version (make_history.py replay sets DVT_HISTORY_VERSION).
cat >"$WORK/step.sh" <<'STEP'
#!/usr/bin/env bash
set -euo pipefail
K=$DVT_HISTORY_VERSION
tree=$PWD sub=$WORK/sub
ms() { echo $(( $(date +%s%N) / 1000000 )); }
if [ "$K" = 0 ]; then
    "$DVT" init -q .
    "$DVT" init -q "$sub"
    if [ -n "$DELTA_DEPTH" ]; then "$DVT" config pack.delta-depth "$DELTA_DEPTH"; (cd "$sub" && "$DVT" config pack.delta-depth "$DELTA_DEPTH"); fi
    if [ -n "$TENSOR_DEPTH" ]; then "$DVT" config pack.tensor-delta-depth "$TENSOR_DEPTH"; fi
    if [ "$have_git" = 1 ]; then
        for g in git.git sub.git; do git init -q --bare "$WORK/$g"; echo .dvt >>"$WORK/$g/info/exclude"; done
    fi
    if [ "$have_restic" = 1 ]; then restic -q -r "$WORK/restic" init >/dev/null; fi
    if [ "$have_borg" = 1 ]; then borg --error init -e repokey "$WORK/borg"; fi
fi
# the tables/ + labels/ tree
mkdir -p "$sub"
for d in tables labels; do rm -rf "${sub:?}/$d" && cp -a "$tree/$d" "$sub/$d"; done

store_bytes() { du -sb "$1/.dvt/packs" | cut -f1; }
t0=$(ms)
"$DVT" --json commit -m "v$K" >"$WORK/json/tree-$K.json"
t1=$(ms)
(cd "$sub" && "$DVT" --json commit -m "v$K" >"$WORK/json/sub-$K.json")
jid() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$1"; }
id=$(jid "$WORK/json/tree-$K.json") sid=$(jid "$WORK/json/sub-$K.json")
packs=$(grep -c '^pack ' ".dvt/commits/$id")
bytes=$(sed -n 's/^bytes //p' ".dvt/commits/$id")
if [ "$have_git" = 1 ]; then
    GIT_DIR=$WORK/git.git GIT_WORK_TREE=$tree git add -A . && GIT_DIR=$WORK/git.git GIT_WORK_TREE=$tree git commit -qm "v$K"
    GIT_DIR=$WORK/sub.git GIT_WORK_TREE=$sub git add -A . && GIT_DIR=$WORK/sub.git GIT_WORK_TREE=$sub git commit -qm "v$K"
fi
if [ "$have_restic" = 1 ]; then restic -q -r "$WORK/restic" backup --exclude .dvt --tag "v$K" . >/dev/null; fi
if [ "$have_borg" = 1 ]; then borg --error create --exclude .dvt "$WORK/borg::v$K" .; fi
own="" tz=""
if [[ " $CLONES " == *" $K "* ]]; then
    own=$(du -sb --exclude=.dvt . | cut -f1)
    tz=$(tar --exclude=./.dvt -cf - . | zstd -3 -q -c | wc -c)
fi
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$K" "$id" "$(store_bytes .)" "$((t1 - t0))" "$packs" "$bytes" \
    "$own" "$tz" "$sid" "$(store_bytes "$sub")" >>"$WORK/versions.tsv"
echo "version $K: dvt commit $((t1 - t0)) ms, $packs packs" >&2
STEP
chmod +x "$WORK/step.sh"

echo "replaying $N versions (SCALE=$SCALE) into dvt$([ $have_git = 1 ] && echo ', git')$([ $have_restic = 1 ] && echo ', restic')$([ $have_borg = 1 ] && echo ', borg')" >&2
"$PY" "$HISTORY" replay "$WORK/tree" "$N" "$WORK/step.sh"

if [ "$have_git" = 1 ]; then
    GIT_DIR=$WORK/git.git git gc -q
    GIT_DIR=$WORK/sub.git git gc -q
fi
size() { du -sb "$1" | cut -f1; }
{
    if [ "$have_git" = 1 ]; then
        echo "git	$(size "$WORK/git.git")"
        echo "git_sub	$(size "$WORK/sub.git")"
    fi
    [ "$have_restic" = 1 ] && echo "restic	$(size "$WORK/restic")"
    [ "$have_borg" = 1 ] && echo "borg	$(size "$WORK/borg")"
    echo "dvt	$(( $(size "$WORK/tree/.dvt/packs") + $(size "$WORK/tree/.dvt/commits") ))"
    echo "dvt_sub	$(( $(size "$WORK/sub/.dvt/packs") + $(size "$WORK/sub/.dvt/commits") ))"
    echo "pack_size	$("$DVT" -C "$WORK/tree" config pack.size 2>/dev/null || echo 67108864)"
} >"$WORK/stores.tsv"

# clones from a dvt serve on loopback
serve_out=$WORK/serve.json
"$DVT" -C "$WORK/tree" --json serve --listen 127.0.0.1:0 >"$serve_out" 2>"$WORK/serve.err" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$serve_out" ] && break; sleep 0.05; done
peer=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listen"])' "$serve_out")
: >"$WORK/clones.tsv"
for k in $CLONES; do
    id=$(awk -F'\t' -v k="$k" '$1 == k { print $2 }' "$WORK/versions.tsv")
    [ -n "$id" ] || continue
    rm -rf "$WORK/clone"
    "$DVT" --json clone "$id" "$WORK/clone" --peer "$peer" --timeout 600 >"$WORK/clone-$k.json" 2>"$WORK/clone-$k.err"
    printf '%s\t%s\n' "$k" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_received"])' "$WORK/clone-$k.json")" >>"$WORK/clones.tsv"
done
rm -rf "$WORK/clone"
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
trap - EXIT

"$PY" - "$WORK" "$N" "$SCALE" "${DELTA_DEPTH:-default}" "${TENSOR_DEPTH:-default}" <<'PYEOF'
import csv, math, statistics, sys
work, n, scale, depth, tdepth = sys.argv[1:6]
rows = [r for r in csv.reader(open(f"{work}/versions.tsv"), delimiter="\t")]
stores = dict(r for r in csv.reader(open(f"{work}/stores.tsv"), delimiter="\t"))
clones = dict(csv.reader(open(f"{work}/clones.tsv"), delimiter="\t"))
mb = lambda b: f"{int(b) / 1e6:.1f} MB"
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]
print(f"## History benchmark: {int(n) + 1} versions of make_history.py, SCALE={scale}, dvt pack.delta-depth={depth}, "
      f"pack.tensor-delta-depth={tdepth}\n")
print("| store | whole history | tables/ + labels/ |\n|---|---|---|")
print(f"| dvt (packs + commits) | {mb(stores['dvt'])} ({stores['dvt']} B) | {mb(stores['dvt_sub'])} ({stores['dvt_sub']} B) |")
if "git" in stores: print(f"| git (after git gc) | {mb(stores['git'])} | {mb(stores['git_sub'])} |")
if "restic" in stores: print(f"| restic | {mb(stores['restic'])} | |")
if "borg" in stores: print(f"| borg | {mb(stores['borg'])} | |")
ratios = []
if "restic" in stores:
    ratios.append(f"dvt / restic (whole history): {int(stores['dvt']) / int(stores['restic']):.2f}x (target <= 0.5x)")
if "git" in stores:
    ratios.append(f"dvt / git gc (tables + labels): {int(stores['dvt_sub']) / int(stores['git_sub']):.2f}x (target <= 2x)")
print("\n" + "; ".join(ratios) + "\n")
sizes = [int(r[2]) for r in rows]
added = [b - a for a, b in zip(sizes, sizes[1:])]
print(f"dvt bytes added per version: median {statistics.median(added) / 1e3:.0f} KB, p90 {pct(added, 90) / 1e3:.0f} KB "
      f"(version 0: {sizes[0] / 1e6:.1f} MB)\n")
print("| clone of version | bytes received | version size | tar \\| zstd -3 | received / tar+zstd (target <= 1.3) |\n|---|---|---|---|---|")
for r in rows:
    if r[0] in clones and r[7]:
        print(f"| {r[0]} | {mb(clones[r[0]])} ({clones[r[0]]} B) | {mb(r[6])} | {mb(r[7])} | {int(clones[r[0]]) / int(r[7]):.2f} |")
ps = int(stores["pack_size"])
over = [(int(r[0]), int(r[4]), math.ceil(int(r[5]) / ps) + 32) for r in rows]
worst = max(over, key=lambda x: x[1] - x[2])
print(f"\npacks named per commit: first {over[0][1]}, last {over[-1][1]}, max {max(o[1] for o in over)}; "
      f"bound ceil(bytes / pack.size) + 32: closest at version {worst[0]} ({worst[1]} of {worst[2]}); "
      f"{'met' if all(o[1] <= o[2] for o in over) else 'NOT met'}")
import json, os
for which in ("tree", "sub"):
    tot = {}
    for k in range(1, int(n) + 1):
        f = f"{work}/json/{which}-{k}.json"
        if not os.path.exists(f): continue
        st = json.load(open(f)).get("stats", {})
        for key in ("chunks_new", "chunks_delta", "chunks_full_no_previous", "chunks_full_no_base", "chunks_full_rejected",
                    "bytes_new_stored"):
            if key in st: tot[key] = tot.get(key, 0) + st[key]
    if tot:
        print(f"\nnew chunks of versions 1..{n} ({'whole tree' if which == 'tree' else 'tables + labels'}): "
              + ", ".join(f"{k} {v}" for k, v in tot.items()))
t = [int(r[3]) for r in rows]
print(f"\ndvt commit time per version: first five median {statistics.median(t[1:6])} ms, last five median "
      f"{statistics.median(t[-5:])} ms")
PYEOF
