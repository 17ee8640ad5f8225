#!/usr/bin/env bash
# Lazy reads from the swarm (#18; transport/lazy_source.hpp): `dvt mount COMMIT DIR --peer ...` in a repository that
# lacks the commit. The mount appears with every file at once; each byte read is fetched on demand from the seeder and
# verified: the tree digest through the mount equals the seeder's, reads at odd offsets give the committed bytes, and a
# second mount reads what the first one fetched without any peer; with --cache-size the partial packs are emptied as
# reads go on, reads still correct. A read at a file's start has the rest of the file fetched in the background (it
# then reads whole with the seeder gone). The seeder gone mid-read: the read fails with EIO
# after the timeout, then succeeds once the seeder is back. A seeder whose pack is damaged: reads give the committed
# bytes or EIO, never other bytes. SIGTERM unmounts (nothing left mounted, exit 0). The same version through
# `dvt serve --http --peer` of another repository that lacks it: HTTP Range requests at odd offsets and whole files
# give the committed bytes, and a range no peer serves is 504. Every process is stopped by PID.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MNT=$T/mnt
fuse_mountpoint "$MNT"

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
gen_bytes $((9 * 1024 * 1024 + 777)) big-seed >"$SRC/data/raw/big.bin"
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"
cp "$SRC/data/raw/big.bin" "$T/big.v1"
cp "$SRC/data/raw/blob.bin" "$T/blob.v1"

SEED_ADDR=127.0.0.2:$(free_port 127.0.0.2)
start_serve "$SRC" "$T/seed.json" "$SEED_ADDR"
SEED_PID=$SERVE_PID

# same_at FILE REF OFFSET COUNT: COUNT bytes at OFFSET of the mounted FILE are REF's
same_at() {
    assert_eq "$(dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$3" count="$4" status=none | sha256sum)" \
        "$(dd if="$2" bs=1M iflag=skip_bytes,count_bytes skip="$3" count="$4" status=none | sha256sum)" \
        "$(basename "$1"): $4 bytes at offset $3"
}

# --- a reader that lacks the commit: every file appears, every byte verified
DST=$T/dst
new_repo "$DST"
expect_exit 4 "$DVT" -C "$DST" mount "$V1" "$MNT"  # without peers: the commit is not here
start_mount "$DST" "$V1" --peer "$SEED_ADDR" --timeout 10
assert_eq "$(stat -c %s "$MNT/data/raw/big.bin")" $((9 * 1024 * 1024 + 777)) "size of a file before any byte is read"
for off in 1 65537 3000001 9437000; do same_at "$MNT/data/raw/big.bin" "$T/big.v1" "$off" 4099; done
assert_same_tree "$T/v1.digest" "$MNT" "the lazy mount of v1"
stop_mount
assert_json 'j["read_errors"] == 0 and j["bytes_downloaded"] > 9 * 1024 * 1024 and j["objects_fetched"] > 0' "$T/mount.stop"
[ -z "$(ls "$DST/.dvt/packs")" ] || fail "a lazy read installed a complete pack"

# --- a small cache (--cache-size): the partial packs are emptied as reads go on, every byte still the committed one
DSTC=$T/dstc
new_repo "$DSTC"
start_mount "$DSTC" "$V1" --peer "$SEED_ADDR" --timeout 10 --cache-size 1M
assert_same_tree "$T/v1.digest" "$MNT" "the lazy mount of v1 with a 1 MB cache"
stop_mount
assert_json 'j["read_errors"] == 0 and j["cache_evictions"] > 0' "$T/mount.stop"
[ "$(du -s -B1 "$DSTC/.dvt/partial" | cut -f1)" -lt $((9 * 1024 * 1024)) ] || fail "the cache kept more than one round's data (disk usage of sparse partial packs)"

# --- what was fetched stays: a second mount reads it all with no peer serving
stop_serve "$SEED_PID" "$T/seed.json"
start_mount "$DST" "$V1" --peer "$SEED_ADDR" --timeout 2
assert_same_tree "$T/v1.digest" "$MNT" "the second (cached) lazy mount of v1"
stop_mount
assert_json 'j["read_errors"] == 0 and j["bytes_downloaded"] == 0' "$T/mount.stop"

