#!/usr/bin/env bash
# Concurrent writers: two commits at once, a commit racing a gc (both orders), two commits with different changes
# where the second change lands while the first commit is still reading the work tree. Writers serialize on the
# repository lock (the one that waits says so on stderr), nothing is lost or corrupted, fsck passes. With
# --lock-timeout, a writer that cannot get the lock gives up with exit 7 and a one-line error.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
new_repo "$R"
cd "$R"
make_tree "$R"
mkdir -p big
for i in 0 1 2 3 4 5; do gen_bytes 4000000 "big-$i" >"big/b$i.bin"; done
C0=$(commit_id base)

waited() { grep -q 'waiting for the repository lock' "$1"; }

# check_commits A_STATUS B_STATUS WHAT: each commit either succeeded or found nothing left to commit (the other one took
# its change too); at least one succeeded; history is linear; the final commit holds the final work tree.
check_commits() {
    local sa=$1 sb=$2 what=$3 racing=${4:-}
    local s f
    for s in "$sa" "$sb"; do
        case "$s" in
        0 | 13) ;;
        1 | 9 | 1[0-2] | 12[6-9] | 13[0-9] | 1[4-9][0-9] | 2[0-9][0-9])
            cat "$T/a.err" "$T/b.err" >&2
            fail "$what: a concurrent commit exited $s"
            ;;
        *)
            # with the work tree changing under it, a commit may refuse cleanly (e.g. "file changed while reading")
            [ -n "$racing" ] || { cat "$T/a.err" "$T/b.err" >&2; fail "$what: a concurrent commit exited $s"; }
            ;;
        esac
    done
    for f in "$T/a.err" "$T/b.err"; do
        if grep -q '^dvt: error: ' "$f"; then one_error_line "$f" '^\[main\] '; fi
    done
    [ "$sa" = 0 ] || [ "$sb" = 0 ] || fail "$what: neither commit succeeded"
    if [ "$sa" = 0 ] && [ "$sb" = 0 ]; then
        local ida idb
        ida=$(head -n1 "$T/a.out")
        idb=$(head -n1 "$T/b.out")
        is_hex64 "$ida" && is_hex64 "$idb" || fail "$what: commit ids '$ida' '$idb'"
        [ "$ida" != "$idb" ] || fail "$what: both commits produced the same id"
        # one is the parent of the other, and the newer is HEAD
        local head parent
        head=$("$DVT" rev-parse HEAD)
        parent=$("$DVT" rev-parse HEAD~1)
        if [ "$head" = "$ida" ]; then assert_eq "$parent" "$idb" "$what: parent of HEAD"
        elif [ "$head" = "$idb" ]; then assert_eq "$parent" "$ida" "$what: parent of HEAD"
        else fail "$what: HEAD $head is neither commit"; fi
    fi
    expect_exit 0 "$DVT" status --short
    [ ! -s "$OUT" ] || fail "$what: work tree not clean after both commits: $(cat "$OUT")"
    if ! "$DVT" fsck >"$T/fsck.out" 2>&1; then cat "$T/fsck.out" >&2; fail "$what: fsck failed"; fi
}

# --- 1. two commits started at the same time, the work tree already holding both changes: they serialize on the
# lock; the winner records everything, the loser waits and then finds nothing left to commit (exit 13)
for round in 1 2; do
    before=$("$DVT" rev-parse HEAD)
    gen_bytes 9000000 "both-a-$round" >big/b0.bin
    printf 'both b %s\n' "$round" >>docs/readme.txt
    sleep 1.1 # let the stat data age, so neither commit hashes a file that is still being written
    bg "$DVT" commit -m "a $round" >"$T/a.out" 2>"$T/a.err"
    pa=$BG_PID
    bg "$DVT" commit -m "b $round" >"$T/b.out" 2>"$T/b.err"
    pb=$BG_PID
    wait_bg "$pa"
    sa=$BG_STATUS
    wait_bg "$pb"
    sb=$BG_STATUS
    check_commits "$sa" "$sb" "simultaneous round $round"
    { [ "$sa" = 0 ] && [ "$sb" = 13 ]; } || { [ "$sa" = 13 ] && [ "$sb" = 0 ]; } ||
        fail "simultaneous round $round: expected one commit (0) and one 'nothing to commit' (13), got $sa and $sb"
    waited "$T/a.err" || waited "$T/b.err" || fail "simultaneous round $round: neither commit reported waiting for the lock"
    loser_err=$T/a.err
    [ "$sa" = 13 ] || loser_err=$T/b.err
    grep -q '^dvt: error: nothing to commit' "$loser_err" || { cat "$loser_err" >&2; fail "simultaneous round $round: loser's message"; }
    expect_exit 0 "$DVT" rev-parse HEAD~1
    assert_eq "$(cat "$OUT")" "$before" "simultaneous round $round: parent of HEAD"
