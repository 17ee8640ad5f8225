#!/usr/bin/env bash
# Lazy reads from the swarm (#18): one `dvt serve` of the reference data v1 on loopback; readers that lack the version
# read it through `dvt mount COMMIT DIR --peer` and through `dvt serve --http --peer`, against `dvt clone` + reading
# the files, in the same run. Prints a table.
#
#   bench/lazy.sh                      # SCALE=1 (~2 GiB); the lead runs it at full scale
#   SCALE=0.02 bench/lazy.sh           # quick check (~40 MiB)
#
# Env: DVT=<repo>/build/dvt, BENCH_DIR=/tmp/dvt-bench-swarm (work dir; the generated data and its dvt repository are
#      kept in $BENCH_DIR/lazy/ and reused), SCALE=1, SEED=42 (dataset), SAMPLE_SEED=7 (which 1 % of the images),
#      GEN=<repo>/../shared/bench/make_dataset.sh, TIMEOUT=120 (--timeout of the readers).
#
# Measured (each reader in a fresh repository of its own, `dvt init`):
#   first byte   mount: from open() of the first image to its first byte, the mount already up (it fetched the
#                commit, the pack indexes and the trees at start); HTTP: GET of 1 byte of the first image, the endpoint
#                already serving the commit (its root listing fetched before).
#   1 % sample   a fresh mount reads 1 % of the image files (random.Random(SAMPLE_SEED).sample of the sorted list):
#                payload bytes the mount downloaded (its JSON "bytes_downloaded": the metadata fetched at start, and the
#                pieces holding the sample's chunks) against the bytes of the version.
#   sequential   every file in sorted order, 1 MiB reads: through a fresh mount (end to end: from `dvt mount` to the
#                last byte), through a fresh HTTP endpoint (from `dvt serve` to the last byte), against `dvt clone`
#                + reading the checked-out files; then a second pass through a new mount / the same endpoint of the
#                same repository (what the first pass fetched is local now; the mount is new so the kernel's page
#                cache of the first mount is not what is measured).
# Targets (#18): first byte <= 0.5 s; the 1 % sample moves <= 3 % of the version's bytes; mount sequential >= 0.7x
# clone-then-read, end to end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=swarm_lib.sh
source "$here/swarm_lib.sh"
export SCALE=${SCALE:-1} SEED=${SEED:-42}
SAMPLE_SEED=${SAMPLE_SEED:-7}
GEN=${GEN:-$repo/../shared/bench/make_dataset.sh}
TIMEOUT=${TIMEOUT:-120}
W=$BENCH_DIR/lazy
SRC=$W/src-s$SCALE
RUN=$W/run
SEED_IP=127.0.0.2
install_cleanup
[[ -x $DVT ]] || { echo "no dvt binary at $DVT" >&2; exit 1; }
[[ -e /dev/fuse ]] && command -v fusermount3 >/dev/null || { echo "needs /dev/fuse and fusermount3" >&2; exit 1; }

MNT=$RUN/mnt
unmount_all() { mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u -z "$MNT" 2>/dev/null || true; }
trap 'unmount_all; _bench_cleanup' EXIT

# --- setup (untimed): the data, its repository, the file list
if [[ ! -f $SRC/.done ]]; then
    rm -rf "$SRC" "$SRC.id"
    mkdir -p "$W"
    echo "generating v1 (SCALE=$SCALE) into $SRC" >&2
    "$GEN" --v1 "$SRC" >&2
    "$DVT" init -q "$SRC"
    "$DVT" -C "$SRC" --json commit -m v1 >"$W/commit-s$SCALE.json"
    json_field "$W/commit-s$SCALE.json" id >"$SRC.id"
    touch "$SRC/.done"
fi
ID=$(cat "$SRC.id")
rm -rf "$RUN"
mkdir -p "$RUN" "$MNT"
(cd "$SRC" && find . -path ./.dvt -prune -o -type f ! -name .done -print | sed 's|^\./||' | sort) >"$RUN/files"
VERSION_BYTES=$(cd "$SRC" && tr '\n' '\0' <"$RUN/files" | xargs -0 stat -c %s | awk '{s+=$1} END{printf "%.0f\n", s}')
grep '^images/' "$RUN/files" >"$RUN/images"
python3 - "$RUN/images" "$SAMPLE_SEED" >"$RUN/sample" <<'PY'
import random, sys
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
k = max(1, round(len(files) / 100))
for f in sorted(random.Random(int(sys.argv[2])).sample(files, k)):
    print(f)
PY
FIRST=$(head -1 "$RUN/images")

