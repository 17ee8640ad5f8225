#!/usr/bin/env bash
# Partial pulls: `dvt pull ID -- shard_02/` fetches only the pieces holding that directory's objects (bytes received
# close to the directory's size, far from the version's), writes exactly those files, leaves HEAD alone, and fsck
# reports the rest as not fetched rather than missing. A peer holding only part of the packs seeds that part: a third
# repository pulls the same directory from it alone. A later full pull completes the partial packs (only the rest
# crosses the wire) and everything then verifies. Loopback only; every process stopped by PID (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
new_repo "$SRC"
for s in 0 1 2 3; do
    mkdir -p "$SRC/shard_0$s"
    for f in 0 1 2 3; do gen_bytes $((2 * 1024 * 1024 + f * 4096)) "s$s-f$f" >"$SRC/shard_0$s/part-$f.bin"; done
done
printf 'labels\n' >"$SRC/labels.txt"
cd "$SRC"
V1=$(commit_id v1)
TOTAL=$(du -cb "$SRC"/shard_0* | tail -n 1 | cut -f1)
SHARD=$(du -cb "$SRC"/shard_02 | tail -n 1 | cut -f1)
start_serve "$SRC" "$T/a.json" 127.0.0.2:0
A=$PEER

# --- B pulls one directory into an empty repository
B=$T/b
new_repo "$B"
expect_exit 0 "$DVT" -C "$B" --json pull "$V1" --peer "$A" --listen 127.0.0.3 --timeout 60 -- shard_02/
assert_json 'j["packs_fetched"] == 0 and j["objects_fetched"] > 0 and j["paths"] == ["shard_02/"]'
DOWN=$(json_get 'j["bytes_downloaded"]')
echo "  partial pull: $DOWN bytes received for a $SHARD-byte directory of a $TOTAL-byte version" >&2
[ "$DOWN" -ge "$SHARD" ] || fail "received $DOWN bytes, less than the directory itself ($SHARD)"
[ "$DOWN" -le $((SHARD * 12 / 10 + 512 * 1024)) ] || fail "received $DOWN bytes for a $SHARD-byte directory"
(cd "$SRC" && tree_digest shard_02) >"$T/shard.digest"
(cd "$B" && tree_digest shard_02 | diff -u "$T/shard.digest" -) || fail "shard_02 differs from the source"
for d in shard_00 shard_01 shard_03 labels.txt; do [ ! -e "$B/$d" ] || fail "the partial pull wrote $d"; done
[ ! -e "$B/.dvt/refs/heads/main" ] || fail "a partial pull moved the branch"
expect_exit 0 "$DVT" -C "$B" --json fsck
assert_json 'j["ok"] and j["partial_packs"] >= 1 and j["objects_not_fetched"] > 0 and j["reachable_commits"] == 1'
# checking out a path that was not fetched fails cleanly
expect_exit 4 "$DVT" -C "$B" checkout "$V1" -- shard_01/
one_error_line

# pulling the same paths again needs no peer at all
expect_exit 0 "$DVT" -C "$B" --json pull "$V1" --peer 127.0.0.9:9 --listen 127.0.0.3 --timeout 5 -- shard_02/
assert_json 'j["bytes_downloaded"] == 0'

# --- B seeds what it has; C pulls shard_02 from B alone (A stopped)
stop_serve "$SERVE_PID" "$T/a.json"
start_serve "$B" "$T/b.json" 127.0.0.3:0
assert_json 'j["partial_packs"] >= 1' "$T/b.json"
BPEER=$PEER
C=$T/c
new_repo "$C"
expect_exit 0 "$DVT" -C "$C" --json pull "$V1" --peer "$BPEER" --listen 127.0.0.4 --timeout 60 -- shard_02/
(cd "$C" && tree_digest shard_02 | diff -u "$T/shard.digest" -) || fail "shard_02 pulled from the partial seeder differs"
# what B does not have cannot come from B: a pull of another directory times out with no_peers
expect_exit 10 "$DVT" -C "$C" pull "$V1" --peer "$BPEER" --listen 127.0.0.4 --timeout 4 -- shard_00/
one_error_line
expect_exit 0 "$DVT" -C "$C" --json fsck
assert_json 'j["ok"]'
stop_serve "$SERVE_PID" "$T/b.json"

# --- B completes the version from A: only the rest crosses the wire
start_serve "$SRC" "$T/a2.json" 127.0.0.2:0
expect_exit 0 "$DVT" -C "$B" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
DOWN2=$(json_get 'j["bytes_downloaded"]')
echo "  completing pull: $DOWN2 bytes received" >&2
[ "$DOWN2" -le $((TOTAL - SHARD + 1024 * 1024)) ] || fail "the completing pull received $DOWN2 bytes (the rest is $((TOTAL - SHARD)))"
tree_digest "$SRC" >"$T/v1.digest"
assert_same_tree "$T/v1.digest" "$B" "B after the full pull"
expect_exit 0 "$DVT" -C "$B" --json fsck
# every pack of the version is complete; the one partial pack left is the locator's, which the partial pull read
# through and a whole pull does not fetch (docs/format.md, "Locator": not part of the version)
LP=$(sed -n 's/^locator [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$SRC/.dvt/commits/$V1")
[ -n "$LP" ] || fail "V1 names no locator (pack.locator unset means 1)"
assert_json 'j["ok"] and j["partial_packs"] == 1 and j["objects_not_fetched"] == 0'
[ "$(ls -A "$B/.dvt/partial" | sort | tr '\n' ' ')" = "$LP.pack $LP.resume " ] ||
    fail "partial/ holds more than the locator's pack: $(ls -A "$B/.dvt/partial")"

# --- gc drops partial packs that nothing names any more
rm -f "$C/.dvt/refs/remotes/swarm/fetched" "$C/.dvt/logs/refs/remotes/swarm/fetched"
expect_exit 0 "$DVT" -C "$C" --json gc
assert_json 'j["partial_packs_removed"] >= 1'
[ -z "$(ls -A "$C/.dvt/partial")" ] || fail "gc left partial packs: $(ls -A "$C/.dvt/partial")"
expect_exit 0 "$DVT" -C "$C" --json fsck
assert_json 'j["ok"] and j["partial_packs"] == 0'
stop_serve "$SERVE_PID" "$T/a2.json"
ok