done

# --- 2. a commit racing a gc that has garbage to collect, in both orders
make_garbage() {
    expect_exit 0 "$DVT" branch scratch
    expect_exit 0 "$DVT" checkout scratch
    gen_bytes 6000000 "garbage-$1" >big/garbage.bin
    commit_id "garbage $1" >/dev/null
    expect_exit 0 "$DVT" checkout --force main
    expect_exit 0 "$DVT" branch -d scratch
    rm -rf .dvt/logs # reflogs keep commits alive; dvt has no reflog expiry, so drop them
}
# race_commit_gc ORDER MESSAGE LABEL DELAY: `dvt commit -m MESSAGE` and `dvt gc` at once (ORDER commit-first: gc
# starts DELAY s after the commit; gc-first: the commit right after gc); both must succeed, and fsck after them
race_commit_gc() {
    local order=$1 msg=$2 label=$3 delay=$4 pa pb sa sb
    if [ "$order" = commit-first ]; then
        bg "$DVT" commit -m "$msg" >"$T/a.out" 2>"$T/a.err"
        pa=$BG_PID
        sleep "$delay"
        bg "$DVT" gc >"$T/b.out" 2>"$T/b.err"
        pb=$BG_PID
    else
        bg "$DVT" gc >"$T/b.out" 2>"$T/b.err"
        pb=$BG_PID
        bg "$DVT" commit -m "$msg" >"$T/a.out" 2>"$T/a.err"
        pa=$BG_PID
    fi
    wait_bg "$pa"
    sa=$BG_STATUS
    wait_bg "$pb"
    sb=$BG_STATUS
    [ "$sa" = 0 ] || { cat "$T/a.err" >&2; fail "$label: commit racing gc exited $sa"; }
    [ "$sb" = 0 ] || { cat "$T/b.err" >&2; fail "$label: gc racing a commit exited $sb"; }
    if ! "$DVT" fsck >"$T/fsck.out" 2>&1; then cat "$T/fsck.out" >&2; fail "$label: fsck failed after commit + gc"; fi
}
for order in commit-first gc-first commit-first gc-first; do
    make_garbage "$order-$RANDOM"
    gen_bytes 9000000 "racing-$order-$RANDOM" >big/b2.bin
    before=$("$DVT" rev-parse HEAD)
    race_commit_gc "$order" "racing $order" "$order" 0.03
    head=$("$DVT" rev-parse HEAD)
    assert_eq "$head" "$(head -n1 "$T/a.out")" "$order: HEAD is the racing commit"
    expect_exit 0 "$DVT" rev-parse HEAD~1
    assert_eq "$(cat "$OUT")" "$before" "$order: parent of the racing commit"
    tree_digest "$R" >"$T/want"
    expect_exit 0 "$DVT" checkout --force "$C0"
    expect_exit 0 "$DVT" checkout main
    assert_same_tree "$T/want" "$R" "$order: checkout of the racing commit"
done

# the same race where the new commit re-adds exactly the garbage file's bytes: its chunks live only in a pack that
# gc wants to delete
for order in commit-first gc-first; do
    tag=$order-$RANDOM
    make_garbage "$tag"
    gen_bytes 6000000 "garbage-$tag" >big/readded.bin
    race_commit_gc "$order" "re-add $order" "re-add $order" 0.02
    tree_digest "$R" >"$T/want"
    rm big/readded.bin
    expect_exit 0 "$DVT" checkout --force "$C0"
    expect_exit 0 "$DVT" checkout main
    assert_same_tree "$T/want" "$R" "re-add $order: checkout of the commit"
    rm big/readded.bin
    commit_id "drop readded $order" >/dev/null
done

