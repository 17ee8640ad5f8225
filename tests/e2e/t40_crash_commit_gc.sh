#!/usr/bin/env bash
# Crash safety: `dvt commit` and `dvt gc` are SIGKILLed at random moments, many times. After every kill the
# repository must pass fsck, and every ref (branches, tags, HEAD) must name a complete commit whose checkout gives
# back exactly the tree that was committed.
#
# Knobs: E2E_CRASH_RUNS (default 52), E2E_SEED (default 4242; printed so a failure can be replayed).
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

RUNS=${E2E_CRASH_RUNS:-52}
SEED=${E2E_SEED:-4242}
RANDOM=$SEED
echo "t40: $RUNS runs, seed $SEED"

R=$T/repo
DIG=$T/digests # DIG/<commit id> = tree_digest of the work tree that commit recorded
mkdir -p "$R" "$DIG"
new_repo "$R"
cd "$R"

# --- a ~60 MB dataset: random (incompressible) files, compressible text, many small files, a symlink
mkdir -p bin txt small/a small/b
for i in $(seq 0 19); do gen_bytes 2200000 "base-bin-$i" >"bin/f$i.bin"; done
for i in $(seq 0 9); do gen_text 25000 "base-txt-$i" >"txt/t$i.csv"; done
for i in $(seq 0 99); do echo "small file $i" >"small/a/s$i.txt"; echo "other small $i" >"small/b/s$i.txt"; done
ln -s ../txt/t0.csv bin/link-to-t0
chmod +x small/a/s0.txt

record() { # record ID: the current work tree is what commit ID holds
    tree_digest "$R" >"$DIG/$1"
}

BASE=$(commit_id base)
record "$BASE"
expect_exit 0 "$DVT" tag base
expect_exit 0 "$DVT" branch keep

# mutate RUN: change the work tree so the next commit has real work to do: one brand-new random file, two files
# rewritten from a small pool of variants (hashing work, deduplicated storage), text, a deletion, an addition.
mutate() {
    local r=$1
    gen_bytes 3000000 "uniq-$r" >"bin/f$((r % 20)).bin"
    gen_bytes 2500000 "pool-$((r % 3))" >"bin/f$(((r + 7) % 20)).bin"
    gen_bytes 2500000 "pool-$((r % 4 + 3))" >"bin/f$(((r + 13) % 20)).bin"
    gen_text 20000 "txt-$r" >"txt/t$((r % 10)).csv"
    echo "run $r" >>"small/b/s$((r % 100)).txt"
    rm -f "small/a/s$(((r * 7) % 100 + 0)).txt"
    gen_bytes 100000 "added-$r" >"bin/added-$r.bin"
    if [ $((r % 5)) = 0 ]; then chmod +x "bin/f$((r % 20)).bin"; fi
}

# check_repo RUN: fsck, every ref resolves and lists, HEAD checks out to what was committed.
check_repo() {
    local r=$1
    if ! "$DVT" fsck >"$T/fsck.out" 2>&1; then
        cat "$T/fsck.out" >&2
        fail "run $r: fsck failed after the kill (see above)"
    fi
    expect_exit 0 "$DVT" branch --json
    local refs
    refs=$(json_get '" ".join(b["commit"] for b in j["branches"])')
    expect_exit 0 "$DVT" tag --json
    refs="$refs $(json_get '" ".join(t["commit"] for t in j["tags"])')"
    expect_exit 0 "$DVT" rev-parse HEAD
    local head
    head=$(cat "$OUT")
    refs="$refs $head"
    local id
    for id in $(printf '%s\n' $refs | sort -u); do
        is_hex64 "$id" || fail "run $r: ref value '$id' is not a commit id"
        [ -f "$DIG/$id" ] || fail "run $r: a ref names $id, which no completed commit of this test produced"
        expect_exit 0 "$DVT" ls-tree -r "$id"
        [ "$(wc -l <"$OUT")" -ge 100 ] || fail "run $r: ls-tree -r $id lists too few files"
    done
}

# restore_head RUN: make the work tree equal to HEAD again and compare it with what HEAD recorded.
restore_head() {
    local r=$1 head
    expect_exit 0 "$DVT" checkout --force main
    # files the killed commit did not record are untracked now: checkout keeps those, so drop them
    expect_exit 0 "$DVT" status --short
    local st path
    while IFS= read -r st; do
        path=${st#? }
        case "$st" in
        A\ *) rm -f -- "$path" ;;
        *) fail "run $r: after checkout --force main, status still shows: $st" ;;
        esac
    done <"$OUT"
    head=$("$DVT" rev-parse HEAD)
    assert_same_tree "$DIG/$head" "$R" "run $r: work tree after checkout --force main"
}

