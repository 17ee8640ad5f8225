#!/usr/bin/env bash
# Kill test (#15): N random SIGKILLs (default 200) across `dvt commit`, `dvt checkout`, `dvt gc` and `dvt pull`
# (from a `dvt serve` on loopback, in a private network namespace), each followed by checks and a re-run of the
# killed command.
#
#   scripts/kill_test.sh [N]          env: DVT (default build/dvt), KILL_SEED (default 4242), KILL_SCALE (MB per
#                                     random file, default 2), KILL_CHECK_EVERY (default 10), KEEP_TMP=1 (keep the
#                                     temp dir), KILL_VERBOSE=1
#
# Rounds run until N kills have landed (a command that ends before its kill does not count as one).
#
# Two repositories: WORK (commit, checkout, gc; branches main and side) and PULLER (pulls new versions of a third
# repository, SEED, served by `dvt serve`). Each round picks a command at random (a quarter each), prepares work for
# it, starts it, SIGKILLs it after a random delay drawn from [0, 1.1 x its measured uninterrupted duration] (the first
# and every 15th round of each command is not killed: it measures; KILL_SPREAD=110 is the factor in percent), then
# asserts, for every command:
#   - `dvt fsck` passes;
#   - every ref names a complete commit this script made, and HEAD is the old or the new value (never something else);
#   - the work tree holds no partial file: every path is byte-for-byte its old or its new version (or absent where
#     the old or the new version has no such path); the temp files of a killed checkout (.dvt-tmp-*) are counted,
#     not failed, here;
#   - commit and gc: the work tree is exactly as before (they never write to it);
#   - commit: when HEAD moved, the new commit's parent is the old HEAD; its tree is the work tree at the start;
# then re-runs the killed command, which must complete:
#   - commit: exit 0 (a new commit) or 13 (nothing to commit, only when the killed one had moved HEAD); then
#     `status` is clean;
#   - checkout: exit 0, the work tree equals the target exactly, no .dvt-tmp-* file left anywhere (also checked after
#     a pull's re-run), HEAD on the target branch;
#   - gc: exit 0, then nothing left for a second gc to delete (it frees 0 packs);
#   - pull: exit 0, the work tree equals the pulled version exactly, HEAD names it.
# Every 10 rounds (KILL_CHECK_EVERY) and at the end: every branch of WORK checks out byte-exact to the tree recorded
# when it was committed (no data lost), and fsck passes on all three repositories.
#
# Output: one line per round with KILL_VERBOSE=1, and at the end counts per command: rounds, killed, finished before
# the kill, failures, and the phase the kill hit (read from the state it left: the `phase` calls in round_*). Exit status 1 if
# any check failed. tests/e2e/t46_kill_random.sh runs a short version (20 kills) in CTest.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-200}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -gt 0 ] || { echo "usage: $0 [N]" >&2; exit 2; }
export DVT=${DVT:-$root/build/dvt}
NETNS=1  # private network namespace (lib.sh): the seeder and the puller only see each other
# shellcheck source=../tests/e2e/lib.sh
source "${DVT_TEST_LIB:-$root/tests/e2e/lib.sh}"

SEED=${KILL_SEED:-4242}
SCALE=${KILL_SCALE:-2}
KILL_SPREAD=${KILL_SPREAD:-110}
CHECK_EVERY=${KILL_CHECK_EVERY:-10}
RANDOM=$SEED
MB=$((1024 * 1024))
echo "kill_test: $N kills, seed $SEED, scale $SCALE MB, dvt $DVT" >&2

WORK=$T/work SEEDREPO=$T/seed PULLER=$T/puller DIG=$T/digests
mkdir -p "$WORK" "$SEEDREPO" "$DIG"

# ------------------------------------------------------------------------------------------------- bookkeeping
declare -A ROUNDS KILLED FINISHED FAILED PHASES DUR
OPS=(commit checkout gc pull)
for op in "${OPS[@]}"; do ROUNDS[$op]=0 KILLED[$op]=0 FINISHED[$op]=0 FAILED[$op]=0 PHASES[$op]="" DUR[$op]=0; done
ROUND_FAILED=0

