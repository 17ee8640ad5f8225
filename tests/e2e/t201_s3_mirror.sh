#!/usr/bin/env bash
# S3-compatible mirrors (#20; transport/s3.hpp, docs/transport.md "HTTP mirrors"): `dvt push --mirror s3://BUCKET/PREFIX
# --s3-endpoint URL` uploads commits, packs and .torrent files to s3rver (an S3 test server from npm, installed by
# scripts/setup.sh) with signed PUTs, each read back (size, ETag = MD5). A clone from the bucket's URL alone, with no
# dvt process running, is byte for byte the original; a second push uploads nothing; a push after a partial upload
# (objects missing from the bucket, as a push killed midway leaves it) uploads exactly the missing ones; a pull of a
# newer version from the bucket fast-forwards; a push killed midway (SIGKILL) and run again uploads only the packs the
# bucket lacks. An unknown access key is refused (exit 12, S3's error code in the
# line), missing credentials are a usage error (2), and a bucket serving a wrong byte is refused. s3rver does not
# check SigV4 signatures themselves (only the key id): the signing is libcurl's. Loopback only; s3rver is stopped by
# PID (lib.sh).
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
S3RVER=${DVT_S3RVER:-/opt/dvt-test/s3rver/node_modules/.bin/s3rver}
[ -x "$S3RVER" ] || fail "s3rver is required at $S3RVER (scripts/setup.sh installs it from npm)"

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"

PORT=$(free_port 127.0.0.1)
mkdir -p "$T/s3data"
bg "$S3RVER" -d "$T/s3data" -a 127.0.0.1 -p "$PORT" -s --configure-bucket bkt
S3_PID=$BG_PID
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
EP=http://127.0.0.1:$PORT
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1

# the first push uploads everything; a second uploads nothing
expect_exit 0 "$DVT" --json push --mirror s3://bkt/datasets/one --s3-endpoint "$EP"
assert_json 'j["mirror"]["packs_written"] >= 2 and j["mirror"]["commits_written"] == 1 and j["mirror"]["path"] == "s3://bkt/datasets/one"'
[ -n "$(find "$T/s3data/bkt/datasets/one/packs" -name '*.pack._S3rver_object')" ] || fail "no pack reached the bucket"
expect_exit 0 "$DVT" --json push --mirror s3://bkt/datasets/one --s3-endpoint "$EP"
assert_json 'j["mirror"]["packs_written"] == 0 and j["mirror"]["commits_written"] == 0 and j["mirror"]["bytes_written"] == 0'

# a clone from the bucket's URL alone
expect_exit 0 "$DVT" --json clone "$V1" "$T/c1" --mirror "$EP/bkt/datasets/one/" --listen 127.0.0.50 --timeout 30
assert_same_tree "$T/v1.digest" "$T/c1" "the clone from the bucket"
expect_exit 0 "$DVT" -C "$T/c1" --json fsck
assert_json 'j["ok"]'

# v2; a partial upload (what a push killed midway leaves: some packs there, the commit file not yet) is completed by
# the next push, which uploads only what is missing
gen_bytes $((700 * 1024)) v2-a >data/raw/new-a.bin
gen_bytes $((300 * 1024)) v2-b >data/raw/new-b.bin
V2=$(commit_id v2)
tree_digest "$SRC" >"$T/v2.digest"
expect_exit 0 "$DVT" --json push --mirror s3://bkt/datasets/one --s3-endpoint "$EP"
NEW=$(json_get 'j["mirror"]["packs_written"]')
[ "$NEW" -ge 1 ] || fail "v2 wrote no pack"
NEWC=$(json_get 'j["mirror"]["commits_written"]')
# one of the packs v2 names (not v1's locator pack, which v2 does not name: a push of v2 leaves it alone)
ONE_KEY=$(awk '/^$/ {exit} $1 == "pack" {print $2 ".pack"; exit}' "$SRC/.dvt/commits/$V2")
ONE="$T/s3data/bkt/datasets/one/packs/$ONE_KEY._S3rver_object"
[ -e "$ONE" ] || fail "v2's pack $ONE_KEY is not in the bucket"
rm -f "$T"/s3data/bkt/datasets/one/packs/"$ONE_KEY"._S3rver_*
rm -rf "$T/s3data/bkt/datasets/one/commits/$V2"
expect_exit 0 "$DVT" --json push --mirror s3://bkt/datasets/one --s3-endpoint "$EP"
assert_json 'j["mirror"]["packs_written"] == 1 and j["mirror"]["commits_written"] == 1'
[ -e "$ONE" ] || fail "the missing pack was not uploaded again"
[ "$NEWC" = 1 ] || fail "v2's push wrote $NEWC commit files, expected 1"
# the clone of v1 pulls v2 from the bucket and fast-forwards
expect_exit 0 "$DVT" -C "$T/c1" --json pull "$V2" --mirror "$EP/bkt/datasets/one/" --listen 127.0.0.50 --timeout 30
assert_json 'j["fast_forward"]'
assert_same_tree "$T/v2.digest" "$T/c1" "v2 pulled from the bucket"

