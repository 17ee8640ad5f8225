#!/usr/bin/env bash
# Delta records over a history (docs/format.md, "Delta records"): 20 versions of sorted tables that gain and lose rows
# all through them are committed with the default pack.delta-depth; later versions store most new chunks as deltas
# and far fewer bytes than the same history with pack.delta-depth 0. Every version checks out byte for byte; gc and
# fsck are clean; `dvt serve` seeds the repository and clones of version 5 and 20 are byte for byte the originals and
# pass fsck; a pull of one directory of version 20 fetches the delta chains it needs. Loopback in a private network namespace; every process is stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# version K of the tables: rows whose key passes a K-dependent filter, so every version inserts and drops rows
# throughout each file (as a daily dump of a sorted table does)
write_version() {
    local dir=$1 k=$2
    mkdir -p "$dir/tables" "$dir/labels"
    awk -v k="$k" 'BEGIN { for (i = 0; i < 9000; i++) if ((i * 7 + k * 13) % 61 != 0 || i % 3 == k % 3)
        printf "%d,station-%d,%.2f,%d,reading of the day for this station\n", i, i % 97, (i * 31 + (i % 50 == k ? k : 0)) % 1000 / 10.0, i % 17 }' \
        >"$dir/tables/readings.csv"
    awk -v k="$k" 'BEGIN { for (i = 0; i < 4000; i++) if ((i + k) % 29 != 0)
        printf "%06d\tlabel-%d\t%s\n", i, (i * 3 + (i % 11 == k % 11 ? k : 0)) % 50, "a label that stays the same" }' \
        >"$dir/labels/labels.tsv"
    printf 'version %d\n' "$k" >"$dir/VERSION"
}

SRC=$T/src
new_repo "$SRC"
cd "$SRC"
DELTAS=0
for k in $(seq 1 20); do
    write_version "$SRC" "$k"
    expect_exit 0 "$DVT" --json commit -m "v$k"
    id=$(json_get 'j["id"]')
    n=$(json_get 'j["stats"]["chunks_delta"]')
    DELTAS=$((DELTAS + n))
    eval "V$k=$id"
    tree_digest "$SRC" >"$T/v$k.digest"
done
[ "$DELTAS" -gt 20 ] || fail "only $DELTAS chunks were stored as deltas over 20 versions"
# the packs holding deltas are version 2 (header bytes 8..11), the first commit's are version 1
V2PACKS=0
for p in .dvt/packs/*.pack; do
    v=$(od -An -tu4 -j8 -N4 "$p" | tr -d ' ')
    [ "$v" = 1 ] || [ "$v" = 2 ] || fail "pack $p has version $v"
    [ "$v" = 2 ] && V2PACKS=$((V2PACKS + 1))
done
[ "$V2PACKS" -gt 0 ] || fail "no version-2 pack was written"
STORE=$(du -sb .dvt/packs | cut -f1)

# the same history without deltas takes clearly more space
NODELTA=$T/nodelta
new_repo "$NODELTA"
expect_exit 0 "$DVT" -C "$NODELTA" config pack.delta-depth 0
for k in $(seq 1 20); do
    write_version "$NODELTA" "$k"
    expect_exit 0 "$DVT" -C "$NODELTA" commit -q -m "v$k"
done
for p in "$NODELTA"/.dvt/packs/*.pack; do
    [ "$(od -An -tu4 -j8 -N4 "$p" | tr -d ' ')" = 1 ] || fail "pack.delta-depth 0 wrote a version-2 pack"
done
STORE0=$(du -sb "$NODELTA/.dvt/packs" | cut -f1)
[ $((STORE * 2)) -lt "$STORE0" ] || fail "store with deltas $STORE bytes, without $STORE0: not less than half"
echo "  store: $STORE bytes with deltas, $STORE0 without" >&2

# every version checks out byte for byte (chains read back through their bases)
checkout_each 1 5 13 20

# gc keeps every base a reachable version needs; fsck checks every chain
expect_exit 0 "$DVT" gc
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == 20'

# clones of two versions from a seeder, byte for byte
start_serve "$SRC" "$T/serve.json"
for k in 5 20; do
    eval "id=\$V$k"
    expect_exit 0 "$DVT" --json clone "$id" "$T/clone$k" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    assert_json 'j["commit"] == "'"$id"'"'
    assert_same_tree "$T/v$k.digest" "$T/clone$k" "the clone of v$k"
    expect_exit 0 "$DVT" -C "$T/clone$k" --json fsck
    assert_json 'j["ok"]'
done
# a pull of one directory fetches the delta chains of its chunks too, and gives its exact bytes
P=$T/partial
new_repo "$P"
expect_exit 0 "$DVT" -C "$P" --json pull "$V20" --peer "$PEER" --listen 127.0.0.3 --timeout 60 -- tables/
assert_json 'j["packs_fetched"] == 0 and j["objects_fetched"] > 0'
(cd "$SRC" && expect_exit 0 "$DVT" checkout -q "$V20" && tree_digest tables) >"$T/tables.digest"
(cd "$P" && tree_digest tables | diff -u "$T/tables.digest" -) || fail "tables/ of the partial pull differs from v20"
[ ! -e "$P/labels" ] || fail "the partial pull wrote labels/"
expect_exit 0 "$DVT" -C "$P" --json fsck
assert_json 'j["ok"]'
stop_serve "$SERVE_PID" "$T/serve.json"
ok