bad() { # bad MSG: a failed check of the current round (counted; the script goes on after restoring a clean state)
    echo "FAIL [kill_test] round $round ($op, killed after ${delay_ms}ms): $*" >&2
    ROUND_FAILED=1
}
phase() { PHASES[$op]+=" $1"; PHASE=$1; }

# run_dvt DIR args...: dvt in DIR, output in $T/cmd.out/.err, status in RC (never fails the script).
run_dvt() {
    local dir=$1
    shift
    RC=0
    "$DVT" -C "$dir" "$@" >"$T/cmd.out" 2>"$T/cmd.err" || RC=$?
}

fsck_ok() { # fsck_ok DIR WHAT
    run_dvt "$1" --json fsck
    if [ "$RC" != 0 ] || ! "${PY_FAST[@]}" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] else 1)' \
        "$T/cmd.out" 2>/dev/null; then
        head -c 1500 "$T/cmd.err" >&2
        head -c 1500 "$T/cmd.out" >&2
        bad "fsck of $2 fails (exit $RC)"
    fi
}

head_commit() { "$DVT" -C "$1" rev-parse HEAD 2>/dev/null || echo none; }
head_ref() { cat "$1/.dvt/HEAD"; }

# old_or_new OLD NEW DIR: every path of DIR's work tree is its OLD or its NEW version (or absent where one of them has
# no such path); prints the violations, and appends the number of .dvt-tmp-* files seen to $T/temps.
old_or_new() {
    tree_digest "$3" >"$T/now.digest"
    local out
    out=$("${PY_FAST[@]}" - "$1" "$2" "$T/now.digest" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        f = line.rstrip("\n").split(" ", 4)
        d[f[4]] = line
    return d
old, new, now = (load(p) for p in sys.argv[1:4])
temps, bad = 0, []
for path, line in now.items():
    if path.rsplit("/", 1)[-1].startswith(".dvt-tmp-"):
        temps += 1
        continue
    if line.startswith("d "):
        continue
    if line != old.get(path) and line != new.get(path):
        bad.append("partial or foreign: " + line.strip())
for path in old:
    if path in new and path not in now and not old[path].startswith("d "):
        bad.append("lost (in the old and the new version, now absent): " + path)
print("TEMPS %d" % temps)
for b in bad[:10]:
    print(b)
PY
)
    sed -n 's/^TEMPS //p' <<<"$out" >>"$T/temps"  # (called in $(...): the count goes through a file)
    grep -v '^TEMPS ' <<<"$out" || true
}

# without_temps: a tree digest without the lines of .dvt-tmp-* files (temps_left reports those).
without_temps() { grep -Ev ' ([^ ]*/)?\.dvt-tmp-[^/]*$' || true; }

# temps_left DIR: the re-run of a killed checkout or pull must have removed the killed one's temp files.
temps_left() {
    local left
    left=$(find "$1" -path "$1/.dvt" -prune -o -name '.dvt-tmp-*' -printf '%P\n' | head -n 5 | tr '\n' ' ')
    [ -z "$left" ] || bad "temp files of the killed command left after the re-run: $left"
}

# kill_after MS DIR args...: run dvt, SIGKILLed after MS milliseconds unless it ended before (timeout -s KILL: no
# PID is signalled after it was reaped); sets BG_STATUS (137 when killed) and ELAPSED_MS. MS < 0: no kill.
kill_after() {
    local ms=$1 dir=$2 start
    shift 2
    start=$(date +%s%N)
    BG_STATUS=0
    if [ "$ms" -ge 0 ]; then
        { timeout -s KILL "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" "$DVT" -C "$dir" "$@" \
            >"$T/bg.out" 2>"$T/bg.err"; } 2>/dev/null || BG_STATUS=$?  # (no "Killed" note from bash)
    else
        "$DVT" -C "$dir" "$@" >"$T/bg.out" 2>"$T/bg.err" || BG_STATUS=$?
    fi
    ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
}

