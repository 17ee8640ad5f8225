#!/usr/bin/env bash
# LAN discovery (BEP 14): with --lsd, `dvt clone <commit-id>` and `dvt pull <commit-id>` find a `dvt serve --lsd` on
# the same network with no peer address, tracker, DHT node or key. Checks:
#  - without --lsd on the server, a --lsd clone finds nobody: exit 10 (no_peers) with a one-line error naming LAN
#    discovery, and no directory left behind;
#  - clone by commit id through LAN discovery alone; the tree equals the source and passes fsck;
#  - a clone that starts before any server is up finds the server that starts later (re-announce);
#  - every clone seeds: with the first server stopped, a third repository pulls v2 from the clone's server, found on
#    the LAN; config lsd.enabled = true works in place of --lsd.
# Runs in a private network namespace (lib.sh NETNS=1): the multicast never leaves the test's own loopback.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"

# --- a server without --lsd is not found by LAN discovery
start_serve "$SRC" "$T/plain.json" 127.0.0.2:0
cd "$T"
expect_exit 10 "$DVT" clone "$V1" "$T/none" --lsd --listen 127.0.0.3 --timeout 4
one_error_line
assert_grep 'LAN discovery' "$ERR"
[ ! -e "$T/none" ] || fail "a failed clone left $T/none behind"
stop_serve "$SERVE_PID" "$T/plain.json"

# --- with --lsd on both sides: clone by commit id, no address given
start_serve "$SRC" "$T/a1.json" 127.0.0.2:0 --lsd
expect_exit 0 "$DVT" --json clone "$V1" "$T/b" --lsd --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"] >= 1'
assert_same_tree "$T/v1.digest" "$T/b" "the clone found by LAN discovery"
expect_exit 0 "$DVT" -C "$T/b" fsck
stop_serve "$SERVE_PID" "$T/a1.json"

# --- no server is up when this clone starts; B's server starts 3 s later and is found (the clone re-announces)
bg "$DVT" --json clone "$V1" "$T/c" --lsd --listen 127.0.0.4 --timeout 60 >"$T/c.out" 2>"$T/c.err"
C_PID=$BG_PID
sleep 3
kill -0 "$C_PID" 2>/dev/null || { cat "$T/c.err" >&2; fail "the clone ended before any server was up"; }
start_serve "$T/b" "$T/b.json" 127.0.0.3:0 --lsd
B_PID=$SERVE_PID
wait_bg "$C_PID"
[ "$BG_STATUS" = 0 ] || { cat "$T/c.err" >&2; fail "the clone started before the server exited $BG_STATUS"; }
assert_same_tree "$T/v1.digest" "$T/c" "the clone that waited for a server"

# --- v2: B pulls it from the publisher; the publisher leaves; C pulls v2 from B alone (config instead of the flag)
cd "$SRC"
printf 'added in v2\n' >docs/v2.txt
gen_bytes 300000 v2-data >data/raw/v2.bin
V2=$(commit_id v2)
tree_digest "$SRC" >"$T/v2.digest"
start_serve "$SRC" "$T/a2.json" 127.0.0.2:0 --lsd
expect_exit 0 "$DVT" -C "$T/b" --json pull "$V2" --lsd --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v2.digest" "$T/b" "B after pulling v2 through LAN discovery"
stop_serve "$SERVE_PID" "$T/a2.json"
expect_exit 0 "$DVT" -C "$T/c" config lsd.enabled true
expect_exit 0 "$DVT" -C "$T/c" --json pull "$V2" --listen 127.0.0.4 --timeout 60
assert_json 'j["commit"] == "'"$V2"'" and j["packs_fetched"] >= 1 and j["bytes_downloaded"] > 0'
assert_same_tree "$T/v2.digest" "$T/c" "C after pulling v2 from B alone"
expect_exit 0 "$DVT" -C "$T/c" fsck

# --- a bad config value is a usage error (exit 2), not silently ignored
expect_exit 0 "$DVT" -C "$T/c" config lsd.enabled maybe
expect_exit 2 "$DVT" -C "$T/c" pull "$V2" --listen 127.0.0.4 --timeout 5
one_error_line
stop_serve "$B_PID" "$T/b.json"
ok
