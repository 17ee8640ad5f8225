#!/usr/bin/env bash
# Pinning and git hooks: `dvt pin` writes dvt.lock into the git work tree; after `dvt hooks install`, `git checkout`
# of an older code commit brings the data pinned there back (post-checkout), `git merge` brings a newer pin
# (post-merge); the user's own post-checkout hook keeps running (chained), and `dvt hooks uninstall` restores it
# byte for byte. `dvt verify` exits 0 only when the data is byte-identical to the pin; `dvt pull` without arguments
# restores it. (git CLI only to drive git; dvt reads git through libgit2.)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
export USER_HOOK_LOG=$T/user-hook.log

P=$T/proj
new_git_project "$P" "code 1"
cat >.git/hooks/post-checkout <<'SH'
#!/bin/sh
echo "user hook $3" >>"$USER_HOOK_LOG"
SH
chmod 750 .git/hooks/post-checkout
cp -p .git/hooks/post-checkout "$T/user-hook.orig"

new_repo "$P/data"
make_tree "$P/data"
cd "$P/data"
V1=$(commit_id v1)
tree_digest "$P/data" >"$T/v1.digest"
expect_exit 0 "$DVT" --json pin
assert_json 'j["commit"] == "'"$V1"'" and j["path"] == "data" and j["lock_file"] == "'"$P/dvt.lock"'" and j["peers"] == [] and j["trackers"] == []'
assert_grep "^commit $V1\$" "$P/dvt.lock"
assert_grep '^path data$' "$P/dvt.lock"
cd "$P"
git add dvt.lock
git commit -qm "code 1 + data v1"
C1=$(git rev-parse HEAD)
expect_exit 0 "$DVT" verify
assert_grep 'byte-identical' "$ERR"

# data v2, pinned in the next code commit
cd "$P/data"
gen_text 300 v2 >data/csv/part-1.csv
printf 'v2 only\n' >docs/v2.txt
rm data/raw/small.bin
V2=$(commit_id v2)
tree_digest "$P/data" >"$T/v2.digest"
expect_exit 0 "$DVT" pin
assert_eq "$(cat "$OUT")" "$V2" "pin prints the commit"
cd "$P"
git commit -qam "data v2"

# --- install the git hooks: the user's post-checkout is chained, not clobbered
expect_exit 0 "$DVT" --json hooks install
assert_json 'j["hooks_dir"] == "'"$P/.git/hooks"'" and [h["name"] for h in j["hooks"]] == ["post-checkout", "post-merge"]'
assert_json 'j["hooks"][0]["installed"] and j["hooks"][0]["chained"] and not j["hooks"][1]["chained"]'
cmp "$T/user-hook.orig" .git/hooks/post-checkout.dvt-chained || fail "the user's hook was not kept as it was"
expect_exit 0 "$DVT" hooks install  # idempotent
cmp "$T/user-hook.orig" .git/hooks/post-checkout.dvt-chained || fail "a second install changed the chained hook"
[ ! -e .git/hooks/post-checkout.dvt-chained.dvt-chained ] || fail "a second install chained dvt's own hook"

# --- git checkout of the older code commit brings data v1 back; the user's hook still runs
git checkout -q "$C1" 2>"$T/git.err" || { cat "$T/git.err" >&2; fail "git checkout failed"; }
assert_same_tree "$T/v1.digest" "$P/data" "data after git checkout of code 1"
assert_eq "$(cat "$USER_HOOK_LOG")" "user hook 1" "the user's post-checkout hook"
expect_exit 0 "$DVT" --json verify
assert_json 'j["ok"] and j["commit"] == "'"$V1"'" and j["head_matches"] and j["mode"] == "full" and j["problems"] == []'
git checkout -q main 2>"$T/git.err" || { cat "$T/git.err" >&2; fail "git checkout main failed"; }
assert_same_tree "$T/v2.digest" "$P/data" "data after git checkout main"

# a file checkout (flag 0) does not touch the data
git checkout -q "$C1" -- train.py
assert_same_tree "$T/v2.digest" "$P/data" "data after a git file checkout"
git checkout -q main -- train.py

# --- verify catches a same-size edit with the old mtime (no stat cache); pull with no argument restores
cp -p "$P/data/docs/readme.txt" "$T/readme.bak"
printf 'DVT e2e dataset\nsecond line\n' >"$P/data/docs/readme.txt"
touch -r "$T/readme.bak" "$P/data/docs/readme.txt"
expect_exit 5 "$DVT" --json verify
assert_json 'not j["ok"] and j["problems"] == [{"path": "docs/readme.txt", "status": "modified"}]'
expect_exit 5 "$DVT" verify
one_error_line
assert_eq "$(cat "$OUT")" "M docs/readme.txt" "verify's list"
printf 'stray\n' >"$P/data/stray.txt"
expect_exit 5 "$DVT" --json verify
assert_json '{"path": "stray.txt", "status": "added"} in j["problems"]'
rm "$P/data/stray.txt"
expect_exit 6 "$DVT" pull  # uncommitted changes in the way
expect_exit 0 "$DVT" --json pull -f
assert_json 'j["commit"] == "'"$V2"'"'
expect_exit 0 "$DVT" verify

# --- post-merge: a branch pins v3; merging it brings v3
git checkout -q -b next
cd "$P/data"
printf 'v3\n' >docs/v3.txt
V3=$(commit_id v3)
tree_digest "$P/data" >"$T/v3.digest"
expect_exit 0 "$DVT" pin
cd "$P"
git commit -qam "data v3"
git checkout -q main
assert_same_tree "$T/v2.digest" "$P/data" "data back on main"
git merge -q --ff-only next >/dev/null 2>"$T/git.err" || { cat "$T/git.err" >&2; fail "git merge failed"; }
assert_same_tree "$T/v3.digest" "$P/data" "data after git merge"
expect_exit 0 "$DVT" -C "$P/data" verify  # also from inside the dataset

# --- uninstall restores exactly what was there
expect_exit 0 "$DVT" --json hooks uninstall
assert_json '[h["removed"] for h in j["hooks"]] == [True, True] and j["hooks"][0]["restored"]'
cmp "$T/user-hook.orig" .git/hooks/post-checkout || fail "uninstall did not restore the user's hook"
assert_eq "$(stat -c %a .git/hooks/post-checkout)" "750" "mode of the restored hook"
[ ! -e .git/hooks/post-merge ] && [ ! -e .git/hooks/post-checkout.dvt-chained ] || fail "uninstall left files behind"
git checkout -q "$C1" 2>/dev/null
assert_same_tree "$T/v3.digest" "$P/data" "data after git checkout without dvt's hooks"
assert_eq "$(tail -n 1 "$USER_HOOK_LOG")" "user hook 1" "the user's hook after uninstall"
expect_exit 5 "$DVT" verify  # code 1 pins v1, the data is v3
ok
