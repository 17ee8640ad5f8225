#!/usr/bin/env bash
# A version whose named packs hold the same objects twice, fetched in part (docs/format.md, "Re-packing"; transport
# "Pulling"): a re-pack copies the live delta chunks of a sparse pack into a new pack, and a later version names the old
# pack again (a deleted table comes back: its chunks lie only there), so the live delta chunks lie in both and the
# fetch reads only one of the two copies. Every version clones from a seeder byte for byte and passes fsck, and a pull
# of one table of the last version into an empty repository gets that table byte for byte: the version check reads
# each record where it was fetched, never the unfetched part of the other pack (which it once read as a "damaged
# record header", refusing the version). Loopback in a private network namespace; every process stopped by PID.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

SRC=$T/src
new_repo "$SRC"
expect_exit 0 "$DVT" -C "$SRC" config pack.size 1048576
# table T at version V: 1,600 rows of pseudo-random digits (~80 KiB, little of it compressible); from version 1 on,
# every third row has the digits of version V (each chunk changes: a delta chunk a third of its size)
write_table() {
    awk -v t="$1" -v v="$2" 'BEGIN { for (i = 0; i < 1600; i++) {
        x = (t * 7919 + i * 104729 + (v > 0 && i % 3 == v % 3 ? v * 15485863 : 0)) % 2147483647 + 1
        printf "%d", i
        for (k = 0; k < 4; k++) { x = (x * 48271) % 2147483647; printf ",%010d", x }
        printf "\n" } }' >"$SRC/tables/t$1.csv"
}
n=0
commit() {
    n=$((n + 1))
    expect_exit 0 "$DVT" -C "$SRC" --json commit -m "v$n"
    eval "V$n=$(json_get 'j["id"]')"
    eval "D$n=$(json_get 'j["repack"]["dissolved"]')"
    tree_digest "$SRC" >"$T/v$n.digest"
}
mkdir -p "$SRC/tables"
for t in $(seq 0 11); do write_table "$t" 0; done
commit                                                  # v1: twelve tables
for t in $(seq 0 8); do write_table "$t" 2; done
commit                                                  # v2: nine of them changed: delta chunks in v2's pack
expect_exit 0 "$DVT" -C "$SRC" config pack.extra-packs 0
rm "$SRC/tables/t8.csv"
commit                                                  # v3: re-packs: v2's pack dissolved, its live chunks copied
[ "$D3" -gt 0 ] || fail "v3 dissolved no pack: the test proves nothing"
expect_exit 0 "$DVT" -C "$SRC" config pack.extra-packs 32
write_table 8 2
rm "$SRC"/tables/t{0,1,2,3}.csv
commit                                                  # v4: t8 is back (its chunks lie only in v2's pack)

# v4 names objects in two of its packs, delta chunks among them (else the test proves nothing)
"$PY" - "$SRC/.dvt" "$V4" >"$T/dups" <<'EOF'
import os, struct, sys
dvt, cid = sys.argv[1], sys.argv[2]
packs = [l.split()[1] for l in open(os.path.join(dvt, "commits", cid)) if l.startswith("pack ")]
seen, deltas = {}, set()
for p in packs:
    with open(os.path.join(dvt, "packs", p + ".pack"), "rb") as f:
        f.seek(-64, 2)
        footer = f.read(64)
        off, count = struct.unpack_from("<QQ", footer, 8)
        f.seek(off)
        index = f.read(52 * count)
    for i in range(count):
        e = index[52 * i:52 * i + 52]
        seen.setdefault(e[:32], []).append(p)
        if e[49] in (2, 3):
            deltas.add(e[:32])
dup = [k for k, v in seen.items() if len(v) > 1]
print(len(dup), len([k for k in dup if k in deltas]))
EOF
read -r dups dup_deltas <"$T/dups"
[ "$dup_deltas" -gt 0 ] || fail "v4 names no delta chunk in two packs ($dups objects twice): the test proves nothing"
echo "  v4: $dups objects in two named packs, $dup_deltas of them delta chunks" >&2

start_serve "$SRC" "$T/serve.json"
for k in 4 3 2 1; do
    eval "id=\$V$k"
    expect_exit 0 "$DVT" --json clone "$id" "$T/clone$k" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    assert_json 'j["commit"] == "'"$id"'"'
    [ "$k" != 4 ] || assert_json 'j["packs_partial"] >= 2'  # both copies of the objects were fetched in part
    assert_same_tree "$T/v$k.digest" "$T/clone$k" "the clone of v$k"
    expect_exit 0 "$DVT" -C "$T/clone$k" --json fsck
    assert_json 'j["ok"]'
done
# a pull of one table whose delta chunks lie in both packs, into an empty repository
new_repo "$T/part"
expect_exit 0 "$DVT" -C "$T/part" --json pull "$V4" --peer "$PEER" --listen 127.0.0.3 --timeout 60 -- tables/t5.csv
cmp "$T/part/tables/t5.csv" "$T/clone4/tables/t5.csv" || fail "tables/t5.csv pulled alone differs"
[ ! -e "$T/part/tables/t6.csv" ] || fail "the pull of one path wrote another"
stop_serve "$SERVE_PID" "$T/serve.json"
ok