# --- the seeder gone mid-read: EIO after the timeout, then the same read succeeds once it is back
start_serve "$SRC" "$T/seed.json" "$SEED_ADDR"
SEED_PID=$SERVE_PID
DST2=$T/dst2
new_repo "$DST2"
start_mount "$DST2" "$V1" --peer "$SEED_ADDR" --timeout 5
assert_eq "$(cat "$MNT/docs/readme.txt" | sha256sum)" "$(sha256sum <"$SRC/docs/readme.txt")" "a small file"
# not at the file's start: no read-ahead (a read from offset 0 would have the rest of the file fetched meanwhile)
same_at "$MNT/data/raw/big.bin" "$T/big.v1" 2097152 100000
stop_serve "$SEED_PID" "$T/seed.json"
START=$(date +%s)
if dd if="$MNT/data/raw/big.bin" of="$T/part.out" bs=1M iflag=skip_bytes skip=$((5 * 1024 * 1024)) status=none 2>"$T/read.err"; then
    fail "a read of bytes no peer can serve succeeded"
fi
assert_grep "Input/output error" "$T/read.err"
ELAPSED=$(($(date +%s) - START))
[ "$ELAPSED" -le 30 ] || fail "EIO took $ELAPSED s with a 5 s timeout"
head -c "$(stat -c %s "$T/part.out")" <(tail -c +$((5 * 1024 * 1024 + 1)) "$T/big.v1") | cmp -s - "$T/part.out" ||
    fail "the bytes before EIO are not the committed ones"
start_serve "$SRC" "$T/seed.json" "$SEED_ADDR"
SEED_PID=$SERVE_PID
# Reads queued behind a failed one fail with it for 0.3 s (docs/transport.md, "Lazy reads from the swarm"), and the
# mount reconnects to a peer that refused it after libtorrent's back-off (min_reconnect_time x failures): on a loaded
# machine the first reads after the restart may still time out. Wait (at most 30 s) until one succeeds; the bytes are
# then checked exactly.
DEADLINE=$(($(date +%s) + 30))
until dd if="$MNT/data/raw/big.bin" of=/dev/null bs=1M iflag=skip_bytes,count_bytes skip=$((5 * 1024 * 1024)) \
    count=4096 status=none 2>/dev/null; do
    [ "$(date +%s)" -lt "$DEADLINE" ] || fail "no read succeeded within 30 s of the seeder's return"
    sleep 0.5
done
same_at "$MNT/data/raw/big.bin" "$T/big.v1" $((5 * 1024 * 1024)) $((4 * 1024 * 1024 + 777))
assert_eq "$(sha256sum <"$MNT/data/raw/big.bin")" "$(sha256sum <"$T/big.v1")" "the whole file once the seeder is back"
stop_mount
assert_json 'j["read_errors"] > 0 and j["fetch_failures"] > 0' "$T/mount.stop"

# --- background read-ahead: one read at the start of big.bin waits for its first 8 MiB; the rest of the file is asked
# for in the background and arrives with no further read (the partial pack's bytes where big.bin lies become the
# seeder's pack's), so the file then reads whole with the seeder gone
DST5=$T/dst5
new_repo "$DST5"
start_mount "$DST5" "$V1" --peer "$SEED_ADDR" --timeout 5
same_at "$MNT/data/raw/big.bin" "$T/big.v1" 0 4096
"${PY_FAST[@]}" - "$SRC/.dvt/packs" "$DST5/.dvt/partial" "$T/big.v1" <<'PY' || fail "the rest of big.bin did not arrive in the background"
import os, sys, time
packs, partial, big = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
# where big.bin's records lie in the seeder's pack (its chunks are stored raw: random bytes do not compress)
for name in os.listdir(packs):
    src = open(os.path.join(packs, name), "rb").read()
    a, b = src.find(big[:64]), src.find(big[-64:])
    if a >= 0 and b >= 0:
        break
else:
    sys.exit("big.bin's bytes are in no pack of the seeder")
