#!/usr/bin/env bash
# Many files (issue #16, item 5): time and peak memory of dvt's commit, no-op status, 1 %-changed commit and checkout
# on a tree of N_FILES small files, against git status / git add+commit and `tar | tar` in the same run.
#
#   bench/scale.sh                 # markdown table on stdout, progress on stderr
#
# Env: N_FILES=100000 (files of 1-8 KiB, PER_DIR=1000 per directory), DVT=<repo>/build/dvt, DVT_BEFORE (a second dvt
#      binary measured the same way, e.g. main's, for a before/after table; optional), WORK=/tmp/dvtbench/scale
#      (scratch, removed at the end unless KEEP=1), NO_GIT=1 skips git, SEED=1.
# Each step runs under /usr/bin/time -v (wall seconds, max RSS); the page cache is warm (the tree is read once before
# the first step). The clone/serve part of the issue's bench (1,000+ packs) is not here yet.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
N_FILES=${N_FILES:-100000}
PER_DIR=${PER_DIR:-1000}
DVT=${DVT:-$repo/build/dvt}
DVT_BEFORE=${DVT_BEFORE:-}
WORK=${WORK:-/tmp/dvtbench/scale}
SEED=${SEED:-1}
export DVT_NO_HOOKS=1 DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.org

say() { echo "scale: $*" >&2; }
rm -rf "$WORK"
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

# The tree: N_FILES files of 1-8 KiB (random bytes, so nothing deduplicates), PER_DIR per directory.
make_tree() {
    /usr/bin/python3 - "$1" "$N_FILES" "$PER_DIR" "$SEED" <<'PY'
import os, random, sys
root, n, per, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
pool = os.urandom(1 << 20)
for i in range(n):
    d = os.path.join(root, "d%05d" % (i // per))
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    size = rng.randint(1024, 8192)
    off = rng.randint(0, len(pool) - size)
    with open(os.path.join(d, "f%07d.bin" % i), "wb") as f:
        f.write(i.to_bytes(8, "little") + pool[off:off + size - 8])
PY
}
# Changes 1 % of the files (every 100th), same size, new content.
touch_1pct() {
    /usr/bin/python3 - "$1" "$N_FILES" "$PER_DIR" <<'PY'
import os, sys
root, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(0, n, 100):
    p = os.path.join(root, "d%05d" % (i // per), "f%07d.bin" % i)
    with open(p, "r+b") as f:
        f.write((i + 1_000_000_000).to_bytes(8, "little"))
PY
}

# measure NAME CMD...: appends "NAME<TAB>seconds<TAB>max RSS KiB" to $WORK/results.tsv
measure() {
    local name=$1
    shift
    local log="$WORK/time.log"
    if ! /usr/bin/time -v -o "$log" "$@" >"$WORK/out.log" 2>&1; then
        local rc
        rc=$(grep -o 'Exit status: [0-9]*' "$log" | awk '{print $3}')
        case "$rc" in 13) ;; *) say "$name failed"; cat "$WORK/out.log" >&2 ;; esac
    fi
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    printf '%s\t%s\t%s\n' "$name" "$wall" "$rss" >>"$WORK/results.tsv"
    say "$name: ${wall}s, $((rss / 1024)) MiB"
}

say "making $N_FILES files in $WORK/src"
make_tree "$WORK/src"
find "$WORK/src" -type f -exec cat {} + >/dev/null  # warm the page cache
du -sb "$WORK/src" | awk '{print $1}' >"$WORK/bytes"

run_dvt() {  # label binary
    local label=$1 bin=$2 w="$WORK/dvt-$1"
    rm -rf "$w"
    cp -a "$WORK/src" "$w"
    "$bin" init "$w" >/dev/null
    cd "$w"
    measure "$label commit" "$bin" commit -m v1
    measure "$label status (no-op)" "$bin" status -s
    measure "$label status (no-op, again)" "$bin" status -s
    touch_1pct "$w"
    measure "$label status (1 % changed)" "$bin" status -s
    measure "$label commit (1 % changed)" "$bin" commit -m v2
    # checkout into an empty work tree (as bench/core.sh: every file deleted, .dvt kept)
    find . -mindepth 1 -maxdepth 1 ! -name .dvt -exec rm -rf {} +
    measure "$label checkout (empty tree)" "$bin" checkout -f HEAD
    measure "$label status after checkout" "$bin" status -s
    cd "$WORK"
    rm -rf "$w"
}

: >"$WORK/results.tsv"
run_dvt after "$DVT"
[ -n "$DVT_BEFORE" ] && run_dvt before "$DVT_BEFORE"

if [ "${NO_GIT:-0}" != 1 ] && command -v git >/dev/null; then
    g="$WORK/git"
    cp -a "$WORK/src" "$g"
    cd "$g"
    git init -q .
    git config user.name bench && git config user.email bench@example.org
    measure "git add+commit" sh -c 'git add -A && git commit -q -m v1'
    measure "git status (no-op)" git status --porcelain
    measure "git status (no-op, again)" git status --porcelain
    touch_1pct "$g"
    measure "git add+commit (1 % changed)" sh -c 'git add -A && git commit -q -m v2'
    cd "$WORK"
    rm -rf "$g"
fi
mkdir -p "$WORK/tar-out"
measure "tar c, tar x (a pipe)" sh -c "tar -C '$WORK/src' -cf - . | tar -C '$WORK/tar-out' -xf -"
rm -rf "$WORK/tar-out"

echo "### $N_FILES files of 1-8 KiB, $PER_DIR per directory ($(($(cat "$WORK/bytes") / 1048576)) MiB), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| step | wall s | max RSS MiB |"
echo "|---|---:|---:|"
awk -F'\t' '{printf "| %s | %.2f | %d |\n", $1, $2, $3 / 1024}' "$WORK/results.tsv"
