#!/usr/bin/env bash
# A committed dvt.lock is attacker-controlled input (#15 item 7): with `dvt hooks install`, a plain `git checkout` of a
# branch whose dvt.lock says `path ../x` made dvt create a repository outside the project and write there. Now a path
# that is absolute or has a '..' component, or that leads outside the lock file's directory through a symlink (git
# commits symlinks too), is refused as corrupt (5) before anything is created: by the hook's `dvt pull`, by
# `dvt pull` and by `dvt verify`; `dvt pin` will not write one (2). A pin inside the project still works.
# (git CLI only to drive git; dvt reads git through libgit2.)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

W=$T/w  # everything an evil path could reach stays inside the test's directory
P=$W/proj
mkdir -p "$P" "$W/victim"
printf 'precious\n' >"$W/victim/file.txt"
new_git_project "$P"

# a real dataset pinned inside the project: the good case keeps working
new_repo "$P/data"
printf 'dataset\n' >"$P/data/d.txt"
cd "$P/data"
V=$(commit_id v1)
expect_exit 0 "$DVT" pin
cd "$P"
git add dvt.lock
git commit -qm "pin data"
expect_exit 0 "$DVT" verify
expect_exit 0 "$DVT" hooks install

listing "$W/victim" >"$T/victim.before"
# evil_branch NAME PATH [SYMLINK TARGET]: a branch whose dvt.lock names PATH (and that commits a symlink)
evil_branch() {
    git checkout -q -b "$1" main
    printf 'dvt-lock 1\ncommit %s\npath %s\npeer 127.0.0.1:9\n' "$V" "$2" >dvt.lock
    if [ $# -ge 4 ]; then
        ln -s "$4" "$3"
        git add "$3"
    fi
    git add dvt.lock
    git commit -qm "evil $1"
    git checkout -q main
}
evil_branch up '../pwned'
evil_branch deep 'sub/../../pwned'
evil_branch far '../../pwned-far'
evil_branch abs "$W/pwned-abs"
evil_branch link 'link' link ../victim
evil_branch link-deep 'link/new' link ../victim
evil_branch abs-link 'r/pwned-r' r "$T"

for b in up deep far abs link link-deep abs-link; do
    rc=0
    git checkout -q "$b" >"$T/git.out" 2>"$T/git.err" || rc=$?
    [ "$rc" = 1 ] || { cat "$T/git.err" >&2; fail "git checkout $b: the hook's dvt pull did not fail (git exit $rc)"; }
    assert_grep 'dvt: error: .*dvt\.lock' "$T/git.err" "git checkout $b: no dvt error about dvt.lock"
    assert_grep "the dataset was not brought in step" "$T/git.err"
    # the hook ran dvt pull; run it again to see its exit status and message
    expect_exit 5 "$DVT" pull
    one_error_line
    assert_grep "dvt\.lock" "$ERR"
    expect_exit 5 "$DVT" verify
    one_error_line
    git checkout -q -f main
done
for p in "$W/pwned" "$T/pwned-far" "$W/pwned-abs" "$W/victim/.dvt" "$W/victim/new" "$T/pwned-r"; do
    [ ! -e "$p" ] || fail "dvt created $p outside the project"
done
[ ! -e "$T/.dvt" ] && [ ! -e "$W/.dvt" ] || fail "dvt created a repository above the project"
listing "$W/victim" >"$T/victim.after"
diff -u "$T/victim.before" "$T/victim.after" >&2 || fail "something was written into the directory a symlink led to"

# the good pin still works through the hook (a checkout of main after the evil branches)
expect_exit 0 "$DVT" verify
expect_exit 0 "$DVT" -C "$P/data" status --porcelain
[ ! -s "$OUT" ] || fail "the dataset changed"

# dvt pin does not write a lock file whose dataset is not at or below its directory
mkdir -p "$P/sub"
DVT_PIN_FILE=$P/sub/dvt.lock expect_exit 2 "$DVT" -C "$P/data" pin
one_error_line
assert_grep "dvt\.lock" "$ERR"
[ ! -e "$P/sub/dvt.lock" ] || fail "dvt pin wrote a lock file with '..'"
# ... and one at or below it is fine
DVT_PIN_FILE=$P/data/dvt.lock expect_exit 0 "$DVT" -C "$P/data" --json pin
assert_json 'j["path"] == "."'
ok
