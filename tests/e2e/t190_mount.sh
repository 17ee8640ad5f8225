#!/usr/bin/env bash
# dvt mount (#18; mount/mount.hpp): a read-only FUSE mount of a version that is not checked out. Every file, mode,
# symlink and directory of the version appears with its exact bytes (tree digest equal to the version's), reads at
# offsets give the committed bytes, writes are refused (read-only file system), the mount ends cleanly on SIGTERM
# (unmounted, exit 0, a JSON line saying what was read). A pack damaged after the commit makes reads of the chunks it
# holds fail with EIO, never give other bytes. A mount point that does not exist is exit 4. The mount process is
# stopped by PID (lib.sh), also when the test fails; a mount left behind is unmounted at exit.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MNT=$T/mnt
fuse_mountpoint "$MNT"

REPO=$T/repo
new_repo "$REPO"
make_tree "$REPO"
cd "$REPO"
V1=$(commit_id v1)
tree_digest "$REPO" >"$T/v1.digest"
# version 2 changes, adds and removes files; the mount of v1 must not see any of it
gen_bytes $((2 * 1024 * 1024)) v2-blob >"$REPO/data/raw/blob.bin"
rm "$REPO/docs/notes/n1.txt"
printf 'new in v2\n' >"$REPO/docs/new.txt"
V2=$(commit_id v2)


# --- the older version, while the work tree holds v2
start_mount "$REPO" "$V1"
assert_json 'j["commit"] == "'"$V1"'"' "$T/mount.json"
tree_digest "$MNT" >"$T/mnt.digest"
assert_same_tree "$T/v1.digest" "$MNT" "the mount of v1"
[ -x "$MNT/bin/run.sh" ] || fail "the executable bit is lost in the mount"
assert_eq "$(readlink "$MNT/bin/readme-link")" "../docs/readme.txt" "symlink target in the mount"
[ -e "$MNT/docs/new.txt" ] && fail "the mount of v1 shows a file of v2"
# reads at offsets: the committed bytes of v1's blob (regenerated here)
gen_bytes $((3 * 1024 * 1024 + 12345)) blob-seed >"$T/blob.v1"
for off in 0 1 65535 1000003 3157000; do
    assert_eq "$(dd if="$MNT/data/raw/blob.bin" bs=1 skip="$off" count=4096 status=none | sha256sum)" \
        "$(dd if="$T/blob.v1" bs=1 skip="$off" count=4096 status=none | sha256sum)" "4 KiB at offset $off"
done
# read-only
(echo x >"$MNT/docs/readme.txt") 2>"$T/w.err" && fail "a write into the mount succeeded"
assert_grep "Read-only file system" "$T/w.err"
touch "$MNT/newfile" 2>/dev/null && fail "a file was created in the mount"
stop_mount
assert_json 'j["unmounted"] == "'"$MNT"'" and j["bytes_read"] >= 3 * 1024 * 1024 and j["read_errors"] == 0' "$T/mount.stop"

# --- a branch name works too, and names its commit
start_mount "$REPO" main
assert_json 'j["commit"] == "'"$V2"'"' "$T/mount.json"
assert_eq "$(cat "$MNT/docs/new.txt")" "new in v2" "a file of v2 through the mount of main"
stop_mount

# --- a damaged pack: reads of what it holds fail with EIO, never give other bytes
for p in "$REPO"/.dvt/packs/*.pack; do chmod u+w "$p"; done
BIG_PACK=$(ls -S "$REPO"/.dvt/packs/*.pack | head -1)
flip_bytes "$BIG_PACK" 200000 4096 0xFF
start_mount "$REPO" "$V1"
if cat "$MNT/data/raw/blob.bin" >"$T/read.out" 2>"$T/read.err"; then
    cmp -s "$T/read.out" "$T/blob.v1" || fail "a read through a damaged pack gave other bytes without an error"
    fail "a read through a damaged pack succeeded (the damage missed the blob?)"
fi
assert_grep "Input/output error" "$T/read.err"
# what the read returned before the error is a prefix of the true bytes
head -c "$(stat -c %s "$T/read.out")" "$T/blob.v1" | cmp -s - "$T/read.out" || fail "the bytes before EIO are not the committed ones"
stop_mount
assert_json 'j["read_errors"] > 0 and "damaged" in j["last_error"]' "$T/mount.stop"

# --- bad mount points
expect_exit 4 "$DVT" -C "$REPO" mount "$V1" "$T/nope"
one_error_line "$ERR"
expect_exit 4 "$DVT" -C "$REPO" mount deadbeefdeadbeef "$MNT"
ok
