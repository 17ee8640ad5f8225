#!/usr/bin/env bash
# What clone and pull say when they fail or when a peer misbehaves (#19 item 6; docs/transport.md, "Failure
# behaviour"):
#  1. a successful clone from a peer that sends bad pieces (Bad: a pack damaged in every piece) and a good one (G)
#     reports them: JSON pieces_failed >= 1 and peers_banned (only ever Bad), the human line "... failed
#     verification and were fetched again";
#  2. a clone from a peer that holds part of the version (B: it pulled one directory) times out naming how many
#     pieces are still missing and that B does not have them, keeps its directory and says so (not "kept: a later
#     pull resumes");
#  3. a partial pull of a directory B does not have is reported the same way (the peer's part of the message has the
#     same words as the clone's: not "(connected)" for one and "it closed the connection" for the other);
#  4. a whole pull from B alone verifies B's pieces, times out and says "the verified pieces are kept";
#  5. a clone that verified nothing says its directory was removed, and it is; a pull that verified nothing does not
#     claim to keep anything.
# Loopback in a private network namespace; every process stopped by PID, also on failure (lib.sh trap).
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

MIB=$((1024 * 1024))
SRC=$T/src
new_repo "$SRC"
for s in 0 1 2; do
    mkdir -p "$SRC/shard_0$s"
    for f in 0 1; do gen_bytes $((2 * MIB + f * 4096)) "m$s-$f" >"$SRC/shard_0$s/part-$f.bin"; done
done
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"
cd "$T"
start_serve "$SRC" "$T/g.json" 127.0.0.2:0
SG=$SERVE_PID PG=$PEER

# --- 1. Bad (every piece of its largest pack damaged) and G: the clone succeeds and reports the bad pieces
expect_exit 0 "$DVT" clone "$V1" "$T/bad" --peer "$PG" --listen 127.0.0.5 --timeout 60
PACK=$(ls -S "$T/bad/.dvt/packs/"*.pack | head -n 1)
SIZE=$(stat -c %s "$PACK")
chmod u+w "$PACK"
"${PY_FAST[@]}" - "$PACK" "$SIZE" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:  # one byte in every 16 KiB block between the header and the index
    for off in range(64 * 1024, size * 8 // 10, 16 * 1024):
        f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x5a]))
PY
chmod a-w "$PACK"
start_serve "$T/bad" "$T/bad.json" 127.0.0.5:0
SBAD=$SERVE_PID PBAD=$PEER
expect_exit 0 "$DVT" --json clone "$V1" "$T/good" --peer "$PBAD" --peer "$PG" --listen 127.0.0.6 \
    --download-limit 8M --timeout 60
assert_json 'j["pieces_failed"] >= 1 and set(j["peers_banned"]) <= {"'"$PBAD"'"}'
echo "  clone from Bad and G: $(json_get 'j["pieces_failed"]') pieces failed, banned: $(json_get 'j["peers_banned"]')" >&2
assert_same_tree "$T/v1.digest" "$T/good" "the clone from Bad and G"
expect_exit 0 "$DVT" clone "$V1" "$T/good2" --peer "$PBAD" --peer "$PG" --listen 127.0.0.6 --download-limit 8M --timeout 60
assert_grep "pieces? failed verification and were fetched again" "$ERR" "the clone did not report the bad pieces"
stop_serve "$SBAD" "$T/bad.json"

# --- B pulls shard_01/ only, then serves that part alone
B=$T/b
new_repo "$B"
expect_exit 0 "$DVT" -C "$B" pull "$V1" --peer "$PG" --listen 127.0.0.3 --timeout 60 -- shard_01/
stop_serve "$SG" "$T/g.json"
start_serve "$B" "$T/b.json" 127.0.0.3:0
assert_json 'j["partial_packs"] >= 1' "$T/b.json"
PB=$PEER
LACKS="$PB \(it does not have [0-9]+ of the missing pieces of [0-9a-f]{64}\.pack\)"

# --- 2. a clone from B alone: pieces still missing, B does not have them; the directory is kept
expect_exit 10 "$DVT" clone "$V1" "$T/c" --peer "$PB" --listen 127.0.0.4 --timeout 6
one_error_line
cp "$ERR" "$T/clone.err"
assert_grep "pieces? of ([0-9a-f]{64}\.pack|[0-9]+ torrents) still missing" "$ERR" "the clone does not say what is missing"
assert_grep "$LACKS" "$ERR" "the clone does not say that B lacks the missing pieces"
assert_grep "keeps what it verified" "$ERR" "the clone does not say that it kept its directory"
assert_no_grep "kept: a later pull resumes" "$ERR"
[ -e "$T/c/.dvt/clone" ] || fail "the clone that verified B's pieces did not keep its directory"

# --- 3. a partial pull of a directory B lacks: the same words about B; nothing verified, nothing claimed kept
R=$T/r
new_repo "$R"
expect_exit 10 "$DVT" -C "$R" pull "$V1" --peer "$PB" --listen 127.0.0.4 --timeout 6 -- shard_00/
one_error_line
assert_grep "$LACKS" "$ERR" "the partial pull does not report B as the clone does: $(cat "$ERR")"
assert_no_grep "\(connected\)|closed the connection" "$ERR"

# --- 4. a whole pull from B alone: B's pieces are verified and kept, and the message says so
R2=$T/r2
new_repo "$R2"
expect_exit 10 "$DVT" -C "$R2" pull "$V1" --peer "$PB" --listen 127.0.0.4 --timeout 6
one_error_line
assert_grep "\(the verified pieces are kept: the next pull resumes\)" "$ERR" "the whole pull does not say it kept B's pieces"
[ -n "$(ls "$R2/.dvt/partial/"*.resume 2>/dev/null)" ] || fail "the pull kept no resume data"
stop_serve "$SERVE_PID" "$T/b.json"

# --- 5. a clone that verified nothing: its directory goes, and the message says so
expect_exit 10 "$DVT" clone "$V1" "$T/none" --peer 127.0.0.9:9 --listen 127.0.0.4 --timeout 2
one_error_line
assert_grep "nothing was verified: $T/none was removed" "$ERR" "the failed clone does not say it removed its directory"
assert_no_grep "kept" "$ERR"
[ ! -e "$T/none" ] || fail "the clone that verified nothing left $T/none"
# ... and a pull that verified nothing claims to keep nothing
R3=$T/r3
new_repo "$R3"
expect_exit 10 "$DVT" -C "$R3" pull "$V1" --peer 127.0.0.9:9 --listen 127.0.0.4 --timeout 2
one_error_line
assert_no_grep "kept" "$ERR"
ok
