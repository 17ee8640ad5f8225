#!/usr/bin/env bash
# Lying peers (issue #15, item 1): a `dvt serve` whose files change under it after it started, so that what it sends
# fails verification or stops short. Three lies, each served to 10 pulls into fresh repositories:
#  * the commit file altered on the seeder (one byte);
#  * the largest pack truncated to half its length (the seeder must refuse the reads past the new end, not send
#    zeros);
#  * 2 bytes flipped in an 18 MiB pack, past its 512th piece (32 KiB pieces of two blocks each).
# Five pulls of each have only the liar: the puller must not crash (it did, with SIGSEGV or a glibc abort: libtorrent
# 2.0.8 mishandled the rejected block-hash requests that follow a failed piece) but exit with a documented code,
# no_peers (10) or corrupt (5), and one error line, leaving a repository that passes fsck. Five have the liar and an
# honest seeder: the pull succeeds with the right tree and fsck passes.
# Only loopback addresses in a private network namespace; every process is stopped by PID, also on failure (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MIB=$((1024 * 1024))
RUNS_ALONE=5 RUNS_WITH_HONEST=5

# --- the version: a small tree and one 18 MiB file (one pack of 576 pieces of 32 KiB)
SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
gen_bytes $((18 * MIB)) lying-big >"$SRC/data/raw/big.bin"
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"
cd "$T"
cp -a "$SRC" "$T/honest"
start_serve "$T/honest" "$T/honest.json" 127.0.0.2:0
SH=$SERVE_PID PH=$PEER

codes=""
# pulls LIAR_PEER WHAT: the 10 pulls of one lie.
pulls() {
    local liar=$1 what=$2 run rc dst
    for run in $(seq 1 $RUNS_ALONE); do
        dst=$T/alone-$what-$run
        new_repo "$dst"
        rc=0
        "$DVT" -C "$dst" pull "$V1" --peer "$liar" --listen 127.0.0.3 --timeout 3 >"$OUT" 2>"$ERR" || rc=$?
        if [ "$rc" != 10 ] && [ "$rc" != 5 ]; then
            cat "$ERR" >&2
            fail "$what, liar alone, run $run: the pull exited $rc (not no_peers 10 or corrupt 5)"
        fi
        one_error_line
        codes="$codes $rc"
        expect_exit 0 "$DVT" -C "$dst" fsck
        rm -rf "$dst"
    done
    for run in $(seq 1 $RUNS_WITH_HONEST); do
        dst=$T/honest-$what-$run
        new_repo "$dst"
        expect_exit 0 "$DVT" -C "$dst" pull "$V1" --peer "$liar" --peer "$PH" --listen 127.0.0.3 --timeout 60
        assert_same_tree "$T/v1.digest" "$dst" "$what, with an honest seeder, run $run: the tree"
        expect_exit 0 "$DVT" -C "$dst" fsck
        rm -rf "$dst"
    done
}

# serve_liar WHAT: a copy of the source served on 127.0.0.4 (its files are changed after it started); sets LIAR,
# SL (its PID) and PL (its address).
serve_liar() {
    LIAR=$T/liar-$1
    cp -a "$SRC" "$LIAR"
    start_serve "$LIAR" "$T/liar-$1.json" 127.0.0.4:0
    SL=$SERVE_PID PL=$PEER
}

# --- 1. the commit file altered on the seeder after it started
serve_liar commit
C=$LIAR/.dvt/commits/$V1
chmod u+w "$C"
printf 'X' | dd of="$C" bs=1 seek=40 conv=notrunc status=none
cmp -s "$C" "$SRC/.dvt/commits/$V1" && fail "the commit file was not altered"
pulls "$PL" commit
stop_serve "$SL" "$T/liar-commit.json"

# --- 2. the largest pack truncated to half its length while served
serve_liar truncated
PACK=$(ls -S "$LIAR"/.dvt/packs/*.pack | head -n 1)
SIZE=$(stat -c %s "$PACK")
[ "$SIZE" -gt $((16 * MIB)) ] || fail "the largest pack is only $SIZE bytes"
chmod u+w "$PACK"
truncate -s $((SIZE / 2)) "$PACK"
pulls "$PL" truncated
stop_serve "$SL" "$T/liar-truncated.json"
grep -q 'End of file' "$T/liar-truncated.json.err" ||
    { cat "$T/liar-truncated.json.err" >&2; fail "the seeder of the truncated pack did not report its failed reads"; }

# --- 3. 2 bytes flipped in the 18 MiB pack while served, both past its 512th piece
serve_liar flipped
PACK=$(ls -S "$LIAR"/.dvt/packs/*.pack | head -n 1)
SIZE=$(stat -c %s "$PACK")
chmod u+w "$PACK"
for at in $((SIZE * 9 / 10)) $((SIZE - 5000)); do
    b=$(od -An -tu1 -j "$at" -N 1 "$PACK" | tr -d ' ')
    printf "\\$(printf '%03o' $(((b + 1) % 256)))" | dd of="$PACK" bs=1 seek="$at" conv=notrunc status=none
done
[ "$(cmp -l "$PACK" "$SRC/.dvt/packs/$(basename "$PACK")" | wc -l)" = 2 ] || fail "not exactly 2 bytes of the pack differ"
pulls "$PL" flipped
stop_serve "$SL" "$T/liar-flipped.json"

stop_serve "$SH" "$T/honest.json"
echo "  exit codes of the pulls from a liar alone:$codes" >&2
ok
