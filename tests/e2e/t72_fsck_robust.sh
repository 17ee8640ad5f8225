#!/usr/bin/env bash
# fsck and the index database under conditions that used to fail (#15 item 6):
#  a. two publishers committed the same file; one repository pulled both versions (real serve + pull): fsck and
#     fsck --repair exited 5 "does not name pack" (the index keeps one pack per object; either pack will do);
#  b. fsck is a lock-free reader: fscks while commits run must all pass (13 of 30 said "tree is missing or damaged");
#  c. a read-only .dvt (a read-only bind mount in a private mount namespace; root ignores chmod): status, log, diff,
#     ls-tree and fsck work (they exited 9 writing index.db), nothing under .dvt changes, a writing command fails
#     cleanly;
#  d. index.db without its `objects` table: every command exited 9, fsck --repair too; now it is rebuilt (a note).
# Every background process is stopped by PID, also on failure (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# --- a. two publishers, one file
SHARED=$T/shared.bin
gen_bytes 400000 shared-file >"$SHARED"
for p in a b; do
    new_repo "$T/pub-$p"
    cp "$SHARED" "$T/pub-$p/shared.bin"
    printf 'only in %s\n' "$p" >"$T/pub-$p/only-$p.txt"
    cd "$T/pub-$p"
    commit_id "from $p" >"$T/id-$p"
done
CA=$(cat "$T/id-a")
CB=$(cat "$T/id-b")
expect_exit 0 "$DVT" -C "$T/pub-a" --json show
PA=$(json_get 'j["packs"][0]["id"]')
expect_exit 0 "$DVT" -C "$T/pub-b" --json show
PB=$(json_get 'j["packs"][0]["id"]')
[ "$PA" != "$PB" ] || fail "the two publishers made the same pack; the case needs two"

new_repo "$T/both"
start_serve "$T/pub-a" "$T/serve-a.json" 127.0.0.2:0
expect_exit 0 "$DVT" -C "$T/both" pull "$CA" --peer "$PEER" --listen 127.0.0.4 --timeout 60
stop_serve "$SERVE_PID" "$T/serve-a.json"
start_serve "$T/pub-b" "$T/serve-b.json" 127.0.0.3:0
expect_exit 0 "$DVT" -C "$T/both" pull "$CB" --peer "$PEER" --listen 127.0.0.4 --timeout 60
stop_serve "$SERVE_PID" "$T/serve-b.json"
expect_exit 0 "$DVT" -C "$T/both" branch from-a "$CA"
expect_exit 0 "$DVT" -C "$T/both" --json fsck
# the packs of both versions (a whole pull does not fetch a version's locator pack: docs/format.md, "Locator")
NP=0
for p in a b; do
    n=$(grep -c '^pack ' "$T/pub-$p/.dvt/commits/$(cat "$T/id-$p")")
    grep -q '^locator ' "$T/pub-$p/.dvt/commits/$(cat "$T/id-$p")" && n=$((n - 1))
    NP=$((NP + n))
done
[ "$NP" -ge 2 ] || fail "the two versions name $NP packs"
assert_json 'j["ok"] and j["packs"] == '"$NP"' and j["reachable_commits"] == 2'
expect_exit 0 "$DVT" -C "$T/both" --json fsck --repair
assert_json 'j["ok"] and j["reindexed_packs"] == '"$NP"
expect_exit 0 "$DVT" -C "$T/both" fsck

# --- b. fsck during commits
R=$T/busy
new_repo "$R"
gen_bytes $((4 * 1024 * 1024)) busy-base >"$R/base.bin"
cd "$R"
commit_id base >/dev/null
COMMITS=40
bg bash -c 'cd "$1" && for i in $(seq 1 "$2"); do
    head -c 300000 /dev/urandom >"new-$i.bin"; printf "%s\n" "$i" >counter.txt
    "$DVT" commit -q -m "c$i" >/dev/null 2>>"$3" || { echo "commit $i failed" >>"$3"; exit 1; }
