#!/usr/bin/env bash
# dvt hooks in .dvt/hooks: pre-commit sees the changed paths and can reject the commit (exit 11, nothing written:
# no commit, no pack, no temp file, HEAD unchanged); post-commit and post-checkout get the old and new commit and
# the paths; a failing post-* hook only warns; a non-executable hook is skipped with a warning; DVT_NO_HOOKS=1
# skips hooks. The two example hooks in docs/examples (JSONL schema, size limit) reject bad data and pass good data.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
EXAMPLES=$(cd "$(dirname "$0")/../../docs/examples" && pwd)
export HOOK_LOG=$T/hook.log

D=$T/d
new_repo "$D"
cd "$D"
mkdir data
printf '{"id": 1, "text": "a"}\n' >data/a.jsonl
printf 'keep\n' >data/keep.txt
V1=$(commit_id v1)
H=.dvt/hooks
mkdir -p "$H"

# --- pre-commit rejects: nothing is written
cat >"$H/pre-commit" <<'SH'
#!/bin/sh
{ echo "hook=$DVT_HOOK old=$DVT_OLD_COMMIT new=$DVT_NEW_COMMIT branch=$DVT_BRANCH msg=$DVT_COMMIT_MESSAGE cwd=$(pwd)"; cat; } >"$HOOK_LOG"
echo "pre-commit: rejected" >&2
exit 3
SH
chmod +x "$H/pre-commit"
printf '{"id": 2, "text": "b"}\n' >>data/a.jsonl
printf 'new\n' >data/b.txt
rm data/keep.txt
listing .dvt/packs >"$T/packs.before"
listing .dvt/commits >"$T/commits.before"
expect_exit 11 "$DVT" commit -m "v2 message"
one_error_line "$ERR" '^pre-commit: rejected$'
assert_grep 'pre-commit hook rejected the commit \(exit status 3\)' "$ERR"
assert_grep "^hook=pre-commit old=$V1 new= branch=main msg=v2 message cwd=$D\$" "$HOOK_LOG"
assert_eq "$(tail -n +2 "$HOOK_LOG")" "$(printf 'M data/a.jsonl\nA data/b.txt\nD data/keep.txt')" "pre-commit stdin"
assert_eq "$(cat .dvt/refs/heads/main)" "$V1" "main after a rejected commit"
listing .dvt/packs | diff "$T/packs.before" - || fail "a rejected commit changed .dvt/packs"
listing .dvt/commits | diff "$T/commits.before" - || fail "a rejected commit changed .dvt/commits"
[ -z "$(ls -A .dvt/tmp)" ] || fail "a rejected commit left temp files: $(ls -A .dvt/tmp)"
expect_exit 0 "$DVT" fsck
expect_exit 11 "$DVT" --json commit -m v2
assert_json 'j["error"]["kind"] == "hook_rejected" and j["error"]["exit_code"] == 11'
# DVT_NO_HOOKS=1 skips it (like git commit --no-verify); then undo that commit's effect on the test by a new base
DVT_NO_HOOKS=1 expect_exit 0 "$DVT" commit -m "v2 unchecked"
V2=$(cat "$OUT")

# --- hooks that run dvt: pre-commit may read (no lock needed), post-commit may write (lock released)
cat >"$H/pre-commit" <<'SH'
#!/bin/sh
dvt_bin=$DVT
"$dvt_bin" status --porcelain >"$HOOK_LOG.status" || exit 1
SH
cat >"$H/post-commit" <<'SH'
#!/bin/sh
{ echo "hook=$DVT_HOOK old=$DVT_OLD_COMMIT new=$DVT_NEW_COMMIT branch=$DVT_BRANCH"; cat; } >"$HOOK_LOG"
"$DVT" tag "after-$DVT_HOOK" "$DVT_NEW_COMMIT" || exit 7
exit 5
SH
chmod +x "$H/pre-commit" "$H/post-commit"
printf 'three\n' >data/c.txt
expect_exit 0 "$DVT" commit -m v3
V3=$(cat "$OUT")
assert_grep 'warning: the post-commit hook exited with status 5' "$ERR"
assert_eq "$(cat "$HOOK_LOG.status")" "A data/c.txt" "dvt status run by the pre-commit hook"
assert_eq "$(head -n 1 "$HOOK_LOG")" "hook=post-commit old=$V2 new=$V3 branch=main" "post-commit environment"
assert_eq "$(tail -n +2 "$HOOK_LOG")" "A data/c.txt" "post-commit stdin"
assert_eq "$(cat .dvt/refs/tags/after-post-commit)" "$V3" "tag made by the post-commit hook"
rm "$H/post-commit" "$H/pre-commit"

