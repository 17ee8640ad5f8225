#!/usr/bin/env bash
# Checkout never destroys work it was not asked to destroy, never writes through symlinks, and round-trips the
# executable bit, symlinks (stored as links, never followed), empty files and directory removal.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
OUTSIDE=$T/outside
mkdir -p "$R" "$OUTSIDE/dir"
printf 'outside secret\n' >"$OUTSIDE/secret.txt"
printf 'outside file in a directory\n' >"$OUTSIDE/dir/f1"
printf 'another outside file\n' >"$OUTSIDE/dir/other"
mkfifo "$OUTSIDE/fifo"
tree_digest "$OUTSIDE" >"$T/outside.digest"
listing "$OUTSIDE" >"$T/outside.listing"
outside_untouched() {
    assert_same_tree "$T/outside.digest" "$OUTSIDE" "the directory outside the repository ($1)"
    listing "$OUTSIDE" | diff -u "$T/outside.listing" - >&2 || fail "files outside the repository changed ($1)"
}

new_repo "$R"
cd "$R"
make_tree "$R"
mkdir -p sub
printf 'tracked in sub\n' >sub/f1
printf 'second file in sub\n' >sub/f2
# symlinks pointing outside the repository: to a file, a directory and a FIFO. If dvt followed any of them it
# would read the secret, recurse into dir/ or block on the FIFO (commands run under a timeout).
ln -s "$OUTSIDE/secret.txt" link-out-file
ln -s "$OUTSIDE/dir" link-out-dir
ln -s "$OUTSIDE/fifo" link-out-fifo
ln -s does/not/exist link-dangling
expect_exit 0 timeout 60 "$DVT" commit -m A
A=$(cat "$OUT")
tree_digest "$R" >"$T/dA"
outside_untouched "commit A"

expect_exit 0 "$DVT" ls-tree -r --json HEAD
assert_json '{e["path"]: (e["kind"], e.get("target")) for e in j["entries"] if e["path"].startswith("link-")} == {"link-out-file": ("link", "'"$OUTSIDE"'/secret.txt"), "link-out-dir": ("link", "'"$OUTSIDE"'/dir"), "link-out-fifo": ("link", "'"$OUTSIDE"'/fifo"), "link-dangling": ("link", "does/not/exist")}'
assert_json 'not any(e["path"].startswith("link-out-dir/") for e in j["entries"])'
assert_json '[e["kind"] for e in j["entries"] if e["path"] == "bin/run.sh"] == ["exec"]'
assert_json '[(e["kind"], e["size"]) for e in j["entries"] if e["path"] == "data/empty.dat"] == [("file", 0)]'
expect_exit 0 timeout 60 "$DVT" status --short
[ ! -s "$OUT" ] || fail "status not clean right after commit A: $(cat "$OUT")"

# --- commit B: modify a file, add files (one in a new nested directory), drop the symlinks, flip exec bits
printf 'B version\n' >docs/readme.txt
printf 'new in B\n' >new.txt
mkdir -p newdir/deep
printf 'deep file\n' >newdir/deep/file
chmod -x bin/run.sh
chmod +x docs/notes/n1.txt
rm link-out-file link-out-dir link-out-fifo link-dangling
: >docs/empty-in-B
expect_exit 0 timeout 60 "$DVT" commit -m B
B=$(cat "$OUT")
tree_digest "$R" >"$T/dB"
expect_exit 0 "$DVT" show --json
assert_json 'sorted((c["path"], c["status"]) for c in j["changes"]) == sorted([("bin/run.sh", "modified"), ("docs/notes/n1.txt", "modified"), ("docs/readme.txt", "modified"), ("new.txt", "added"), ("newdir/deep/file", "added"), ("docs/empty-in-B", "added"), ("link-out-file", "deleted"), ("link-out-dir", "deleted"), ("link-out-fifo", "deleted"), ("link-dangling", "deleted")])'

# --- round trips: A then B then A; exec bits, symlinks, empty files all come back; emptied directories go away
expect_exit 0 timeout 60 "$DVT" checkout "$A"
assert_same_tree "$T/dA" "$R" "work tree after checkout A"
[ ! -e newdir ] || fail "checkout A left the emptied directory newdir"
[ -x bin/run.sh ] || fail "bin/run.sh lost its executable bit"
[ ! -x docs/notes/n1.txt ] || fail "docs/notes/n1.txt is executable in A"
[ -L link-out-file ] && [ "$(readlink link-out-file)" = "$OUTSIDE/secret.txt" ] || fail "link-out-file is not the original symlink"
[ -L link-out-dir ] && [ "$(readlink link-out-dir)" = "$OUTSIDE/dir" ] || fail "link-out-dir is not the original symlink"
[ -L link-dangling ] && [ "$(readlink link-dangling)" = does/not/exist ] || fail "dangling symlink not restored"
[ -f data/empty.dat ] && [ ! -s data/empty.dat ] || fail "empty file not restored as an empty file"
outside_untouched "checkout A"
expect_exit 0 timeout 60 "$DVT" checkout main
assert_same_tree "$T/dB" "$R" "work tree after checkout main (B)"
[ ! -e link-out-file ] && [ ! -L link-out-file ] || fail "checkout B left link-out-file"
[ -f docs/empty-in-B ] && [ ! -s docs/empty-in-B ] || fail "docs/empty-in-B not an empty file"
outside_untouched "checkout B"

