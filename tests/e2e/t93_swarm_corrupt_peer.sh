#!/usr/bin/env bash
# A peer that serves damaged data: seeder G has a good copy, seeder Bad a clone whose largest pack was overwritten in
# several places on disk after the clone (its server does not re-hash what it serves, so it sends the bad bytes).
#  * a clone with --peer Bad --peer G succeeds: the tree equals the source, fsck passes, and every pack in it is
#    byte-identical to G's (no bad byte got in);
#  * a clone with only --peer Bad fails with no_peers (10, docs/transport.md: "what peers sent failed verification"),
#    one error line naming the failed verification, and leaves no directory behind, or, when some of Bad's pieces
#    passed verification, keeps them as an interrupted clone (cli.md, "clone"): its mark names the commit, nothing in
#    packs/ or refs/, fsck passes, and the error says so; a pull into an existing repository leaves it unchanged.
# Only loopback addresses; every process is stopped by PID, also on failure (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MIB=$((1024 * 1024))

repo_state() {
    (cd "$1/.dvt" && find packs commits refs tmp HEAD -printf '%p %s %m\n' 2>/dev/null | sort && cat HEAD)
}

# --- the source G and its clone Bad
G=$T/g
new_repo "$G"
make_tree "$G"
for i in 0 1; do gen_bytes $((6 * MIB + i * 777)) "corrupt-$i" >"$G/data/raw/big$i.bin"; done
cd "$G"
V1=$(commit_id v1)
tree_digest "$G" >"$T/v1.digest"

start_serve "$G" "$T/g0.json" 127.0.0.2:0
cd "$T"
expect_exit 0 "$DVT" --json clone "$V1" "$T/bad" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v1.digest" "$T/bad" "the clone Bad (before the damage)"
stop_serve "$SERVE_PID" "$T/g0.json"

# --- damage Bad's largest pack: 8 runs of 4 KiB of other bytes spread over its middle (header, index and footer
# stay intact, so the file still looks like a pack of the right length)
PACK=$(ls -S "$T/bad/.dvt/packs/"*.pack | head -n 1)
PACKNAME=$(basename "$PACK")
SIZE=$(stat -c %s "$PACK")
[ "$SIZE" -gt $((10 * MIB)) ] || fail "the largest pack is only $SIZE bytes"
chmod u+w "$PACK"
for k in 1 2 3 4 5 6 7 8; do
    gen_bytes 4096 "damage-$k" | dd of="$PACK" bs=4096 seek=$((SIZE * k / 10 / 4096)) conv=notrunc status=none
done
chmod a-w "$PACK"
[ "$(stat -c %s "$PACK")" = "$SIZE" ] || fail "damaging the pack changed its length"
cmp -s "$PACK" "$G/.dvt/packs/$PACKNAME" && fail "the pack was not damaged"
expect_exit 5 "$DVT" -C "$T/bad" fsck   # the damage is real (and dvt sees it when it looks)

start_serve "$G" "$T/g1.json" 127.0.0.2:0
SG=$SERVE_PID PG=$PEER
start_serve "$T/bad" "$T/bad1.json" 127.0.0.3:0
SBAD=$SERVE_PID PBAD=$PEER
# Bad must really offer the damaged pack (a server that skipped it would not test the puller). Bad pulled V1 whole:
# it holds every pack of the version, all G holds but the locator's (docs/format.md, "Locator")
NPACKS=$(json_get 'j["packs"]' "$T/g1.json")
grep -q "^locator " "$G/.dvt/commits/$V1" && NPACKS=$((NPACKS - 1))
assert_json 'j["packs"] == '"$NPACKS" "$T/bad1.json"

