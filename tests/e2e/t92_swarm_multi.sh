#!/usr/bin/env bash
# Swarm transport with several seeders, between real processes on loopback (one 127.0.0.x address per process):
#  a. three seeders at once (the publisher A and two clones B, C): a rate-limited clone D gets the right tree and
#     more than one seeder uploads to it (their bytes_uploaded on SIGTERM);
#  b. a seeder stops half-way: a rate-limited pull from A and B, A gets SIGTERM once bytes arrived; the pull still
#     completes from B;
#  c. the publisher has left: a clone from B alone (B got everything from A) has the right tree;
#  d. incremental: after a small change on A, a pull in B (which is still serving) receives far less than the version.
# Every clone must equal the source tree and pass fsck. Every server exits 0 on SIGTERM. Every process is stopped by
# PID, also on failure (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MIB=$((1024 * 1024))

# wait_progress ERRFILE MIN_BYTES PID: wait (up to 30 s) until a pull/clone running as PID with --json has printed a
# progress line on ERRFILE with at least MIN_BYTES received; prints that line's "bytes total".
wait_progress() {
    local f=$1 min=$2 pid=$3 i line
    for i in $(seq 1 300); do
        line=$("${PY_FAST[@]}" -c '
import json, sys
best = None
for l in open(sys.argv[1]):
    try:
        p = json.loads(l)["progress"]
    except Exception:
        continue
    if p["bytes"] >= int(sys.argv[2]):
        best = p
        break
if best:
    print(best["bytes"], best["total"])' "$f" "$min")
        [ -n "$line" ] && { echo "$line"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$f" >&2; fail "the pull (pid $pid) ended before receiving $min bytes"; }
        sleep 0.1
    done
    cat "$f" >&2
    fail "the pull (pid $pid) did not report $min bytes received within 30 s"
}

# --- the dataset: 3 x 8 MiB of random data and a small text file, published by A
A=$T/a
new_repo "$A"
mkdir -p "$A/data"
for i in 0 1 2; do gen_bytes $((8 * MIB + i * 1000)) "multi-$i" >"$A/data/f$i.bin"; done
gen_text 300 multi >"$A/data/index.csv"
cd "$A"
V1=$(commit_id v1)
tree_digest "$A" >"$T/v1.digest"
expect_exit 0 "$DVT" --json show "$V1"
V1_BYTES=$(json_get 'j["bytes"]')

# B and C clone it from A
start_serve "$A" "$T/a0.json" 127.0.0.2:0
SA=$SERVE_PID
cd "$T"
expect_exit 0 "$DVT" --json clone "$V1" "$T/b" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v1.digest" "$T/b" "B (clone of A)"
expect_exit 0 "$DVT" --json clone "$V1" "$T/c" --peer "$PEER" --listen 127.0.0.4 --timeout 60
assert_same_tree "$T/v1.digest" "$T/c" "C (clone of A)"
stop_serve "$SA" "$T/a0.json"   # restarted below, so that its upload counter only counts D

# --- a. A, B and C serve; D clones from all three at 8 MB/s
start_serve "$A" "$T/a1.json" 127.0.0.2:0
SA=$SERVE_PID PA=$PEER
start_serve "$T/b" "$T/b1.json" 127.0.0.3:0
SB=$SERVE_PID PB=$PEER
start_serve "$T/c" "$T/c1.json" 127.0.0.4:0
SC=$SERVE_PID PC=$PEER
for f in a1 b1 c1; do assert_json 'j["commits"] == 1 and j["packs"] >= 1' "$T/$f.json"; done

expect_exit 0 "$DVT" --json clone "$V1" "$T/d" --peer "$PA" --peer "$PB" --peer "$PC" --listen 127.0.0.5 \
    --download-limit 8M --timeout 60
cp "$OUT" "$T/d.json"
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"] >= 1 and j["bytes_fetched"] > 24 * 1024 * 1024' "$T/d.json"
assert_same_tree "$T/v1.digest" "$T/d" "D (clone from A, B and C)"
expect_exit 0 "$DVT" -C "$T/d" fsck
D_DOWN=$(json_get 'j["bytes_downloaded"]' "$T/d.json")
D_SECS=$(json_get 'j["seconds"]' "$T/d.json")

stop_serve "$SA" "$T/a1.json"
UA=$SERVE_UPLOADED
stop_serve "$SB" "$T/b1.json"
UB=$SERVE_UPLOADED
stop_serve "$SC" "$T/c1.json"
UC=$SERVE_UPLOADED
echo "  a. D received $D_DOWN bytes in $D_SECS s; uploaded: A $UA, B $UB, C $UC" >&2
# nobody else pulled from these three servers: together they sent at least what D received
[ $((UA + UB + UC)) -ge "$D_DOWN" ] || fail "the seeders uploaded $((UA + UB + UC)) bytes in all, D received $D_DOWN"
contributors=0
for u in "$UA" "$UB" "$UC"; do [ "$u" -ge "$MIB" ] && contributors=$((contributors + 1)); done
[ "$contributors" -ge 2 ] ||
    fail "only $contributors seeder(s) uploaded >= 1 MiB to D (A $UA, B $UB, C $UC bytes): the swarm did not spread the download"

# --- b. D2 pulls from A and B at 3 MB/s (~8 s for the version); A is stopped once data is flowing
start_serve "$A" "$T/a2.json" 127.0.0.2:0
SA=$SERVE_PID PA=$PEER
start_serve "$T/b" "$T/b2.json" 127.0.0.3:0
SB=$SERVE_PID PB=$PEER
D2=$T/d2
new_repo "$D2"
bg "$DVT" -C "$D2" --json pull "$V1" --peer "$PA" --peer "$PB" --listen 127.0.0.6 --download-limit 3M \
    --timeout 90 >"$T/d2.json" 2>"$T/d2.err"
D2_PID=$BG_PID
progress=$(wait_progress "$T/d2.err" $((2 * MIB)) "$D2_PID")
read -r got total <<<"$progress"
[ "$total" != None ] && [ "$got" -lt "$total" ] ||
    fail "the pull had already received everything ($got of $total bytes) when A was to be stopped"
stop_serve "$SA" "$T/a2.json"
echo "  b. A stopped after D2 had received $got of $total bytes; A had uploaded $SERVE_UPLOADED bytes" >&2
[ "$SERVE_UPLOADED" -gt 0 ] || fail "A uploaded nothing to D2 before it was stopped: the test did not stop an active seeder"
wait_bg "$D2_PID"
if [ "$BG_STATUS" != 0 ]; then
    cat "$T/d2.err" >&2
    fail "the pull from A and B exited $BG_STATUS after A stopped (B still serves everything)"
fi
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"] and j["branch"] == "main"' "$T/d2.json"
assert_same_tree "$T/v1.digest" "$D2" "D2 (pull from A and B, A stopped half-way)"
[ -z "$(ls -A "$D2/.dvt/tmp")" ] || fail "the pull left temp files: $(ls -A "$D2/.dvt/tmp")"
expect_exit 0 "$DVT" -C "$D2" fsck

# --- c. the publisher A has left; E clones from B alone
expect_exit 0 "$DVT" --json clone "$V1" "$T/e" --peer "$PB" --listen 127.0.0.7 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"]'
assert_same_tree "$T/v1.digest" "$T/e" "E (clone from B after the publisher left)"
expect_exit 0 "$DVT" -C "$T/e" fsck

# --- d. a small change on A (4 KiB rewritten in one file, one new file); B pulls it while it keeps serving
cd "$A"
gen_bytes 4096 multi-patch | dd of=data/f1.bin bs=4096 seek=1000 conv=notrunc status=none
printf 'added in v2\n' >data/v2.txt
V2=$(commit_id v2)
tree_digest "$A" >"$T/v2.digest"
expect_exit 0 "$DVT" --json show "$V2"
V2_BYTES=$(json_get 'j["bytes"]')
start_serve "$A" "$T/a3.json" 127.0.0.2:0
SA=$SERVE_PID PA=$PEER
expect_exit 0 "$DVT" -C "$T/b" --json pull "$V2" --peer "$PA" --listen 127.0.0.8 --timeout 60
cp "$OUT" "$T/b-pull.json"
assert_json 'j["commit"] == "'"$V2"'" and j["fast_forward"] and j["branch"] == "main" and 0 < j["packs_fetched"] < j["packs"]' "$T/b-pull.json"
DOWN=$(json_get 'j["bytes_downloaded"]' "$T/b-pull.json")
[ "$DOWN" -gt 0 ] || fail "the pull of v2 reports no bytes downloaded"
[ $((DOWN * 10)) -lt "$V2_BYTES" ] || fail "the pull of v2 received $DOWN bytes, not much less than the version ($V2_BYTES bytes)"
assert_same_tree "$T/v2.digest" "$T/b" "B after pulling v2"
expect_exit 0 "$DVT" -C "$T/b" fsck --json
assert_json 'j["ok"] and j["reachable_commits"] == 2'
echo "  d. pull of v2 into B: $DOWN bytes received for a $V2_BYTES-byte version (v1: $V1_BYTES bytes)" >&2

# B's server picks v2 up on a rescan; with A gone, D gets v2 from B alone, again incrementally
stop_serve "$SA" "$T/a3.json"
expect_exit 0 "$DVT" -C "$T/d" --json pull "$V2" --peer "$PB" --listen 127.0.0.5 --timeout 60
assert_json 'j["commit"] == "'"$V2"'" and j["fast_forward"] and 0 < j["packs_fetched"] < j["packs"] and j["bytes_downloaded"] * 10 < '"$V2_BYTES"
assert_same_tree "$T/v2.digest" "$T/d" "D after pulling v2 from B"
expect_exit 0 "$DVT" -C "$T/d" fsck

stop_serve "$SB" "$T/b2.json"
ok
