#!/usr/bin/env bash
# Nothing of a version is stored, no ref moved and no file touched until the whole version is verified (#15):
#  1. hostile versions served by a real `dvt serve` (valid ids: commits rewritten from real ones and re-hashed, as an
#     attacker would; content that does not add up) pulled into a repository with its own data: exit 5, and packs/,
#     commits/, refs, reflogs, HEAD and the work tree exactly as before, fsck clean; a clone leaves no directory;
#  2. a commit naming 10,000 packs nobody has, served by a seeder that has only the commit: `clone --timeout 10` ends
#     with exit 10 within 15 s, under 512 MB, no directory left;
#  3. a checkout whose chunks turn out damaged deletes and replaces nothing (and takes back the new files);
#  4. a stored broken version (a damaged pack) keeps fsck failing until `fsck --repair` drops it (the branch moves back
#     to the last sound version) and gc deletes it; then fsck is clean.
# Only loopback addresses; every process is stopped by PID, also on failure (lib.sh trap).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

now_ms() { date +%s%3N; }

# repo_state DIR: what a refused pull must not change (partial/ and tmp/ may hold downloads, the index is a cache)
repo_state() {
    local d
    (
        cd "$1/.dvt"
        for d in packs commits refs logs HEAD shallow; do
            [ -e "$d" ] || continue
            find "$d" -printf '%p %s %m\n' | sort
            find "$d" -type f -exec sha256sum {} + | sort
        done
    )
    tree_digest "$1"
}

# rewrite_commit SRC_REPO COMMIT_ID EDIT: writes a new commit file into SRC_REPO/.dvt/commits/ whose text is COMMIT_ID's
# changed by the python statement EDIT (on `lines`, the commit's lines), and prints its id (the BEP 52 info-hash of the
# file, docs/format.md "Swarm identities").
rewrite_commit() {
    "$PY" - "$1" "$2" "$3" <<'PY'
import hashlib, os, sys
repo, cid, edit = sys.argv[1:4]
data = open(os.path.join(repo, ".dvt/commits", cid), "rb").read()
head, sep, message = data.partition(b"\n\n")
lines = head.split(b"\n")
exec(edit)
data = b"\n".join(lines) + sep + message

def merkle_root(b):
    leaves = [hashlib.sha256(b[i:i + 16384]).digest() for i in range(0, len(b), 16384)] or [b"\0" * 32]
    n = 1
    while n < len(leaves): n *= 2
    leaves += [b"\0" * 32] * (n - len(leaves))
    while len(leaves) > 1:
        leaves = [hashlib.sha256(leaves[i] + leaves[i + 1]).digest() for i in range(0, len(leaves), 2)]
    return leaves[0]

def bstr(b): return str(len(b)).encode() + b":" + b
info = (b"d" + bstr(b"file tree") + b"d" + bstr(b"dvt-commit") + b"d" + bstr(b"") + b"d" + bstr(b"length") +
        b"i%de" % len(data) + bstr(b"pieces root") + bstr(merkle_root(data)) + b"eee" + bstr(b"meta version") + b"i2e" +
        bstr(b"name") + bstr(b"dvt-commit") + bstr(b"piece length") + b"i16384e" + b"e")
new = hashlib.sha256(info).hexdigest()
path = os.path.join(repo, ".dvt/commits", new)
with open(path + ".tmp", "wb") as f: f.write(data)
os.rename(path + ".tmp", path)
print(new)
PY
}

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
"$DVT" config pack.size 1048576  # several data packs (a commit this small otherwise writes one, plus its locator's)
V1=$(commit_id v1)
# a file object of v1 (for a commit whose "tree" is one)
FILE_OBJ=$("$DVT" ls-tree "$V1" docs | awk '$1 == "file" && $4 == "readme.txt" {print $2}')
is_hex64 "$FILE_OBJ" || fail "ls-tree printed no file object id: $FILE_OBJ"