# pick_delay OP: -1 (no kill: measure the command) for the first and every 15th round of OP, else uniform in
# [0, KILL_SPREAD % of its last measured duration] (which includes starting the process; the durations of rounds that
# ended before their kill would be a biased sample, so they are not used).
pick_delay() {
    if [ $((ROUNDS[$1] % 15)) = 0 ]; then
        delay_ms=-1
    else
        delay_ms=$(((RANDOM * 32768 + RANDOM) % (DUR[$1] * KILL_SPREAD / 100 + 1)))
    fi
}

# after_kill: count the outcome of the killed command (BG_STATUS) and measure it when not killed.
after_kill() {
    ROUNDS[$op]=$((ROUNDS[$op] + 1))
    case "$BG_STATUS" in
    137) KILLED[$op]=$((KILLED[$op] + 1)) ;;
    0)
        FINISHED[$op]=$((FINISHED[$op] + 1))
        if [ "$delay_ms" -lt 0 ]; then DUR[$op]=$ELAPSED_MS; fi
        ;;
    *)
        head -c 2000 "$T/bg.err" >&2
        bad "dvt $op exited $BG_STATUS (neither killed nor successful)"
        ;;
    esac
}

# ---------------------------------------------------------------------------------------------- the datasets
mutate() { # mutate DIR ROUND: new content for a commit (a new random file, two from a pool, text, an edit, rm, add)
    local d=$1 r=$2
    gen_bytes $((SCALE * MB + 12345)) "uniq-$r" >"$d/bin/f$((r % 12)).bin"
    gen_bytes $((SCALE * MB)) "pool-$((r % 3))" >"$d/bin/f$(((r + 5) % 12)).bin"
    gen_text 20000 "txt-$r" >"$d/txt/t$((r % 6)).csv"
    echo "round $r" >>"$d/small/s$((r % 60)).txt"
    rm -f "$d/small/s$(((r * 7 + 3) % 60)).txt"
    gen_bytes 50000 "added-$r" >"$d/small/added-$((r % 20)).bin"
    gen_bytes $((SCALE * MB)) "root-$r" >"$d/root-$((r % 2)).bin"
}

make_dataset() { # make_dataset DIR TAG
    local d=$1 i
    mkdir -p "$d/bin" "$d/txt" "$d/small"
    for i in $(seq 0 11); do gen_bytes $((SCALE * MB)) "$2-bin-$i" >"$d/bin/f$i.bin"; done
    for i in $(seq 0 5); do gen_text 25000 "$2-txt-$i" >"$d/txt/t$i.csv"; done
    for i in $(seq 0 59); do echo "small file $i of $2" >"$d/small/s$i.txt"; done
    ln -s ../txt/t0.csv "$d/bin/link-to-t0"
    gen_bytes $((SCALE * MB)) "$2-root-0" >"$d/root-0.bin"  # files at the top level too: a checkout writes there
    gen_bytes $((SCALE * MB)) "$2-root-1" >"$d/root-1.bin"
    echo "top-level readme of $2" >"$d/README.txt"
    chmod +x "$d/small/s0.txt"
}

new_repo "$WORK"
make_dataset "$WORK" work
run_dvt "$WORK" commit -q -m base
[ "$RC" = 0 ] || fail "initial commit failed"
BASE=$(cat "$T/cmd.out")
tree_digest "$WORK" >"$DIG/$BASE"
run_dvt "$WORK" branch side
[ "$RC" = 0 ] || fail "branch side failed"

new_repo "$SEEDREPO"
make_dataset "$SEEDREPO" seed
run_dvt "$SEEDREPO" commit -q -m "seed 0"
V=$(cat "$T/cmd.out")
tree_digest "$SEEDREPO" >"$DIG/$V"
start_serve "$SEEDREPO" "$T/serve.json" 127.0.0.2:0
PULL_ARGS=(--peer "$PEER" --listen 127.0.0.3 --download-limit 4M --timeout 120)
RC=0
"$DVT" clone "$V" "$PULLER" "${PULL_ARGS[@]}" >"$T/cmd.out" 2>"$T/cmd.err" || RC=$?
[ "$RC" = 0 ] || { cat "$T/cmd.err" >&2; fail "initial clone failed"; }
assert_same_tree "$DIG/$V" "$PULLER" "the initial clone"
SEED_ROUND=0

