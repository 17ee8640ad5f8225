#!/usr/bin/env bash
# Code provenance: a dataset commit made inside a git work tree records git's HEAD and whether tracked files were
# dirty (read with libgit2); `dvt log` and `dvt show` print it. Untracked files and the dataset directory itself do
# not count as dirty. Outside git nothing is recorded; DVT_GIT_PROVENANCE=0 turns it off; DVT_GIT_WORK_TREE points
# at code kept next to the data. (The git CLI is used only to build the test repositories.)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

P=$T/proj
new_git_project "$P" "code 1"
G1=$(git rev-parse HEAD)

new_repo "$P/data"
cd "$P/data"
gen_text 100 a >a.csv
V1=$(commit_id v1)
expect_exit 0 "$DVT" --json show "$V1"
assert_json 'j["git_commit"] == "'"$G1"'" and j["git_dirty"] is False'
expect_exit 0 "$DVT" log -n 1
assert_grep "^Git: +$G1\$" "$OUT" "log prints the git commit of a clean tree"
expect_exit 0 "$DVT" cat-object "$V1"
assert_grep "^git-commit $G1\$" "$OUT"
assert_grep '^git-dirty 0$' "$OUT"

# a tracked file modified: dirty
echo 'print(2)' >"$P/train.py"
gen_text 100 b >b.csv
V2=$(commit_id v2)
expect_exit 0 "$DVT" --json log -n 1
assert_json 'j["commits"][0]["id"] == "'"$V2"'" and j["commits"][0]["git_commit"] == "'"$G1"'" and j["commits"][0]["git_dirty"] is True'
expect_exit 0 "$DVT" show "$V2"
assert_grep "^Git: +$G1 \\(dirty\\)\$" "$OUT" "show prints (dirty)"

# committed; an untracked file in the git tree does not make it dirty, nor do the dataset's own files
(cd "$P" && git commit -qam "code 2")
G2=$(git -C "$P" rev-parse HEAD)
echo scratch >"$P/notes.txt"
gen_text 50 c >c.csv
V3=$(commit_id v3)
expect_exit 0 "$DVT" --json show "$V3"
assert_json 'j["git_commit"] == "'"$G2"'" and j["git_dirty"] is False'
# a staged change counts too
echo 'print(3)' >"$P/train.py"
git -C "$P" add train.py
gen_text 50 d >d.csv
expect_exit 0 "$DVT" --json commit -m v4
assert_json 'j["git_commit"] == "'"$G2"'" and j["git_dirty"] is True'
git -C "$P" commit -qm "code 3"

# switched off
gen_text 50 e >e.csv
DVT_GIT_PROVENANCE=0 expect_exit 0 "$DVT" --json commit -m v5
assert_json '"git_commit" not in j and "git_dirty" not in j'

# outside any git work tree: nothing recorded (unless DVT_GIT_WORK_TREE names one)
git -C "$T" rev-parse 2>/dev/null && fail "the temp directory is inside a git work tree; this test needs it not to be"
new_repo "$T/plain"
cd "$T/plain"
echo x >x.txt
expect_exit 0 "$DVT" --json commit -m plain
assert_json '"git_commit" not in j'
expect_exit 0 "$DVT" log
assert_no_grep '^Git:' "$OUT"
echo y >y.txt
G3=$(git -C "$P" rev-parse HEAD)
DVT_GIT_WORK_TREE=$P expect_exit 0 "$DVT" --json commit -m next-to
assert_json 'j["git_commit"] == "'"$G3"'" and j["git_dirty"] is False'
echo z >z.txt
DVT_GIT_WORK_TREE=$T/nowhere expect_exit 4 "$DVT" commit -m bad
one_error_line
expect_exit 0 "$DVT" fsck
ok
