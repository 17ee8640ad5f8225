#!/usr/bin/env bash
# Peer discovery through a real BitTorrent tracker: Debian's opentracker, started by the test on 127.0.0.1. It is
# whitelist-only, so the test whitelists what dvt announces: the commit id and each pack's info-hash
# (format.md *Swarm identities*: SHA-256 of the bencoded v2 info dict), each truncated to 20 bytes (40 hex digits),
# as v2 torrents are announced.
#  * `dvt serve --tracker URL` on 127.0.0.2, `dvt clone ID DIR --tracker URL` (no --peer) on 127.0.0.3: right tree;
#  * `dvt remote add origin --tracker URL`, then `dvt pull origin ID` in another repository: right tree;
#  * a commit the tracker refuses (not whitelisted) cannot be found (no_peers, 10), repository unchanged: the tracker
#    really is the only way to the seeder; once whitelisted (tracker reloaded with SIGHUP, server restarted so that
#    it announces again) the same pull succeeds and fetches only the new pack.
# The tracker and every dvt process are stopped by PID, also on failure (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

OPENTRACKER=${OPENTRACKER:-/usr/bin/opentracker}
[ -x "$OPENTRACKER" ] ||
    fail "opentracker is not installed ($OPENTRACKER): this test needs it (Debian package opentracker; scripts/setup.sh)"
id nobody >/dev/null 2>&1 || fail "no user 'nobody' to run opentracker as"

repo_state() {
    (cd "$1/.dvt" && find packs commits refs tmp HEAD -printf '%p %s %m\n' 2>/dev/null | sort && cat HEAD)
}

# whitelist_lines COMMIT_ID (a commit of A): the 40-hex truncated info-hashes dvt announces for the commit and its packs, computed
# here from `dvt show --json` (pack ids and lengths) independently of dvt's code.
whitelist_lines() {
    expect_exit 0 "$DVT" -C "$A" --json show "$1"
    "${PY_FAST[@]}" - "$OUT" <<'PY'
import hashlib, json, sys

def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, dict):
        keys = sorted(x, key=lambda k: k.encode())
        return b"d" + b"".join(benc(k) + benc(x[k]) for k in keys) + b"e"
    raise TypeError(x)

def pack_piece_length(length):
    p = 16384
    while (length + p - 1) // p > 1024:
        p *= 2
    return p

show = json.load(open(sys.argv[1]))
print(show["id"][:40])
assert show["packs"], "the commit names no pack"
for pk in show["packs"]:
    name = pk["id"] + ".pack"
    info = {"file tree": {name: {"": {"length": pk["length"], "pieces root": bytes.fromhex(pk["id"])}}},
            "meta version": 2, "name": name, "piece length": pack_piece_length(pk["length"])}
    print(hashlib.sha256(benc(info)).hexdigest()[:40])
PY
}

# announce INFOHASH40: one HTTP announce to the tracker (a peer 127.0.0.1:1 that is about to leave: opentracker
# does not check its whitelist for event=stopped), then event=stopped so that it leaves no peer behind; prints the
# bencoded answer of the first one.
announce() {
    "${PY_FAST[@]}" - "$TRACKER" "$1" <<'PY'
import sys, urllib.parse, urllib.request
url, h = sys.argv[1], bytes.fromhex(sys.argv[2])
q = "info_hash=%s&peer_id=-E2E000-000000000000&port=1&uploaded=0&downloaded=0&left=0&compact=1" % urllib.parse.quote(h)
answer = urllib.request.urlopen(url + "?" + q, timeout=5).read()
urllib.request.urlopen(url + "?" + q + "&event=stopped", timeout=5).read()
sys.stdout.write(answer.decode("latin-1"))
PY
}

# --- the data, published by A
A=$T/a
new_repo "$A"
make_tree "$A"
gen_bytes $((5 * 1024 * 1024 + 333)) tracker-big >"$A/data/raw/big.bin"
cd "$A"
V1=$(commit_id v1)
tree_digest "$A" >"$T/v1.digest"
whitelist_lines "$V1" >"$T/v1.whitelist"
[ "$(wc -l <"$T/v1.whitelist")" -ge 2 ] || fail "expected the commit and at least one pack in the whitelist"

# --- the tracker: chrooted into $T/tracker (the whitelist path is inside it), as nobody, TCP and UDP on one port
TD=$T/tracker
mkdir -p "$TD"
cp "$T/v1.whitelist" "$TD/whitelist.txt"
chmod 755 "$TD"
chmod 644 "$TD/whitelist.txt"
TPORT=$(free_port 127.0.0.1)
bg "$OPENTRACKER" -i 127.0.0.1 -p "$TPORT" -P "$TPORT" -d "$TD" -u nobody -w whitelist.txt >"$T/tracker.out" 2>&1
TRACKER_PID=$BG_PID
TRACKER=http://127.0.0.1:$TPORT/announce
for i in $(seq 1 100); do
    "${PY_FAST[@]}" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
        "$TPORT" 2>/dev/null && break
    kill -0 "$TRACKER_PID" 2>/dev/null || { cat "$T/tracker.out" >&2; fail "opentracker exited at start"; }
    sleep 0.05
