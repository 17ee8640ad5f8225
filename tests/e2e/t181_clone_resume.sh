#!/usr/bin/env bash
# An interrupted clone keeps what it verified and the same `dvt clone` resumes it (#16; docs/cli.md, "clone").
#   1. a clone from a rate-limited transfer is stopped by SIGTERM (as Ctrl-C would) once it has received ~half of the
#      version: it exits by the signal, DIR stays with its clone mark (.dvt/clone); `dvt status` in it says it is an
#      interrupted clone (exit 0), `dvt fsck` finds it sound (exit 0, no packs in packs/, no refs); `dvt gc` keeps
#      its partial packs. The same clone command then completes: byte-exact, fsck clean, the mark gone, and it
#      receives (bytes_downloaded in its JSON) at most what was missing plus one pack, not the whole version.
#   2. the same with SIGKILL (nothing runs on the way out: the state saved every second is what is kept).
#   3. network loss: the server stops mid-clone; the clone ends with no_peers (exit 10) after its timeout, says that
#      DIR keeps what it verified, and the clone completes against the server restarted on the same address.
#   4. DIR holding the interrupted clone of another commit is a conflict (exit 6) (a `dvt pull` of its own commit
#      inside it finishes it: the mark goes), as is a non-empty directory that
#      is no clone; a clone that verified nothing (no peer) still leaves no directory.
# Loopback only (127.0.0.2 seeder, 127.0.0.3 puller); every process is stopped by PID (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
"$DVT" init -q --pack-size 4194304 "$SRC" >/dev/null || fail "dvt init failed"
mkdir -p "$SRC/shards"
for i in 0 1 2 3 4 5; do gen_bytes $((4 * 1024 * 1024)) "resume-$i" >"$SRC/shards/s$i.bin"; done
cd "$SRC"
V1=$(commit_id v1)
SIZE=$((24 * 1024 * 1024))
tree_digest "$SRC" >"$T/v1.digest"
NPACKS=$(ls "$SRC/.dvt/packs" | wc -l)
[ "$NPACKS" -ge 4 ] || fail "expected several packs, got $NPACKS"
OTHER=$(cd "$SRC" && echo extra >extra.txt && commit_id v2)
PORT=$(free_port 127.0.0.2)
start_serve "$SRC" "$T/serve.json" "127.0.0.2:$PORT"
cd "$T"

