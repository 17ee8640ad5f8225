#!/usr/bin/env bash
# Swarm transport between real processes on loopback: `dvt serve` on 127.0.0.2, `dvt clone` and `dvt pull` from
# 127.0.0.3. The clone's tree must equal the source's; after a small change on the seeder side, `dvt pull` must
# receive far less than the whole version (only the new packs), and the clone must pass fsck. The server is stopped
# with SIGTERM and must exit 0. Only loopback addresses are used; every process is stopped by PID (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"


SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)

start_serve "$SRC" "$T/serve.json"
assert_json 'j["commits"] == 1 and j["packs"] >= 1 and j["address"] == "127.0.0.2" and j["port"] > 0' "$T/serve.json"

# --- clone v1 into a new directory
cd "$T"
expect_exit 0 "$DVT" --json clone "$V1" "$T/clone" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["branch"] == "main" and j["packs_fetched"] == j["packs"] >= 1'
assert_json 'j["bytes_downloaded"] >= j["bytes_fetched"] > 3 * 1024 * 1024'
tree_digest "$SRC" >"$T/v1.digest"
assert_same_tree "$T/v1.digest" "$T/clone" "the clone of v1"
assert_eq "$(cat "$T/clone/.dvt/HEAD")" "ref: refs/heads/main" "HEAD of the clone"
assert_eq "$(cat "$T/clone/.dvt/refs/heads/main")" "$V1" "main of the clone"
[ -z "$(ls -A "$T/clone/.dvt/tmp")" ] || fail "the clone left temp files: $(ls -A "$T/clone/.dvt/tmp")"
expect_exit 0 "$DVT" -C "$T/clone" fsck
expect_exit 0 "$DVT" -C "$T/clone" --json status
assert_json 'j["clean"] and j["branch"] == "main" and j["head"] == "'"$V1"'"'

# --- v2 on the seeder side: one 4 KiB rewrite in the middle of the 3 MiB blob, one new file
cd "$SRC"
gen_bytes 4096 v2-patch | dd of=data/raw/blob.bin bs=4096 seek=300 conv=notrunc status=none
printf 'added in v2\n' >docs/v2.txt
V2=$(commit_id v2)
expect_exit 0 "$DVT" --json show "$V2"
V2_BYTES=$(json_get 'j["bytes"]')

# the server picks v2 up on its next rescan (every ~2 s); the puller keeps retrying meanwhile
cd "$T/clone"
expect_exit 0 "$DVT" --json pull "$V2" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cp "$OUT" "$T/pull.json"
assert_json 'j["commit"] == "'"$V2"'" and j["commit_fetched"] and j["fast_forward"] and j["branch"] == "main"'
assert_json '0 < j["packs_fetched"] < j["packs"]'
DOWN=$(json_get 'j["bytes_downloaded"]')
[ "$DOWN" -gt 0 ] || fail "pull reports no bytes downloaded"
[ $((DOWN * 10)) -lt "$V2_BYTES" ] || fail "pull of v2 received $DOWN bytes, not much less than the version ($V2_BYTES bytes)"
tree_digest "$SRC" >"$T/v2.digest"
assert_same_tree "$T/v2.digest" "$T/clone" "the clone after pulling v2"
assert_eq "$(cat .dvt/refs/heads/main)" "$V2" "main after the pull"
expect_exit 0 "$DVT" fsck --json
assert_json 'j["ok"] and j["reachable_commits"] == 2'
echo "  pull of v2: $DOWN bytes received for a $V2_BYTES-byte version" >&2

# --- pulling again needs nobody: everything is here (the peer given does not exist)
expect_exit 0 "$DVT" --json pull "$V2" --peer 127.0.0.9:9 --listen 127.0.0.3 --timeout 5
assert_json 'j["packs_fetched"] == 0 and j["bytes_downloaded"] == 0'

# --- a clone of v2 alone is shallow: log ends at v2, fsck does not ask for v1, show compares against nothing
expect_exit 0 "$DVT" --json clone "$V2" "$T/shallow" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v2.digest" "$T/shallow" "the shallow clone of v2"
assert_eq "$(cat "$T/shallow/.dvt/shallow")" "$V2" ".dvt/shallow of the clone"
expect_exit 0 "$DVT" -C "$T/shallow" --json log
assert_json 'len(j["commits"]) == 1 and j["commits"][0]["id"] == "'"$V2"'"'
expect_exit 0 "$DVT" -C "$T/shallow" --json fsck
assert_json 'j["ok"] and j["shallow_commits"] == 1 and j["reachable_commits"] == 1'
expect_exit 0 "$DVT" -C "$T/shallow" --json show HEAD
assert_json 'not j["parent_fetched"] and all(c["status"] == "added" for c in j["changes"])'
# pulling v1 afterwards fills the history in
expect_exit 0 "$DVT" -C "$T/shallow" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
expect_exit 0 "$DVT" -C "$T/shallow" --json log "$V2"
assert_json 'len(j["commits"]) == 2'
expect_exit 0 "$DVT" -C "$T/shallow" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == 2'

# --- SIGUSR1: a status line with what was uploaded so far (at least the clones above), and serving goes on
LINES=$(wc -l <"$T/serve.json")
kill -USR1 "$SERVE_PID"
for _ in $(seq 1 100); do
    [ "$(wc -l <"$T/serve.json")" -gt "$LINES" ] && break
    sleep 0.05
done
tail -n 1 "$T/serve.json" >"$T/status.json"
assert_json 'j["status"] == "serving" and j["commits"] == 2 and j["bytes_uploaded"] > 3 * 1024 * 1024' "$T/status.json"
# its peers: the connections of the clones above ended (docs/transport.md, "Diagnosing connectivity")
assert_json 'isinstance(j["torrents"], list) and sum(j["dropped"].values()) >= 1' "$T/status.json"
kill -0 "$SERVE_PID" 2>/dev/null || fail "dvt serve exited on SIGUSR1"
expect_exit 0 "$DVT" --json clone "$V2" "$T/after-usr1" --peer "$PEER" --listen 127.0.0.3 --timeout 60

# --- the server stops cleanly on SIGTERM
kill -TERM "$SERVE_PID"
wait_bg "$SERVE_PID"
assert_eq "$BG_STATUS" 0 "exit status of dvt serve after SIGTERM"
ok