# restore: bring WORK and PULLER back to a clean state after a failed check (so the next rounds test something).
restore() {
    local b
    b=$(sed -n 's|^ref: refs/heads/||p' "$WORK/.dvt/HEAD")
    run_dvt "$WORK" checkout --force "${b:-main}"
    find "$WORK" -name '.dvt-tmp-*' -not -path "$WORK/.dvt/*" -delete
    run_dvt "$WORK" status --porcelain
    while IFS= read -r st; do
        case "$st" in A\ *) rm -f -- "$WORK/${st#A }" ;; esac
    done <"$T/cmd.out"
    b=$(sed -n 's|^ref: refs/heads/||p' "$PULLER/.dvt/HEAD")
    run_dvt "$PULLER" checkout --force "${b:-$(head_commit "$PULLER")}"  # (by branch: an id would detach HEAD)
    find "$PULLER" -name '.dvt-tmp-*' -not -path "$PULLER/.dvt/*" -delete
}

# ------------------------------------------------------------------------------------------------ the rounds
round_commit() {
    local prev prev_ref packs_before cur
    mutate "$WORK" "$round"
    tree_digest "$WORK" >"$T/pending"
    prev=$(head_commit "$WORK")
    prev_ref=$(head_ref "$WORK")
    packs_before=$(find "$WORK/.dvt/packs" -type f | wc -l)
    pick_delay commit
    kill_after "$delay_ms" "$WORK" commit -m "round $round"
    after_kill
    tree_digest "$WORK" | cmp -s - "$T/pending" || bad "the commit changed the work tree"
    [ "$(head_ref "$WORK")" = "$prev_ref" ] || bad "HEAD changed from '$prev_ref' to '$(head_ref "$WORK")'"
    cur=$(head_commit "$WORK")
    if [ "$cur" != "$prev" ]; then
        run_dvt "$WORK" rev-parse "$cur~1"
        [ "$(cat "$T/cmd.out")" = "$prev" ] || bad "the new HEAD's parent is not the old HEAD"
        cp "$T/pending" "$DIG/$cur"
        if [ "$BG_STATUS" = 0 ]; then phase finished; else phase after-ref; fi
    elif [ "$BG_STATUS" = 0 ]; then
        bad "commit exited 0 but HEAD did not move"
    elif [ "$(find "$WORK/.dvt/packs" -type f | wc -l)" -gt "$packs_before" ]; then
        phase packs-written
    else
        phase before-packs
    fi
    fsck_ok "$WORK" work
    run_dvt "$WORK" commit -m "round $round (re-run)"
    if [ "$RC" = 0 ]; then
        [ "$cur" = "$prev" ] || bad "the re-run committed again although the killed commit had moved HEAD"
        cur=$(head_commit "$WORK")
        cp "$T/pending" "$DIG/$cur"
    elif [ "$RC" = 13 ]; then
        [ "$cur" != "$prev" ] || bad "the re-run found nothing to commit although the killed commit did not move HEAD"
    else
        head -c 1000 "$T/cmd.err" >&2
        bad "the re-run of commit exited $RC"
    fi
    run_dvt "$WORK" status --porcelain
    [ ! -s "$T/cmd.out" ] || { head -n 5 "$T/cmd.out" >&2; bad "status is not clean after the re-run"; }
}