# --- 3. lock timeout: another process holds .dvt/lock
command -v flock >/dev/null || fail "flock (util-linux) is required"
# hold_lock SECONDS: another process takes the repository lock (flock from util-linux, same flock(2) lock)
hold_lock() {
    bg flock .dvt/lock sleep "$1"
    holder=$BG_PID
    local _
    for _ in $(seq 250); do flock -n .dvt/lock true || break; sleep 0.02; done
    flock -n .dvt/lock true && fail "flock did not take the lock"
    return 0
}
hold_lock 3
echo "more" >>docs/readme.txt
start=$(date +%s%N)
expect_exit 7 "$DVT" --lock-timeout 0.5 commit -m "blocked"
elapsed=$((($(date +%s%N) - start) / 1000000))
one_error_line
assert_grep '^dvt: error: .*lock' "$ERR"
[ "$elapsed" -ge 400 ] && [ "$elapsed" -lt 2500 ] || fail "--lock-timeout 0.5 gave up after $elapsed ms"
kill_bg "$holder"
hold_lock 30
expect_exit 7 "$DVT" --lock-timeout 0.5 gc
one_error_line
expect_exit 7 "$DVT" --lock-timeout 0.5 branch blocked
one_error_line
expect_exit 7 "$DVT" --lock-timeout 0.5 checkout --force "$C0"
one_error_line
expect_exit 7 "$DVT" --lock-timeout 0.3 --json tag blocked
one_error_line
assert_json 'set(j) == {"error"} and j["error"]["kind"] == "lock_timeout" and j["error"]["exit_code"] == 7 and "lock" in j["error"]["message"]'
expect_exit 7 env DVT_LOCK_TIMEOUT=0.3 "$DVT" -q commit -m "blocked"
assert_eq "$(wc -l <"$ERR" | tr -d ' ')" 1 "lines on stderr with -q"
one_error_line
# readers do not need the lock
expect_exit 0 "$DVT" --lock-timeout 0.5 status --short
assert_eq "$(cat "$OUT")" "M docs/readme.txt" "status while the lock is held"
expect_exit 0 "$DVT" --lock-timeout 0.5 log --oneline
# nothing changed while blocked
expect_exit 4 "$DVT" rev-parse blocked
kill_bg "$holder"
# a writer that waits goes ahead as soon as the holder is gone
hold_lock 2
expect_exit 0 "$DVT" --lock-timeout 20 commit -m "after the lock"
grep -q 'waiting for the repository lock' "$ERR" || fail "a commit that had to wait did not say so"
wait_bg "$holder"
expect_exit 0 "$DVT" fsck

# --- 4. two commits, each started right after its own change, so the second change happens while the first commit
# runs: whatever each commit records, the repository must stay consistent (fsck), history linear, and the last
# commit must hold the final work tree.
churn() {
    local k
    for k in 1 2 3 4 5 6 7 8; do
        gen_bytes $((3000000 + k * 123457)) "change-b-$1-$k" >big/b1.bin
        sleep 0.01
    done
}
for round in 1 2 3; do
    before=$("$DVT" rev-parse HEAD)
    # change A: a big file (the first commit holds the lock a while) and big/b1.bin, which it hashes after b0.bin
    gen_bytes 9000000 "change-a-$round" >big/b0.bin
    gen_bytes 3000000 "change-a1-$round" >big/b1.bin
    bg "$DVT" commit -m "a $round" >"$T/a.out" 2>"$T/a.err"
    pa=$BG_PID
    # change B, while the first commit is still scanning and reading: b1.bin rewritten a few times (other sizes),
    # and the readme
    bg churn "$round"
    wait_bg "$BG_PID"
    printf 'change b %s\n' "$round" >>docs/readme.txt
    bg "$DVT" commit -m "b $round" >"$T/b.out" 2>"$T/b.err"
    pb=$BG_PID
    wait_bg "$pa"
    sa=$BG_STATUS
    wait_bg "$pb"
    sb=$BG_STATUS
    check_commits "$sa" "$sb" "racing round $round" racing
    expect_exit 0 "$DVT" diff --json "$before" HEAD
    assert_json '{"big/b0.bin", "big/b1.bin", "docs/readme.txt"} <= {c["path"] for c in j["changes"]}'
    tree_digest "$R" >"$T/want"
    expect_exit 0 "$DVT" checkout --force "$before"
    expect_exit 0 "$DVT" checkout main
    assert_same_tree "$T/want" "$R" "racing round $round: HEAD after checkout"
done
expect_exit 0 "$DVT" fsck
ok
