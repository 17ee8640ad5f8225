#!/usr/bin/env bash
# dvt's main job on this machine: install dependencies, build, then version a sample dataset and move it through a
# swarm: init, commit v1, edit, commit v2, log and diff, check out v1 and verify it; then `dvt serve` the repository
# on 127.0.0.2, `dvt clone` v2 into a second repository over loopback and verify it byte for byte, pull only one
# directory into a third repository (only its chunks cross the wire), and stop the seeder. Loopback only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
dvt="$root/build/dvt"
work="$(mktemp -d /tmp/dvt-demo.XXXXXX)"
seeder=""
cleanup() {
    [ -z "$seeder" ] || { kill -TERM "$seeder" 2>/dev/null; wait "$seeder" 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
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

# --- the swarm: this repository seeds, a second one clones v2 from it
v2=$("$dvt" rev-parse main)
"$dvt" -q checkout main
manifest "$work/data" > "$work/v2.sha256"
say dvt serve --listen 127.0.0.2:0 '&'
"$dvt" --json serve --listen 127.0.0.2:0 > "$work/serve.json" 2> "$work/serve.err" &
seeder=$!
for _ in $(seq 1 100); do [ -s "$work/serve.json" ] && break; sleep 0.1; done
peer=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listen"])' "$work/serve.json")
echo "seeding every commit and pack of $work/data on $peer"
say dvt clone "${v2:0:12}…" copy --peer "$peer" && "$dvt" clone "$v2" "$work/copy" --peer "$peer" --listen 127.0.0.3
say verify the clone byte for byte && manifest "$work/copy" | diff - "$work/v2.sha256" && echo "clone of v2 is exact: $(wc -l < "$work/v2.sha256") files match"
say dvt -C copy fsck && "$dvt" -C "$work/copy" fsck
say "dvt init part && dvt -C part pull ${v2:0:12}… --peer $peer -- images/shard_01/"
"$dvt" init "$work/part" >/dev/null
"$dvt" -C "$work/part" --json pull "$v2" --peer "$peer" --listen 127.0.0.4 -- images/shard_01/ > "$work/part.json" 2>/dev/null
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("received %.1f MiB for %d files (the whole version is %.1f MiB)" % (j["bytes_downloaded"]/2**20, j["written"], float(sys.argv[2])/2**20))' "$work/part.json" "$(du -sb --exclude=.dvt "$work/data" | cut -f1)"
(cd "$work/data" && manifest . | grep ' ./images/shard_01/') | diff - <(cd "$work/part" && manifest . ) && echo "images/shard_01/ is exact"
say stop the seeder && kill -TERM "$seeder" && wait "$seeder" && seeder="" && tail -n 1 "$work/serve.json"