round_checkout() {
    local cur_branch target old new old_ref violations
    cur_branch=$(sed -n 's|^ref: refs/heads/||p' "$WORK/.dvt/HEAD")
    target=main
    [ "$cur_branch" = main ] && target=side
    old=$(head_commit "$WORK")
    new=$("$DVT" -C "$WORK" rev-parse "$target")
    if [ "$old" = "$new" ]; then  # make the branches differ: one more commit on the current branch
        mutate "$WORK" "$round"
        run_dvt "$WORK" commit -q -m "round $round (diverge)"
        [ "$RC" = 0 ] || fail "round $round: commit to make the branches differ failed"
        old=$(cat "$T/cmd.out")
        tree_digest "$WORK" >"$DIG/$old"
    fi
    old_ref=$(head_ref "$WORK")
    pick_delay checkout
    kill_after "$delay_ms" "$WORK" checkout "$target"
    after_kill
    violations=$(old_or_new "$DIG/$old" "$DIG/$new" "$WORK")
    [ -z "$violations" ] || { echo "$violations" >&2; bad "the work tree holds files of neither version"; }
    local now_ref
    now_ref=$(head_ref "$WORK")
    [ "$now_ref" = "$old_ref" ] || [ "$now_ref" = "ref: refs/heads/$target" ] || bad "HEAD is '$now_ref'"
    if [ "$BG_STATUS" = 0 ]; then
        phase finished
    elif [ "$now_ref" != "$old_ref" ]; then
        if grep -v ' \.dvt-tmp-' "$T/now.digest" | cmp -s - "$DIG/$new"; then phase after-head; else phase head-before-files; fi
    elif cmp -s "$T/now.digest" "$DIG/$old"; then
        phase before-writing
    else
        phase writing
    fi
    fsck_ok "$WORK" work
    run_dvt "$WORK" checkout "$target"
    [ "$RC" = 0 ] || { head -c 1000 "$T/cmd.err" >&2; bad "the re-run of checkout exited $RC"; }
    [ "$(head_ref "$WORK")" = "ref: refs/heads/$target" ] || bad "after the re-run HEAD is '$(head_ref "$WORK")'"
    temps_left "$WORK"
    if ! tree_digest "$WORK" | without_temps | diff -u "$DIG/$new" - >"$T/tree.diff"; then
        head -n 12 "$T/tree.diff" >&2
        bad "after the re-run the work tree is not the target's tree"
    fi
}

