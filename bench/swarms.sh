#!/usr/bin/env bash
# Bounded swarms per version (issue 17 item 4, docs/performance.md "Bounded swarms"): replays snapshot directories
# SNAPDIR/0 .. SNAPDIR/LAST (e.g. from ../shared/bench/make_history.py) into one dvt repository per setting of
# pack.extra-packs (and, with BEFORE=path/to/old/dvt, one made by that binary, which does not re-pack), with
# pack.size PACK_SIZE, committing PATHS of each version. Prints per setting: store bytes (du -sb .dvt/packs), the
# packs named by the commits (max, and at a few versions), the bound ⌈bytes / pack.size⌉ + extra at the last version,
# the bytes a clone of the last version names (sum of its packs' lengths) and how many commits re-packed. Sizes only:
# not a timing benchmark, no pass/fail.
#
#   PACK_SIZE=1048576 bench/swarms.sh SNAPDIR LAST "32 8" tables labels
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${DVT:-$root/build/dvt}
PACK_SIZE=${PACK_SIZE:-1048576}
snap=$1 last=$2 extras=$3
shift 3
paths=("$@")
tmp=$(mktemp -d /tmp/dvt-bench-swarms.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DVT_AUTHOR_NAME=bench DVT_AUTHOR_EMAIL=bench@example.invalid DVT_NO_HOOKS=1

settings=()
[ -n "${BEFORE:-}" ] && settings+=(before)
for e in $extras; do settings+=("$e"); done
marks="10 20 30 $last"

printf '%-8s %12s %9s' setting store_bytes max_packs
for v in $marks; do printf ' %6s' "v$v"; done
printf ' %7s %14s %8s\n' bound clone_last repacks
for s in "${settings[@]}"; do
    bin=$DVT
    [ "$s" = before ] && bin=$BEFORE
    r=$tmp/r$s
    "$bin" init -q "$r" >/dev/null
    "$bin" -C "$r" config pack.size "$PACK_SIZE"
    [ "$s" = before ] || "$bin" -C "$r" config pack.extra-packs "$s"
    declare -A packs=()
    max=0 repacks=0 id=
    for k in $(seq 0 "$last"); do
        for p in "${paths[@]}"; do
            rm -rf "${r:?}/$p"
            cp -r "$snap/$k/$p" "$r/$p"
        done
        out=$("$bin" -C "$r" --json commit -m "v$k" --allow-empty 2>/dev/null)
        read -r id n bytes d < <(printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["id"], len(j["packs"]), j["bytes"], j.get("repack", {}).get("dissolved", 0))')
        packs[$k]=$n
        [ "$n" -gt "$max" ] && max=$n
        [ "$d" -gt 0 ] && repacks=$((repacks + 1))
    done
    printf '%-8s %12s %9s' "$s" "$(du -sb "$r/.dvt/packs" | cut -f1)" "$max"
    for v in $marks; do printf ' %6s' "${packs[$v]}"; done
    extra=$s
    [ "$s" = before ] && extra=32
    c=$r/.dvt/commits/$id
    printf ' %7s %14s %8s\n' $(((bytes + PACK_SIZE - 1) / PACK_SIZE + extra)) \
        "$(awk '$1 == "pack" { s += $3 } END { print s + 0 }' "$c")" "$repacks"
    unset packs
done
