#!/usr/bin/env bash
# Commits carry their chunking parameters (format 2, docs/format.md "Chunking", issue #15 item 6): a clone of a
# repository made with `init --chunk-avg 65536`, fetched by `dvt clone` from a real `dvt serve` on loopback, shows a
# clean status, takes the origin's parameters, and the next pull, checkout and commit work (before format 2 the clone
# cut files with the defaults: its files showed as modified and the next pull/checkout exited 6). A repository of
# format 1 writes version-1 commits and becomes format 2 when it pulls a version-2 commit.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
expect_exit 0 "$DVT" init -q --chunk-avg 65536 "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)
expect_exit 0 "$DVT" --json show "$V1"
assert_json 'j["format"] == 2 and j["chunker"] == {"min": 16384, "avg": 65536, "max": 262144, "tensors": True}'
head -n 1 ".dvt/commits/$V1" | grep -qx 'dvt-commit 2' || fail "the commit file does not start with 'dvt-commit 2'"
grep -qx "chunker 16384 65536 262144 safetensors" ".dvt/commits/$V1" || fail "the commit file has no chunker line"
grep -Eq '^[[:space:]]*format = 2$' .dvt/config || fail "a new repository is not format 2: $(cat .dvt/config)"

start_serve "$SRC" "$T/serve.json"

# --- the clone: clean, with the origin's parameters
cd "$T"
expect_exit 0 "$DVT" --json clone "$V1" "$T/clone" --peer "$PEER" --listen 127.0.0.3 --timeout 60
tree_digest "$SRC" >"$T/v1.digest"
assert_same_tree "$T/v1.digest" "$T/clone" "the clone of v1"
cd "$T/clone"
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"] and j["changes"] == [] and j["head"] == "'"$V1"'"'
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "" "status --short of the fresh clone"
expect_exit 0 "$DVT" config chunker.avg
assert_eq "$(cat "$OUT")" "65536" "the clone's chunker.avg"
expect_exit 0 "$DVT" verify --json
assert_json 'j["ok"]'
# nothing changed, so nothing to commit (the clone cuts its files as the origin did)
expect_exit 13 "$DVT" commit -m "nothing"

# --- v2 on the origin: the clone pulls it (fast-forward, no conflict), checks out v1 and back
cd "$SRC"
gen_bytes 4096 v2-patch | dd of=data/raw/blob.bin bs=4096 seek=300 conv=notrunc status=none
printf 'added in v2\n' >docs/v2.txt
V2=$(commit_id v2)
cd "$T/clone"
expect_exit 0 "$DVT" --json pull "$V2" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"$V2"'" and j["fast_forward"] and j["branch"] == "main"'
tree_digest "$SRC" >"$T/v2.digest"
assert_same_tree "$T/v2.digest" "$T/clone" "the clone after pulling v2"
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"]'
expect_exit 0 "$DVT" checkout "$V1"
assert_same_tree "$T/v1.digest" "$T/clone" "the clone checked out at v1"
expect_exit 0 "$DVT" checkout main
assert_same_tree "$T/v2.digest" "$T/clone" "the clone back on main"

# --- a commit in the clone keeps the parameters: the 3 MiB blob, re-read (touched), cuts into the origin's chunks
printf 'made in the clone\n' >docs/clone.txt
touch -d '2001-01-01' data/raw/blob.bin
expect_exit 0 "$DVT" --json commit -m v3
assert_json 'j["format"] == 2 and j["chunker"]["avg"] == 65536 and j["parents"] == ["'"$V2"'"]'
assert_json 'j["stats"]["files_hashed"] >= 2 and j["stats"]["chunks_new"] == 1 and j["stats"]["bytes_new"] == 18'
expect_exit 0 "$DVT" fsck --json
assert_json 'j["ok"]'

# --- a format-1 repository (as an older dvt made it) writes version-1 commits, and becomes format 2 when it pulls a
#     version-2 commit; a version-1 commit is compared with the repository's own parameters
OLD=$T/old
new_repo "$OLD"
sed -i 's/^\([[:space:]]*format = \)2$/\11/' "$OLD/.dvt/config"
grep -Eq '^[[:space:]]*format = 1$' "$OLD/.dvt/config" || fail "could not make a format-1 repository"
printf 'old repository\n' >"$OLD/old.txt"
cd "$OLD"
O1=$(commit_id old)
head -n 1 ".dvt/commits/$O1" | grep -qx 'dvt-commit 1' || fail "a format-1 repository wrote a version-2 commit"
! grep -q '^chunker ' ".dvt/commits/$O1" || fail "a version-1 commit has a chunker line"
expect_exit 0 "$DVT" --json show "$O1"
assert_json 'j["format"] == 1 and "chunker" not in j'
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"]'
expect_exit 0 "$DVT" --json pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
grep -Eq '^[[:space:]]*format = 2$' .dvt/config || fail "pulling a version-2 commit left the repository at format 1"
assert_same_tree "$T/v1.digest" "$OLD" "the format-1 repository after pulling v1"
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"]'
expect_exit 0 "$DVT" fsck
expect_exit 0 "$DVT" checkout --force "$O1"
assert_eq "$(cat old.txt)" "old repository" "the version-1 commit checked out after the upgrade"

cd "$T"
stop_serve "$SERVE_PID" "$T/serve.json"
ok
