#!/usr/bin/env bash
# Format versions: a repository of an unknown format (3) is refused (exit 8) before anything is read or written; a
# pack whose header carries an unknown version is reported by fsck; a commit whose first line names an unknown format
# is refused as unsupported by every command that reads it.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
new_repo "$R"
cd "$R"
make_tree "$R"
C1=$(commit_id first)
printf 'x\n' >>docs/readme.txt
C2=$(commit_id second)
grep -Eq '^[[:space:]]*format = 2$' .dvt/config || fail ".dvt/config does not say 'format = 2': $(cat .dvt/config)"

# --- core.format = 3: every command refuses with exit 8, and nothing under .dvt (or in the work tree) changes
cp .dvt/config "$T/config.orig"
sed -i 's/^\([[:space:]]*format = \)2$/\13/' .dvt/config
grep -Eq '^[[:space:]]*format = 3$' .dvt/config || fail "could not set format = 3"
printf 'uncommitted\n' >>docs/readme.txt
sleep 0.05 # so that any write by dvt would show as a different mtime
listing .dvt >"$T/dvt.before"
tree_digest "$R" >"$T/work.before"
for cmd in "status" "status --short" "log" "log --oneline" "commit -m refused" "commit --allow-empty -m refused" \
    "checkout --force $C1" "checkout --force HEAD -- docs/readme.txt" "diff" "show" "branch" "branch newbranch" \
    "tag newtag" "tag" "ls-tree HEAD" "cat-object HEAD" "rev-parse HEAD" "fsck" "fsck --repair" "gc" \
    "config user.name" "config user.name someone"; do
    # shellcheck disable=SC2086
    expect_exit 8 "$DVT" $cmd
    one_error_line
    assert_grep 'format' "$ERR" "'dvt $cmd': the error does not mention the format"
    # shellcheck disable=SC2086
    expect_exit 8 "$DVT" --json $cmd
    assert_json 'j["error"]["kind"] == "unsupported" and j["error"]["exit_code"] == 8'
done
# also from a subdirectory and with -C
expect_exit 8 "$DVT" -C "$R/docs" status
(cd "$R/docs/notes" && expect_exit 8 "$DVT" log)
listing .dvt | diff -u "$T/dvt.before" - || fail "something under .dvt changed while the repository was refused"
assert_same_tree "$T/work.before" "$R" "work tree while the repository was refused"

# back to format 2: everything works again, nothing was lost
cp "$T/config.orig" .dvt/config
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "M docs/readme.txt" "status after restoring format 2"
expect_exit 0 "$DVT" fsck
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C2" "HEAD after restoring format 2"

# a format that is not even a number, or no format at all, is refused too (not silently accepted)
sed -i 's/^\([[:space:]]*format = \)2$/\1banana/' .dvt/config
expect_exit 8 "$DVT" status
one_error_line
cp "$T/config.orig" .dvt/config
grep -v 'format' "$T/config.orig" >.dvt/config
rc=0
"$DVT" status >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" = 5 ] || [ "$rc" = 8 ] || fail "a config without core.format: status exited $rc, expected 5 or 8"
one_error_line
cp "$T/config.orig" .dvt/config
expect_exit 0 "$DVT" checkout --force HEAD -- docs/readme.txt

# --- a commit of an unknown format ("dvt-commit 3", stored under its own id): reading it is unsupported (exit 8)
"$PY" - .dvt/commits "$C2" <<'PY' >"$T/c3.id"
import hashlib, os, sys
d, cid = sys.argv[1], sys.argv[2]
text = open(os.path.join(d, cid), "rb").read().replace(b"dvt-commit 2\n", b"dvt-commit 3\n", 1)
assert text.startswith(b"dvt-commit 3\n")
# the id: BEP 52 info-hash of the single-file torrent "dvt-commit" (docs/format.md, "Swarm identities")
blocks = [hashlib.sha256(text[i:i + 16384]).digest() for i in range(0, max(len(text), 1), 16384)] if text else []
n = 1
while n < len(blocks): n *= 2
layer = blocks + [bytes(32)] * (n - len(blocks))
while len(layer) > 1:
    layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
root = layer[0]
info = (b"d9:file treed10:dvt-commitd0:d6:lengthi%de11:pieces root32:" % len(text)) + root + \
       b"eee12:meta versioni2e4:name10:dvt-commit12:piece lengthi16384ee"
new_id = hashlib.sha256(info).hexdigest()
with open(os.path.join(d, new_id), "wb") as f:
    f.write(text)
print(new_id)
PY
C3=$(cat "$T/c3.id")
tree_digest "$R" >"$T/work.c3"
expect_exit 8 "$DVT" show "$C3"
one_error_line
assert_grep 'format' "$ERR" "show of a format-3 commit: the error does not mention the format"
expect_exit 8 "$DVT" checkout --force "$C3"
assert_same_tree "$T/work.c3" "$R" "work tree after a checkout of a format-3 commit was refused"
rm -f ".dvt/commits/$C3"

# --- a pack whose header version is unknown (3; 2 is a pack with delta records): fsck reports it (unsupported or corrupt), naming the pack
PACK=$(ls -S .dvt/packs/*.pack | head -n1)
PACK_ID=$(basename "$PACK" .pack)
chmod u+w "$PACK"
cp "$PACK" "$T/pack.orig"
"$PY" - "$PACK" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    head = f.read(16)
    assert head[:8] == b"DVTPACK\0" and struct.unpack_from("<I", head, 8)[0] == 1, head
    f.seek(8)
    f.write(struct.pack("<I", 3))
PY
rc=0
"$DVT" fsck >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" = 5 ] || [ "$rc" = 8 ] || { cat "$ERR" >&2; fail "fsck of a pack with version 3 exited $rc, expected 5 or 8"; }
one_error_line "$ERR" '^checked '
grep -q "$PACK_ID" "$OUT" "$ERR" || { cat "$OUT" "$ERR" >&2; fail "fsck does not name the pack with the unknown version"; }
# rebuilding the index must not silently accept (or drop) it either
rc=0
"$DVT" fsck --repair >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" = 5 ] || [ "$rc" = 8 ] || { cat "$ERR" >&2; fail "fsck --repair with a version-2 pack exited $rc, expected 5 or 8"; }
one_error_line "$ERR" '^checked '
grep -q "$PACK_ID" "$OUT" "$ERR" || { cat "$OUT" "$ERR" >&2; fail "fsck --repair does not name the pack with the unknown version"; }
cp "$T/pack.orig" "$PACK"
expect_exit 0 "$DVT" fsck --repair
expect_exit 0 "$DVT" fsck

# the same with the version in the footer
"$PY" - "$PACK" <<'PY'
import os, struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(-64, os.SEEK_END)
    foot = f.read(64)
    assert foot[:8] == b"DVTPIDX\0" and struct.unpack_from("<I", foot, 24)[0] == 1
    f.seek(-64 + 24, os.SEEK_END)
    f.write(struct.pack("<I", 3))
PY
rc=0
"$DVT" fsck >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" = 5 ] || [ "$rc" = 8 ] || fail "fsck of a pack with footer version 3 exited $rc, expected 5 or 8"
grep -q "$PACK_ID" "$OUT" "$ERR" || fail "fsck does not name the pack with the unknown footer version"
cp "$T/pack.orig" "$PACK"
chmod a-w "$PACK"
expect_exit 0 "$DVT" fsck
expect_exit 0 "$DVT" checkout --force "$C1"
expect_exit 0 "$DVT" checkout --force main
ok
