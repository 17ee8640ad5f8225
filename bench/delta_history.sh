#!/usr/bin/env bash
# Delta records over a history (issue 17, docs/performance.md "Delta records"): replays snapshot directories
# SNAPDIR/0 .. SNAPDIR/LAST (e.g. from ../shared/bench/make_history.py) into one dvt repository per pack.delta-depth,
# committing PATHS of each version, and prints per depth: store bytes (du -sb .dvt/packs), the bytes a clone of
# chosen versions fetches (the sum of the lengths of the packs its commit names: a clone fetches whole named packs),
# the packs it names, and the commit time of the first and last five versions. Not a test: no pass/fail.
#
#   bench/delta_history.sh SNAPDIR LAST "0 8 16" "20 40" tables labels
#
# DVT (default build/dvt) is the binary measured.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${DVT:-$root/build/dvt}
snap=$1 last=$2 depths=$3 clones=$4
shift 4
paths=("$@")
tmp=$(mktemp -d /tmp/dvt-bench-delta.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.invalid DVT_NO_HOOKS=1

printf '%-6s %12s' depth store_bytes
for v in $clones; do printf ' %14s %6s' "clone_v$v" packs; done
printf ' %10s %10s\n' t_first5 t_last5
for d in $depths; do
    r=$tmp/d$d
    "$DVT" init -q "$r" >/dev/null
    "$DVT" -C "$r" config pack.delta-depth "$d"
    declare -A ids=()
    t_first=0 t_last=0
    for k in $(seq 0 "$last"); do
        for p in "${paths[@]}"; do
            rm -rf "${r:?}/$p"
            cp -r "$snap/$k/$p" "$r/$p"
        done
        s=$(date +%s.%N)
        ids[$k]=$("$DVT" -C "$r" commit -m "v$k" --allow-empty 2>/dev/null)
        e=$(date +%s.%N)
        if [ "$k" -lt 5 ]; then t_first=$(echo "$t_first + $e - $s" | bc); fi
        if [ "$k" -gt $((last - 5)) ]; then t_last=$(echo "$t_last + $e - $s" | bc); fi
    done
    printf '%-6s %12s' "$d" "$(du -sb "$r/.dvt/packs" | cut -f1)"
    for v in $clones; do
        c=$r/.dvt/commits/${ids[$v]}
        printf ' %14s %6s' "$(awk '$1 == "pack" { s += $3 } END { print s + 0 }' "$c")" "$(grep -c '^pack ' "$c")"
    done
    printf ' %10.2f %10.2f\n' "$t_first" "$t_last"
    unset ids
done
