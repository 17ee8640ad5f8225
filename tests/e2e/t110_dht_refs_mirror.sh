#!/usr/bin/env bash
# No central remote: a private DHT of separate `dvt serve` processes on 127.0.0.11-13. The publisher pushes its branch
# as a signed record; a clone by dvt://<key> alone gets the right tree; a pull by commit id with no peer given finds
# the data through the DHT; two followers (`serve --follow`) fetch a new version on their own and `push --replicas 2`
# returns once both hold it; `dvt pull` in the clone then follows the published branch. Finally every dvt process is
# stopped and a pull is served by nginx alone from a `push --mirror` export. Loopback only, every process stopped by
# PID (lib.sh trap); nginx runs with a private config on 127.0.0.1.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# --- a private DHT of three nodes (each knows the next)
for i in 1 2 3; do new_repo "$T/node$i"; done
P2=$(free_port 127.0.0.12)  # node 1 must name node 2 before node 2 runs
start_serve "$T/node1" "$T/node1.json" 127.0.0.11:0 --bootstrap "127.0.0.12:$P2"
N1=$PEER N1_PID=$SERVE_PID
start_serve "$T/node2" "$T/node2.json" "127.0.0.12:$P2" --bootstrap "$N1"
N2_PID=$SERVE_PID
start_serve "$T/node3" "$T/node3.json" 127.0.0.13:0 --bootstrap "$N1" --bootstrap "127.0.0.12:$P2"
N3=$PEER N3_PID=$SERVE_PID
BOOT=(--bootstrap "$N1" --bootstrap "127.0.0.12:$P2")

