#!/usr/bin/env bash
# The basic cycle: init, commit, log/show/ls-tree/cat-object/rev-parse, status, diff, checkout (whole tree and single
# paths), "nothing to commit", branches and tags.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
mkdir -p "$R"
cd "$R"
expect_exit 0 "$DVT" init
assert_grep 'Initialized empty dvt repository' "$OUT"
[ -f .dvt/config ] || fail "init did not create .dvt/config"

# --- status before the first commit
make_tree "$R"
expect_exit 0 "$DVT" status --json
assert_json 'j["branch"] == "main" and j["head"] is None and j["clean"] is False'
assert_json 'sorted(c["path"] for c in j["changes"] if c["status"] == "added") == sorted(["bin/readme-link", "bin/run.sh", "data/csv/part-0.csv", "data/csv/part-1.csv", "data/csv/part-2.csv", "data/empty.dat", "data/raw/blob.bin", "data/raw/small.bin", "docs/notes/n1.txt", "docs/notes/n2.txt", "docs/readme.txt", "docs/with space.txt"])'
expect_exit 4 "$DVT" rev-parse HEAD
one_error_line

# --- first commit
expect_exit 0 "$DVT" commit -m "first commit"
[ "$(wc -l <"$OUT")" = 1 ] || fail "commit printed more than the id on stdout"
C1=$(cat "$OUT")
is_hex64 "$C1" || fail "commit printed '$C1', not a 64-hex id"
tree_digest "$R" >"$T/d1"

expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C1" "rev-parse HEAD"
expect_exit 0 "$DVT" rev-parse main
assert_eq "$(cat "$OUT")" "$C1" "rev-parse main"
expect_exit 4 "$DVT" rev-parse HEAD~1
one_error_line

expect_exit 0 "$DVT" status
assert_grep '^On branch main' "$OUT"
assert_grep 'nothing to commit, working tree clean' "$OUT"
expect_exit 0 "$DVT" status --json
assert_json 'j == {"branch": "main", "head": "'"$C1"'", "clean": True, "changes": []}'
expect_exit 0 "$DVT" status --short
[ ! -s "$OUT" ] || fail "status --short of a clean tree printed something"

# --- log / show of the first commit
expect_exit 0 "$DVT" log
assert_grep "^commit $C1\$" "$OUT"
assert_grep '^Author: E2E Tester <e2e@example.invalid>$' "$OUT"
assert_grep '^    first commit$' "$OUT"
assert_grep '^Files:  12 ' "$OUT"
expect_exit 0 "$DVT" show --json
assert_json 'j["id"] == "'"$C1"'" and j["parents"] == [] and j["message"].startswith("first commit") and j["files"] == 12'
assert_json 'j["author"] == {"name": "E2E Tester", "email": "e2e@example.invalid"} and len(j["changes"]) == 12'
assert_json 'all(c["status"] == "added" for c in j["changes"])'

# --- second commit: one file modified, one added, one deleted
printf 'changed content\n' >>docs/readme.txt
gen_bytes 200000 new-file >data/raw/new.bin
rm docs/notes/n2.txt
expect_exit 0 "$DVT" status --short
sort "$OUT" >"$T/st"
printf 'A data/raw/new.bin\nD docs/notes/n2.txt\nM docs/readme.txt\n' | diff -u - "$T/st" || fail "status --short lists the wrong changes"
expect_exit 0 "$DVT" status
assert_grep $'^\tmodified: +docs/readme.txt$' "$OUT"
assert_grep $'^\tadded: +data/raw/new.bin$' "$OUT"
assert_grep $'^\tdeleted: +docs/notes/n2.txt$' "$OUT"
expect_exit 0 "$DVT" status --json
assert_json 'j["clean"] is False and j["head"] == "'"$C1"'" and j["branch"] == "main"'
assert_json 'sorted((c["path"], c["status"]) for c in j["changes"]) == [("data/raw/new.bin", "added"), ("docs/notes/n2.txt", "deleted"), ("docs/readme.txt", "modified")]'
expect_exit 0 "$DVT" diff
assert_grep $'^M\tdocs/readme.txt$' "$OUT"

