#!/usr/bin/env bash
# A pull killed with SIGKILL at random moments (20 runs) leaves a repository that passes `dvt fsck`, whose refs are
# untouched, and from which the next pull completes with the right tree. A pull killed after it has verified most of
# the data resumes: the next pull receives only what was missing (bytes counted by the puller), not the whole version.
# Loopback only (127.0.0.2 seeder, 127.0.0.3 puller); every process is stopped by PID (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
new_repo "$SRC"
mkdir -p "$SRC/shards"
for i in 0 1 2 3 4 5; do gen_bytes $((4 * 1024 * 1024)) "shard-$i" >"$SRC/shards/s$i.bin"; done
cd "$SRC"
V1=$(commit_id v1)
SIZE=$((24 * 1024 * 1024))
tree_digest "$SRC" >"$T/v1.digest"
start_serve "$SRC" "$T/serve.json" 127.0.0.2:0

DST=$T/dst
new_repo "$DST"
state() { (cd "$DST/.dvt" && cat HEAD && find refs packs commits -type f -printf '%p %s\n' | sort); }
# (a pull killed while it writes its ref leaves that ref's temp file, .tmp-*, which gc and fsck --repair remove: the
# ref itself is either absent or complete)
refs_state() { (cd "$DST2/.dvt" && cat HEAD && find refs -type f ! -name '.tmp-*' -printf '%p %s\n' | sort); }

# --- 1. a pull killed after most of the data is verified resumes without fetching it again
bg "$DVT" -C "$DST" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --download-limit 3M --timeout 60 \
    >"$T/p1.out" 2>"$T/p1.err"
P1=$BG_PID
for _ in $(seq 1 400); do
    done_bytes=$(grep -o '"bytes":[0-9]*' "$T/p1.err" 2>/dev/null | tail -n 1 | cut -d: -f2 || true)
    [ -n "$done_bytes" ] && [ "$done_bytes" -ge $((SIZE * 5 / 10)) ] && break
    kill -0 "$P1" 2>/dev/null || break
    sleep 0.05
done
[ -n "${done_bytes:-}" ] && [ "$done_bytes" -ge $((SIZE * 5 / 10)) ] || { cat "$T/p1.err" >&2; fail "the limited pull never reported 50% verified"; }
sleep 1.1  # resume data is saved every second
kill -KILL "$P1"
wait_bg "$P1"
[ "$BG_STATUS" = 137 ] || fail "the pull was not killed (exit $BG_STATUS)"
expect_exit 0 "$DVT" -C "$DST" --json fsck
assert_json 'j["ok"]'
[ -z "$(ls "$DST/.dvt/packs")" ] || fail "a killed pull left packs in packs/"
expect_exit 0 "$DVT" -C "$DST" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cp "$OUT" "$T/p2.json"
DOWN=$(json_get 'j["bytes_downloaded"]' "$T/p2.json")
echo "  killed at $done_bytes verified bytes of $SIZE; the next pull received $DOWN bytes" >&2
[ "$DOWN" -le $((SIZE - done_bytes + 6 * 1024 * 1024)) ] ||
    fail "the resumed pull received $DOWN bytes although $done_bytes of $SIZE were verified before the kill"
assert_same_tree "$T/v1.digest" "$DST" "the tree after the resumed pull"
expect_exit 0 "$DVT" -C "$DST" --json fsck
assert_json 'j["ok"] and j["partial_packs"] == 0'
[ -z "$(ls -A "$DST/.dvt/partial")" ] || fail "partial/ not emptied after the packs were complete: $(ls -A "$DST/.dvt/partial")"

# --- 2. 20 pulls killed at random moments (download, verification, import, checkout). Each run resumes the previous
#        one; when a run completes before its kill, the next runs start over in a fresh repository.
DST2=$T/dst2
new_repo "$DST2"
DST=$DST2
before=$(refs_state)
completed=0 fresh_runs=0
RANDOM=4242
for run in $(seq 1 20); do
    delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 250) / 100 }')
    bg "$DVT" -C "$DST2" pull "$V1" --peer "$PEER" --listen 127.0.0.3 --download-limit 12M --timeout 60 \
        >"$T/k.out" 2>"$T/k.err"
    pid=$BG_PID
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || true
    wait_bg "$pid"
    if [ "$BG_STATUS" != 0 ] && [ "$BG_STATUS" != 137 ]; then
        cat "$T/k.err" >&2
        fail "run $run: pull exited $BG_STATUS (not killed, not successful)"
    fi
    expect_exit 0 "$DVT" -C "$DST2" --json fsck
    assert_json 'j["ok"]' || fail "run $run (killed after ${delay}s): fsck found problems"
    for ref in "$DST2"/.dvt/refs/remotes/swarm/fetched "$DST2"/.dvt/refs/heads/main; do
        [ ! -e "$ref" ] || [ "$(cat "$ref")" = "$V1" ] || fail "run $run: $ref names $(cat "$ref"), not $V1"
    done
    if [ "$BG_STATUS" = 0 ]; then
        completed=$((completed + 1))
        assert_same_tree "$T/v1.digest" "$DST2" "the tree after run $run"
        rm -rf "$DST2"
        new_repo "$DST2"
        before=$(refs_state)
    elif [ ! -e "$DST2/.dvt/refs/remotes/swarm/fetched" ]; then
        # killed before its ref was set: HEAD and refs are as before (packs or the commit file may already be
        # imported: the write ordering allows that, they are unreferenced until the ref, and fsck passed above)
        [ "$(refs_state)" = "$before" ] || fail "run $run: a pull killed before setting its ref changed HEAD or refs"
    fi
done
echo "  20 kill runs, $completed of them completed before the kill" >&2
expect_exit 0 "$DVT" -C "$DST2" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v1.digest" "$DST2" "the tree after the kill runs"
expect_exit 0 "$DVT" -C "$DST2" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == 1 and j["partial_packs"] == 0'

stop_serve "$SERVE_PID" "$T/serve.json"
echo "  seeder uploaded $SERVE_UPLOADED bytes in total for two repositories of $SIZE bytes" >&2
ok