# --- post-checkout
cat >"$H/post-checkout" <<'SH'
#!/bin/sh
{ echo "old=$DVT_OLD_COMMIT new=$DVT_NEW_COMMIT branch=$DVT_BRANCH kind=$DVT_CHECKOUT_KIND"; cat; } >"$HOOK_LOG"
SH
chmod +x "$H/post-checkout"
expect_exit 0 "$DVT" checkout "$V1"
assert_eq "$(head -n 1 "$HOOK_LOG")" "old=$V3 new=$V1 branch= kind=tree" "post-checkout environment"
assert_eq "$(tail -n +2 "$HOOK_LOG" | sort)" "$(printf 'A data/keep.txt\nD data/b.txt\nD data/c.txt\nM data/a.jsonl')" "post-checkout stdin"
expect_exit 0 "$DVT" checkout main -- data/c.txt
assert_eq "$(head -n 1 "$HOOK_LOG")" "old=$V1 new=$V3 branch= kind=paths" "post-checkout for paths"
assert_eq "$(tail -n +2 "$HOOK_LOG")" "A data/c.txt" "post-checkout stdin for paths"
expect_exit 0 "$DVT" checkout -f main
chmod -x "$H/post-checkout"
rm -f "$HOOK_LOG"
expect_exit 0 "$DVT" checkout "$V2"
assert_grep 'hook was ignored because it is not executable' "$ERR"
[ ! -e "$HOOK_LOG" ] || fail "a non-executable hook ran"
expect_exit 0 "$DVT" checkout main
rm "$H/post-checkout"

# --- example hook: JSONL schema check
cp "$EXAMPLES/pre-commit-jsonl-schema" "$H/pre-commit"
printf '{"id": 3, "txt": "typo"}\n' >>data/a.jsonl
printf 'not json\n' >data/bad.jsonl
expect_exit 11 "$DVT" commit -m bad-jsonl
assert_grep "data/a.jsonl:3: missing key 'text'" "$ERR"
assert_grep 'data/bad.jsonl:1: not JSON' "$ERR"
assert_eq "$(cat .dvt/refs/heads/main)" "$V3" "main after the schema check rejected"
rm data/bad.jsonl
sed -i 's/"txt"/"text"/' data/a.jsonl
printf '{"id": 9, "text": 5}\n' >data/typed.jsonl
DVT_JSONL_SCHEMA='id:int,text:str' expect_exit 11 "$DVT" commit -m typed
assert_grep "data/typed.jsonl:1: key 'text' is not str" "$ERR"
rm data/typed.jsonl
expect_exit 0 "$DVT" commit -m good-jsonl
assert_grep '1 JSONL file\(s\) match the schema' "$ERR"

# --- example hook: size limit
cp "$EXAMPLES/pre-commit-size-limit" "$H/pre-commit"
gen_bytes 2000 big >data/big.bin
gen_bytes 500 small >data/small.bin
DVT_MAX_FILE_BYTES=1000 expect_exit 11 "$DVT" commit -m too-big
assert_grep 'data/big.bin is 2000 bytes, over the limit of 1000' "$ERR"
assert_no_grep 'small.bin' "$ERR"
DVT_MAX_FILE_BYTES=4096 expect_exit 0 "$DVT" commit -m fits
expect_exit 0 "$DVT" fsck
ok
