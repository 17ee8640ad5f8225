#!/usr/bin/env bash
# Scale (#16): dvt works within 1,024 open files (`ulimit -n 1024`: soft and hard alike, sockets included).
#   1. `dvt serve` of a version of 1,150 packs, and `dvt clone` of it from 127.0.0.3: the clone is byte-exact and
#      fscks clean. (Before: the clone failed with "Too many open files", exit 9, and the server held 1,023 descriptors.)
#   2. the same server to three pullers at once: all three clones complete and are byte-exact.
#   3. a checkout of a version with 2,000 directories, and back (before: one descriptor per directory, exit 9).
# The version of many packs is written by tests/hostile/gen_hostile.py's small-packs case (well-formed: one small pack
# per file, as a history of many small commits leaves them; fsck accepts it): 1,150 packs of 1 MiB each would take
# minutes to make and move, and what this test is about is the number of packs (torrents, files, connections), not
# their bytes. The largest number of descriptors the server and a puller held is printed.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

ulimit -n 1024
[ "$(ulimit -Sn)" = 1024 ] && [ "$(ulimit -Hn)" = 1024 ] || fail "cannot set the open-file limit to 1024"
GEN=(/usr/bin/python3 "$(dirname "${DVT_TEST_LIB:-$0}")/../hostile/gen_hostile.py")
PACKS=1150

# the format this dvt writes (the generator writes the same)
new_repo "$T/probe"
FORMAT=$(awk '/^\[/ { c = ($0 == "[core]") } c && $1 == "format" { print $3 }' "$T/probe/.dvt/config")

# fd_peak PID FILE: samples the descriptors of PID into FILE every 0.2 s while it lives (the largest count is kept)
fd_peak() {
    local pid=$1 file=$2 n max=0
    while kill -0 "$pid" 2>/dev/null; do
        n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        [ "$n" -gt "$max" ] && max=$n && echo "$max" >"$file"
        sleep 0.2
    done
}

# --- 1. serve 1,150 packs, clone them
SRC=$T/src
HID=$("${GEN[@]}" small-packs "$SRC" --commit-version "$FORMAT" --packs "$PACKS" --digest "$T/src.digest") ||
    fail "the generator failed"
is_hex64 "$HID" || fail "the generator printed '$HID'"
[ "$(ls "$SRC/.dvt/packs" | wc -l)" = "$PACKS" ] || fail "the generator wrote $(ls "$SRC/.dvt/packs" | wc -l) packs"
start_serve "$SRC" "$T/serve.json"
assert_json 'j["packs"] == '"$PACKS" "$T/serve.json"
echo 0 >"$T/serve.fds"
bg fd_peak "$SERVE_PID" "$T/serve.fds"

cd "$T"
bg "$DVT" --json clone "$HID" "$T/clone" --peer "$PEER" --listen 127.0.0.3 --timeout 120
CLONE_PID=$BG_PID
echo 0 >"$T/clone.fds"
bg fd_peak "$CLONE_PID" "$T/clone.fds"
wait_bg "$CLONE_PID"
[ "$BG_STATUS" = 0 ] || fail "the clone of $PACKS packs under ulimit -n 1024 exited $BG_STATUS"
assert_same_tree "$T/src.digest" "$T/clone" "the clone of $PACKS packs"
expect_exit 0 "$DVT" -C "$T/clone" --json fsck
assert_json 'j["ok"]'
[ "$(ls "$T/clone/.dvt/packs" | wc -l)" = "$PACKS" ] || fail "the clone holds $(ls "$T/clone/.dvt/packs" | wc -l) packs"
echo "  clone of $PACKS packs: at most $(cat "$T/clone.fds") descriptors in the puller, $(cat "$T/serve.fds") in the server" >&2

# --- 2. three pullers at once from the same server
PIDS=()
for k in 1 2 3; do
    bg "$DVT" clone -q "$HID" "$T/many$k" --peer "$PEER" --listen "127.0.0.$((3 + k))" --timeout 120
    PIDS+=("$BG_PID")
done
for k in 1 2 3; do
    wait_bg "${PIDS[$((k - 1))]}"
    [ "$BG_STATUS" = 0 ] || fail "puller $k of 3 exited $BG_STATUS"
done
for k in 1 2 3; do assert_same_tree "$T/src.digest" "$T/many$k" "puller $k of 3"; done
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died while serving three pullers"
echo "  three pullers: the server held at most $(cat "$T/serve.fds") descriptors" >&2
stop_serve "$SERVE_PID" "$T/serve.json"

# --- 3. a checkout of 2,000 directories (20 x 100, one file each), and back to a version without them
W=$T/dirs
new_repo "$W"
cd "$W"
echo base >base.txt
V0=$(commit_id base)
for a in $(seq -w 0 19); do
    for b in $(seq -w 0 99); do
        mkdir -p "top$a/sub$b"
        echo "$a/$b" >"top$a/sub$b/f.txt"
    done
done
V1=$(commit_id dirs)
tree_digest "$W" >"$T/dirs.digest"
expect_exit 0 "$DVT" checkout "$V0"
[ -z "$(ls -d top* 2>/dev/null)" ] || fail "the checkout of the base version left directories behind"
expect_exit 0 "$DVT" checkout "$V1"
assert_same_tree "$T/dirs.digest" "$W" "the checkout of 2,000 directories"
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"]'

ok
