#!/usr/bin/env bash
# Clones move only live bytes (#17 item 3; docs/transport.md, "Pulling", step 4): a history of 4 versions with
# pack.size 1 MiB in which each version rewrites most of the files written before it, so the packs of older versions
# the newest still names are mostly dead, plus a table that changes a little every version (delta records whose bases
# lie in older packs). A clone of the newest version from a seeder fetches the packs that are mostly live whole and
# only the pieces holding live records (and delta bases) of the others: the payload it receives is at most 1.3 x the
# version's `tar | zstd -3` size (a clone of whole packs receives ~1.9 x here); it checks out byte for byte and fscks
# clean. A second clone, from the first one alone (which seeds its complete packs whole and its partial packs in
# part), is byte for byte the same. Loopback in a private network namespace; every process is stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# version K: 160 files of 24 KiB of random bytes in data/, of which those with (i + K) % 4 != 0 are rewritten in every
# version (so 3/4 of what a version wrote is dead one version later), and a sorted table that gains and loses rows
write_version() {
    local dir=$1 k=$2 i
    mkdir -p "$dir/data" "$dir/tables"
    for i in $(seq 0 159); do
        if [ "$k" = 1 ] || [ $(((i + k) % 4)) != 0 ]; then gen_bytes 24576 "v$k-f$i" >"$dir/data/f$i.bin"; fi
    done
    awk -v k="$k" 'BEGIN { for (i = 0; i < 9000; i++) if ((i * 7 + k * 13) % 61 != 0 || i % 3 == k % 3)
        printf "%d,station-%d,%.2f,%d,reading of the day for this station\n", i, i % 97, (i * 31 + (i % 50 == k ? k : 0)) % 1000 / 10.0, i % 17 }' \
        >"$dir/tables/readings.csv"
}

SRC=$T/src
new_repo "$SRC"
expect_exit 0 "$DVT" -C "$SRC" config pack.size 1048576
cd "$SRC"
for k in 1 2 3 4; do
    write_version "$SRC" "$k"
    expect_exit 0 "$DVT" --json commit -m "v$k"
    eval "V$k=$(json_get 'j["id"]')"
done
[ "$(json_get 'j["stats"]["chunks_delta"]')" -gt 0 ] || fail "the last version stored no delta record"
WHOLE=$(json_get 'sum(p["length"] for p in j["packs"])')  # what a clone of whole packs receives (before #17 item 3)
tree_digest "$SRC" >"$T/v4.digest"
VSIZE=$(tar -cf - --exclude=.dvt -C "$SRC" . | zstd -q -3 -c | wc -c)
echo "  v4: $(du -sb --exclude=.dvt "$SRC" | cut -f1) bytes, tar | zstd -3: $VSIZE bytes, its packs: $WHOLE bytes; store $(du -sb .dvt/packs | cut -f1) bytes" >&2
[ "$WHOLE" -gt $((VSIZE * 3 / 2)) ] || fail "the packs v4 names ($WHOLE bytes) are not mostly dead: the test shows nothing"


start_serve "$SRC" "$T/serve.json"
expect_exit 0 "$DVT" --json clone "$V4" "$T/c1" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cp "$OUT" "$T/c1.json"
assert_json 'j["commit"] == "'"$V4"'" and j["packs_partial"] > 0 and j["packs_fetched"] > 0' "$T/c1.json"
assert_json 'j["bytes_downloaded"] <= 1.3 * '"$VSIZE" "$T/c1.json"
assert_json 'j["bytes_needed"] <= j["bytes_downloaded"] <= j["bytes_received"]' "$T/c1.json"
echo "  clone of v4: $(json_get 'j["bytes_downloaded"]' "$T/c1.json") bytes of payload ($(json_get 'j["bytes_needed"]' "$T/c1.json") needed), $(json_get 'j["packs_fetched"]' "$T/c1.json") packs whole, $(json_get 'j["packs_partial"]' "$T/c1.json") in part of $(json_get 'j["packs"]' "$T/c1.json")" >&2
assert_same_tree "$T/v4.digest" "$T/c1" "the clone of v4"
expect_exit 0 "$DVT" -C "$T/c1" --json fsck
assert_json 'j["ok"] and j["partial_packs"] > 0'
expect_exit 0 "$DVT" -C "$T/c1" --json status
assert_json 'j["clean"]'
# a pull of the same version again needs nothing: every object it needs is here
expect_exit 0 "$DVT" -C "$T/c1" --json pull "$V4" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'j["bytes_downloaded"] == 0'
stop_serve "$SERVE_PID" "$T/serve.json"

# the first clone seeds what it has: a second clone from it alone
start_serve "$T/c1" "$T/serve1.json" 127.0.0.3:0
expect_exit 0 "$DVT" --json clone "$V4" "$T/c2" --peer "$PEER" --listen 127.0.0.4 --timeout 60
assert_json 'j["commit"] == "'"$V4"'" and j["bytes_downloaded"] <= 1.3 * '"$VSIZE"
echo "  clone of the clone: $(json_get 'j["bytes_downloaded"]') bytes of payload, $(json_get 'j["packs_partial"]') packs in part" >&2
assert_same_tree "$T/v4.digest" "$T/c2" "the clone of the clone"
expect_exit 0 "$DVT" -C "$T/c2" --json fsck
assert_json 'j["ok"]'
stop_serve "$SERVE_PID" "$T/serve1.json"
ok