C2=$(commit_id "second commit")
[ "$C2" != "$C1" ] || fail "second commit has the same id as the first"
tree_digest "$R" >"$T/d2"

# --- revision syntax
for spec in "HEAD~1:$C1" "HEAD^:$C1" "HEAD^1:$C1" "main~1:$C1" "@:$C2" "HEAD~0:$C2" "${C2:0:12}:$C2" "${C1:0:8}~0:$C1" "$C2:$C2" "refs/heads/main:$C2"; do
    rev=${spec%%:*}
    want=${spec#*:}
    expect_exit 0 "$DVT" rev-parse "$rev"
    assert_eq "$(cat "$OUT")" "$want" "rev-parse $rev"
done
expect_exit 0 "$DVT" rev-parse HEAD HEAD~1
printf '%s\n%s\n' "$C2" "$C1" | diff - "$OUT" >/dev/null || fail "rev-parse with two revisions"
expect_exit 4 "$DVT" rev-parse HEAD~2
one_error_line
expect_exit 4 "$DVT" rev-parse no-such-branch
one_error_line

# --- tags
expect_exit 0 "$DVT" tag v1 "$C1"
expect_exit 0 "$DVT" tag v2
expect_exit 0 "$DVT" rev-parse v1
assert_eq "$(cat "$OUT")" "$C1" "rev-parse v1"
expect_exit 0 "$DVT" rev-parse v2~1
assert_eq "$(cat "$OUT")" "$C1" "rev-parse v2~1"
expect_exit 0 "$DVT" rev-parse refs/tags/v2
assert_eq "$(cat "$OUT")" "$C2" "rev-parse refs/tags/v2"
expect_exit 0 "$DVT" tag
printf 'v1 %s\nv2 %s\n' "$C1" "$C2" | diff -u - "$OUT" || fail "tag list"
expect_exit 0 "$DVT" tag --json
assert_json 'j == {"tags": [{"name": "v1", "commit": "'"$C1"'"}, {"name": "v2", "commit": "'"$C2"'"}]}'
expect_exit 6 "$DVT" tag v1
one_error_line
expect_exit 0 "$DVT" tag -f v1 "$C2"
expect_exit 0 "$DVT" rev-parse v1
assert_eq "$(cat "$OUT")" "$C2" "tag -f moved v1"
expect_exit 0 "$DVT" tag -d v1
expect_exit 4 "$DVT" rev-parse v1
expect_exit 4 "$DVT" tag -d v1
one_error_line
expect_exit 2 "$DVT" tag 'bad..name'
one_error_line

# --- log
expect_exit 0 "$DVT" log --oneline
printf '%s second commit\n%s first commit\n' "${C2:0:12}" "${C1:0:12}" | diff -u - "$OUT" || fail "log --oneline"
expect_exit 0 "$DVT" log -n 1 --oneline
[ "$(wc -l <"$OUT")" = 1 ] || fail "log -n 1 printed more than one commit"
expect_exit 0 "$DVT" log --oneline "$C1"
printf '%s first commit\n' "${C1:0:12}" | diff -u - "$OUT" || fail "log C1"
expect_exit 0 "$DVT" log --json
assert_json '[c["id"] for c in j["commits"]] == ["'"$C2"'", "'"$C1"'"] and j["commits"][0]["parents"] == ["'"$C1"'"]'
assert_json 'all(k in j["commits"][0] for k in ("id", "tree", "parents", "author", "time", "date", "message", "files", "bytes", "packs"))'

# --- show
expect_exit 0 "$DVT" show
assert_grep "^commit $C2\$" "$OUT"
assert_grep "^Parent: $C1\$" "$OUT"
assert_grep '^ M docs/readme.txt ' "$OUT"
assert_grep '^ A data/raw/new.bin ' "$OUT"
assert_grep '^ D docs/notes/n2.txt ' "$OUT"
expect_exit 0 "$DVT" show --json "$C2"
assert_json 'sorted((c["path"], c["status"], c["old_size"], c["new_size"]) for c in j["changes"]) == [("data/raw/new.bin", "added", None, 200000), ("docs/notes/n2.txt", "deleted", 9, None), ("docs/readme.txt", "modified", 28, 44)]'

# --- diff between two commits
expect_exit 0 "$DVT" diff --stat "$C1" "$C2"
assert_grep '^ M docs/readme.txt \| 28 B -> 44 B$' "$OUT"
assert_grep '^ A data/raw/new.bin \| \+195.3 KiB$' "$OUT"
assert_grep '^ D docs/notes/n2.txt \| -9 B$' "$OUT"
assert_grep '^ 3 files changed: 1 added, 1 removed, 1 modified ' "$OUT"
expect_exit 0 "$DVT" diff "$C1" "$C2"
sort "$OUT" >"$T/df"
printf 'A\tdata/raw/new.bin\nD\tdocs/notes/n2.txt\nM\tdocs/readme.txt\n' | diff -u - "$T/df" || fail "diff C1 C2"
expect_exit 0 "$DVT" diff --json "$C1" "$C2"
assert_json 'j["summary"] == {"added": 1, "deleted": 1, "modified": 1, "bytes_added": 200016, "bytes_deleted": 9}'
expect_exit 0 "$DVT" diff "$C1" "$C2" -- docs
sort "$OUT" >"$T/df"
printf 'D\tdocs/notes/n2.txt\nM\tdocs/readme.txt\n' | diff -u - "$T/df" || fail "diff limited to docs"
expect_exit 0 "$DVT" diff "$C2" "$C2"
[ ! -s "$OUT" ] || fail "diff of a commit with itself is not empty"

# --- ls-tree
expect_exit 0 "$DVT" ls-tree HEAD
awk -F'\t' '{print $2}' "$OUT" >"$T/names"
printf 'bin\ndata\ndocs\n' | diff -u - "$T/names" || fail "ls-tree HEAD top level"
assert_grep '^tree [0-9a-f]{64} [0-9]+	docs$' "$OUT"
expect_exit 0 "$DVT" ls-tree -r HEAD
assert_grep '^exec [0-9a-f]{64} 30	bin/run.sh$' "$OUT"
assert_grep '^link -{64} 18	bin/readme-link -> \.\./docs/readme\.txt$' "$OUT"
assert_grep '^file [0-9a-f]{64} 0	data/empty.dat$' "$OUT"
assert_grep '^file [0-9a-f]{64} 3158073	data/raw/blob.bin$' "$OUT"
assert_grep '^file [0-9a-f]{64} 7	docs/with space.txt$' "$OUT"
[ "$(wc -l <"$OUT")" = 12 ] || fail "ls-tree -r HEAD should list 12 files"
expect_exit 0 "$DVT" ls-tree HEAD docs/notes
awk -F'\t' '{print $2}' "$OUT" | diff - <(echo n1.txt) >/dev/null || fail "ls-tree HEAD docs/notes"
expect_exit 0 "$DVT" ls-tree "$C1" docs/notes/
[ "$(wc -l <"$OUT")" = 2 ] || fail "ls-tree C1 docs/notes/ should list n1 and n2"
expect_exit 4 "$DVT" ls-tree HEAD no/such/dir
one_error_line
expect_exit 0 "$DVT" ls-tree -r --json HEAD
assert_json 'len(j["entries"]) == 12 and len(j["tree"]) == 64'
assert_json '[e for e in j["entries"] if e["path"] == "bin/readme-link"] == [{"path": "bin/readme-link", "kind": "link", "size": 18, "target": "../docs/readme.txt"}]'
BLOB_ID=$(json_get '[e["id"] for e in j["entries"] if e["path"] == "data/raw/blob.bin"][0]')
TREE_ID=$(json_get 'j["tree"]')

# --- cat-object
expect_exit 0 "$DVT" cat-object -t HEAD
assert_eq "$(cat "$OUT")" commit "cat-object -t HEAD"
expect_exit 0 "$DVT" cat-object HEAD
assert_grep "^tree $TREE_ID\$" "$OUT"
assert_grep "^parent $C1\$" "$OUT"
expect_exit 0 "$DVT" cat-object -t "$TREE_ID"
assert_eq "$(cat "$OUT")" tree "cat-object -t tree"
expect_exit 0 "$DVT" cat-object -p "$TREE_ID"
awk -F'\t' '{print $2}' "$OUT" | diff - <(printf 'bin\ndata\ndocs\n') >/dev/null || fail "cat-object -p tree"
expect_exit 0 "$DVT" cat-object -t "$BLOB_ID"
assert_eq "$(cat "$OUT")" file "cat-object -t file"
expect_exit 0 "$DVT" cat-object -p "$BLOB_ID"
assert_grep '^size 3158073$' "$OUT"
NCHUNKS=$(sed -n 's/^chunks //p' "$OUT")
[ "$NCHUNKS" -ge 2 ] || fail "a 3 MiB file should have several chunks, got $NCHUNKS"
CHUNK=$(sed -n '3p' "$OUT" | cut -d' ' -f1)
expect_exit 0 "$DVT" cat-object -t "$CHUNK"
assert_eq "$(cat "$OUT")" chunk "cat-object -t chunk"
expect_exit 0 "$DVT" cat-object --json "$BLOB_ID"
assert_json 'j["type"] == "file" and j["file_size"] == 3158073 and sum(c["size"] for c in j["chunks"]) == 3158073'
# the chunks, concatenated, are the file
: >"$T/cat"
for c in $(json_get '" ".join(c["id"] for c in j["chunks"])'); do "$DVT" cat-object "$c" >>"$T/cat"; done
cmp -s "$T/cat" data/raw/blob.bin || fail "concatenated chunks differ from the file"
expect_exit 4 "$DVT" cat-object "$(printf '%064d' 0)"
one_error_line

# --- checkout of the older commit: the tree becomes byte-identical, and back again
expect_exit 0 "$DVT" checkout "$C1"
assert_same_tree "$T/d1" "$R" "work tree after checkout C1"
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C1" "HEAD after checkout C1"
expect_exit 0 "$DVT" status
assert_grep "^HEAD detached at ${C1:0:12}" "$OUT"
assert_grep 'nothing to commit, working tree clean' "$OUT"
[ ! -e data/raw/new.bin ] || fail "checkout C1 left data/raw/new.bin"
expect_exit 0 "$DVT" checkout --json main
assert_json 'j["commit"] == "'"$C2"'" and j["branch"] == "main"'
assert_same_tree "$T/d2" "$R" "work tree after checkout main"
expect_exit 0 "$DVT" status --json
assert_json 'j["branch"] == "main" and j["head"] == "'"$C2"'" and j["clean"] is True'
expect_exit 0 "$DVT" checkout v2
assert_same_tree "$T/d2" "$R" "work tree after checkout v2"
expect_exit 0 "$DVT" checkout main

# --- checkout -- path restores just that path, HEAD does not move
printf 'scribble\n' >docs/readme.txt
printf 'scribble\n' >docs/notes/n1.txt
rm data/csv/part-1.csv
# a modified file is only overwritten with --force (the safety rule); a deleted one is simply restored
expect_exit 6 "$DVT" checkout HEAD -- docs/readme.txt
one_error_line
assert_grep 'docs/readme.txt' "$ERR"
cmp -s docs/readme.txt <(printf 'scribble\n') || fail "refused checkout changed docs/readme.txt"
expect_exit 0 "$DVT" checkout --force HEAD -- docs/readme.txt
expect_exit 0 "$DVT" status --short
sort "$OUT" >"$T/st"
printf 'D data/csv/part-1.csv\nM docs/notes/n1.txt\n' | diff -u - "$T/st" || fail "checkout -- docs/readme.txt touched other paths"
expect_exit 0 "$DVT" checkout HEAD data/csv/part-1.csv
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "M docs/notes/n1.txt" "status after restoring part-1.csv"
# a path from another commit: HEAD stays, the file takes C1's content
expect_exit 6 "$DVT" checkout "$C1" -- docs/notes/n1.txt
one_error_line
expect_exit 0 "$DVT" checkout -f "$C1" -- docs
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C2" "HEAD after a path checkout"
cmp -s docs/notes/n1.txt <(printf 'note one\n') || fail "docs/notes/n1.txt not restored"
cmp -s docs/notes/n2.txt <(printf 'note two\n') || fail "docs/notes/n2.txt not restored from C1"
cmp -s docs/readme.txt <(printf 'dvt e2e dataset\nsecond line\n') || fail "docs/readme.txt not taken from C1"
expect_exit 4 "$DVT" checkout HEAD -- no/such/path
one_error_line
expect_exit 0 "$DVT" checkout -f main
# n2.txt (restored from C1) is untracked relative to main: like git, checkout keeps untracked files
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "A docs/notes/n2.txt" "status after checkout -f main"
rm docs/notes/n2.txt
assert_same_tree "$T/d2" "$R" "work tree after checkout -f main"

# --- nothing to commit
expect_exit 13 "$DVT" commit -m "nothing changed"
one_error_line
assert_grep 'nothing to commit' "$ERR"
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C2" "HEAD after an empty commit attempt"
expect_exit 0 "$DVT" commit --allow-empty -m "empty on purpose"
C3=$(cat "$OUT")
is_hex64 "$C3" || fail "commit --allow-empty printed '$C3'"
expect_exit 0 "$DVT" rev-parse HEAD~1
assert_eq "$(cat "$OUT")" "$C2" "parent of the empty commit"

# --- branches
expect_exit 0 "$DVT" branch feature "$C1"
expect_exit 0 "$DVT" branch other
expect_exit 0 "$DVT" branch
printf '  feature %s\n* main %s\n  other %s\n' "$C1" "$C3" "$C3" | diff -u - "$OUT" || fail "branch list"
expect_exit 0 "$DVT" branch --json
assert_json 'j == {"branches": [{"name": "feature", "commit": "'"$C1"'", "current": False}, {"name": "main", "commit": "'"$C3"'", "current": True}, {"name": "other", "commit": "'"$C3"'", "current": False}]}'
expect_exit 6 "$DVT" branch feature
one_error_line
expect_exit 0 "$DVT" checkout feature
assert_same_tree "$T/d1" "$R" "work tree on branch feature"
expect_exit 0 "$DVT" status
assert_grep '^On branch feature' "$OUT"
printf 'feature work\n' >feature.txt
C4=$(commit_id "on feature")
expect_exit 0 "$DVT" rev-parse feature
assert_eq "$(cat "$OUT")" "$C4" "feature advanced"
expect_exit 0 "$DVT" rev-parse main
assert_eq "$(cat "$OUT")" "$C3" "main did not move"
expect_exit 6 "$DVT" branch -d feature
one_error_line
expect_exit 0 "$DVT" checkout main
[ ! -e feature.txt ] || fail "checkout main left feature.txt"
expect_exit 0 "$DVT" branch -d feature
expect_exit 0 "$DVT" branch -d other
expect_exit 0 "$DVT" branch --json
assert_json '[b["name"] for b in j["branches"]] == ["main"]'
expect_exit 4 "$DVT" branch -d feature
one_error_line
expect_exit 4 "$DVT" checkout feature
one_error_line
expect_exit 0 "$DVT" fsck
ok