# make_garbage RUN: a commit on a throw-away branch, then the branch and all reflogs are dropped, so gc has a
# commit and packs to delete. (dvt has no reflog expiry command; removing .dvt/logs is the equivalent.)
make_garbage() {
    local r=$1
    expect_exit 0 "$DVT" branch "scratch-$r"
    expect_exit 0 "$DVT" checkout "scratch-$r"
    gen_bytes 2000000 "garbage-$r" >"bin/garbage.bin"
    local g
    g=$(commit_id "garbage $r")
    record "$g"
    expect_exit 0 "$DVT" checkout --force main
    [ ! -e bin/garbage.bin ] || fail "run $r: checkout main kept bin/garbage.bin"
    expect_exit 0 "$DVT" branch -d "scratch-$r"
    rm -rf .dvt/logs
}

START=$SECONDS
commits_done=0 commits_killed=0 gcs_done=0 gcs_killed=0 moves=0
prev_head=$BASE
for run in $(seq 1 "$RUNS"); do
    if [ $((RANDOM % 10)) -lt 7 ]; then
        op=commit
        mutate "$run"
        tree_digest "$R" >"$T/pending"
        delay=$((RANDOM % 401))
    else
        op=gc
        make_garbage "$run"
        # gc is quick: half of the time aim at its first few tens of milliseconds
        if [ $((RANDOM % 2)) = 0 ]; then delay=$((RANDOM % 60)); else delay=$((RANDOM % 401)); fi
    fi
    if [ "$op" = commit ]; then
        bg "$DVT" commit -m "run $run" >"$T/bg.out" 2>"$T/bg.err"
    else
        bg "$DVT" gc >"$T/bg.out" 2>"$T/bg.err"
    fi
    pid=$BG_PID
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill_bg "$pid"
    case "$BG_STATUS" in
    137) [ "$op" = commit ] && commits_killed=$((commits_killed + 1)) || gcs_killed=$((gcs_killed + 1)) ;;
    0) [ "$op" = commit ] && commits_done=$((commits_done + 1)) || gcs_done=$((gcs_done + 1)) ;;
    *)
        cat "$T/bg.err" >&2
        fail "run $run: dvt $op exited with status $BG_STATUS (not killed, not successful)"
        ;;
    esac

    cur=$("$DVT" rev-parse HEAD) || fail "run $run: rev-parse HEAD failed after the kill"
    if [ "$cur" != "$prev_head" ]; then
        moves=$((moves + 1))
        [ "$op" = commit ] || fail "run $run: HEAD moved during gc"
        # the commit completed (maybe just before the kill): it must be a child of the previous HEAD, and it holds
        # the tree as it was when the commit started
        expect_exit 0 "$DVT" rev-parse "$cur~1"
        assert_eq "$(cat "$OUT")" "$prev_head" "run $run: parent of the new HEAD"
        cp "$T/pending" "$DIG/$cur"
        if [ "$BG_STATUS" = 0 ]; then assert_eq "$(head -n1 "$T/bg.out")" "$cur" "run $run: id printed by commit"; fi
    elif [ "$BG_STATUS" = 0 ] && [ "$op" = commit ]; then
        fail "run $run: commit exited 0 but HEAD did not move"
    fi
    check_repo "$run"
    restore_head "$run"
    prev_head=$cur
    if [ $((run % 10)) = 0 ]; then
        # every branch head and tag checks out to exactly what was committed
        for ref in keep base; do
            expect_exit 0 "$DVT" checkout --force "$ref"
            assert_same_tree "$DIG/$("$DVT" rev-parse "$ref")" "$R" "run $run: checkout $ref"
        done
        expect_exit 0 "$DVT" checkout --force main
        assert_same_tree "$DIG/$cur" "$R" "run $run: checkout main"
        # move keep to HEAD's parent (when there is one), so it keeps naming an older commit
        if "$DVT" -q rev-parse "$cur~1" >/dev/null 2>&1; then expect_exit 0 "$DVT" branch -f keep "$cur~1"; fi
    fi
done

# a final gc that is not interrupted, then everything once more
expect_exit 0 "$DVT" gc
check_repo final
expect_exit 0 "$DVT" log --oneline
n=$(wc -l <"$OUT")
[ "$n" -eq $((moves + 1)) ] || fail "log shows $n commits, expected $((moves + 1)) (base + every commit that completed)"
for ref in keep base main; do
    expect_exit 0 "$DVT" checkout --force "$ref"
    assert_same_tree "$DIG/$("$DVT" rev-parse "$ref")" "$R" "final checkout $ref"
done
echo "t40: commits finished $commits_done, killed $commits_killed (HEAD moved $moves times); gc finished $gcs_done, killed $gcs_killed;" \
    "$(ls .dvt/packs | wc -l) packs; $((SECONDS - START)) s"
[ "$commits_killed" -gt 0 ] || fail "no commit was ever killed mid-way: the dataset is too small for this machine"
ok
