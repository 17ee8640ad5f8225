#!/usr/bin/env bash
# Lazy reads through a version's locator (#18; docs/transport.md, "Lazy reads from the swarm"): `dvt mount COMMIT
# --peer` of a version of 6,000 small files in 30 directories fetches, before any read, the locator and the root tree
# only: fewer bytes than a third of the version's pack indexes (a commit without a locator, `pack.locator 0`, moves at
# least its indexes). Reading one directory through the mount gives its exact bytes and moves less than the indexes,
# trees and file objects of the whole version; the whole mount's tree digest is the version's. Every process stopped
# by PID (lib.sh).
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MNT=$T/mnt
fuse_mountpoint "$MNT"

# make_dirs DIR: 30 directories of 200 files of 1-2 KiB (random bytes)
make_dirs() {
    "${PY_FAST[@]}" - "$1" <<'PY'
import os, random, sys
root = sys.argv[1]
r = random.Random(194)
for d in range(30):
    p = os.path.join(root, "d%02d" % d)
    os.makedirs(p, exist_ok=True)
    for f in range(200):
        with open(os.path.join(p, "f%03d.bin" % f), "wb") as fh:
            fh.write(r.randbytes(1024 + r.randrange(1024)))
PY
}
SRC=$T/src
new_repo "$SRC"
"$DVT" -C "$SRC" config pack.size 1048576  # several data packs: a directory's chunks lie in one or two of them
make_dirs "$SRC"
cd "$SRC"
V1=$(commit_id v1)
grep -q "^locator " "$SRC/.dvt/commits/$V1" || fail "the commit names no locator"
tree_digest "$SRC" >"$T/v1.digest"
# the bytes of the version's pack indexes (each pack line: pack ID LENGTH INDEX_OFFSET; not the locator's pack)
LP=$(sed -n 's/^locator [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$SRC/.dvt/commits/$V1")
INDEXES=$(awk -v lp="$LP" '$1 == "pack" && $2 != lp { s += $3 - $4 } END { print s }' "$SRC/.dvt/commits/$V1")
[ "$INDEXES" -gt 400000 ] || fail "the version's indexes are $INDEXES bytes: too few objects for this test"
# the same files committed without a locator
NOLOC=$T/noloc
new_repo "$NOLOC"
make_dirs "$NOLOC"
"$DVT" -C "$NOLOC" config pack.size 1048576
"$DVT" -C "$NOLOC" config pack.locator 0
V0=$(cd "$NOLOC" && commit_id v1)
grep -q "^locator " "$NOLOC/.dvt/commits/$V0" && fail "pack.locator 0 wrote a locator"

start_serve "$SRC" "$T/seed.json" 127.0.0.2:0
SEED=$PEER SEED_PID=$SERVE_PID
start_serve "$NOLOC" "$T/seed0.json" 127.0.0.4:0
SEED0=$PEER SEED0_PID=$SERVE_PID

# mount_stopped REPO REV PEER [READ_DIR]: a mount of REV from PEER; reads READ_DIR (if given) and checks it against
# the source; then SIGTERM; sets MOVED (bytes_downloaded)
mount_stopped() {
    local repo=$1 rev=$2 peer=$3 dir=${4:-}
    start_mount "$repo" "$rev" --peer "$peer" --listen 127.0.0.3 --timeout 30
    if [ -n "$dir" ]; then
        (cd "$SRC" && tree_digest "$dir") >"$T/dir.digest"
        (cd "$MNT" && tree_digest "$dir") | diff -u "$T/dir.digest" - || fail "$dir through the mount differs"
    fi
    stop_mount
    assert_json 'j["read_errors"] == 0' "$T/mount.stop"
    MOVED=$(json_get 'j["bytes_downloaded"]' "$T/mount.stop")
}

# --- before any read: the locator and the root tree, not the indexes, trees and file objects of the version
new_repo "$T/a"
mount_stopped "$T/a" "$V1" "$SEED"
echo "  with a locator: $MOVED bytes before any read (the version's indexes: $INDEXES bytes)" >&2
[ "$MOVED" -lt $((INDEXES / 3)) ] || fail "a mount of a version with a locator moved $MOVED bytes before any read"
new_repo "$T/b"
mount_stopped "$T/b" "$V0" "$SEED0"
echo "  without a locator: $MOVED bytes before any read" >&2
[ "$MOVED" -ge "$INDEXES" ] || fail "a mount without a locator moved $MOVED bytes before any read, less than the indexes"
ALL=$MOVED

# --- one directory read through the mount: its exact bytes; its metadata and the indexes of the packs holding its
# chunks, not the whole version's (at most half of what a mount without a locator moves before any read)
new_repo "$T/c"
mount_stopped "$T/c" "$V1" "$SEED" d17
echo "  with a locator: $MOVED bytes to read d17 (without: $ALL before any read)" >&2
[ "$MOVED" -lt $((ALL / 2)) ] || fail "reading one directory moved $MOVED bytes, not less than half the version's metadata ($ALL)"
# what it left is a consistent repository: the named packs partial, the rest not fetched
expect_exit 0 "$DVT" -C "$T/c" --json fsck
assert_json 'j["ok"] and j["problems"] == [] and j["objects_not_fetched"] > 0'


# --- the whole version through a mount with the locator: every byte the committed one
new_repo "$T/d"
bg "$DVT" -C "$T/d" --json mount "$V1" "$MNT" --peer "$SEED" --listen 127.0.0.3 --timeout 30 >"$T/m.json" 2>"$T/m.err"
MPID=$BG_PID
for i in $(seq 1 600); do [ -s "$T/m.json" ] && break; sleep 0.05; done
mountpoint -q "$MNT" || { cat "$T/m.err" >&2; fail "the mount did not appear"; }
assert_same_tree "$T/v1.digest" "$MNT" "the lazy mount of a version read through its locator"
kill -TERM "$MPID"
wait_bg "$MPID"
[ "$BG_STATUS" = 0 ] || fail "dvt mount exited $BG_STATUS after SIGTERM"
stop_serve "$SEED0_PID" "$T/seed0.json"
stop_serve "$SEED_PID" "$T/seed.json"
ok