# read_files ROOT LIST: reads every file of LIST under ROOT (1 MiB reads); prints "seconds bytes"
read_files() {
    python3 - "$1" "$2" <<'PY'
import sys, time
root, lst = sys.argv[1], sys.argv[2]
t = time.monotonic(); n = 0
for rel in open(lst):
    with open(root + "/" + rel.strip(), "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b: break
            n += len(b)
print(f"{time.monotonic() - t:.3f} {n}")
PY
}
# http_files BASE LIST: GETs every file of LIST from BASE (one keep-alive connection); prints "seconds bytes"
http_files() {
    python3 - "$1" "$2" <<'PY'
import http.client, sys, time, urllib.parse
base, lst = urllib.parse.urlsplit(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection(base.hostname, base.port, timeout=600)
t = time.monotonic(); n = 0
for rel in open(lst):
    c.request("GET", base.path + urllib.parse.quote(rel.strip()))
    r = c.getresponse()
    if r.status != 200: sys.exit(f"GET {rel.strip()}: {r.status} {r.read()[:200]!r}")
    while True:
        b = r.read(1 << 20)
        if not b: break
        n += len(b)
print(f"{time.monotonic() - t:.3f} {n}")
PY
}
# first_byte PATH: seconds from open() to the first byte
first_byte() {
    python3 - "$1" <<'PY'
import sys, time
t = time.monotonic()
with open(sys.argv[1], "rb", buffering=0) as f: f.read(1)
print(f"{time.monotonic() - t:.4f}")
PY
}
http_first_byte() {
    python3 - "$1" <<'PY'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
t = time.monotonic()
c.request("GET", u.path, headers={"Range": "bytes=0-0"})
r = c.getresponse(); b = r.read()
if r.status != 206 or len(b) != 1: sys.exit(f"GET {u.path}: {r.status}")
print(f"{time.monotonic() - t:.4f}")
PY
}

# mount_start REPO NAME: `dvt mount` of ID in the background (sets MPID); mount_stop NAME KEY: SIGTERM, then a field
# of the last JSON line
mount_start() {
    "$DVT" -C "$1" --json mount "$ID" "$MNT" --peer "$PEER" --listen 127.0.0.4 --timeout "$TIMEOUT" \
        >"$RUN/$2.json" 2>"$RUN/$2.err" &
    MPID=$!
    track "$MPID"
    wait_json_line "$RUN/$2.json" "$MPID" 600
}
mount_stop() {  # NAME KEY: sets MSTAT to field KEY of the last JSON line
    stop_pid "$MPID" || { cat "$RUN/$1.err" >&2; return 1; }
    MSTAT=$(json_field "$RUN/$1.json" "$2" -1)
}

"$DVT" -C "$SRC" --json serve --listen "$SEED_IP:0" >"$RUN/seed.json" 2>"$RUN/seed.err" &
SEED_PID=$!
track "$SEED_PID"
wait_json_line "$RUN/seed.json" "$SEED_PID"
PEER=$(json_field "$RUN/seed.json" listen)
echo "seeder on $PEER, commit $ID, $VERSION_BYTES bytes in $(wc -l <"$RUN/files") files" >&2

# --- mount: first byte and the 1 % sample
"$DVT" init -q "$RUN/m1"
T0=$(tmark)
mount_start "$RUN/m1" m1
MOUNT_READY=$(python3 -c "print(f'{$(tmark) - $T0:.3f}')")
FB_MOUNT=$(first_byte "$MNT/$FIRST")
read -r SAMPLE_S SAMPLE_BYTES < <(read_files "$MNT" "$RUN/sample")
mount_stop m1 bytes_downloaded
SAMPLE_MOVED=$MSTAT
echo "mount: ready in $MOUNT_READY s, first byte $FB_MOUNT s, sample of $SAMPLE_BYTES bytes moved $SAMPLE_MOVED" >&2

# --- mount: sequential, end to end, then a second pass through a new mount of the same repository
"$DVT" init -q "$RUN/m2"
T0=$(tmark)
mount_start "$RUN/m2" m2
read -r _ SEQ_BYTES < <(read_files "$MNT" "$RUN/files")
SEQ_MOUNT=$(python3 -c "print(f'{$(tmark) - $T0:.3f}')")
mount_stop m2 bytes_downloaded
SEQ_MOUNT_MOVED=$MSTAT
mount_start "$RUN/m2" m2b
read -r SEQ_MOUNT2 _ < <(read_files "$MNT" "$RUN/files")
mount_stop m2b bytes_downloaded
echo "mount: sequential $SEQ_MOUNT s ($SEQ_MOUNT_MOVED bytes moved), second pass $SEQ_MOUNT2 s" >&2

# --- HTTP: first byte, sequential end to end, second pass
"$DVT" init -q "$RUN/h1"
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
T0=$(tmark)
"$DVT" -C "$RUN/h1" --json serve --listen 127.0.0.5:0 --http "127.0.0.1:$HTTP_PORT" --peer "$PEER" --timeout "$TIMEOUT" \
    >"$RUN/h1.json" 2>"$RUN/h1.err" &
HPID=$!
track "$HPID"
wait_json_line "$RUN/h1.json" "$HPID"
BASE=http://127.0.0.1:$HTTP_PORT/$ID/
curl -sS --fail -o /dev/null "$BASE"  # the commit and its metadata
read -r _ HTTP_BYTES < <(http_files "$BASE" "$RUN/files")
SEQ_HTTP=$(python3 -c "print(f'{$(tmark) - $T0:.3f}')")
read -r SEQ_HTTP2 _ < <(http_files "$BASE" "$RUN/files")
stop_pid "$HPID" || true
"$DVT" init -q "$RUN/h2"
"$DVT" -C "$RUN/h2" --json serve --listen 127.0.0.5:0 --http "127.0.0.1:$HTTP_PORT" --peer "$PEER" --timeout "$TIMEOUT" \
    >"$RUN/h2.json" 2>"$RUN/h2.err" &
HPID=$!
track "$HPID"
wait_json_line "$RUN/h2.json" "$HPID"
curl -sS --fail -o /dev/null "$BASE"
FB_HTTP=$(http_first_byte "$BASE$FIRST")
stop_pid "$HPID" || true
echo "http: first byte $FB_HTTP s, sequential $SEQ_HTTP s, second pass $SEQ_HTTP2 s" >&2

# --- clone, then read the files
T0=$(tmark)
"$DVT" --json clone "$ID" "$RUN/c1" --peer "$PEER" --listen 127.0.0.4 --timeout "$TIMEOUT" >"$RUN/clone.json" 2>"$RUN/clone.err"
read -r _ CLONE_BYTES < <(read_files "$RUN/c1" "$RUN/files")
SEQ_CLONE=$(python3 -c "print(f'{$(tmark) - $T0:.3f}')")
read -r SEQ_CLONE2 _ < <(read_files "$RUN/c1" "$RUN/files")
echo "clone + read: $SEQ_CLONE s, second read $SEQ_CLONE2 s" >&2
stop_pid "$SEED_PID" || true

[[ $SEQ_BYTES == "$VERSION_BYTES" && $HTTP_BYTES == "$VERSION_BYTES" && $CLONE_BYTES == "$VERSION_BYTES" ]] ||
    echo "WARNING: bytes read differ from the version's ($SEQ_BYTES, $HTTP_BYTES, $CLONE_BYTES vs $VERSION_BYTES)" >&2

python3 - <<PY
vb = $VERSION_BYTES
def mbs(s): return f"{vb / 1e6 / float(s):.1f}"
def mark(ok): return "yes" if ok else "NO"
print("# dvt lazy reads (mount, HTTP) vs clone + read (one seeder on loopback)\n")
print(f"- data: reference v1, SCALE=$SCALE, {vb} bytes in $(wc -l <"$RUN/files") files; commit $ID")
print(f"- sample: $(wc -l <"$RUN/sample") image files (1 %, SAMPLE_SEED=$SAMPLE_SEED), {$SAMPLE_BYTES} bytes")
print(f"- mount ready (commit, pack indexes, trees fetched): $MOUNT_READY s\n")
print("| measure | value | target | met |")
print("|---|---|---|---|")
print(f"| first byte, mount | $FB_MOUNT s | <= 0.5 s | {mark($FB_MOUNT <= 0.5)} |")
print(f"| first byte, HTTP | $FB_HTTP s | <= 0.5 s | {mark($FB_HTTP <= 0.5)} |")
pct = 100 * $SAMPLE_MOVED / vb
print(f"| bytes moved to read the 1 % sample (mount) | $SAMPLE_MOVED ({pct:.2f} % of the version) | <= 3 % | {mark(pct <= 3)} |")
print(f"| sequential, mount (end to end) | $SEQ_MOUNT s, {mbs($SEQ_MOUNT)} MB/s, {$SEQ_MOUNT_MOVED} bytes moved | >= 0.7x clone + read | {mark(float($SEQ_CLONE) / float($SEQ_MOUNT) >= 0.7)} ({float($SEQ_CLONE) / float($SEQ_MOUNT):.2f}x) |")
print(f"| sequential, HTTP (end to end) | $SEQ_HTTP s, {mbs($SEQ_HTTP)} MB/s | | ({float($SEQ_CLONE) / float($SEQ_HTTP):.2f}x) |")
print(f"| clone + read | $SEQ_CLONE s, {mbs($SEQ_CLONE)} MB/s | | |")
print(f"| second pass, mount (new mount, data local) | $SEQ_MOUNT2 s, {mbs($SEQ_MOUNT2)} MB/s | | |")
print(f"| second pass, HTTP (same endpoint) | $SEQ_HTTP2 s, {mbs($SEQ_HTTP2)} MB/s | | |")
print(f"| second read of the clone (page cache) | $SEQ_CLONE2 s, {mbs($SEQ_CLONE2)} MB/s | | |")
PY
