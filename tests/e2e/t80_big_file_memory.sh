#!/usr/bin/env bash
# Memory stays bounded by the in-flight window, not by file size: committing a 10 GiB (sparse) file peaks below
# 300 MB RSS, checking it out again gives a file of the right size and content (status is clean afterwards, which
# re-hashes it), also within the memory bound.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SIZE=$((10 * 1024 * 1024 * 1024))
LIMIT_KB=$((300 * 1024))

if [ ! -x /usr/bin/time ]; then
    echo "installing /usr/bin/time (apt package 'time')"
    { apt-get install -y time || { apt-get update && apt-get install -y time; }; } >/dev/null 2>&1 ||
        fail "/usr/bin/time is missing and could not be installed (apt-get install -y time)"
fi
# checkout writes the file out in full (10 GiB of real blocks)
free_kb=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt $((13 * 1024 * 1024)) ]; then
    echo "skip: only $((free_kb / 1024)) MiB free under $T; this test needs about 13 GiB"
    ok
    exit 0
fi

# peak_rss_kb FILE: "Maximum resident set size" from /usr/bin/time -v output
peak_rss_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

# timed LABEL cmd...: run under /usr/bin/time -v; the command's stdout is in $OUT, its stderr and the report in $ERR
timed() {
    local label=$1
    shift
    local rc=0
    /usr/bin/time -v "$@" >"$OUT" 2>"$ERR" || rc=$?
    [ "$rc" = 0 ] || { cat "$ERR" >&2; fail "$label exited $rc"; }
    local kb
    kb=$(peak_rss_kb "$ERR")
    [ -n "$kb" ] || { cat "$ERR" >&2; fail "$label: no RSS in /usr/bin/time output"; }
    echo "$label: peak RSS $((kb / 1024)) MiB, $(sed -n "s/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p" "$ERR")"
    [ "$kb" -lt "$LIMIT_KB" ] || fail "$label: peak RSS $((kb / 1024)) MiB, limit $((LIMIT_KB / 1024)) MiB"
}

R=$T/repo
new_repo "$R"
cd "$R"
truncate -s "$SIZE" big.img
printf 'a small file next to the big one\n' >small.txt

timed "commit of a 10 GiB sparse file" "$DVT" commit -m "10 GiB"
C=$(head -n1 "$OUT")
is_hex64 "$C" || fail "commit printed '$C'"
expect_exit 0 "$DVT" ls-tree --json HEAD
assert_json '[e["size"] for e in j["entries"] if e["path"] == "big.img"] == ['"$SIZE"']'
expect_exit 0 "$DVT" show --json
assert_json 'j["bytes"] == '"$((SIZE + 33))"' and j["files"] == 2'
# all-zero data deduplicates: the repository stays tiny
packs_kb=$(du -sk .dvt/packs | cut -f1)
[ "$packs_kb" -lt 10240 ] || fail "packs take $packs_kb KiB for a file of zeros"
expect_exit 0 "$DVT" status --short
[ ! -s "$OUT" ] || fail "status not clean after the commit: $(cat "$OUT")"

# remove it and check it out again
rm big.img
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "D big.img" "status after removing big.img"
timed "checkout of the 10 GiB file" "$DVT" checkout HEAD -- big.img
[ -f big.img ] || fail "checkout did not recreate big.img"
assert_eq "$(stat -c %s big.img)" "$SIZE" "size of the checked-out big.img"
# spot checks: zeros at the start, in the middle and at the end
"$PY" - big.img "$SIZE" <<'PY' || fail "big.img does not hold zeros"
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    for off in (0, size // 2 - 12345, size - (1 << 20)):
        f.seek(off)
        block = f.read(1 << 20)
        assert len(block) == 1 << 20 and block.count(0) == len(block), off
PY
expect_exit 0 "$DVT" rev-parse HEAD
assert_eq "$(cat "$OUT")" "$C" "HEAD after a path checkout"

# status re-hashes the rewritten file: it must equal the committed one
timed "status after the checkout" "$DVT" status --short
[ ! -s "$OUT" ] || fail "status not clean after checking big.img out: $(cat "$OUT")"
ok
