#!/usr/bin/env bash
# Partial pulls through the version's locator (docs/format.md, "Locator"; issue 16): on a version of 50,000 small
# files in 100 directories, `dvt pull ID -- d042` receives at most 3x the directory's own bytes (not every pack's
# index and every tree), checks the directory out byte for byte, leaves HEAD alone, and fsck passes (the rest counted
# as not fetched). The same on a commit without a locator (`pack.locator 0`): the pack indexes find it as before.
# The locator's pack unavailable (a seeder that pulled the version whole, which does not fetch that pack): a whole
# pull from it succeeds without it, and a pull of some paths gives up on it within seconds and is still byte-exact
# through the pack indexes.
# Loopback in a private namespace; every process stopped by PID (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

DIRS=${LOC_DIRS:-100}
FILES=${LOC_FILES:-500}
SRC=$T/src
new_repo "$SRC"
# DIRS directories of FILES files of 1-2 KiB (incompressible, so received bytes compare with the files' sizes)
/usr/bin/python3 -S - "$SRC" "$DIRS" "$FILES" <<'PY'
import os, random, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(182)
for d in range(dirs):
    p = os.path.join(root, "d%03d" % d)
    os.mkdir(p)
    for f in range(files):
        with open(os.path.join(p, "f%04d.bin" % f), "wb") as fh:
            fh.write(r.randbytes(1024 + r.randrange(1024)))
