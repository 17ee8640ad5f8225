#!/usr/bin/env bash
# dvt's main job on this machine: install dependencies, build, then version a sample dataset:
# init, commit v1, edit, commit v2, log and diff, check out v1 and verify it byte for byte.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
dvt="$root/build/dvt"
work="$(mktemp -d /tmp/dvt-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export DVT_AUTHOR_NAME="dvt demo" DVT_AUTHOR_EMAIL="demo@example.org"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
manifest() { (cd "$1" && find . -path ./.dvt -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }

python3 "$root/scripts/make_sample.py" "$work/data" 24
manifest "$work/data" > "$work/v1.sha256"
cd "$work/data"
say dvt init . && "$dvt" init .
say dvt commit -m "v1: first snapshot" && v1=$("$dvt" commit -m "v1: first snapshot") && echo "$v1"
python3 "$root/scripts/make_sample.py" --edit "$work/data"
say dvt status && "$dvt" status | head -n 12
say dvt commit -m "v2: new images, one inserted row, retouched weights" && "$dvt" commit -m "v2: new images, one inserted row, retouched weights"
say dvt log && "$dvt" log
say dvt diff "${v1:0:12}" HEAD --stat && "$dvt" diff "${v1:0:12}" HEAD --stat | tail -n 8
say du -sh .dvt && du -sh .dvt
say dvt checkout "$v1" && "$dvt" checkout "$v1"
say verify v1 byte for byte && manifest "$work/data" | diff - "$work/v1.sha256" && echo "v1 restored exactly: $(wc -l < "$work/v1.sha256") files match"
say dvt fsck && "$dvt" fsck
