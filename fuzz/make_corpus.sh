#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/<target>/ from real repositories made by the built dvt (docs/fuzzing.md).
#
#   DVT=build/dvt fuzz/make_corpus.sh [OUT_DIR]      (OUT_DIR defaults to fuzz/corpus; it is replaced)
#
# Two repositories are made in a temp dir (nested directories, an empty file, an executable, a symlink, odd names,
# compressible and random data over several chunks, .dvtignore files, two and three commits, git provenance, a
# remote, a dvt.lock written by `dvt pin`). From them: every commit file, every tree and file object (dvt cat-object),
# small whole packs, single records cut from the packs, each .dvt/config, the dvt.lock, the .dvtignore files with the
# repository's paths, and DHT records naming the commits. Output is deterministic for a given dvt (fixed author,
# time and content), so a regenerated corpus differs only where the formats changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${DVT:-$root/build/dvt}
[[ "$DVT" = /* ]] || DVT="$PWD/$DVT"
[ -x "$DVT" ] || { echo "dvt not found at $DVT (build it or set DVT)" >&2; exit 1; }
out=${1:-$root/fuzz/corpus}
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/dvt-fuzz-corpus.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

export DVT_AUTHOR_NAME="Fuzz Seed" DVT_AUTHOR_EMAIL="seed@example.invalid" DVT_AUTHOR_DATE=1700000000 DVT_NO_HOOKS=1
export LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME=seed GIT_AUTHOR_EMAIL=seed@example.invalid GIT_COMMITTER_NAME=seed
export GIT_COMMITTER_EMAIL=seed@example.invalid GIT_AUTHOR_DATE="1700000000 +0000" GIT_COMMITTER_DATE="1700000000 +0000"
dvt() { "$DVT" "$@"; }

# Deterministic bytes: gen N SEED [text] (text: compressible words; otherwise pseudo-random bytes).
gen() {
    "$PY" -S - "$@" <<'EOF'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed)
if len(sys.argv) > 3:
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\n", b"0123", b"dataset"]
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + b" "
    sys.stdout.buffer.write(bytes(out[:n]))
else:
    sys.stdout.buffer.write(r.randbytes(n))
EOF
}

# A small safetensors model after K fine-tune steps (two fp16 tensors and a bf16 one; each step nudges every weight).
model() {
    "$PY" -S - "$1" <<'EOF'
import random, struct, sys
k = int(sys.argv[1])
r = random.Random(11)
ts = {"emb": ("F16", [r.gauss(0, 0.02) for _ in range(3000)]), "w": ("F16", [r.gauss(0, 0.05) for _ in range(1500)]),
      "b": ("BF16", [r.gauss(0, 0.1) for _ in range(700)])}
for step in range(1, k + 1):
    s = random.Random(100 + step)
    for n in sorted(ts):
        ts[n] = (ts[n][0], [v * (1 + s.gauss(0, 0.01)) for v in ts[n][1]])
head, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for n in sorted(ts):
    dt, v = ts[n]
    blob = struct.pack("<%de" % len(v), *v) if dt == "F16" else b"".join(struct.pack("<f", x)[2:] for x in v)
    head[n] = {"dtype": dt, "shape": [len(v)], "data_offsets": [off, off + len(blob)]}
    blobs.append(blob)
    off += len(blob)
h = repr(head).replace("'", '"').replace(" ", "").encode()
h += b" " * (-len(h) % 8)
sys.stdout.buffer.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
EOF
}

# --- repository 1: a git work tree with a dataset in data/
r1=$tmp/project
mkdir -p "$r1/data"
git -C "$r1" init -q
echo "code" >"$r1/train.py"
git -C "$r1" add train.py
git -C "$r1" commit -q -m "code"
cd "$r1/data"
dvt init >/dev/null
mkdir -p images/train/cats "deep/a/b/c/d" "names with spaces" sub/x
gen 3000 1 text >README.txt
: >empty.txt
gen 90000 2 text >images/train/cats/big.txt       # several chunks, compressible
gen 6000 3 >images/train/cats/noise.bin           # stored raw
gen 100 4 text >deep/a/b/c/d/leaf.txt
printf '#!/bin/sh\necho hi\n' >run.sh && chmod +x run.sh
ln -s images/train/cats/big.txt link-to-big
ln -s ../README.txt deep/up
printf 'x\n' >"names with spaces/é ü.txt"
printf 'y\n' >sub/x/keep.tmp
cat >.dvtignore <<'EOF'
# generated files
*.tmp
!sub/x/keep.tmp
/build/
**/cache/**
doc/**/*.pdf
\#literal
trailing\ 
[a-c]?.log
[!0-9]*.bak
[[:digit:]]*.out
EOF
printf 'cache/\n*.o\n' >sub/.dvtignore
dvt commit -m "first version" >/dev/null
gen 2000 5 text >>README.txt
rm empty.txt
printf 'moved\n' >deep/a/new.txt
dvt commit -m $'second version\n\nwith a longer message\nover three lines' >/dev/null
dvt remote add origin --peer 127.0.0.1:7001 --peer '[::1]:7002' --tracker http://127.0.0.1:6969/announce \
    --mirror http://127.0.0.1:8080/data >/dev/null
dvt config compression.level 9 >/dev/null
git -C "$r1" add -A . >/dev/null 2>&1 || true
dvt pin --peer 127.0.0.1:7001 --tracker udp://127.0.0.1:6969 >/dev/null
cd "$root"

# --- repository 2: other chunker parameters, a branch, a tag, a third commit with no change but --allow-empty
r2=$tmp/other
mkdir -p "$r2"
(
    cd "$r2"
    dvt init --chunk-avg 4096 >/dev/null
    gen 30000 6 text >a.csv
    gen 2500 7 >b.bin
    model 0 >model.safetensors
    dvt commit -m "one" >/dev/null
    dvt branch side >/dev/null
    gen 500 8 text >>a.csv
    model 1 >model.safetensors                    # a fine-tune step: tensor delta records (compression 3)
    dvt commit -m "two" >/dev/null
    dvt tag v1 >/dev/null
    dvt commit --allow-empty -m "three (empty)" >/dev/null
)

rm -rf "$out"
mkdir -p "$out"/{tree,file,commit,pack,record,dht,config,lockfile,ignore,tensor,statcache,peerwire}
for r in "$r1/data" "$r2"; do (cd "$r" && dvt status >/dev/null); done  # writes .dvt/stat-cache

"$PY" -S - "$DVT" "$out" "$r1/data" "$r2" "$r1/dvt.lock" <<'EOF'
import hashlib, json, os, struct, subprocess, sys

dvt, out, repos, lock = sys.argv[1], sys.argv[2], sys.argv[3:5], sys.argv[5]

def put(target, data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)

def cat(repo, oid):
    return subprocess.run([dvt, "cat-object", oid], cwd=repo, check=True, capture_output=True).stdout

commit_ids = []
for repo in repos:
    dot = os.path.join(repo, ".dvt")
    # commits: every commit file
    for cid in sorted(os.listdir(os.path.join(dot, "commits"))):
        with open(os.path.join(dot, "commits", cid), "rb") as f:
            text = f.read()
        put("commit", text)
        commit_ids.append(bytes.fromhex(cid))
        # trees and file objects reachable from it
        tree = text.split(b"\n")[1].split(b" ")[1].decode()
        todo, seen = [tree], set()
        while todo:
            t = todo.pop()
            if t in seen:
                continue
            seen.add(t)
            put("tree", cat(repo, t))
            ls = json.loads(subprocess.run([dvt, "--json", "ls-tree", t], cwd=repo, check=True,
                                           capture_output=True).stdout)
            for e in ls["entries"]:
                if e["kind"] == "tree":
                    todo.append(e["id"])
                elif e["kind"] in ("file", "exec") and e["id"] not in seen:
                    seen.add(e["id"])
                    put("file", cat(repo, e["id"]))
    # packs: whole, when small; records: cut from every pack (header + stored bytes), when small
    packs = os.path.join(dot, "packs")
    for name in sorted(os.listdir(packs)):
        with open(os.path.join(packs, name), "rb") as f:
            pack = f.read()
        if len(pack) <= 48 * 1024:
            put("pack", pack)
        foot = pack[-64:]
        index_offset, count = struct.unpack_from("<QQ", foot, 8)
        for i in range(count):
            entry = pack[index_offset + 52 * i: index_offset + 52 * (i + 1)]
            off, stored_len = struct.unpack_from("<QI", entry, 32)
            if stored_len <= 16 * 1024:
                put("record", pack[off: off + 12 + stored_len])
            # tensor delta records with their bases (fuzz/tensor.cpp, odd first byte): raw_len, stored, base, len
            raw_len, compression = struct.unpack_from("<I", entry, 44)[0], entry[49]
            if compression == 3:
                stored = pack[off + 12: off + 12 + stored_len]
                base = cat(repo, stored[:32].hex())
                if len(base) < 65536:
                    put("tensor", b"\x01" + struct.pack("<I", raw_len) + stored + base + struct.pack("<H", len(base)))
            # safetensors headers (even first byte): each chunk that starts like one
            if entry[48] == 1 and compression != 3 and stored_len <= 16 * 1024:
                raw = cat(repo, entry[:32].hex())
                if len(raw) >= 10:
                    n = struct.unpack_from("<Q", raw)[0]
                    if 2 <= n <= len(raw) - 8 and raw[8:9] == b"{":
                        put("tensor", b"\x00" + struct.pack("<H", 20000) + raw[: 8 + n])
    # config
    with open(os.path.join(dot, "config"), "rb") as f:
        put("config", f.read())
    # the stat cache
    if os.path.exists(os.path.join(dot, "stat-cache")):
        with open(os.path.join(dot, "stat-cache"), "rb") as f:
            put("statcache", f.read())

with open(lock, "rb") as f:
    put("lockfile", f.read())

# .dvtignore files, each followed by NUL and the paths of the work tree (the input of the ignore target)
r1 = repos[0]
paths = []
for d, dirs, files in os.walk(r1):
    dirs[:] = sorted(x for x in dirs if x != ".dvt")
    for x in sorted(dirs + files):
        paths.append(os.path.relpath(os.path.join(d, x), r1))
paths += ["build/out.o", "doc/a/b/manual.pdf", "x/cache/y", "#literal", "trailing ", "ab.log", "x.bak", "7.out"]
for rel in (".dvtignore", "sub/.dvtignore"):
    with open(os.path.join(r1, rel), "rb") as f:
        text = f.read()
    put("ignore", text)
    put("ignore", text + b"\0" + "\n".join(paths).encode())

# DHT records: seed[32] seq(i64 LE) u8 salt_len salt bencoded-value (see fuzz/dht.cpp)
def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"

def dht(seed, seq, salt, value):
    put("dht", bytes([seed]) * 32 + struct.pack("<q", seq) + bytes([len(salt)]) + salt + benc(value))

seq = 1700000000000
for i, c in enumerate(commit_ids[:3]):
    dht(i, seq + i, b"refs/heads/main", {b"c": c, b"v": 1})
dht(7, seq, b"refs/tags/v1", {b"c": commit_ids[-1], b"v": 1, b"w": [b"http://127.0.0.1:8080/data"]})
dht(8, seq, b"dvt-refs", {b"r": [b"refs/heads/main", b"refs/heads/side", b"refs/tags/v1"], b"v": 1})
dht(9, seq, b"dvt-refs", {b"r": [], b"v": 1})
EOF

# peer wire (dvt doctor's probe): info-hash | handshake | messages, as a libtorrent peer answers
"$PY" -S - "$out/peerwire" <<'EOF'
import os, sys
def benc(v):
    if isinstance(v, int): return b"i%de" % v
    if isinstance(v, bytes): return b"%d:%s" % (len(v), v)
    return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
def msg(i, payload=b""): return (len(payload) + 1).to_bytes(4, "big") + bytes([i]) + payload
ih = bytes(range(20))
def hs(ext): return b"\x13BitTorrent protocol" + bytes([0, 0, 0, 0, 0, 0x10 if ext else 0, 0, 4]) + ih + b"-lt2080-abcdefghijkl"
seeds = {
    "v4": hs(True) + msg(20, b"\0" + benc({b"m": {b"ut_metadata": 2}, b"p": 6881, b"v": b"qBittorrent/4.5.2", b"yourip": bytes([10, 0, 0, 7])})) + msg(14),
    "v6": hs(True) + msg(20, b"\0" + benc({b"p": 1, b"yourip": bytes(15) + b"\x01"})) + msg(5, b"\xff"),
    "split": hs(True) + b"\0\0\0\0" + msg(20, b"\0" + benc({b"v": b"dvt/0.1.0", b"yourip": bytes([127, 0, 0, 3])})),
}
for name, body in seeds.items():
    open(os.path.join(sys.argv[1], name), "wb").write(ih + body)
EOF

# a few hand-written configs and lock files beside the real ones: comments, spacing, CRLF
printf '; comment\n# another\n[core]\n  format = 1\r\n[ remote ]\nx.url = dvt://00\n\n[empty]\n' >"$out/config/handwritten"
printf 'dvt-lock 1\r\n# comment\n\ncommit %s\npath .\npeer [::1]:1\ntracker http://h/a\n' \
    "$(printf 'ab%.0s' {1..32})" >"$out/lockfile/handwritten"

for d in "$out"/*/; do printf '%-10s %3d files %7d bytes\n' "$(basename "$d")" "$(ls "$d" | wc -l)" "$(cat "$d"/* | wc -c)"; done