b += 64
until = time.monotonic() + 30
while time.monotonic() < until:
    try:
        with open(os.path.join(partial, name), "rb") as f:
            f.seek(a)
            if f.read(b - a) == src[a:b]:
                sys.exit(0)
    except FileNotFoundError:
        pass
    time.sleep(0.1)
sys.exit(f"bytes {a}-{b} of {name} (big.bin) are not all in the partial pack after 30 s")
PY
stop_serve "$SEED_PID" "$T/seed.json"
assert_eq "$(sha256sum <"$MNT/data/raw/big.bin")" "$(sha256sum <"$T/big.v1")" "big.bin whole, read after the seeder left"
stop_mount
assert_json 'j["read_errors"] == 0' "$T/mount.stop"
start_serve "$SRC" "$T/seed.json" "$SEED_ADDR"
SEED_PID=$SERVE_PID

# --- the same through HTTP: `dvt serve --http --peer` of a repository that lacks the commit; Range requests at odd
# offsets and whole files give the committed bytes; with the seeder gone, a byte not fetched yet is 504
DST4=$T/dst4
new_repo "$DST4"
HTTP_PORT=$(free_port 127.0.0.1)
start_serve "$DST4" "$T/http.json" 127.0.0.3:0 --http "127.0.0.1:$HTTP_PORT" --peer "$SEED_ADDR" --timeout 5
HTTP_PID=$SERVE_PID
URL=http://127.0.0.1:$HTTP_PORT/$V1
curl -sS --fail "$URL/" >"$T/root.json" || fail "GET of the root of a commit the repository lacks failed"
assert_json '"data" in [e["name"] for e in j["entries"]]' "$T/root.json"
for r in 1-1 7-65543 4194301-4259850 9437100-9437960; do
    a=${r%-*} b=${r#*-}
    [ "$b" -ge $((9 * 1024 * 1024 + 777)) ] && b=$((9 * 1024 * 1024 + 776))
    assert_eq "$(curl -sS --fail -r "$a-$b" "$URL/data/raw/big.bin" | sha256sum)" \
        "$(tail -c +$((a + 1)) "$T/big.v1" | head -c $((b - a + 1)) | sha256sum)" "HTTP range $a-$b of big.bin"
done
for f in data/raw/blob.bin data/csv/part-1.csv docs/readme.txt; do
    assert_eq "$(curl -sS --fail "$URL/$f" | sha256sum)" "$(sha256sum <"$SRC/$f")" "GET $f"
done
stop_serve "$SEED_PID" "$T/seed.json"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -r 2000000-2000010 "$URL/data/raw/big.bin")" 504 \
    "a range no peer serves"
stop_serve "$HTTP_PID" "$T/http.json"
[ -z "$(ls "$DST4/.dvt/packs")" ] || fail "lazy HTTP reads installed a complete pack"

# --- a seeder with a damaged pack: the committed bytes or EIO, never other bytes
for p in "$SRC"/.dvt/packs/*.pack; do chmod u+w "$p"; done
BIG_PACK=$(ls -S "$SRC"/.dvt/packs/*.pack | head -1)
flip_bytes "$BIG_PACK" 300000 4096 0xFF
start_serve "$SRC" "$T/seed.json" "$SEED_ADDR"
SEED_PID=$SERVE_PID
DST3=$T/dst3
new_repo "$DST3"
start_mount "$DST3" "$V1" --peer "$SEED_ADDR" --timeout 3
for f in big.bin blob.bin; do
    if cat "$MNT/data/raw/$f" >"$T/read.out" 2>"$T/read.err"; then
        cmp -s "$T/read.out" "$SRC/data/raw/$f" 2>/dev/null || cmp -s "$T/read.out" "$T/${f%.bin}.v1" ||
            fail "$f read from a damaged seeder gave other bytes without an error"
    else
        assert_grep "Input/output error" "$T/read.err"
        head -c "$(stat -c %s "$T/read.out")" "$T/${f%.bin}.v1" | cmp -s - "$T/read.out" ||
            fail "$f: the bytes before EIO are not the committed ones"
        DAMAGED=1
    fi
done
[ "${DAMAGED:-}" = 1 ] || fail "the damaged pack was read without any error (the damage missed both files?)"
stop_mount
stop_serve "$SEED_PID" "$T/seed.json"
ok