done' bash "$R" "$COMMITS" "$T/committer.err"
CPID=$BG_PID
n=0
overlapped=0
while true; do
    running=0
    kill -0 "$CPID" 2>/dev/null && running=1
    [ "$running" = 0 ] && [ "$n" -ge 30 ] && break
    rc=0
    "$DVT" fsck >"$T/fsck.out" 2>"$T/fsck.err" || rc=$?
    n=$((n + 1))
    [ "$running" = 1 ] && overlapped=$((overlapped + 1))
    if [ "$rc" != 0 ]; then
        cat "$T/fsck.out" "$T/fsck.err" >&2
        fail "fsck $n (during commits) exited $rc"
    fi
done
wait_bg "$CPID"
[ "$BG_STATUS" = 0 ] || { cat "$T/committer.err" >&2; fail "the committer failed"; }
[ "$overlapped" -ge 10 ] || fail "only $overlapped fscks ran while commits were being made (want >= 10)"
echo "note: $overlapped of $n fscks ran during $COMMITS commits" >&2
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == '$((COMMITS + 1))

# --- c. a read-only .dvt
if unshare -m --propagation private true 2>/dev/null; then
    printf 'changed\n' >counter.txt  # something for status and diff to show
    listing "$R/.dvt" >"$T/dvt.before"
    # inside a private mount namespace, .dvt is bind-mounted read-only over itself; each command's exit status and
    # output go to files
    unshare -m --propagation private bash -c '
        set -u
        mount --bind "$1/.dvt" "$1/.dvt" && mount -o remount,bind,ro "$1/.dvt" || exit 99
        touch "$1/.dvt/probe" 2>/dev/null && exit 98  # not read-only after all
        cd "$1"
        i=0
        for c in "status" "status --porcelain" "log --oneline" "diff" "ls-tree -r" "fsck" "show" "--json fsck"; do
            i=$((i + 1))
            rc=0
            $DVT $c >"$2/ro-$i.out" 2>"$2/ro-$i.err" || rc=$?
            echo "$rc $c" >>"$2/ro.results"
        done
        rc=0
        $DVT commit -m "on a read-only repository" >"$2/ro-commit.out" 2>"$2/ro-commit.err" || rc=$?
        echo "$rc" >"$2/ro-commit.rc"
    ' bash "$R" "$T" || fail "could not set up the read-only mount (exit $?)"
    while read -r rc c; do
        [ "$rc" = 0 ] || { cat "$T"/ro-*.err >&2; fail "dvt $c on a read-only .dvt exited $rc"; }
    done <"$T/ro.results"
    [ "$(wc -l <"$T/ro.results")" = 8 ] || fail "not every read-only command ran"
    assert_grep '^M counter.txt$' "$T/ro-2.out"
    [ "$(wc -l <"$T/ro-3.out")" = $((COMMITS + 1)) ] || fail "log on a read-only .dvt"
    for f in "$T"/ro-[0-9]*.err; do assert_no_grep 'error|warning' "$f"; done
    # a command that must write fails cleanly: one error line, exit 9 (the OS refused: read-only file system)
    assert_eq "$(cat "$T/ro-commit.rc")" 9 "commit on a read-only .dvt"
    one_error_line "$T/ro-commit.err"
    listing "$R/.dvt" >"$T/dvt.after"
    diff -u "$T/dvt.before" "$T/dvt.after" >&2 || fail "commands on a read-only .dvt changed it"
    expect_exit 0 "$DVT" status --porcelain
    assert_grep '^M counter.txt$' "$OUT"
else
    echo "note: unshare -m is not permitted here; the read-only repository case is skipped" >&2
fi

# --- d. index.db without its objects table: rebuilt, with a note, by whichever command comes first
SYSPY=/usr/bin/python3
drop_objects() {
    "$SYSPY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("DROP TABLE objects"); c.commit(); c.close()' "$R/.dvt/index.db"
}
for c in "status" "log" "fsck" "fsck --repair" "ls-tree -r"; do
    rm -f "$R/.dvt/index.db.damaged"
    drop_objects
    # shellcheck disable=SC2086
    expect_exit 0 "$DVT" $c
    assert_grep '^dvt: note: the index database .*index\.db was damaged .*no such table: objects' "$ERR"
    [ -f "$R/.dvt/index.db.damaged" ] || fail "$c: the damaged index was not kept aside"
    expect_exit 0 "$DVT" fsck
    assert_no_grep 'note' "$ERR"
done
ok
