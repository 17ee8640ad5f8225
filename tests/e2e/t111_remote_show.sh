#!/usr/bin/env bash
# dvt remote show NAME: a remote's settings, the refs its dvt:// address publishes, and per version the peers seen and
# how many hold a complete copy. A private DHT of two `dvt serve` nodes on 127.0.0.51-52; a publisher (127.0.0.54) with
# main = V2 and tag v1 = V1; one follower of main (127.0.0.56); an observer cloned by the key (127.0.0.61), which also
# serves its copy: its own address never counts for itself, but does for a second observer (127.0.0.62) whose remote
# was saved by `remote add --url`. Then the errors: unknown remote (4), a key that publishes nothing (4), no DHT node
# (10). Loopback only, every process stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# --- a private DHT of two nodes (each knows the other)
for i in 1 2; do new_repo "$T/node$i"; done
P2=$(free_port 127.0.0.52)
start_serve "$T/node1" "$T/node1.json" 127.0.0.51:0 --bootstrap "127.0.0.52:$P2"
N1=$PEER N1_PID=$SERVE_PID
start_serve "$T/node2" "$T/node2.json" "127.0.0.52:$P2" --bootstrap "$N1"
N2=127.0.0.52:$P2 N2_PID=$SERVE_PID
BOOT=(--bootstrap "$N1" --bootstrap "$N2")

# --- the publisher: tag v1 = V1, main = V2 (push --replicas waits for branches only)
PUB=$T/pub
new_repo "$PUB"
mkdir -p "$PUB/shards"
for i in 0 1; do gen_bytes $((512 * 1024 + i)) "v1-$i" >"$PUB/shards/s$i.bin"; done
cd "$PUB"
V1=$(commit_id v1)
expect_exit 0 "$DVT" tag v1
gen_bytes $((256 * 1024)) v2-new >"$PUB/shards/new.bin"
V2=$(commit_id v2)
expect_exit 0 "$DVT" --json key show
KEY=$(json_get 'j["url"]')
start_serve "$PUB" "$T/pub.json" 127.0.0.54:0 "${BOOT[@]}"
PUB_PID=$SERVE_PID

# --- a follower of main; once it has V2, push --replicas 2 sees the publisher's server and the follower hold it
new_repo "$T/f1"
start_serve "$T/f1" "$T/f1.json" 127.0.0.56:0 "${BOOT[@]}" --follow "$KEY" --follow-interval 1
F1_PID=$SERVE_PID
expect_exit 0 "$DVT" -C "$PUB" --json push "${BOOT[@]}" --listen 127.0.0.55 --timeout 30
assert_json 'sorted(r["ref"] for r in j["refs"]) == ["refs/heads/main", "refs/tags/v1"]'
for _ in $(seq 1 600); do
    [ "$(cat "$T/f1/.dvt/refs/remotes/follow/main" 2>/dev/null)" = "$V2" ] && break
    sleep 0.2
done
assert_eq "$(cat "$T/f1/.dvt/refs/remotes/follow/main" 2>/dev/null)" "$V2" "the follower's copy of main"
expect_exit 0 "$DVT" -C "$PUB" --json push "${BOOT[@]}" --listen 127.0.0.55 --replicas 2 --timeout 120
assert_json 'j["replicas"] >= 2'

# --- the observer: a clone by the key (which saves origin), serving its copy on its own address
expect_exit 0 "$DVT" --json clone "$KEY" "$T/obs" "${BOOT[@]}" --listen 127.0.0.61 --timeout 60
assert_json 'j["commit"] == "'"$V2"'"'
expect_exit 4 "$DVT" -C "$T/obs" remote show nosuch
one_error_line
assert_grep "no remote named 'nosuch'" "$ERR"
start_serve "$T/obs" "$T/obs.json" 127.0.0.61:0 "${BOOT[@]}"
OBS_PID=$SERVE_PID
listing "$T/obs/.dvt" | grep -Ev '^\./(tmp|index)' >"$T/obs.before"

expect_exit 0 "$DVT" -C "$T/obs" --json remote show origin --listen 127.0.0.61 --timeout 15
cp "$OUT" "$T/show1.json"
assert_json 'j["name"] == "origin" and j["url"] == "'"$KEY"'" and j["bootstrap"] == ["'"$N1"'", "'"$N2"'"]'
assert_json 'sorted(r["ref"] for r in j["refs"]) == ["refs/heads/main", "refs/tags/v1"]'
MAIN='[r for r in j["refs"] if r["ref"] == "refs/heads/main"][0]'
V1REF='[r for r in j["refs"] if r["ref"] == "refs/tags/v1"][0]'
assert_json "$MAIN"'["commit"] == "'"$V2"'" and '"$MAIN"'["seq"] > 0'
# the commit is here, so its packs are watched too; the complete copies are the publisher's server and the follower,
# not the observer's own server (same address as this session)
assert_json "$MAIN"'["torrents"] >= 2'
assert_json "$MAIN"'["complete_copies"] == 2'
assert_json 'sorted(p["ip"] for p in '"$MAIN"'["peers"] if p["complete"]) == ["127.0.0.54", "127.0.0.56"]'
assert_json 'all(p["ip"] != "127.0.0.61" for r in j["refs"] for p in r["peers"])'
assert_json "$MAIN"'["peers_seen"] == len('"$MAIN"'["peers"]) >= 2'
# v1's commit is not here (the clone is shallow): only its commit torrent is watched; only the publisher has it
assert_json "$V1REF"'["commit"] == "'"$V1"'" and '"$V1REF"'["torrents"] == 1 and '"$V1REF"'["complete_copies"] == 1'
assert_json '[p["ip"] for p in '"$V1REF"'["peers"] if p["complete"]] == ["127.0.0.54"]'
# nothing was written: no temp directory left, no new commit or pack
[ -z "$(ls -A "$T/obs/.dvt/tmp" 2>/dev/null)" ] || fail "remote show left files in .dvt/tmp: $(ls -A "$T/obs/.dvt/tmp")"
listing "$T/obs/.dvt" | grep -Ev '^\./(tmp|index)' >"$T/obs.after"
diff -u "$T/obs.before" "$T/obs.after" >&2 || fail "remote show changed the observer's .dvt"

