#!/usr/bin/env bash
# Damage is detected, never propagated: one flipped byte anywhere in a pack (header, a chunk record, the index, the
# footer) makes fsck exit 5 naming the pack or object, and checking out a version that needs a damaged chunk fails
# with exit 5 naming it instead of writing bad data. Restoring the byte makes fsck pass again. A lost index.db is
# rebuilt by fsck --repair; a damaged commit file is reported.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
new_repo "$R"
cd "$R"
make_tree "$R"
A=$(commit_id A)
tree_digest "$R" >"$T/dA"
# B drops the big binary file, so checking A out again must read its chunks from the pack
mv data/raw/blob.bin "$T/blob.bin"
printf 'B\n' >docs/readme.txt
B=$(commit_id B)
tree_digest "$R" >"$T/dB"
expect_exit 0 "$DVT" fsck

# The pack holding blob.bin's chunks: the biggest one.
PACK=$(ls -S .dvt/packs/*.pack | head -n1)
PACK_ID=$(basename "$PACK" .pack)
is_hex64 "$PACK_ID" || fail "unexpected pack name $PACK"
[ "$(stat -c %s "$PACK")" -gt 3000000 ] || fail "the biggest pack is not the one holding the 3 MiB file"

# pack_layout: "index_offset count length" and, for a chunk record in the middle of the pack,
# "record_offset stored_len chunk_id" (layout: docs in objects/pack.hpp).
read -r INDEX_OFF COUNT LEN REC_OFF REC_LEN REC_ID < <("$PY" - "$PACK" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"DVTPACK\0", "pack magic"
foot = data[-64:]
assert foot[:8] == b"DVTPIDX\0", "footer magic"
index_offset, count = struct.unpack_from("<QQ", foot, 8)
entries = []
for i in range(count):
    off = index_offset + 52 * i
    oid = data[off:off + 32].hex()
    rec, stored, raw, typ, comp = struct.unpack_from("<QIIBB", data, off + 32)
    entries.append((rec, stored, oid, typ))
chunks = sorted(e for e in entries if e[3] == 1 and e[1] > 1000)
mid = chunks[len(chunks) // 2]
print(index_offset, count, len(data), mid[0], mid[1], mid[2])
PY
)
[ -n "${REC_ID:-}" ] || fail "could not parse the pack layout"
echo "pack $PACK_ID: length $LEN, index at $INDEX_OFF ($COUNT entries), chunk $REC_ID at $REC_OFF"

# The damaged chunk must belong to blob.bin (so checkout of A needs it).
expect_exit 0 "$DVT" ls-tree -r --json "$A"
BLOB=$(json_get '[e["id"] for e in j["entries"] if e["path"] == "data/raw/blob.bin"][0]')
expect_exit 0 "$DVT" cat-object --json "$BLOB"
assert_json '"'"$REC_ID"'" in [c["id"] for c in j["chunks"]]'

chmod u+w "$PACK"
flip() { # flip OFFSET: xor one byte of the pack with 0x5a
    "$PY" - "$PACK" "$1" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x5A]))
PY
}

fsck_reports_damage() { # fsck_reports_damage WHAT ID...: fsck exits 5 and names one of the ids
    local what=$1
    shift
    expect_exit 5 "$DVT" fsck
    one_error_line "$ERR" '^checked '
    local id found=
    for id in "$@"; do grep -q "$id" "$OUT" "$ERR" && found=1; done
    [ -n "$found" ] || { cat "$OUT" "$ERR" >&2; fail "$what: fsck does not name the pack or the object"; }
    # --json promises one document on stdout: the report (ok false, problems) or the error object
    expect_exit 5 "$DVT" --json fsck
    if ! "${PY_FAST[@]}" -c '
import json, sys
j = json.load(open(sys.argv[1]))
ok = (j.get("ok") is False and len(j.get("problems", [])) >= 1) or j.get("error", {}).get("exit_code") == 5
sys.exit(0 if ok else 1)' "$OUT" 2>/dev/null; then
        [ "$JSON_FSCK_REPORTED" ] || soft_fail "$what: 'dvt --json fsck' on a damaged repository does not print one JSON document on stdout (starts: $(head -c 150 "$OUT") ... ends: $(tail -c 150 "$OUT"))"
        JSON_FSCK_REPORTED=1
    fi
}
JSON_FSCK_REPORTED=

ORIG_DIGEST=$(sha256sum "$PACK" | cut -c1-64)
restore_and_check() { # flip the byte back; the pack is bit-identical again and fsck passes
    flip "$1"
    assert_eq "$(sha256sum "$PACK" | cut -c1-64)" "$ORIG_DIGEST" "pack after restoring the byte"
    expect_exit 0 "$DVT" fsck
}

CASES="header:0 header-version:8 record:$((REC_OFF + 12 + REC_LEN / 2)) record-header:$((REC_OFF + 4)) index:$((INDEX_OFF + 52 * (COUNT / 2) + 5)) index-offset-field:$((INDEX_OFF + 52 * (COUNT / 3) + 33)) footer-magic:$((LEN - 64 + 2)) footer-count:$((LEN - 64 + 16)) footer-checksum:$((LEN - 1))"
for c in $CASES; do
    name=${c%%:*}
    off=${c#*:}
    flip "$off"
    case "$name" in
    header-version) # an unknown version may be reported as unsupported (8) or as damage (5)
        rc=0
        "$DVT" fsck >"$OUT" 2>"$ERR" || rc=$?
        [ "$rc" = 5 ] || [ "$rc" = 8 ] || { cat "$ERR" >&2; fail "$name: fsck exited $rc, expected 5 or 8"; }
        one_error_line "$ERR" '^checked '
        grep -q "$PACK_ID" "$OUT" "$ERR" || fail "$name: fsck does not name the pack"
        ;;
    *) fsck_reports_damage "$name" "$PACK_ID" "$REC_ID" ;;
    esac
    if [ "$name" = record ] || [ "$name" = record-header ]; then
        # checking A out needs the damaged chunk: exit 5 naming the chunk, and no bad data in the work tree
        expect_exit 5 "$DVT" checkout "$A"
        one_error_line
        assert_grep "$REC_ID" "$ERR" "$name: checkout does not name the damaged object"
        if [ -e data/raw/blob.bin ]; then
            cmp -s data/raw/blob.bin "$T/blob.bin" || fail "$name: checkout wrote a damaged data/raw/blob.bin"
        fi
        stray=$(find . -path ./.dvt -prune -o -name '.dvt-tmp-*' -print)
        [ -z "$stray" ] || soft_fail "$name: a failed checkout left temporary files in the work tree:" $stray
        expect_exit 0 "$DVT" rev-parse HEAD
        assert_eq "$(cat "$OUT")" "$B" "$name: HEAD after a failed checkout"
        expect_exit 5 "$DVT" cat-object "$REC_ID"
        one_error_line
        # get back to a clean B
        expect_exit 0 "$DVT" checkout --force "$B"
        rm -f data/raw/blob.bin
        find . -path ./.dvt -prune -o -name '.dvt-tmp-*' -exec rm -f {} +
        assert_same_tree "$T/dB" "$R" "$name: work tree back at B"
    fi
    restore_and_check "$off"
done

# with the pack intact, A checks out fine
expect_exit 0 "$DVT" checkout "$A"
assert_same_tree "$T/dA" "$R" "checkout A with the pack restored"
chmod a-w "$PACK"

# --- the index database is only a cache: delete it, fsck --repair rebuilds it
rm -f .dvt/index.db .dvt/index.db-wal .dvt/index.db-shm
expect_exit 0 "$DVT" fsck --repair
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] is True and j["commits"] == 2 and j["packs"] >= 2'
expect_exit 0 "$DVT" log --oneline main
[ "$(wc -l <"$OUT")" = 2 ] || fail "log after rebuilding the index"
expect_exit 0 "$DVT" checkout "$B"
assert_same_tree "$T/dB" "$R" "checkout B after rebuilding the index"
expect_exit 0 "$DVT" checkout "$A"
assert_same_tree "$T/dA" "$R" "checkout A after rebuilding the index"
# a damaged (not just missing) index database: it is only a cache, so fsck --repair should rebuild it too
printf 'this is not a sqlite database' >.dvt/index.db
rm -f .dvt/index.db-wal .dvt/index.db-shm
rc=0
"$DVT" fsck --repair >"$OUT" 2>"$ERR" || rc=$?
if [ "$rc" != 0 ]; then
    soft_fail "fsck --repair cannot rebuild a damaged .dvt/index.db (exit $rc: $(cat "$ERR"))"
    rm -f .dvt/index.db .dvt/index.db-wal .dvt/index.db-shm
    expect_exit 0 "$DVT" fsck --repair
fi
expect_exit 0 "$DVT" fsck
expect_exit 0 "$DVT" checkout "$B"
assert_same_tree "$T/dB" "$R" "checkout B after replacing a garbage index"

# --- a damaged commit file is reported by fsck (and reading it fails with exit 5)
CF=.dvt/commits/$A
[ -f "$CF" ] || fail "no commit file $CF"
chmod u+w "$CF"
cp "$CF" "$T/commit.bak"
"$PY" - "$CF" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x20
open(p, "wb").write(b)
PY
expect_exit 5 "$DVT" fsck
one_error_line "$ERR" '^checked '
grep -q "commit $A" "$OUT" "$ERR" || { cat "$OUT" "$ERR" >&2; fail "fsck does not name the damaged commit"; }
expect_exit 5 "$DVT" log
one_error_line
assert_grep "$A" "$ERR"
expect_exit 5 "$DVT" checkout "$A"
one_error_line
expect_exit 5 "$DVT" show "$A"
one_error_line
cp "$T/commit.bak" "$CF"
expect_exit 0 "$DVT" fsck
# a truncated commit file too
head -c 20 "$T/commit.bak" >"$CF"
expect_exit 5 "$DVT" fsck
grep -q "commit $A" "$OUT" "$ERR" || fail "fsck does not name the truncated commit"
cp "$T/commit.bak" "$CF"
expect_exit 0 "$DVT" fsck
ok