# interrupt_clone DIR SIGNAL: a clone of V1 into DIR at 4 MB/s, sent SIGNAL once it reported >= 40% received and
# resume data had a second to be saved. Sets DONE_BYTES (received before the signal) and BG_STATUS.
interrupt_clone() {
    local dir=$1 sig=$2 pid
    bg "$DVT" --json clone "$V1" "$dir" --peer "$PEER" --listen 127.0.0.3 --download-limit 4M --timeout 60 \
        >"$T/c.out" 2>"$T/c.err"
    pid=$BG_PID
    DONE_BYTES=
    for _ in $(seq 1 400); do
        DONE_BYTES=$(grep -o '"bytes":[0-9]*' "$T/c.err" 2>/dev/null | tail -n 1 | cut -d: -f2 || true)
        [ -n "$DONE_BYTES" ] && [ "$DONE_BYTES" -ge $((SIZE * 4 / 10)) ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$DONE_BYTES" ] && [ "$DONE_BYTES" -ge $((SIZE * 4 / 10)) ] || { cat "$T/c.err" >&2; fail "the limited clone never reported 40%"; }
    [ "$DONE_BYTES" -lt $((SIZE * 9 / 10)) ] || fail "the clone was too fast to interrupt midway ($DONE_BYTES of $SIZE)"
    sleep 1.1  # resume data is saved every second
    kill "-$sig" "$pid"
    wait_bg "$pid"
}

# check_kept DIR: the interrupted clone's directory: marked, sound, nothing imported, status says what it is
check_kept() {
    local dir=$1
    [ -d "$dir/.dvt" ] || fail "the interrupted clone removed $dir"
    assert_grep "$V1" "$dir/.dvt/clone" "the clone mark does not name the commit"
    [ -z "$(ls "$dir/.dvt/packs")" ] || fail "an interrupted clone left packs in packs/"
    [ -n "$(ls "$dir/.dvt/partial")" ] || fail "an interrupted clone kept nothing in partial/"
    [ -z "$(find "$dir/.dvt/refs" -type f)" ] || fail "an interrupted clone has refs: $(find "$dir/.dvt/refs" -type f)"
    expect_exit 0 "$DVT" -C "$dir" status
    assert_grep "interrupted clone of commit $V1" "$ERR" "status does not say the repository is an interrupted clone"
    expect_exit 0 "$DVT" -C "$dir" --json fsck
    assert_json 'j["ok"]'
}

# resume DIR DONE: the same clone again completes, byte-exact, receiving at most what was missing (+ one pack)
resume() {
    local dir=$1 done=$2 down
    expect_exit 0 "$DVT" --json clone "$V1" "$dir" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    cp "$OUT" "$T/resume.json"
    down=$(json_get 'j["bytes_downloaded"]' "$T/resume.json")
    echo "  interrupted at $done of $SIZE bytes; the resumed clone received $down bytes" >&2
    [ "$down" -le $((SIZE - done + 4 * 1024 * 1024)) ] ||
        fail "the resumed clone received $down bytes although $done of $SIZE were received before the interruption"
    [ "$down" -lt "$SIZE" ] || fail "the resumed clone received the whole version again"
    assert_same_tree "$T/v1.digest" "$dir" "the resumed clone"
    [ ! -e "$dir/.dvt/clone" ] || fail "the finished clone kept its clone mark"
    expect_exit 0 "$DVT" -C "$dir" --json fsck
    assert_json 'j["ok"] and j["partial_packs"] == 0'
    expect_exit 0 "$DVT" -C "$dir" status
    assert_grep "working tree clean" "$OUT"
    [ "$(cat "$dir/.dvt/refs/heads/main")" = "$V1" ] || fail "main is not the cloned commit"
}

# --- 1. SIGTERM (Ctrl-C does the same)
interrupt_clone "$T/a" TERM
[ "$BG_STATUS" = 143 ] || { cat "$T/c.err" >&2; fail "the clone did not die by SIGTERM (exit $BG_STATUS)"; }
assert_grep "keeps what was verified" "$T/c.err" "the interrupted clone did not say it kept its directory"
check_kept "$T/a"
expect_exit 0 "$DVT" -C "$T/a" gc
[ -n "$(ls "$T/a/.dvt/partial")" ] || fail "gc removed the partial packs of an interrupted clone"
resume "$T/a" "$DONE_BYTES"

# --- 2. SIGKILL
interrupt_clone "$T/b" KILL
[ "$BG_STATUS" = 137 ] || fail "the clone was not killed (exit $BG_STATUS)"
check_kept "$T/b"
resume "$T/b" "$DONE_BYTES"

# --- 3. network loss: the server goes away mid-clone, comes back on the same address
bg "$DVT" --json clone "$V1" "$T/c" --peer "$PEER" --listen 127.0.0.3 --download-limit 4M --timeout 8 \
    >"$T/c.out" 2>"$T/c.err"
CPID=$BG_PID
for _ in $(seq 1 400); do
    DONE_BYTES=$(grep -o '"bytes":[0-9]*' "$T/c.err" 2>/dev/null | tail -n 1 | cut -d: -f2 || true)
    [ -n "$DONE_BYTES" ] && [ "$DONE_BYTES" -ge $((SIZE * 4 / 10)) ] && break
    sleep 0.05
done
[ -n "$DONE_BYTES" ] && [ "$DONE_BYTES" -ge $((SIZE * 4 / 10)) ] || fail "the clone never reported 40% before the loss"
stop_serve "$SERVE_PID" "$T/serve.json"
wait_bg "$CPID"
[ "$BG_STATUS" = 10 ] || { cat "$T/c.err" >&2; fail "the clone that lost its peer exited $BG_STATUS, not 10"; }
assert_grep "keeps what it verified" "$T/c.err" "the failed clone did not say it kept its directory"
check_kept "$T/c"
start_serve "$SRC" "$T/serve2.json" "127.0.0.2:$PORT"
resume "$T/c" "$DONE_BYTES"

# --- 4. what is not this clone's is refused as before
interrupt_clone "$T/d" KILL
expect_exit 6 "$DVT" clone "$OTHER" "$T/d" --peer "$PEER" --listen 127.0.0.3 --timeout 10
one_error_line
assert_grep "interrupted clone of commit $V1" "$ERR"
# a `dvt pull` of the same commit inside it finishes the clone as well: the mark goes, status is quiet
expect_exit 0 "$DVT" -C "$T/d" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v1.digest" "$T/d" "the interrupted clone finished by a pull"
[ ! -e "$T/d/.dvt/clone" ] || fail "the pull that finished the clone left its mark"
expect_exit 0 "$DVT" -C "$T/d" status
assert_no_grep "interrupted clone" "$ERR"
mkdir -p "$T/e" && echo x >"$T/e/file"
expect_exit 6 "$DVT" clone "$V1" "$T/e" --peer "$PEER" --listen 127.0.0.3 --timeout 10
assert_grep "already exists and is not empty" "$ERR"
expect_exit 10 "$DVT" clone "$V1" "$T/never" --peer 127.0.0.9:9 --listen 127.0.0.3 --timeout 2
[ ! -e "$T/never" ] || fail "a clone that verified nothing left its directory"
stop_serve "$SERVE_PID" "$T/serve2.json"
ok
