#!/usr/bin/env bash
# A long history (#17 "Tests": a 60-version history replayed): 60 versions of a small dataset with the edit patterns
# of real versioned data (docs/format.md, "Delta records"): a key-sorted table that gains rows all through it, a
# date-sorted table that grows at the end, labels relabelled in place, binary files added and removed, a float matrix
# that grows and has rows recomputed, and a weights file nudged every 10th version. Every version is committed with
# the default settings; `dvt serve` seeds the repository; clones of versions 1, 10, 30 and 60 are byte for byte the
# originals and pass fsck; the clone of version 30 pulls version 60 across the 30-version gap and fast-forwards main
# (HEAD stays on the branch); gc + fsck of the source are clean and every version still checks out byte for byte.
# Loopback in a private network namespace; every process is stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

N=60
# write_version DIR K: turn version K-1 of DIR into version K (K = 1 writes the first version).
write_version() {
    local dir=$1 k=$2 i
    mkdir -p "$dir/tables" "$dir/labels" "$dir/images" "$dir/features" "$dir/model"
    # key-sorted table: one new row per station per version, so rows are inserted all through the file
    awk -v days=$((40 + k)) 'BEGIN { print "station,day,reading,flag"
        for (s = 0; s < 60; s++) for (d = 0; d < days; d++)
            printf "st-%03d,%05d,%d,%d\n", s, d, (s * 7919 + d * 104729) % 1000003, (s + d) % 7 }' >"$dir/tables/by_station.csv"
    # date-sorted table: the same rows, appended at the end
    awk -v days=$((40 + k)) 'BEGIN { print "day,station,reading"
        for (d = 0; d < days; d++) for (s = 0; s < 60; s++)
            printf "%05d,st-%03d,%d\n", d, s, (s * 7919 + d * 104729) % 1000003 }' >"$dir/tables/by_day.csv"
    # labels: 3,000 records, a few relabelled in every version (same length or not), a few appended
    awk -v k="$k" 'BEGIN { for (i = 0; i < 3000 + 10 * k; i++) {
            lab = (i * 37) % 20; for (j = 1; j <= k; j++) if ((i * 131 + j * 977) % 400 == 0) lab = (lab + j) % 20 + (j % 3 == 0 ? 100 : 0)
            printf "{\"id\": %d, \"label\": %d, \"text\": \"sample %d of the corpus\"}\n", i, lab, i } }' >"$dir/labels/annotations.jsonl"
    # images: two new (incompressible) files per version, the oldest one removed
    gen_bytes $((20000 + k * 97)) "img$k-a" >"$dir/images/$(printf '%03d' "$k")-a.jpg"
    gen_bytes $((15000 + k * 53)) "img$k-b" >"$dir/images/$(printf '%03d' "$k")-b.jpg"
    [ "$k" -gt 3 ] && rm -f "$dir/images/$(printf '%03d' $((k - 3)))-a.jpg"
    # features: a binary matrix that grows by a block per version, with one earlier block recomputed
    if [ "$k" = 1 ]; then gen_bytes $((64 * 1024)) feat-0 >"$dir/features/emb.bin"; fi
    gen_bytes 4096 "feat-$k" >>"$dir/features/emb.bin"
    if [ "$k" -gt 1 ]; then
        gen_bytes 1024 "feat-re-$k" | dd of="$dir/features/emb.bin" bs=1024 seek=$(((k * 13) % 60)) conv=notrunc status=none
    fi
    # weights: rewritten every 10th version (a fine-tune step)
    if [ $((k % 10)) = 1 ]; then gen_bytes $((512 * 1024)) "weights-$((k / 10))" >"$dir/model/weights.bin"; fi
    printf 'version %d\n' "$k" >"$dir/VERSION"
}

SRC=$T/src
new_repo "$SRC"
cd "$SRC"
declare -a V
DELTAS=0
for k in $(seq 1 $N); do
    write_version "$SRC" "$k"
    expect_exit 0 "$DVT" --json commit -m "v$k"
    V[$k]=$(json_get 'j["id"]')
    DELTAS=$((DELTAS + $(json_get 'j["stats"]["chunks_delta"]')))
    case $k in 1 | 10 | 30 | 45 | 60) tree_digest "$SRC" >"$T/v$k.digest" ;; esac
done
[ "$DELTAS" -gt 100 ] || fail "only $DELTAS chunks were stored as deltas over $N versions"
expect_exit 0 "$DVT" --json log
assert_json 'len(j["commits"]) == '"$N"

start_serve "$SRC" "$T/serve.json"
assert_json 'j["commits"] == '"$N" "$T/serve.json"

# clones of old and new versions from the seeder, byte for byte
for k in 1 10 30 60; do
    expect_exit 0 "$DVT" --json clone "${V[$k]}" "$T/clone$k" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    assert_json 'j["commit"] == "'"${V[$k]}"'"'
    echo "  clone of v$k: $(json_get 'j["bytes_received"]') bytes received" >&2
    assert_same_tree "$T/v$k.digest" "$T/clone$k" "the clone of v$k"
    expect_exit 0 "$DVT" -C "$T/clone$k" --json fsck
    assert_json 'j["ok"]'
done

# the clone of version 30 pulls version 60 across 30 missing versions: a fast-forward of main
cd "$T/clone30"
expect_exit 0 "$DVT" --json pull "${V[60]}" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"${V[60]}"'" and j["fast_forward"] and j["branch"] == "main"'
assert_json 'j["commits_between"] == 29'
assert_eq "$(cat .dvt/HEAD)" "ref: refs/heads/main" "HEAD after the pull across the gap"
assert_eq "$(cat .dvt/refs/heads/main)" "${V[60]}" "main after the pull across the gap"
assert_same_tree "$T/v60.digest" "$T/clone30" "the clone of v30 after pulling v60"
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"]'
cd "$SRC"
stop_serve "$SERVE_PID" "$T/serve.json"

# gc keeps every chain a reachable version needs; fsck checks them; every version still reads back byte for byte
expect_exit 0 "$DVT" gc
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == '"$N"
for k in 1 10 30 45; do
    expect_exit 0 "$DVT" checkout -q "${V[$k]}"
    assert_same_tree "$T/v$k.digest" "$SRC" "checkout of v$k after gc"
done
expect_exit 0 "$DVT" checkout -q main
assert_same_tree "$T/v60.digest" "$SRC" "checkout of main after gc"
ok
