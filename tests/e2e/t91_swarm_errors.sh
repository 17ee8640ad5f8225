#!/usr/bin/env bash
# Swarm transport failures, each with its documented exit code and one error line, and nothing changed:
# malformed commit id or peer address (2), nobody reachable or nobody having the commit within --timeout (10),
# listen port in use (12), a second `dvt serve` on the same repository (6). `dvt serve` exits 0 on SIGTERM and on
# SIGINT (and releases its lock).
# Only loopback addresses; every process is stopped by PID, also on failure (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"


now_ms() { date +%s%3N; }

# repo_state DIR: what a failed pull must not change (packs, commits, refs, HEAD, temp files)
repo_state() {
    (cd "$1/.dvt" && find packs commits refs tmp HEAD -printf '%p %s %m\n' 2>/dev/null | sort && cat HEAD)
}

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)
ABSENT=$(printf 'not served anywhere' | sha256sum | cut -c1-64)

# --- usage errors (exit 2), checked before anything else, also outside a repository
cd "$T"
expect_exit 2 "$DVT" clone not-a-commit-id "$T/x" --peer 127.0.0.2:7000
one_error_line
expect_exit 2 "$DVT" clone "${V1:0:40}" "$T/x" --peer 127.0.0.2:7000
one_error_line
expect_exit 2 "$DVT" pull "${V1}00" --peer 127.0.0.2:7000
one_error_line
for bad in 127.0.0.2 127.0.0.2:0 127.0.0.2:70000 localhost:7000 0.0.0.0:7000 'not an address'; do
    expect_exit 2 "$DVT" clone "$V1" "$T/x" --peer "$bad"
    one_error_line
done
expect_exit 2 "$DVT" clone "$V1" "$T/x"
one_error_line
expect_exit 2 "$DVT" clone "$V1" "$T/x" --peer 127.0.0.2:7000 --timeout -1
one_error_line
expect_exit 2 "$DVT" serve
one_error_line
expect_exit 2 "$DVT" -C "$SRC" serve --listen 127.0.0.2
one_error_line
[ ! -e "$T/x" ] || fail "a refused clone created its directory"
expect_exit 2 "$DVT" --json clone nope "$T/x" --peer 127.0.0.2:7000
assert_json 'j["error"]["kind"] == "usage" and j["error"]["exit_code"] == 2'

# --- nobody reachable: exit 10 within the timeout, nothing changed
CL=$T/cl
new_repo "$CL"
repo_state "$CL" >"$T/state.before"
t0=$(now_ms)
expect_exit 10 "$DVT" -C "$CL" pull "$V1" --peer 127.0.0.9:9 --listen 127.0.0.3 --timeout 3
t1=$(now_ms)
one_error_line
assert_grep 'no peer delivered commit' "$ERR"
[ $((t1 - t0)) -ge 2900 ] && [ $((t1 - t0)) -lt 15000 ] || fail "unreachable peer: exit after $((t1 - t0)) ms, timeout was 3 s"
repo_state "$CL" >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "a failed pull changed the repository"
expect_exit 10 "$DVT" clone "$V1" "$T/never" --peer 127.0.0.9:9 --listen 127.0.0.3 --timeout 2
one_error_line
[ ! -e "$T/never" ] || fail "a failed clone left its directory behind"

# --- a peer that is up but does not have the commit: also exit 10
start_serve "$SRC" "$T/serve1.json"
SERVE1=$SERVE_PID
PORT1=${PEER##*:}
expect_exit 10 "$DVT" -C "$CL" pull "$ABSENT" --peer "$PEER" --listen 127.0.0.3 --timeout 3
one_error_line
repo_state "$CL" >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "a failed pull changed the repository"
# and the real commit from the same peer works
expect_exit 0 "$DVT" -C "$CL" pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60

# --- a second serve of the same repository is refused at once (exit 6), even on another port
t0=$(now_ms)
expect_exit 6 "$DVT" -C "$SRC" serve --listen 127.0.0.2:0
t1=$(now_ms)
one_error_line
[ $((t1 - t0)) -lt 5000 ] || fail "second serve took $((t1 - t0)) ms to be refused"

# --- port in use (another repository on the same address and port): exit 12, for serve and for pull
OTHER=$T/other
new_repo "$OTHER"
expect_exit 12 "$DVT" -C "$OTHER" serve --listen "127.0.0.2:$PORT1"
one_error_line
assert_grep "127.0.0.2:$PORT1" "$ERR"
expect_exit 12 "$DVT" -C "$CL" pull "$ABSENT" --peer "$PEER" --listen "127.0.0.2:$PORT1" --timeout 5
one_error_line

# --- serve exits 0 on SIGTERM (and the lock is released: a new serve starts), and on SIGINT
kill -TERM "$SERVE1"
wait_bg "$SERVE1"
assert_eq "$BG_STATUS" 0 "exit status of dvt serve after SIGTERM"
start_serve "$SRC" "$T/serve2.json"
kill -INT "$SERVE_PID"
wait_bg "$SERVE_PID"
assert_eq "$BG_STATUS" 0 "exit status of dvt serve after SIGINT"
ok