# hostile versions, each a real commit's text changed and re-hashed
# (all packs but the first that is not the locator's, and no locator: the objects in the dropped packs lie outside)
DROP_PACKS=$(rewrite_commit "$SRC" "$V1" '
loc = [l.split()[2] for l in lines if l.startswith(b"locator ")]
keep = [l for l in lines if l.startswith(b"pack ") and l.split()[1] not in loc][:1]
lines = [l for l in lines if not l.startswith(b"pack ") and not l.startswith(b"locator ")] + keep')
FILE_AS_TREE=$(rewrite_commit "$SRC" "$V1" "lines = [b'tree $FILE_OBJ' if l.startswith(b'tree ') else l for l in lines]")
# a commit naming 10,000 more packs, which nobody has
MANY=$(rewrite_commit "$SRC" "$V1" '
import hashlib
fake = [b"pack %s 67108864 67108748" % hashlib.sha256(b"fake pack %d" % i).hexdigest().encode() for i in range(10000)]
packs = sorted([l for l in lines if l.startswith(b"pack ")] + fake)
lines = [l for l in lines if not l.startswith(b"pack ")] + packs')
for id in "$DROP_PACKS" "$FILE_AS_TREE" "$MANY"; do is_hex64 "$id" || fail "rewrite_commit printed '$id'"; done
[ "$(grep -c '^pack ' ".dvt/commits/$V1")" -ge 3 ] || fail "v1 names fewer than 2 data packs: dropping one changes nothing"
"$DVT" -C "$SRC" cat-object -t "$DROP_PACKS" >/dev/null || fail "the rewritten commit is not readable in its repository"

start_serve "$SRC" "$T/serve.json"

# --- 1. hostile versions pulled into a repository with its own data: refused, nothing changed
DST=$T/dst
new_repo "$DST"
mkdir -p "$DST/data"
printf 'my own file\n' >"$DST/data/mine.txt"
printf 'tracked\n' >"$DST/tracked.txt"
(cd "$DST" && commit_id own >/dev/null)
printf 'untracked work\n' >"$DST/scratch.txt"
repo_state "$DST" >"$T/state.before"
for bad in "$DROP_PACKS" "$FILE_AS_TREE"; do
    expect_exit 5 /usr/bin/time -f '%M' -o "$T/rss" "$DVT" -C "$DST" pull "$bad" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    one_error_line
    assert_grep "is refused" "$ERR"
    rss_kb=$(tail -n 1 "$T/rss")
    [ "$rss_kb" -lt $((512 * 1024)) ] || fail "pull of a hostile version peaked at $rss_kb KiB"
    repo_state "$DST" >"$T/state.after"
    diff -u "$T/state.before" "$T/state.after" >&2 || fail "a refused pull changed the repository or the work tree"
    [ ! -e "$DST/.dvt/commits/$bad" ] || fail "the refused commit was stored"
    expect_exit 0 "$DVT" -C "$DST" fsck
    expect_exit 5 "$DVT" clone "$bad" "$T/clone-bad" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    one_error_line
    [ ! -e "$T/clone-bad" ] || fail "a refused clone left its directory"
done
# the sound version still pulls
expect_exit 0 "$DVT" -C "$DST" pull "$V1" --peer "$PEER" --listen 127.0.0.3 --timeout 60 -f
expect_exit 0 "$DVT" -C "$DST" fsck

# --- 2. a commit naming 10,000 packs that nobody has: the timeout holds
t0=$(now_ms)
expect_exit 10 /usr/bin/time -f '%M' -o "$T/rss" "$DVT" clone "$MANY" "$T/many" --peer "$PEER" --listen 127.0.0.3 --timeout 10
t1=$(now_ms)
one_error_line
assert_grep 'timed out after 10 s' "$ERR"
[ $((t1 - t0)) -lt 15000 ] || fail "clone of a commit naming 10,000 packs took $((t1 - t0)) ms with --timeout 10"
rss_kb=$(tail -n 1 "$T/rss")
[ "$rss_kb" -lt $((512 * 1024)) ] || fail "clone of a commit naming 10,000 packs peaked at $rss_kb KiB"
[ ! -e "$T/many" ] || fail "the failed clone left its directory"
stop_serve "$SERVE_PID" "$T/serve.json"

# --- 3. a checkout whose chunks are damaged deletes and replaces nothing
CO=$T/co
new_repo "$CO"
cd "$CO"
gen_bytes 300000 co-a1 >a.bin
printf 'old\n' >old.txt
C1=$(commit_id c1)
gen_bytes 300000 co-a2 >a.bin
rm old.txt
mkdir -p new/dir
printf 'new\n' >new/dir/n.txt
C2=$(commit_id c2)
expect_exit 0 "$DVT" checkout "$C1"
# the data pack of c2 (named by c2, not by c1, holding a.bin's new chunks): damage its middle
big=""
for p in .dvt/packs/*.pack; do
    id=$(basename "$p" .pack)
    if grep -q "^pack $id " ".dvt/commits/$C2" && ! grep -q "^pack $id " ".dvt/commits/$C1" &&
        [ "$(stat -c %s "$p")" -gt 200000 ]; then big=$p; fi
done
[ -n "$big" ] || fail "no data pack of c2 alone found"
chmod u+w "$big"
size=$(stat -c %s "$big")
printf 'damaged damaged damaged' | dd of="$big" bs=1 seek=$((size / 2)) conv=notrunc status=none
tree_digest "$CO" >"$T/co.digest.before"
expect_exit 5 "$DVT" checkout "$C2"
one_error_line
tree_digest "$CO" >"$T/co.digest.after"
diff -u "$T/co.digest.before" "$T/co.digest.after" >&2 || fail "a checkout that failed verification changed the work tree"
[ -e old.txt ] || fail "old.txt was deleted before the damage was found"
[ ! -e new ] || fail "the new directory was left behind"
[ "$("$DVT" rev-parse HEAD)" = "$C1" ] || fail "HEAD moved"

# --- 4. fsck --repair drops the broken version (c2: its pack is damaged), gc deletes it, fsck is clean
expect_exit 5 "$DVT" fsck
expect_exit 5 "$DVT" --json fsck --repair
assert_json 'any(d["what"] == "ref refs/heads/main" and "moved back to '"$C1"'" in d["message"] for d in j["dropped"])'
[ "$("$DVT" rev-parse main)" = "$C1" ] || fail "main was not moved back to the last sound version"
expect_exit 0 "$DVT" --json gc
assert_json 'j["commits_removed"] == 1 and j["packs_removed"] >= 1'
expect_exit 0 "$DVT" fsck
[ -e old.txt ] || fail "repair or gc touched the work tree"
ok
