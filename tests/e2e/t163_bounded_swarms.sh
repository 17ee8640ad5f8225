#!/usr/bin/env bash
# Bounded swarms per version (docs/format.md, "Re-packing"): a 24-version history of 16 tables, two of them changed
# per version plus one new small file, with pack.size 1 MiB and pack.extra-packs 4. The same history with the default
# slack (32) names more packs than ⌈bytes / pack.size⌉ + 4 at its end; with 4 every commit names at most that many
# (some commits re-pack), every version checks out byte for byte, gc + fsck are clean, and clones of an old version and
# of the newest from a seeder are byte for byte the originals and pass fsck. Loopback in a private network namespace;
# every process is stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

N=24
MiB=1048576

# table T at its version V: ~64 KiB of sorted rows; version V changes every 40th row
write_table() {
    local dir=$1 t=$2 v=$3
    awk -v t="$t" -v v="$v" 'BEGIN { for (i = 0; i < 1100; i++)
        printf "%d,table-%d,%d,%s,a constant description of this row\n", i, t, (i * 7919 + t) % 10007, (i % 40 == v % 40 ? "v" v : "-") }' \
        >"$dir/tables/t$t.csv"
}

# replay DIR EXTRA: replay the history into a new repository at DIR; prints one line per version: id packs bytes
replay() {
    local dir=$1 extra=$2 v t
    new_repo "$dir"
    expect_exit 0 "$DVT" -C "$dir" config pack.size $MiB
    expect_exit 0 "$DVT" -C "$dir" config pack.extra-packs "$extra"
    mkdir -p "$dir/tables" "$dir/notes"
    for t in $(seq 0 15); do write_table "$dir" "$t" 0; done
    for v in $(seq 1 $N); do
        if [ "$v" -gt 1 ]; then
            write_table "$dir" $((v % 16)) "$v"
            write_table "$dir" $(((v * 7 + 3) % 16)) "$v"
        fi
        head -c 2000 /dev/urandom >"$dir/notes/n$v.bin"
        expect_exit 0 "$DVT" -C "$dir" --json commit -m "v$v"
        json_get '"%s %d %d %d" % (j["id"], len(j["packs"]), j["bytes"], j["repack"]["dissolved"])'
        [ -n "${DIGESTS:-}" ] && tree_digest "$dir" >"$T/v$v.digest"
    done
    return 0
}

# 1. the same history with the default slack: at its end the version names more packs than the tight bound allows
replay "$T/free" 32 >"$T/free.log"
read -r _ packs bytes _ < <(tail -n 1 "$T/free.log")
bound=$(((bytes + MiB - 1) / MiB + 4))
[ "$packs" -gt "$bound" ] || fail "without the tight bound version $N names only $packs packs (bound $bound): the test proves nothing"
echo "  slack 32: version $N names $packs packs" >&2

# 2. with pack.extra-packs 4 every commit stays within ⌈bytes / pack.size⌉ + 4
SRC=$T/src
DIGESTS=1 replay "$SRC" 4 >"$T/src.log"
repacks=0
v=0
while read -r id packs bytes dissolved; do
    v=$((v + 1))
    bound=$(((bytes + MiB - 1) / MiB + 4))
    [ "$packs" -le "$bound" ] || fail "version $v names $packs packs, more than its bound $bound"
    [ "$dissolved" -gt 0 ] && repacks=$((repacks + 1))
    eval "V$v=$id"
    last_packs=$packs
    # what the commit file says, too (`dvt show --json` lists the packs it names)
    expect_exit 0 "$DVT" -C "$SRC" --json show "$id"
    assert_json "len(j['packs']) == $packs"
done <"$T/src.log"
[ "$repacks" -gt 0 ] || fail "no commit re-packed"
echo "  slack 4: every version within its bound; $repacks commits re-packed; last names $last_packs packs" >&2

# 3. every version checks out byte for byte; gc keeps what the history names; fsck is clean
cd "$SRC"
checkout_each 1 7 $N
expect_exit 0 "$DVT" gc
expect_exit 0 "$DVT" --json fsck
assert_json "j['ok'] and j['reachable_commits'] == $N"

# 4. clones of an old version and of the newest from a seeder, byte for byte
start_serve "$SRC" "$T/serve.json"
for k in 3 $N; do
    eval "id=\$V$k"
    expect_exit 0 "$DVT" --json clone "$id" "$T/clone$k" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    assert_json 'j["commit"] == "'"$id"'"'
    assert_same_tree "$T/v$k.digest" "$T/clone$k" "the clone of v$k"
    expect_exit 0 "$DVT" -C "$T/clone$k" --json fsck
    assert_json 'j["ok"]'
done
stop_serve "$SERVE_PID" "$T/serve.json"
ok