# --- the publisher
PUB=$T/pub
new_repo "$PUB"
mkdir -p "$PUB/shards"
for i in 0 1 2; do gen_bytes $((1024 * 1024 + i)) "v1-$i" >"$PUB/shards/s$i.bin"; done
cd "$PUB"
V1=$(commit_id v1)
expect_exit 0 "$DVT" -C "$PUB" --json key show
KEY=$(json_get 'j["url"]')
[[ "$KEY" =~ ^dvt://[0-9a-f]{64}$ ]] || fail "key show printed '$KEY'"
[ "$(stat -c %a "$PUB/.dvt/keys/publisher")" = 600 ] || fail "the key file is not mode 600"
start_serve "$PUB" "$T/pub.json" 127.0.0.2:0 "${BOOT[@]}"
PUB_PID=$SERVE_PID
expect_exit 0 "$DVT" -C "$PUB" --json push --bootstrap "$N3" --listen 127.0.0.20 --timeout 30
assert_json 'j["url"] == "'"$KEY"'" and j["refs"][0]["ref"] == "refs/heads/main" and j["refs"][0]["commit"] == "'"$V1"'"'

# --- clone by the key alone
expect_exit 0 "$DVT" --json clone "$KEY" "$T/c1" "${BOOT[@]}" --listen 127.0.0.31 --timeout 60
assert_json 'j["commit"] == "'"$V1"'"'
tree_digest "$PUB" >"$T/v1.digest"
assert_same_tree "$T/v1.digest" "$T/c1" "the clone by key"
assert_eq "$(cat "$T/c1/.dvt/config" | grep -c "origin.url = $KEY")" 1 "origin url recorded in the clone"

# --- a commit id alone, no peer: the DHT finds the seeders
new_repo "$T/c2"
expect_exit 0 "$DVT" -C "$T/c2" --json pull "$V1" --bootstrap "$N3" --listen 127.0.0.32 --timeout 60
assert_same_tree "$T/v1.digest" "$T/c2" "the pull by commit id through the DHT"

# --- an unknown key is "no such ref" (not found), quickly and cleanly
expect_exit 4 "$DVT" clone "dvt://$(printf '%064d' 7)" "$T/nope" "${BOOT[@]}" --listen 127.0.0.33 --timeout 5
one_error_line
[ ! -e "$T/nope" ] || fail "a failed clone left its directory"

# --- two followers; a new version; push --replicas 2 returns once both hold it
for f in 1 2; do
    new_repo "$T/f$f"
    start_serve "$T/f$f" "$T/f$f.json" "127.0.0.4$f:0" "${BOOT[@]}" --follow "$KEY" --follow-interval 1
    eval "F${f}_PID=\$SERVE_PID"
done
gen_bytes $((512 * 1024)) v2-new >"$PUB/shards/new.bin"
cd "$PUB"
V2=$(commit_id v2)
PUSH_T0=$(date +%s.%N)
expect_exit 0 "$DVT" -C "$PUB" --json push "${BOOT[@]}" --listen 127.0.0.21 --replicas 2 --timeout 90
assert_json 'j["replicas"] >= 2'
echo "  push --replicas 2 returned after $(awk -v a="$PUSH_T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >&2
for f in 1 2; do
    for _ in $(seq 1 100); do
        [ "$(cat "$T/f$f/.dvt/refs/remotes/follow/main" 2>/dev/null)" = "$V2" ] && break
        sleep 0.2
    done
    assert_eq "$(cat "$T/f$f/.dvt/refs/remotes/follow/main" 2>/dev/null)" "$V2" "follower $f's copy of main"
    expect_exit 0 "$DVT" -C "$T/f$f" --json fsck
    assert_json 'j["ok"]'
done

# --- the clone follows the published branch with a plain `dvt pull`
expect_exit 0 "$DVT" -C "$T/c1" --json pull --listen 127.0.0.31 --timeout 60
assert_json 'j["commit"] == "'"$V2"'"'
tree_digest "$PUB" >"$T/v2.digest"
assert_same_tree "$T/v2.digest" "$T/c1" "the clone after dvt pull"

# --- a mirror: every dvt process stops; nginx alone serves a pull
# a pre-push hook that fails stops the push before anything is written (exit 11)
mkdir -p "$PUB/.dvt/hooks"
printf '#!/bin/sh\ncat > "%s/prepush.in"\nexit 1\n' "$T" >"$PUB/.dvt/hooks/pre-push"
chmod +x "$PUB/.dvt/hooks/pre-push"
expect_exit 11 "$DVT" -C "$PUB" push --mirror "$T/www"
one_error_line
[ ! -e "$T/www" ] || fail "a rejected push wrote the mirror"
assert_eq "$(cat "$T/prepush.in")" "refs/heads/main $V2" "the refs pre-push was given"
rm "$PUB/.dvt/hooks/pre-push"
expect_exit 0 "$DVT" -C "$PUB" --json push --mirror "$T/www"
assert_json 'j["mirror"]["packs_written"] >= 1'
for pid in "$PUB_PID" "$F1_PID" "$F2_PID" "$N1_PID" "$N2_PID" "$N3_PID"; do
    kill -TERM "$pid"
    wait_bg "$pid"
    [ "$BG_STATUS" = 0 ] || fail "dvt serve $pid exited $BG_STATUS on SIGTERM"
done
start_nginx "$T/www"
NGPORT=$NG_PORT
expect_exit 0 "$DVT" --json clone "$V2" "$T/m1" --mirror "http://127.0.0.1:$NGPORT/" --listen 127.0.0.50 --timeout 30
assert_same_tree "$T/v2.digest" "$T/m1" "the clone served by nginx alone"
expect_exit 0 "$DVT" -C "$T/m1" --json fsck
assert_json 'j["ok"]'
# a mirror without the commit: exit 12 (network: mirror unreachable or without it)
expect_exit 12 "$DVT" clone "$(printf '%064d' 5)" "$T/m2" --mirror "http://127.0.0.1:$NGPORT/" --listen 127.0.0.50 --timeout 5
one_error_line
kill -TERM "$NG_PID"
wait_bg "$NG_PID"
ok