round_gc() {
    local prev_ref g packs_before packs_after
    # garbage: a commit on a throw-away branch, the branch deleted and the reflogs dropped (as t40 does)
    prev_ref=$(sed -n 's|^ref: refs/heads/||p' "$WORK/.dvt/HEAD")
    run_dvt "$WORK" branch "scratch-$round" && run_dvt "$WORK" checkout -q "scratch-$round"
    gen_bytes $((SCALE * MB)) "garbage-$round" >"$WORK/bin/garbage.bin"
    run_dvt "$WORK" commit -q -m "garbage $round"
    [ "$RC" = 0 ] || fail "round $round: garbage commit failed"
    g=$(cat "$T/cmd.out")
    tree_digest "$WORK" >"$DIG/$g"
    run_dvt "$WORK" checkout -q --force "$prev_ref"
    [ "$RC" = 0 ] && [ ! -e "$WORK/bin/garbage.bin" ] || fail "round $round: back to $prev_ref failed"
    run_dvt "$WORK" branch -d "scratch-$round"
    rm -rf "$WORK/.dvt/logs"
    tree_digest "$WORK" >"$T/before.digest"
    packs_before=$(find "$WORK/.dvt/packs" -type f | wc -l)
    pick_delay gc
    kill_after "$delay_ms" "$WORK" gc
    after_kill
    tree_digest "$WORK" | cmp -s - "$T/before.digest" || bad "gc changed the work tree"
    packs_after=$(find "$WORK/.dvt/packs" -type f | wc -l)
    if [ "$BG_STATUS" = 0 ]; then phase finished
    elif [ -e "$WORK/.dvt/commits/$g" ] && [ "$packs_after" = "$packs_before" ]; then phase nothing-deleted
    elif [ "$packs_after" = "$packs_before" ]; then phase commits-deleted
    else phase packs-deleted; fi
    fsck_ok "$WORK" work
    local id
    for id in $(cat "$WORK"/.dvt/refs/heads/* 2>/dev/null) $(head_commit "$WORK"); do
        [ -f "$DIG/$id" ] || bad "a ref names $id, which this script did not commit"
        run_dvt "$WORK" ls-tree -r "$id"
        [ "$RC" = 0 ] || bad "ls-tree -r $id exits $RC after the killed gc"
    done
    run_dvt "$WORK" --json gc
    [ "$RC" = 0 ] || { head -c 1000 "$T/cmd.err" >&2; bad "the re-run of gc exited $RC"; }
    run_dvt "$WORK" --json gc
    [ "$RC" = 0 ] && "${PY_FAST[@]}" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["packs_removed"] == 0 and j["commits_removed"] == 0 else 1)' "$T/cmd.out" ||
        { head -c 500 "$T/cmd.out" >&2; bad "a second gc after the re-run still found garbage"; }
}

# next_seed_version: a new version in SEED for the next pull round (NEXT_SEED), made ahead of time so that its
# `dvt serve`, which rescans every 2 s, has picked it up by then (NEXT_SEED_AT: when it was committed).
next_seed_version() {
    SEED_ROUND=$((SEED_ROUND + 1))
    mutate "$SEEDREPO" $((100000 + SEED_ROUND))
    gen_bytes $((2 * SCALE * MB)) "seed-extra-$SEED_ROUND" >"$SEEDREPO/bin/extra.bin"
    run_dvt "$SEEDREPO" commit -q -m "seed $SEED_ROUND"
    [ "$RC" = 0 ] || fail "round $round: seed commit failed"
    NEXT_SEED=$(cat "$T/cmd.out")
    NEXT_SEED_AT=$(date +%s%N)
    tree_digest "$SEEDREPO" >"$DIG/$NEXT_SEED"
}

round_pull() {
    local old new violations now_head fetched_before fetched_now wait_ms main_before head_before
    new=$NEXT_SEED
    wait_ms=$((2500 - ($(date +%s%N) - NEXT_SEED_AT) / 1000000))
    if [ "$wait_ms" -gt 0 ]; then sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"; fi
    old=$(head_commit "$PULLER")
    head_before=$(head_ref "$PULLER")
    main_before=$(cat "$PULLER/.dvt/refs/heads/main")
    fetched_before=$(cat "$PULLER/.dvt/refs/remotes/swarm/fetched" 2>/dev/null || echo none)
    pick_delay pull
    kill_after "$delay_ms" "$PULLER" pull "$new" "${PULL_ARGS[@]}"
    after_kill
    violations=$(old_or_new "$DIG/$old" "$DIG/$new" "$PULLER")
    [ -z "$violations" ] || { echo "$violations" >&2; bad "the work tree holds files of neither version"; }
    now_head=$(head_commit "$PULLER")
    [ "$now_head" = "$old" ] || [ "$now_head" = "$new" ] || bad "HEAD names $now_head"
    local main
    main=$(cat "$PULLER/.dvt/refs/heads/main")
    [ "$main" = "$main_before" ] || [ "$main" = "$new" ] || bad "main names $main"
    fetched_now=$(cat "$PULLER/.dvt/refs/remotes/swarm/fetched" 2>/dev/null || echo none)
    [ "$fetched_now" = "$fetched_before" ] || [ "$fetched_now" = "$new" ] || bad "refs/remotes/swarm/fetched names $fetched_now"
    if [ "$BG_STATUS" = 0 ]; then phase finished
    elif [ "$now_head" = "$new" ]; then phase head-moved
    elif ! cmp -s "$T/now.digest" "$DIG/$old"; then phase checkout
    elif [ -e "$PULLER/.dvt/commits/$new" ]; then phase imported
    elif [ -n "$(ls -A "$PULLER/.dvt/partial" 2>/dev/null)" ]; then phase fetching
    else phase before-data; fi
    fsck_ok "$PULLER" puller
    run_dvt "$PULLER" pull "$new" "${PULL_ARGS[@]}"
    [ "$RC" = 0 ] || { head -c 1000 "$T/cmd.err" >&2; bad "the re-run of pull exited $RC"; }
    [ "$(head_commit "$PULLER")" = "$new" ] || bad "after the re-run HEAD is not the pulled version"
    # the pulled version is a child of the one checked out on main: the pull fast-forwards main and stays on it
    if [ "$head_before" = "ref: refs/heads/main" ]; then
        [ "$(head_ref "$PULLER")" = "ref: refs/heads/main" ] && [ "$(cat "$PULLER/.dvt/refs/heads/main")" = "$new" ] ||
            bad "after the re-run HEAD is '$(head_ref "$PULLER")' and main names $(cat "$PULLER/.dvt/refs/heads/main") (not fast-forwarded to the pulled version)"
    fi
    temps_left "$PULLER"
    if ! tree_digest "$PULLER" | without_temps | diff -u "$DIG/$new" - >"$T/tree.diff"; then
        head -n 12 "$T/tree.diff" >&2
        bad "after the re-run the work tree is not the pulled version"
    fi
    next_seed_version
}

# every branch of WORK checks out byte-exact; fsck everywhere
full_check() {
    local b cur
    cur=$(sed -n 's|^ref: refs/heads/||p' "$WORK/.dvt/HEAD")
    for b in main side; do
        run_dvt "$WORK" checkout --force "$b"
        [ "$RC" = 0 ] || bad "checkout --force $b exits $RC"
        if ! tree_digest "$WORK" | without_temps | diff -u "$DIG/$("$DVT" -C "$WORK" rev-parse "$b")" - >"$T/tree.diff"; then
            head -n 12 "$T/tree.diff" >&2
            bad "checkout --force $b is not byte-exact the tree committed"
        fi
    done
    run_dvt "$WORK" checkout --force "${cur:-main}"
    fsck_ok "$WORK" work
    fsck_ok "$PULLER" puller
    fsck_ok "$SEEDREPO" seed
}

round=0 op=setup delay_ms=0 kills=0
next_seed_version
START=$SECONDS
while [ "$kills" -lt "$N" ]; do
    round=$((round + 1))
    [ "$round" -le $((3 * N + 8)) ] || fail "only $kills of $N kills landed in $((round - 1)) rounds: the commands end too fast"
    op=${OPS[$((RANDOM % 4))]}
    # the first round of each command measures it (no kill): let each be measured early
    for o in "${OPS[@]}"; do if [ "${ROUNDS[$o]}" = 0 ]; then op=$o; break; fi; done
    ROUND_FAILED=0 PHASE=""
    "round_$op"
    [ $((round % CHECK_EVERY)) = 0 ] && full_check
    if [ "$ROUND_FAILED" = 1 ]; then
        FAILED[$op]=$((FAILED[$op] + 1))
        restore
    fi
    [ "$BG_STATUS" = 137 ] && kills=$((kills + 1))
    if [ -n "${KILL_VERBOSE:-}" ]; then
        echo "round $round: $op delay ${delay_ms}ms status $BG_STATUS phase $PHASE" >&2
    fi
done
op=final
full_check
stop_serve "$SERVE_PID" "$T/serve.json"

TEMPS_SEEN=$(awk '{ n += $1 } END { print n + 0 }' "$T/temps" 2>/dev/null || echo 0)
total_failed=0 total_killed=0
printf '%-9s %6s %7s %9s %7s  %s\n' command rounds killed finished failed "phases hit by the kills (count)" >&2
for op in "${OPS[@]}"; do
    phases=$(tr ' ' '\n' <<<"${PHASES[$op]}" | grep -v '^$' | sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }' | sed 's/, $//')
    printf '%-9s %6d %7d %9d %7d  %s   (uninterrupted: %d ms)\n' "$op" "${ROUNDS[$op]}" "${KILLED[$op]}" "${FINISHED[$op]}" \
        "${FAILED[$op]}" "$phases" "${DUR[$op]}" >&2
    total_failed=$((total_failed + FAILED[$op]))
    total_killed=$((total_killed + KILLED[$op]))
done
echo "kill_test: $round rounds, $total_killed SIGKILLs landed, $total_failed rounds with failed checks," \
    "$TEMPS_SEEN temp files of killed checkouts seen, $((SECONDS - START)) s" >&2
[ "$total_failed" = 0 ] || fail "$total_failed round(s) failed"
ok