# --- refuse to overwrite a modified tracked file (exit 6, nothing changed), --force discards
printf 'uncommitted edit\n' >docs/readme.txt
tree_digest "$R" >"$T/before"
expect_exit 6 "$DVT" checkout "$A"
one_error_line
assert_grep 'docs/readme.txt' "$ERR"
assert_same_tree "$T/before" "$R" "work tree after a refused checkout"
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$B" "HEAD after a refused checkout"
expect_exit 0 "$DVT" checkout --force "$A"
assert_same_tree "$T/dA" "$R" "work tree after checkout --force A"
outside_untouched "checkout --force A"

# a locally deleted file is not "uncommitted work" in the way: restoring it needs no --force
rm docs/notes/n2.txt
expect_exit 0 "$DVT" checkout main
assert_same_tree "$T/dB" "$R" "work tree after checkout main with a deleted file"

# --- refuse to overwrite an untracked file in the way (B has new.txt, A does not)
expect_exit 0 "$DVT" checkout "$A"
[ ! -e new.txt ] || fail "new.txt should not exist in A"
printf 'my precious untracked file\n' >new.txt
tree_digest "$R" >"$T/before"
expect_exit 6 "$DVT" checkout main
one_error_line
assert_grep 'new.txt' "$ERR"
assert_same_tree "$T/before" "$R" "work tree after a refused checkout (untracked file)"
# ... and an untracked file standing where B needs a directory
rm new.txt
printf 'a file named like a directory\n' >newdir
tree_digest "$R" >"$T/before"
expect_exit 6 "$DVT" checkout main
one_error_line
assert_grep 'newdir' "$ERR"
assert_same_tree "$T/before" "$R" "work tree after a refused checkout (file in the way of a directory)"
printf 'my precious untracked file\n' >new.txt
expect_exit 0 "$DVT" checkout --force main
assert_same_tree "$T/dB" "$R" "work tree after checkout --force main"

# --- deleting a file whose content was changed is refused too (A removes new.txt; here it was edited)
printf 'edited new.txt\n' >new.txt
expect_exit 6 "$DVT" checkout "$A"
one_error_line
cmp -s new.txt <(printf 'edited new.txt\n') || fail "refused checkout changed new.txt"
expect_exit 0 "$DVT" checkout --force main

# --- exec bit alone is a change; it round-trips through a commit
chmod +x docs/readme.txt
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "M docs/readme.txt" "status after chmod +x"
C=$(commit_id "exec bit only")
tree_digest "$R" >"$T/dC"
expect_exit 0 "$DVT" ls-tree -r HEAD
assert_grep '^exec [0-9a-f]{64} [0-9]+	docs/readme.txt$' "$OUT"
expect_exit 0 "$DVT" checkout "$B"
[ ! -x docs/readme.txt ] || fail "exec bit not removed by checkout B"
expect_exit 0 "$DVT" checkout "$C"
[ -x docs/readme.txt ] || fail "exec bit not restored by checkout C"
expect_exit 0 "$DVT" checkout main

# --- a symlinked directory in the work tree is never written through
# In A, sub/ is a real tracked directory. Replace it by a symlink to an outside directory holding a file of the
# same name (sub/f1) with different content, then check A out.
expect_exit 0 "$DVT" checkout "$A"
rm -r sub
ln -s "$OUTSIDE/dir" sub
expect_exit 6 "$DVT" checkout "$A"
one_error_line
outside_untouched "refused checkout over a symlinked directory"
[ -L sub ] || fail "a refused checkout replaced the symlink"
expect_exit 0 "$DVT" checkout --force "$A"
outside_untouched "checkout --force over a symlinked directory"
[ -d sub ] && [ ! -L sub ] || fail "sub is not a real directory after checkout --force"
assert_same_tree "$T/dA" "$R" "work tree after checkout --force A over a symlinked sub/"

# the same, when the symlinked directory is deeper and the tree only needs a file below it
expect_exit 0 "$DVT" checkout main
rm -r newdir/deep
ln -s "$OUTSIDE/dir" newdir/deep
expect_exit 0 "$DVT" checkout --force "$A"
expect_exit 0 "$DVT" checkout --force main
outside_untouched "checkout --force over a symlinked nested directory"
[ -d newdir/deep ] && [ ! -L newdir/deep ] || fail "newdir/deep is not a real directory"
assert_same_tree "$T/dC" "$R" "work tree after checkout --force main over a symlinked newdir/deep"

# a path checkout through a symlinked directory is refused or done without following it
rm -r docs/notes
ln -s "$OUTSIDE/dir" docs/notes
"$DVT" checkout --force HEAD -- docs/notes/n1.txt >"$OUT" 2>"$ERR" || true
outside_untouched "path checkout over a symlinked directory"
expect_exit 0 "$DVT" checkout --force main
outside_untouched "final checkout"
[ -d docs/notes ] && [ ! -L docs/notes ] || fail "docs/notes is not a real directory"
assert_same_tree "$T/dC" "$R" "work tree at the end"

expect_exit 0 "$DVT" fsck
ok