done
kill -0 "$TRACKER_PID" 2>/dev/null || { cat "$T/tracker.out" >&2; fail "opentracker exited at start"; }
# the tracker works as intended: it accepts a whitelisted hash and refuses another one
announce "$(head -n 1 "$T/v1.whitelist")" >"$T/ann.ok" || fail "announce to opentracker failed"
assert_grep 'interval' "$T/ann.ok" "opentracker refused a whitelisted info-hash"
announce 0123456789abcdef0123456789abcdef01234567 >"$T/ann.no" || fail "announce to opentracker failed"
assert_grep 'failure reason' "$T/ann.no" "opentracker accepted a hash that is not whitelisted (not whitelist-only?)"

# --- A serves and announces; a clone finds it through the tracker alone
start_serve "$A" "$T/a1.json" 127.0.0.2:0 --tracker "$TRACKER"
SA=$SERVE_PID
cd "$T"
expect_exit 0 "$DVT" --json clone "$V1" "$T/b" --tracker "$TRACKER" --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["branch"] == "main" and j["packs_fetched"] == j["packs"] >= 1'
assert_same_tree "$T/v1.digest" "$T/b" "the clone through the tracker"
expect_exit 0 "$DVT" -C "$T/b" fsck

# --- a saved remote with only the tracker; `dvt pull origin ID` in another repository
C=$T/c
new_repo "$C"
cd "$C"
expect_exit 0 "$DVT" remote add origin --tracker "$TRACKER"
expect_exit 0 "$DVT" --json remote
assert_json '[r["name"] for r in j["remotes"]] == ["origin"] and j["remotes"][0]["trackers"] == ["'"$TRACKER"'"] and not j["remotes"][0]["peers"]'
expect_exit 0 "$DVT" --json pull origin "$V1" --listen 127.0.0.4 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"] >= 1 and j["branch"] == "main"'
assert_same_tree "$T/v1.digest" "$C" "the pull from remote origin (tracker only)"
expect_exit 0 "$DVT" fsck

# --- v2 is not whitelisted yet: A serves it (next rescan) but nobody can find it through the tracker
cd "$A"
gen_bytes 4096 tracker-patch | dd of=data/raw/big.bin bs=4096 seek=500 conv=notrunc status=none
printf 'added in v2\n' >docs/v2.txt
V2=$(commit_id v2)
tree_digest "$A" >"$T/v2.digest"
expect_exit 0 "$DVT" --json show "$V2"
V2_BYTES=$(json_get 'j["bytes"]')
cd "$C"
repo_state "$C" >"$T/state.before"
sleep 2.5   # let the server's rescan pick v2 up, so that only the tracker stands in the way
expect_exit 10 "$DVT" pull origin "$V2" --listen 127.0.0.4 --timeout 4
one_error_line
echo "  v2 not whitelisted: $(cat "$ERR")" >&2
repo_state "$C" >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "a failed pull changed the repository"

# whitelist v2 (tracker reloads on SIGHUP), restart the server so it announces v2 at once; now the pull works
whitelist_lines "$V2" >>"$TD/whitelist.txt"
kill -HUP "$TRACKER_PID"
sleep 0.5
announce "${V2:0:40}" >"$T/ann.v2" || fail "announce to opentracker failed"
assert_grep 'interval' "$T/ann.v2" "opentracker did not accept v2 after reloading its whitelist"
stop_serve "$SA" "$T/a1.json"
start_serve "$A" "$T/a2.json" 127.0.0.2:0 --tracker "$TRACKER"
SA=$SERVE_PID
expect_exit 0 "$DVT" --json pull origin "$V2" --listen 127.0.0.4 --timeout 60
assert_json 'j["commit"] == "'"$V2"'" and j["fast_forward"] and 0 < j["packs_fetched"] < j["packs"]'
DOWN=$(json_get 'j["bytes_downloaded"]')
[ $((DOWN * 10)) -lt "$V2_BYTES" ] || fail "the pull of v2 received $DOWN bytes, not much less than the version ($V2_BYTES bytes)"
assert_same_tree "$T/v2.digest" "$C" "the pull of v2 from remote origin"
expect_exit 0 "$DVT" fsck

stop_serve "$SA" "$T/a2.json"
kill -TERM "$TRACKER_PID"
wait_bg "$TRACKER_PID"
ok