# --- a second observer with `remote add --url`: nothing here, the first observer's server counts
new_repo "$T/obs2"
expect_exit 0 "$DVT" -C "$T/obs2" remote add watch --url "$KEY" "${BOOT[@]}"
expect_exit 0 "$DVT" -C "$T/obs2" --json remote list
assert_json 'j["remotes"] == [{"name": "watch", "peers": [], "trackers": [], "url": "'"$KEY"'"}]'
# (the observer's server started a few seconds ago: libtorrent announces a new server's torrents to the DHT one every
# few seconds, so the first looks may not find it on the commit's swarm yet)
for _ in 1 2 3 4 5 6; do
    expect_exit 0 "$DVT" -C "$T/obs2" --json remote show watch --listen 127.0.0.62 --timeout 15
    [ "$(json_get "$MAIN"'["complete_copies"]')" = 3 ] && break
    sleep 2
done
cp "$OUT" "$T/show2.json"
assert_json "$MAIN"'["commit"] == "'"$V2"'" and '"$MAIN"'["torrents"] == 1'
assert_json 'sorted(p["ip"] for p in '"$MAIN"'["peers"] if p["complete"]) == ["127.0.0.54", "127.0.0.56", "127.0.0.61"]'
assert_json "$MAIN"'["complete_copies"] == 3 and '"$V1REF"'["complete_copies"] == 1'
# the text form
expect_exit 0 "$DVT" -C "$T/obs2" remote show watch --listen 127.0.0.62 --timeout 15
assert_grep "^watch$" "$OUT"
assert_grep "^  url: +$KEY$" "$OUT"
assert_grep "^  refs/heads/main ${V2:0:12} \(seq [0-9]+\): 3 complete copies, 3 peers seen \(commit watched" "$OUT"
assert_grep "^  refs/tags/v1 ${V1:0:12} \(seq [0-9]+\): 1 complete copies, 1 peers seen" "$OUT"
assert_grep "^    127\.0\.0\.61 complete$" "$OUT"

# --- a remote with peers only: its settings, no refs
expect_exit 0 "$DVT" -C "$T/obs2" remote add lan --peer 127.0.0.54:7001
expect_exit 0 "$DVT" -C "$T/obs2" --json remote show lan
assert_json 'j["url"] is None and j["peers"] == ["127.0.0.54:7001"] and j["refs"] == []'
expect_exit 0 "$DVT" -C "$T/obs2" remote show lan
assert_grep "no refs are published" "$OUT"

# --- errors: a key that publishes nothing (4), no DHT node answering (10), bad options (2)
expect_exit 0 "$DVT" -C "$T/obs2" remote add empty --url "dvt://$(printf '%064d' 7)" --bootstrap "$N1"
expect_exit 4 "$DVT" -C "$T/obs2" remote show empty --listen 127.0.0.62 --timeout 3
one_error_line
assert_grep "publishes no ref list" "$ERR"
DEAD=127.0.0.59:$(free_port 127.0.0.59)
expect_exit 0 "$DVT" -C "$T/obs2" remote add dead --url "$KEY" --bootstrap "$DEAD"
expect_exit 10 "$DVT" -C "$T/obs2" remote show dead --listen 127.0.0.62 --timeout 2
one_error_line
assert_grep "no DHT node answered" "$ERR"
expect_exit 2 "$DVT" -C "$T/obs2" remote show watch --timeout 0
one_error_line
expect_exit 2 "$DVT" -C "$T/obs2" remote add bad --url dvt://nothex
one_error_line
[ -z "$(ls -A "$T/obs2/.dvt/tmp" 2>/dev/null)" ] || fail "remote show left files in .dvt/tmp"

for pid in "$OBS_PID" "$F1_PID" "$PUB_PID" "$N1_PID" "$N2_PID"; do
    kill -TERM "$pid"
    wait_bg "$pid"
    [ "$BG_STATUS" = 0 ] || fail "dvt serve $pid exited $BG_STATUS on SIGTERM"
done
ok
