#!/usr/bin/env bash
# Reproducer for the heap overflow behind t95's rare crash (issue #15, item 1): a pull of 24 MiB from a local
# `dvt serve` (127.0.0.2) is killed at half way, then the resumed pull runs under valgrind. On libtorrent 2.0.8 here it
# reports an invalid 8-byte write just past a 32-byte block, both in libtorrent's network thread (no dvt frame on
# the stack). Exit status: valgrind's (99 when it found an error). Loopback only; both processes stopped by PID.
#
#   scripts/valgrind_resume.sh [path/to/dvt]        # default build/dvt; needs valgrind (apt-get install valgrind)
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${1:-$root/build/dvt}
[[ "$DVT" = /* ]] || DVT="$PWD/$DVT"  # the script changes directory
T=$(mktemp -d /tmp/dvt-valgrind-resume.XXXXXX)
SP="" P1=""
cleanup() { [ -n "$SP" ] && kill "$SP" 2>/dev/null; [ -n "$P1" ] && kill -KILL "$P1" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/src/shards" && cd "$T/src" && "$DVT" init -q .
for i in 0 1 2 3 4 5; do head -c $((4 * 1024 * 1024)) /dev/urandom >"shards/s$i.bin"; done
V1=$("$DVT" commit -q -m v1 | tail -1)
"$DVT" serve --listen 127.0.0.2:0 --json >"$T/serve.json" 2>"$T/serve.err" & SP=$!
for _ in $(seq 1 100); do [ -s "$T/serve.json" ] && break; sleep 0.1; done
PORT=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$T/serve.json")
"$DVT" init -q "$T/dst"
"$DVT" -C "$T/dst" --json pull "$V1" --peer "127.0.0.2:$PORT" --listen 127.0.0.3 --download-limit 3M --timeout 60 \
    >"$T/p1.out" 2>"$T/p1.err" & P1=$!
for _ in $(seq 1 400); do
    b=$(grep -o '"bytes":[0-9]*' "$T/p1.err" | tail -n 1 | cut -d: -f2)
    [ -n "$b" ] && [ "$b" -ge $((12 * 1024 * 1024)) ] && break
    sleep 0.05
done
sleep 1.1  # resume data is saved every second
kill -KILL "$P1"; wait "$P1" 2>/dev/null; P1=""
echo "first pull killed at ${b:-?} of 25165824 bytes; resuming under valgrind" >&2
valgrind -q --error-exitcode=99 --num-callers=30 "$DVT" -C "$T/dst" --json pull "$V1" --peer "127.0.0.2:$PORT" \
    --listen 127.0.0.3 --timeout 120 >"$T/p2.out" 2>"$T/p2.err"
rc=$?
grep -v '"progress"' "$T/p2.err" >&2
echo "valgrind exit $rc" >&2
exit $rc