# --- only Bad: no_peers (10) after the timeout, one error line, no directory left
t0=$(date +%s)
expect_exit 10 "$DVT" clone "$V1" "$T/x" --peer "$PBAD" --listen 127.0.0.4 --timeout 6
t1=$(date +%s)
one_error_line
assert_grep 'failed verification' "$ERR" "the error does not say that what the peer sent failed verification"
assert_grep "$PBAD" "$ERR" "the error does not name the peer"
# no_directory_or_kept WHAT: $T/x is absent, or an interrupted clone of V1 holding only verified pieces
no_directory_or_kept() {
    [ -e "$T/x" ] || return 0
    [ "$(sed -n 2p "$T/x/.dvt/clone" 2>/dev/null)" = "$V1" ] || fail "$1 left its directory behind: $(ls -A "$T/x")"
    [ -z "$(ls "$T/x/.dvt/packs")" ] && [ -z "$(find "$T/x/.dvt/refs" -type f)" ] ||
        fail "$1 kept packs or refs: $(ls "$T/x/.dvt/packs") $(find "$T/x/.dvt/refs" -type f)"
    "$DVT" -C "$T/x" fsck >/dev/null 2>&1 || fail "$1 kept a directory that fsck refuses"
    echo "  $1 kept $(ls "$T/x/.dvt/partial" | wc -l) files of verified pieces in $T/x" >&2
}
no_directory_or_kept "the failed clone"
if [ -e "$T/x" ]; then assert_grep "keeps what it verified" "$ERR" "the error does not say the clone was kept"; fi
[ $((t1 - t0)) -lt 30 ] || fail "the failed clone took $((t1 - t0)) s with --timeout 6"
# the same with --json (resuming what the first kept, if anything): one error document on stdout, kind no_peers
expect_exit 10 "$DVT" --json clone "$V1" "$T/x" --peer "$PBAD" --listen 127.0.0.4 --timeout 4
assert_json 'j["error"]["kind"] == "no_peers" and j["error"]["exit_code"] == 10'
no_directory_or_kept "the failed clone (--json)"
# a pull into an existing repository changes nothing
R=$T/r
new_repo "$R"
repo_state "$R" >"$T/state.before"
expect_exit 10 "$DVT" -C "$R" pull "$V1" --peer "$PBAD" --listen 127.0.0.4 --timeout 4
one_error_line
repo_state "$R" >"$T/state.after"
diff -u "$T/state.before" "$T/state.after" >&2 || fail "a pull that got only bad data changed the repository"
stop_serve "$SBAD" "$T/bad1.json"
BAD_ALONE_UP=$SERVE_UPLOADED
[ "$BAD_ALONE_UP" -gt 0 ] || fail "Bad uploaded nothing: the failures above were not caused by its bad data"

# --- Bad and G: the clone succeeds with G's bytes only (rate-limited so that both peers take part)
start_serve "$T/bad" "$T/bad2.json" 127.0.0.3:0
SBAD=$SERVE_PID PBAD=$PEER
expect_exit 0 "$DVT" --json clone "$V1" "$T/good" --peer "$PBAD" --peer "$PG" --listen 127.0.0.5 \
    --download-limit 8M --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["packs_fetched"] == j["packs"] == '"$NPACKS"
assert_same_tree "$T/v1.digest" "$T/good" "the clone from Bad and G"
# every pack of the version, byte for byte; not the locator's (a whole clone does not fetch it)
LP=$(sed -n 's/^locator [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$G/.dvt/commits/$V1")
for p in "$G"/.dvt/packs/*.pack; do
    [ "$(basename "$p")" != "$LP.pack" ] || continue
    cmp "$p" "$T/good/.dvt/packs/$(basename "$p")" >&2 || fail "pack $(basename "$p") of the clone differs from G's"
done
[ "$(ls "$T/good/.dvt/packs" | wc -l)" = "$NPACKS" ] || fail "the clone has other packs than G's version packs"
cmp "$G/.dvt/commits/$V1" "$T/good/.dvt/commits/$V1" >&2 || fail "the clone's commit file differs from G's"
[ -z "$(ls -A "$T/good/.dvt/tmp")" ] || fail "the clone left temp files: $(ls -A "$T/good/.dvt/tmp")"
expect_exit 0 "$DVT" -C "$T/good" fsck
stop_serve "$SBAD" "$T/bad2.json"
BAD_UP=$SERVE_UPLOADED
stop_serve "$SG" "$T/g1.json"
echo "  Bad alone: uploaded $BAD_ALONE_UP bytes, all rejected; Bad and G: Bad uploaded $BAD_UP bytes, G $SERVE_UPLOADED" >&2
ok