# a push killed midway (SIGKILL after its first pack landed), then run again: the second run uploads exactly the packs
# the bucket does not hold whole, nothing twice, and the bucket then serves a clone
K=$T/killed
"$DVT" init -q --pack-size 1048576 "$K" >/dev/null
gen_bytes $((12 * 1024 * 1024)) killed-data >"$K/big.bin"
VK=$("$DVT" -C "$K" commit -q -m many-packs)
tree_digest "$K" >"$T/vk.digest"
TOTAL=$(ls "$K"/.dvt/packs/*.pack | wc -l)
[ "$TOTAL" -ge 8 ] || fail "only $TOTAL packs for the kill test"
bg "$DVT" -C "$K" push --mirror s3://bkt/killed --s3-endpoint "$EP"
PUSH_PID=$BG_PID
for _ in $(seq 1 500); do
    [ -n "$(find "$T/s3data/bkt/killed" -name '*.pack._S3rver_object' 2>/dev/null)" ] && break
    kill -0 "$PUSH_PID" 2>/dev/null || break
    sleep 0.01
done
kill -KILL "$PUSH_PID" 2>/dev/null || true
wait_bg "$PUSH_PID"
WHOLE=0  # packs the bucket holds whole after the kill
for p in "$K"/.dvt/packs/*.pack; do
    o="$T/s3data/bkt/killed/packs/$(basename "$p")._S3rver_object"
    [ -f "$o" ] && [ "$(stat -c %s "$o")" = "$(stat -c %s "$p")" ] && WHOLE=$((WHOLE + 1))
done
echo "  killed push: $WHOLE of $TOTAL packs in the bucket" >&2
expect_exit 0 "$DVT" -C "$K" --json push --mirror s3://bkt/killed --s3-endpoint "$EP"
assert_json 'j["mirror"]["packs_written"] == '"$((TOTAL - WHOLE))"
expect_exit 0 "$DVT" --json clone "$VK" "$T/ck" --mirror "$EP/bkt/killed/" --listen 127.0.0.50 --timeout 30
assert_same_tree "$T/vk.digest" "$T/ck" "the clone from the bucket of the resumed push"

# refusals
AWS_ACCESS_KEY_ID=NOSUCHKEY expect_exit 12 "$DVT" push --mirror s3://bkt/datasets/two --s3-endpoint "$EP"
one_error_line "$ERR"
assert_grep "InvalidAccessKeyId" "$ERR"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DVT" push --mirror s3://bkt/x --s3-endpoint "$EP" >"$T/o" 2>"$T/e" && fail "a push without credentials succeeded"
one_error_line "$T/e"
assert_grep "no S3 credentials" "$T/e"
expect_exit 2 "$DVT" push --mirror "s3://bkt/../x" --s3-endpoint "$EP"
expect_exit 2 "$DVT" push --mirror s3://bkt/x --s3-endpoint "ftp://127.0.0.1:$PORT"

# a bucket serving a wrong byte in a pack: the clone is refused
BIG=$(ls -S "$T"/s3data/bkt/datasets/one/packs/*.pack._S3rver_object | head -1)
flip_bytes "$BIG" 50000 1 0x01
rc=0
"$DVT" clone "$V1" "$T/c2" --mirror "$EP/bkt/datasets/one/" --listen 127.0.0.50 --timeout 8 >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" != 0 ] || fail "a clone from a bucket with a wrong byte succeeded"
one_error_line "$T/e"
kill -TERM "$S3_PID"
wait_bg "$S3_PID"
ok