PY
cd "$SRC"
V1=$(commit_id v1)
grep -q "^locator " "$SRC/.dvt/commits/$V1" || fail "the commit names no locator (pack.locator unset means 1)"
LP=$(sed -n 's/^locator [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$SRC/.dvt/commits/$V1")
[ -f "$SRC/.dvt/packs/$LP.pack" ] || fail "the writer does not hold the locator's pack $LP"
DIR=d042
DIRBYTES=$(du -cb --apparent-size "$SRC/$DIR" | tail -n 1 | cut -f1)
TOTAL=$(du -sb --apparent-size --exclude=.dvt "$SRC" | cut -f1)
start_serve "$SRC" "$T/a.json" 127.0.0.2:0
A=$PEER

# partial_pull REPO COMMIT: pulls $DIR of COMMIT into REPO (a new repository); checks it byte for byte
partial_pull() {
    new_repo "$1"
    expect_exit 0 "$DVT" -C "$1" --json pull "$2" --peer "$A" --listen 127.0.0.3 --timeout 90 -- "$DIR"
    RECV=$(json_get 'j["bytes_received"]')
    SECS=$(json_get 'j["seconds"]')
    DOWN=$(json_get 'j["bytes_downloaded"]')
    (cd "$SRC" && tree_digest "$DIR") >"$T/dir.digest"
    (cd "$1" && tree_digest "$DIR" | diff -u "$T/dir.digest" -) || fail "$DIR differs from the source"
    for d in d000 d041 d043; do [ ! -e "$1/$d" ] || fail "the partial pull wrote $d"; done
    [ ! -e "$1/.dvt/refs/heads/main" ] || fail "a partial pull moved the branch"
    expect_exit 0 "$DVT" -C "$1" --json fsck
    assert_json 'j["objects_not_fetched"] > 0'
}

# --- with the locator: at most 3x the directory's bytes
partial_pull "$T/b" "$V1"
echo "  locator: $RECV bytes received ($DOWN payload) for a $DIRBYTES-byte directory of a $TOTAL-byte version" >&2
[ "$RECV" -le $((DIRBYTES * 3)) ] || fail "received $RECV bytes for a $DIRBYTES-byte directory (more than 3x)"
WITH=$RECV
# what was pulled checks out again from the store alone (the trees off the path are absent)
rm -rf "${T:?}/b/$DIR"
expect_exit 0 "$DVT" -C "$T/b" checkout "$V1" -- "$DIR"
(cd "$T/b" && tree_digest "$DIR" | diff -u "$T/dir.digest" -) || fail "$DIR differs after a checkout from the store"
expect_exit 4 "$DVT" -C "$T/b" checkout "$V1" -- d041

# --- delta chains through the locator: a table edited all through in four versions (its chunks stored as deltas,
# chains across four packs); a locator lists no delta ids, so the puller derives each delta record's id by decoding
# it against its verified base. A pull of hist/ is byte-exact and still costs about the table, not every index.
gen_table() {
    /usr/bin/python3 -S - "$SRC/hist/table.csv" "$1" <<'PY'
import random, sys
path, v = sys.argv[1], int(sys.argv[2])
r = random.Random(1820)
rows = ["%06d,%s,%d\n" % (i, "".join(r.choice("abcdefgh") for _ in range(40)), r.randrange(10**6)) for i in range(5000)]
for k in range(1, v + 1):
    e = random.Random(k)
    for i in range(0, len(rows), 97):
        j = min(len(rows) - 1, i + e.randrange(97))
        rows[j] = rows[j][:7] + "edited-%d-%d" % (k, e.randrange(10**6)) + rows[j][7:]
open(path, "w").write("".join(rows))
PY
}
mkdir -p "$SRC/hist"
for v in 0 1 2 3; do
    gen_table "$v"
    expect_exit 0 "$DVT" -C "$SRC" --json commit -m "hist v$v"
    H=$(json_get 'j["id"]')
    [ "$v" = 0 ] || assert_json 'j["stats"]["chunks_delta"] > 0'
done
grep -q "^locator " "$SRC/.dvt/commits/$H" || fail "the history commit names no locator"
stop_serve "$SERVE_PID" "$T/a.json"
start_serve "$SRC" "$T/a.json" 127.0.0.2:0
A=$PEER
DIR_SAVED=$DIR DIR=hist
HISTBYTES=$(stat -c %s "$SRC/hist/table.csv")
partial_pull "$T/h" "$H"
echo "  locator, delta chains: $RECV bytes received for a $HISTBYTES-byte table in 4 versions" >&2
[ "$RECV" -le $((HISTBYTES * 3)) ] || fail "received $RECV bytes for hist/ ($HISTBYTES bytes, more than 3x): not through the locator?"
DIR=$DIR_SAVED

# --- a commit without a locator: the pack indexes, as before
expect_exit 0 "$DVT" -C "$SRC" config pack.locator 0
printf 'changed\n' >"$SRC/d000/f0000.bin"
cd "$SRC"
V2=$(commit_id v2)
! grep -q "^locator " "$SRC/.dvt/commits/$V2" || fail "pack.locator 0 still wrote a locator"
partial_pull "$T/c" "$V2"
echo "  no locator: $RECV bytes received ($DOWN payload) for the same directory" >&2
[ "$RECV" -gt "$WITH" ] || fail "without a locator the pull received no more ($RECV) than with one ($WITH)"
# --- the locator's pack unavailable: W pulls V1 whole (a whole pull does not fetch the locator's pack, and needs
# nothing of it), then W alone serves
new_repo "$T/w"
expect_exit 0 "$DVT" -C "$T/w" --json pull "$V1" --peer "$A" --listen 127.0.0.3 --timeout 90
assert_json 'j["packs_partial"] == 0'
[ ! -e "$T/w/.dvt/packs/$LP.pack" ] && [ ! -e "$T/w/.dvt/partial/$LP.pack" ] ||
    fail "a whole pull fetched the locator's pack"
expect_exit 0 "$DVT" -C "$T/w" --json fsck
assert_json 'j["ok"] and j["objects_not_fetched"] == 0 and j["partial_packs"] == 0'
stop_serve "$SERVE_PID" "$T/a.json"
start_serve "$T/w" "$T/w.json" 127.0.0.4:0
A=$PEER
# a whole pull from a seeder without the locator's pack: neither waits for it nor fails for it
new_repo "$T/x"
expect_exit 0 "$DVT" -C "$T/x" --json pull "$V1" --peer "$A" --listen 127.0.0.3 --timeout 60
assert_json 'j["packs_partial"] == 0'
(cd "$T/w" && tree_digest .) >"$T/w.digest"
(cd "$T/x" && tree_digest . | diff -u "$T/w.digest" -) || fail "the whole pull from W differs from W"
expect_exit 0 "$DVT" -C "$T/x" fsck
# a pull of some paths: the locator's pack is waited for at most 10 s, then the pack indexes find the directory
partial_pull "$T/y" "$V1"
echo "  locator's pack unavailable: $RECV bytes received in $SECS s" >&2
[ "$RECV" -gt "$WITH" ] || fail "without the locator's pack the pull received no more ($RECV) than with it ($WITH)"
/usr/bin/python3 -c "import sys; sys.exit(0 if 9 <= float(sys.argv[1]) < 60 else 1)" "$SECS" ||
    fail "the pull without the locator's pack took $SECS s (expected the 10 s wait, then the indexes)"
ok
