#!/usr/bin/python3
"""Hostile-version generator for dvt (issue #15): writes dvt versions as an attacker would, byte by byte from
docs/format.md, without using dvt's encoders. Every id is valid (SHA-256 of objects, BEP 52 merkle roots of packs,
BitTorrent v2 info-hashes of commits); the *content* is what hurts.

    gen_hostile.py CASE OUTDIR [options]

writes OUTDIR/.dvt (config, HEAD, refs/heads/main, packs/, commits/) laid out as a dvt repository, so that a real
`dvt serve` can serve it (on open, dvt indexes the packs it finds after checking their merkle root and index, as it
would for any attacker's repository), and prints the commit id on stdout. `--info FILE` writes a JSON description
(commit id, packs, what the case is).

Every version holds the same two "base" files the e2e tests' victim also has, with other content, so that a checkout
of the hostile version would replace or delete the victim's files:  a-readme.txt (changed), data/values.csv (changed
or the hostile file), and the victim's b-old.txt is absent (a checkout would delete it).

Cases (see CASES below): control (a well-formed version; must pull and check out fine), deep-tree, dag-bomb,
zstd-bomb, many-packs, small-packs (well-formed, many small packs), huge-pack, bad-chunk-hash, bad-file-object,
long-name, manifest-length, tree-size, neg-zero-time, bad-delta.

Standard library only (hashlib, struct, json); zstd frames come from the `zstd` CLI (the control's compressed
records) or are written by hand (the zstd bomb's frame header claims its content size). Run with /usr/bin/python3.
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

BLOCK = 16 * 1024  # BEP 52 block size
COMMIT_PIECE = 16 * 1024
MAX_PIECES_PER_PACK = 1024
ZERO32 = bytes(32)

T_CHUNK, T_FILE, T_TREE = 1, 2, 3
K_FILE, K_EXEC, K_LINK, K_DIR = 1, 2, 3, 4
C_NONE, C_ZSTD, C_DELTA = 0, 1, 2
C_TENSOR = 3  # tensor delta record (docs/format.md, "Tensor delta records")


def sha256(b):
    return hashlib.sha256(b).digest()


# ------------------------------------------------------------------------------------------------ swarm identities

def merkle_root(data):
    """BEP 52 merkle root: SHA-256 of 16 KiB blocks (the last may be shorter), leaves padded with zero hashes to a
    power of two, parent = SHA-256(left || right)."""
    if not data:
        return ZERO32
    leaves = [sha256(data[i:i + BLOCK]) for i in range(0, len(data), BLOCK)]
    n = 1
    while n < len(leaves):
        n *= 2
    leaves += [ZERO32] * (n - len(leaves))
    while len(leaves) > 1:
        leaves = [sha256(leaves[i] + leaves[i + 1]) for i in range(0, len(leaves), 2)]
    return leaves[0]


def bstr(b):
    if isinstance(b, str):
        b = b.encode()
    return str(len(b)).encode() + b":" + b


def bint(v):
    return b"i" + str(v).encode() + b"e"


def info_dict(name, length, root, piece_length):
    return (b"d" + bstr("file tree") + b"d" + bstr(name) + b"d" + bstr("") + b"d" + bstr("length") + bint(length) +
            bstr("pieces root") + bstr(root) + b"e" + b"e" + b"e" + bstr("meta version") + bint(2) + bstr("name") +
            bstr(name) + bstr("piece length") + bint(piece_length) + b"e")


def commit_id_of(commit_bytes):
    return sha256(info_dict("dvt-commit", len(commit_bytes), merkle_root(commit_bytes), COMMIT_PIECE))


def pack_piece_length(length):
    p = BLOCK
    while (length + p - 1) // p > MAX_PIECES_PER_PACK:
        p *= 2
    return p


def piece_layer(data):
    """The pack's piece layer (docs/format.md: stored in the index database): the merkle layer whose nodes cover one
    piece each, for the pieces of the file; empty when the file is a single piece."""
    piece = pack_piece_length(len(data))
    if len(data) <= piece:
        return b""
    layer = [sha256(data[i:i + BLOCK]) for i in range(0, len(data), BLOCK)]
    n = 1
    while n < len(layer):
        n *= 2
    layer += [ZERO32] * (n - len(layer))
    blocks = piece // BLOCK
    while blocks > 1:
        layer = [sha256(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
        blocks //= 2
    return b"".join(layer[:(len(data) + piece - 1) // piece])


# ------------------------------------------------------------------------------------------------------- chunking

def gear_table():
    t = []
    for i in range(256):
        h = sha256(b"dvt-gear-v1" + bytes([i]))
        t.append(int.from_bytes(h[:8], "little"))
    return t


GEAR = gear_table()
M64 = (1 << 64) - 1


def high_mask(bits):
    return 0 if bits <= 0 else (M64 << (64 - bits)) & M64


def chunk_sizes(data, mn, avg, mx):
    """The normalized gear-hash chunker of docs/format.md, "Chunking"."""
    bits = avg.bit_length() - 1
    small, large = high_mask(bits + 2), high_mask(bits - 2)
    out = []
    pos = 0
    while pos < len(data):
        n = len(data) - pos
        if n <= mn:
            out.append(n)
            break
        cut = None
        fp = 0
        i = mn
        normal, end = min(avg, n), min(mx, n)
        while i < normal:
            fp = ((fp << 1) + GEAR[data[pos + i]]) & M64
            if not fp & small:
                cut = i + 1
                break
            i += 1
        if cut is None:
            while i < end:
                fp = ((fp << 1) + GEAR[data[pos + i]]) & M64
                if not fp & large:
                    cut = i + 1
                    break
                i += 1
        if cut is None:
            cut = end
        out.append(cut)
        pos += cut
    return out


# -------------------------------------------------------------------------------------------------- compression

def zstd_cli(raw):
    """A real zstd frame (with its content size, as dvt's encoder writes) from the zstd command-line tool."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(raw)
        f.flush()
        return subprocess.run(["zstd", "-q", "-3", "-c", f.name], check=True, stdout=subprocess.PIPE).stdout


def zstd_rle_frame(claimed_size, stored_target=1024, byte=0x41):
    """A hand-written zstd frame whose header claims `claimed_size` bytes of content (single segment, 4- or 8-byte
    frame content size) followed by RLE blocks of 128 KiB each until the frame is about `stored_target` bytes long
    (each 4-byte block expands to 128 KiB: ~1 KB of frame, ~32 MiB of output, far less than claimed)."""
    if claimed_size < (1 << 32):
        fhd, fcs = 0xA0, struct.pack("<I", claimed_size)   # FCS_flag 2 (4 bytes), single segment
    else:
        fhd, fcs = 0xE0, struct.pack("<Q", claimed_size)   # FCS_flag 3 (8 bytes), single segment
    out = bytearray(struct.pack("<I", 0xFD2FB528) + bytes([fhd]) + fcs)
    nblocks = max(1, (stored_target - len(out)) // 4)
    for k in range(nblocks):
        last = 1 if k == nblocks - 1 else 0
        hdr = last | (1 << 1) | ((128 * 1024) << 3)       # block type 1 = RLE, size 128 KiB
        out += struct.pack("<I", hdr)[:3] + bytes([byte])
    return bytes(out)


# ------------------------------------------------------------------------------------------------------- objects

def file_object(size, chunks):
    """chunks: [(id, length)]"""
    b = bytearray(b"DVTF\x01\x00\x00\x00")
    b += struct.pack("<QI", size, len(chunks))
    for cid, ln in chunks:
        b += cid + struct.pack("<I", ln)
    return bytes(b)


def tree_object(entries):
    """entries: [(kind, name bytes, size, id or target bytes)], written in the order given (the caller sorts)."""
    b = bytearray(b"DVTT\x01\x00\x00\x00")
    b += struct.pack("<I", len(entries))
    for kind, name, size, ref in entries:
        b += struct.pack("<BH", kind, len(name)) + name + struct.pack("<Q", size) + ref
    return bytes(b)


class Built:
    """A sealed pack: its bytes, id (merkle root), index offset and index entries (id, offset, stored_len, raw_len,
    type, compression)."""

    def __init__(self, data, root, index_offset, index):
        self.data, self.root, self.index_offset, self.index = data, root, index_offset, index


class Pack:
    """pack = header record* index footer (docs/format.md, "Packs")."""

    def __init__(self):
        self.records = []  # (id, type, compression, raw_len, stored, depth)
        self.ids = set()

    def add(self, typ, raw=None, oid=None, compression=C_NONE, raw_len=None, stored=None, depth=0):
        oid = oid if oid is not None else sha256(raw)
        if oid in self.ids:
            return oid
        if stored is None:
            stored = raw if compression == C_NONE else zstd_cli(raw)
            if len(stored) >= len(raw):  # docs/format.md: a record is kept compressed only when that is smaller
                stored, compression = raw, C_NONE
        if raw_len is None:
            raw_len = len(raw)
        self.ids.add(oid)
        self.records.append((oid, typ, compression, raw_len, stored, depth))
        return oid

    def build(self):
        # version 2 when the pack holds a delta record (docs/format.md, "Packs")
        version = 2 if any(r[2] in (C_DELTA, C_TENSOR) for r in self.records) else 1
        out = bytearray(b"DVTPACK\x00" + struct.pack("<II", version, 0))
        index = []
        for oid, typ, comp, raw_len, stored, depth in self.records:
            index.append((oid, len(out), len(stored), raw_len, typ, comp | depth << 8))
            out += struct.pack("<BBHII", typ, comp, depth, raw_len, len(stored)) + stored
        index_offset = len(out)
        idx = bytearray()
        for oid, off, sl, rl, typ, comp in sorted(index):
            idx += oid + struct.pack("<QIIBBH", off, sl, rl, typ, comp & 0xFF, comp >> 8)
        out += idx
        out += b"DVTPIDX\x00" + struct.pack("<QQII", index_offset, len(index), version, 0) + sha256(bytes(idx))
        data = bytes(out)
        return Built(data, merkle_root(data), index_offset, sorted(index))


class Version:
    """Builds one version's objects into a data pack and a metadata pack (or one pack), dvt's layout."""

    def __init__(self, args, split=False):
        self.args = args
        self.data = Pack()
        self.meta = Pack() if split else self.data
        self.files = 0
        self.bytes = 0

    def chunk(self, raw, compress=False):
        return self.data.add(T_CHUNK, raw, compression=C_ZSTD if compress and len(raw) >= 64 else C_NONE)

    def file(self, content, compress=False):
        """Chunks `content` as dvt would, stores chunks and the file object; returns (file id, size)."""
        a = self.args
        chunks, pos = [], 0
        for n in chunk_sizes(content, a.chunker[0], a.chunker[1], a.chunker[2]):
            piece = content[pos:pos + n]
            chunks.append((self.chunk(piece, compress), n))
            pos += n
        return self.meta.add(T_FILE, file_object(len(content), chunks), compression=C_ZSTD if compress else C_NONE), len(content)

    def raw_file_object(self, fo_bytes):
        return self.meta.add(T_FILE, fo_bytes)

    def tree(self, entries, compress=False):
        """entries: dict name(str|bytes) -> (kind, size, id|target). Returns (tree id, total size below)."""
        items = []
        total = 0
        for name, (kind, size, ref) in entries.items():
            nb = name.encode() if isinstance(name, str) else name
            items.append((kind, nb, size, ref))
            total += size  # a symlink counts its target's length (docs/format.md, "Tree")
        items.sort(key=lambda e: e[1])
        return self.meta.add(T_TREE, tree_object(items), compression=C_ZSTD if compress else C_NONE), total

    def packs(self):
        ps = [self.data] if self.data is self.meta else [self.data, self.meta]
        return [p.build() for p in ps if p.records]


# ------------------------------------------------------------------------------------------------------- commits

def commit_text(args, tree, files, nbytes, packs, time="1700000000", message="hostile version\n", parents=()):
    """packs: [(id, length, index_offset)] (sorted here by id)."""
    lines = ["dvt-commit %d" % args.commit_version, "tree " + tree.hex()]
    lines += ["parent " + p.hex() for p in parents]
    lines.append("author Mallory <mallory@example.invalid> %s +0000" % time)
    lines.append("files %d" % files)
    lines.append("bytes %d" % nbytes)
    if args.chunker_line:
        lines.append("chunker %d %d %d" % tuple(args.chunker))
    for pid, ln, io in sorted(packs):
        lines.append("pack %s %d %d" % (pid.hex(), ln, io))
    return ("\n".join(lines) + "\n\n" + message).encode()


def write_index_db(path, built):
    """The attacker's own index database (docs/format.md, "Index database", schema 2), so that `dvt serve` serves the
    packs as they are instead of verifying them first: a peer is not obliged to run an honest dvt."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE packs(num INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, length INTEGER NOT NULL, "
        "index_offset INTEGER NOT NULL, piece_layer BLOB NOT NULL, partial INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE objects(id BLOB PRIMARY KEY, pack INTEGER NOT NULL, offset INTEGER NOT NULL, "
        "stored_len INTEGER NOT NULL, raw_len INTEGER NOT NULL, type INTEGER NOT NULL, compression INTEGER NOT NULL) "
        "WITHOUT ROWID;"
        "CREATE TABLE worktree(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
        "ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, mode INTEGER NOT NULL, file_id BLOB NOT NULL, "
        "cached_at_ns INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE file_packs(file_id BLOB PRIMARY KEY, packs BLOB NOT NULL) WITHOUT ROWID;"
        "PRAGMA user_version=2;")
    for num, b in enumerate(built, 1):
        db.execute("INSERT INTO packs VALUES(?,?,?,?,?,0)", (num, b.root, len(b.data), b.index_offset, piece_layer(b.data)))
        for oid, off, sl, rl, typ, comp in b.index:
            db.execute("INSERT OR IGNORE INTO objects VALUES(?,?,?,?,?,?,?)", (oid, num, off, sl, rl, typ, comp))
    db.commit()
    db.close()


def write_repo(outdir, args, packs_bytes, commit_bytes):
    """OUTDIR/.dvt laid out as a dvt repository; returns the commit id."""
    dvt = os.path.join(outdir, ".dvt")
    if os.path.exists(dvt):
        for root, dirs, files in os.walk(dvt):
            for n in dirs + files:
                os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
        shutil.rmtree(dvt)
    for d in ("packs", "commits", "refs/heads", "refs/tags", "tmp", "logs"):
        os.makedirs(os.path.join(dvt, d), exist_ok=True)
    with open(os.path.join(dvt, "config"), "w") as f:
        f.write("[chunker]\n\tavg = %d\n\tmax = %d\n\tmin = %d\n[compression]\n\tlevel = 3\n[core]\n\tformat = %d\n"
                "[pack]\n\tsize = 67108864\n" % (args.chunker[1], args.chunker[2], args.chunker[0], args.repo_format))
    for b in packs_bytes:
        p = os.path.join(dvt, "packs", b.root.hex() + ".pack")
        with open(p, "wb") as f:
            f.write(b.data)
        os.chmod(p, 0o444)
    if args.index_db:
        write_index_db(os.path.join(dvt, "index.db"), packs_bytes)
    cid = commit_id_of(commit_bytes)
    p = os.path.join(dvt, "commits", cid.hex())
    with open(p, "wb") as f:
        f.write(commit_bytes)
    os.chmod(p, 0o444)
    with open(os.path.join(dvt, "refs", "heads", "main"), "w") as f:
        f.write(cid.hex() + "\n")
    with open(os.path.join(dvt, "HEAD"), "w") as f:
        f.write("ref: refs/heads/main\n")
    return cid


def prng(n, seed):
    """n deterministic pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    k = 0
    while len(out) < n:
        out += sha256(b"%s-%d" % (seed.encode(), k))
        k += 1
    return bytes(out[:n])


# --------------------------------------------------------------------------------------------------------- cases

BASE_README = b"hostile readme: this replaces the victim's a-readme.txt\n"
BASE_VALUES = b"".join(b"%d,%d,value %d\n" % (i, i * 7919 % 10007, i) for i in range(400))


def base_entries(v, values=True):
    """The files every version has (the victim has the same paths with other content)."""
    rid, rsz = v.file(BASE_README)
    root = {"a-readme.txt": (K_FILE, rsz, rid)}
    if values:
        vid, vsz = v.file(BASE_VALUES, compress=True)
        did, dsz = v.tree({"values.csv": (K_FILE, vsz, vid)})
        root["data"] = (K_DIR, dsz, did)
    return root


def finish(v, args, root_entries, files, time="1700000000", extra_packs=(), tree_override=None, message=None):
    tid, total = v.tree(root_entries)
    if tree_override is not None:
        tid = tree_override
    built = v.packs()
    refs = [(b.root, len(b.data), b.index_offset) for b in built] + list(extra_packs)
    c = commit_text(args, tid, files, total if args.bytes is None else args.bytes, refs, time=time,
                    message=message or "hostile version: %s\n" % args.case)
    return built, c, refs


def tree_digest(files):
    """The e2e library's tree_digest (tests/e2e/lib.sh) of a work tree holding `files`: {path: (kind, bytes)} with
    kind "f" (file), "x" (executable) or "l" (symlink, bytes = target). Directories come from the paths."""
    nodes = {}
    for path, (kind, data) in files.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            nodes.setdefault("/".join(parts[:i]), ("d", b""))
        nodes[path] = (kind, data)
    out = []

    def walk(prefix):
        names = sorted({p[len(prefix):].split("/")[0] for p in nodes if p.startswith(prefix) and p != prefix[:-1]})
        for name in names:
            path = prefix + name
            kind, data = nodes[path]
            if kind == "d":
                out.append("d - 0 - %s" % path)
                walk(path + "/")
            elif kind == "l":
                t = data.decode()
                out.append("l - %d %s %s" % (len(t), t, path))
            else:
                out.append("f %s %d %s %s" % ("x" if kind == "x" else "-", len(data), hashlib.sha256(data).hexdigest(),
                                              path))

    walk("")
    return "".join(line + "\n" for line in out)


def case_control(args):
    """A well-formed version: text (zstd), pseudo-random binary in several chunks, an empty file, an executable,
    a symlink, nested directories, two packs (data, metadata). Must clone, pull, check out and fsck cleanly."""
    v = Version(args, split=True)
    root = base_entries(v)
    blob = prng(200_000, "control-blob")
    script = b"#!/bin/sh\necho hello from the control version\n"
    text = b"".join(b"line %d of a compressible text file\n" % i for i in range(3000))
    args.expect = {"a-readme.txt": ("f", BASE_README), "data/values.csv": ("f", BASE_VALUES),
                   "nested/bin.dat": ("f", blob), "nested/empty.dat": ("f", b""), "nested/deeper/leaf.txt": ("f", text),
                   "run.sh": ("x", script), "link-to-readme": ("l", b"a-readme.txt")}
    bid, bsz = v.file(blob)
    eid, esz = v.file(b"")
    xid, xsz = v.file(script)
    tid, tsz = v.file(text, compress=True)
    deep, dsz = v.tree({"leaf.txt": (K_FILE, tsz, tid)}, compress=True)
    mid, msz = v.tree({"bin.dat": (K_FILE, bsz, bid), "empty.dat": (K_FILE, esz, eid), "deeper": (K_DIR, dsz, deep)})
    root["nested"] = (K_DIR, msz, mid)
    root["run.sh"] = (K_EXEC, xsz, xid)
    target = b"a-readme.txt"
    root["link-to-readme"] = (K_LINK, len(target), target)
    return finish(v, args, root, files=7)


def case_deep_tree(args):
    """Directories nested --depth deep (default 30,000): deep/d/d/.../d/f."""
    v = Version(args)
    root = base_entries(v)
    fid, fsz = v.file(b"at the bottom\n")
    sub, size = v.tree({"f": (K_FILE, fsz, fid)})
    for _ in range(args.depth - 1):
        sub, size = v.tree({"d": (K_DIR, size, sub)})
    root["deep"] = (K_DIR, size, sub)
    return finish(v, args, root, files=3)


def case_dag_bomb(args):
    """A tree "DAG bomb": --depth levels (default 32) of trees whose two entries name the same subtree, so a few KB
    expand to 2^depth paths. The commit's files/bytes are the honest totals of the expansion."""
    v = Version(args)
    root = base_entries(v)
    fid, fsz = v.file(b"x\n")
    sub, size = v.tree({"f": (K_FILE, fsz, fid)})
    for _ in range(args.depth):
        sub, size = v.tree({"a": (K_DIR, size, sub), "b": (K_DIR, size, sub)})
    root["bomb"] = (K_DIR, size, sub)
    return finish(v, args, root, files=2 + (1 << args.depth))


def case_zstd_bomb(args):
    """--count (default 1) records of ~1 KB stored, zstd, whose record header (and frame header) claim a raw length of
    --raw-length (default 2^32 - 1) bytes. --target chunk (files big-N.bin, manifest chunk length --manifest-length)
    or tree (the root tree's record)."""
    v = Version(args)
    root = base_entries(v)
    frame = zstd_rle_frame(args.raw_length, 1024)
    if args.target == "tree":
        tid = sha256(b"the root tree that claims 4 GiB")
        v.meta.add(T_TREE, oid=tid, compression=C_ZSTD, raw_len=args.raw_length, stored=frame)
        return finish(v, args, root, files=2, tree_override=tid)
    for i in range(args.count):
        cid = sha256(b"bomb chunk %d" % i)
        v.data.add(T_CHUNK, oid=cid, compression=C_ZSTD, raw_len=args.raw_length,
                   stored=zstd_rle_frame(args.raw_length, 1024, byte=0x41 + i))
        fo = v.raw_file_object(file_object(args.manifest_length, [(cid, args.manifest_length)]))
        root["big-%d.bin" % i] = (K_FILE, args.manifest_length, fo)
    return finish(v, args, root, files=2 + args.count)


def case_many_packs(args):
    """A commit naming --packs packs (default 10,000): one real pack with the version, the others exist nowhere."""
    v = Version(args)
    root = base_entries(v)
    fake = []
    for i in range(args.packs - 1):
        ln = 1 << 20
        fake.append((sha256(b"fake pack %d" % i), ln, ln - 64 - 52))
    return finish(v, args, root, files=2, extra_packs=fake)


def case_huge_pack(args):
    """A commit naming, besides its real pack, a pack of --length bytes (default 2^40)."""
    v = Version(args)
    root = base_entries(v)
    ln = args.length
    return finish(v, args, root, files=2, extra_packs=[(sha256(b"huge pack"), ln, ln - 64 - 52)])


def case_bad_chunk_hash(args):
    """data/values.csv's chunk record holds bytes that do not hash to the id its index entry and manifest give."""
    v = Version(args)
    root = base_entries(v, values=False)
    content = BASE_VALUES
    cid = sha256(content)
    bad = bytearray(content)
    bad[len(bad) // 2] ^= 0xFF
    v.data.add(T_CHUNK, oid=cid, raw_len=len(content), stored=bytes(bad))
    fo = v.raw_file_object(file_object(len(content), [(cid, len(content))]))
    did, dsz = v.tree({"values.csv": (K_FILE, len(content), fo)})
    root["data"] = (K_DIR, dsz, did)
    return finish(v, args, root, files=2)


def case_bad_file_object(args):
    """data/values.csv's file object hashes to its id but does not decode (its count names 5 chunks, none follow)."""
    v = Version(args)
    root = base_entries(v, values=False)
    fo = v.raw_file_object(b"DVTF\x01\x00\x00\x00" + struct.pack("<QI", 100, 5))
    did, dsz = v.tree({"values.csv": (K_FILE, 100, fo)})
    root["data"] = (K_DIR, dsz, did)
    return finish(v, args, root, files=2)


def case_long_name(args):
    """A file whose name is --name-length bytes (default 300: valid for the format, longer than NAME_MAX 255)."""
    v = Version(args)
    root = base_entries(v)
    fid, fsz = v.file(b"a file with a very long name\n")
    root["n" * args.name_length] = (K_FILE, fsz, fid)
    return finish(v, args, root, files=3)


def case_manifest_length(args):
    """data/values.csv's manifest says 10 bytes in one chunk; that chunk really has 100,000 bytes (and hashes to its
    id)."""
    v = Version(args)
    root = base_entries(v, values=False)
    real = prng(100_000, "manifest-length")
    cid = v.data.add(T_CHUNK, real)
    fo = v.raw_file_object(file_object(10, [(cid, 10)]))
    did, dsz = v.tree({"values.csv": (K_FILE, 10, fo)})
    root["data"] = (K_DIR, dsz, did)
    return finish(v, args, root, files=2)


def case_tree_size(args):
    """data/values.csv's tree entry says 50 bytes; its (valid) file object says len(BASE_VALUES)."""
    v = Version(args)
    root = base_entries(v, values=False)
    fid, _ = v.file(BASE_VALUES)
    did, dsz = v.tree({"values.csv": (K_FILE, 50, fid)})
    root["data"] = (K_DIR, dsz, did)
    return finish(v, args, root, files=2)


def case_neg_zero_time(args):
    """A well-formed version whose author time is written `-0` (the same commit as time 0 under a second id)."""
    v = Version(args)
    root = base_entries(v)
    return finish(v, args, root, files=2, time=args.time)


def case_bad_delta(args):
    """data/values.csv is one chunk stored as a delta record (docs/format.md, "Delta records") that breaks a chain
    rule (--delta): self (its base id is its own id), cycle (two deltas of depth 1 naming each other), too-deep (depth
    65), base-type (its base is a file object), mismatch (depth 2 over a full chunk), unnamed (its base lies in a
    pack the commit does not name), tensor-length (a tensor delta, compression 3, whose base has another length),
    tensor-width (a tensor delta of element width 3). Each frame is a plain zstd frame (it decodes with any prefix);
    only the rule breaks."""
    v = Version(args)
    root = base_entries(v, values=False)
    content = BASE_VALUES
    cid = sha256(content)
    frame = zstd_cli(content)
    kind = args.delta
    full = b"a full chunk that serves as a base\n" * 4
    if kind == "self":
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=cid + frame, depth=1)
    elif kind == "cycle":
        other = content + b"x\n"
        oid = sha256(other)
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=oid + frame, depth=1)
        v.data.add(T_CHUNK, oid=oid, raw_len=len(other), compression=C_DELTA, stored=cid + zstd_cli(other), depth=1)
    elif kind == "too-deep":
        bid = v.chunk(full)
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=bid + frame, depth=65)
    elif kind == "base-type":
        fid = v.meta.add(T_FILE, file_object(len(full), [(v.chunk(full), len(full))]))
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=fid + frame, depth=1)
    elif kind == "mismatch":
        bid = v.chunk(full)
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=bid + frame, depth=2)
    elif kind == "unnamed":
        side = Pack()
        bid = side.add(T_CHUNK, full)
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_DELTA, stored=bid + frame, depth=1)
        args.extra_built = [side.build()]  # written to packs/ (the seeder has it) but not named by the commit
    elif kind in ("tensor-length", "tensor-width"):
        base = full if kind == "tensor-length" else content[::-1]
        bid = v.chunk(base)
        width = b"\x02" if kind == "tensor-length" else b"\x03"
        v.data.add(T_CHUNK, oid=cid, raw_len=len(content), compression=C_TENSOR, stored=bid + width + frame, depth=1)
    fo = v.raw_file_object(file_object(len(content), [(cid, len(content))]))
    did, dsz = v.tree({"values.csv": (K_FILE, len(content), fo)})
    root["data"] = (K_DIR, dsz, did)
    return finish(v, args, root, files=2)


def case_small_packs(args):
    """A well-formed version whose files lie in --packs packs: each file's chunk in a small pack of its own (as a
    history of many small commits leaves them), 100 files per directory, the trees and file objects in one metadata
    pack. Not hostile: many packs (torrents, descriptors) without gigabytes of data. Must clone, check out and fsck
    cleanly."""
    v = Version(args, split=True)
    root = base_entries(v)
    args.expect = {"a-readme.txt": ("f", BASE_README), "data/values.csv": ("f", BASE_VALUES)}
    small = []
    dirs = {}
    for i in range(max(0, args.packs - 2)):  # the base files' data pack and the metadata pack are the other two
        content = b"file %d of the small-packs version\n" % i
        p = Pack()
        cid = p.add(T_CHUNK, content)
        small.append(p.build())
        fid = v.raw_file_object(file_object(len(content), [(cid, len(content))]))
        d = "d%04d" % (i // 100)
        dirs.setdefault(d, {})["f%06d.txt" % i] = (K_FILE, len(content), fid)
        args.expect["s/%s/f%06d.txt" % (d, i)] = ("f", content)
    sub = {}
    for d, entries in dirs.items():
        did, dsz = v.tree(entries)
        sub[d] = (K_DIR, dsz, did)
    if sub:
        sid, ssz = v.tree(sub)
        root["s"] = (K_DIR, ssz, sid)
    tid, total = v.tree(root)
    built = v.packs() + small
    refs = [(b.root, len(b.data), b.index_offset) for b in built]
    c = commit_text(args, tid, len(args.expect), total, refs, message="small-packs version\n")
    return built, c, refs


CASES = {
    "bad-delta": case_bad_delta,
    "control": case_control,
    "deep-tree": case_deep_tree,
    "dag-bomb": case_dag_bomb,
    "zstd-bomb": case_zstd_bomb,
    "many-packs": case_many_packs,
    "small-packs": case_small_packs,
    "huge-pack": case_huge_pack,
    "bad-chunk-hash": case_bad_chunk_hash,
    "bad-file-object": case_bad_file_object,
    "long-name": case_long_name,
    "manifest-length": case_manifest_length,
    "tree-size": case_tree_size,
    "neg-zero-time": case_neg_zero_time,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("outdir")
    ap.add_argument("--commit-version", type=int, default=1, help="first line `dvt-commit N` (default 1)")
    ap.add_argument("--repo-format", type=int, default=None, help="core.format in .dvt/config (default: commit version)")
    ap.add_argument("--chunker", default="4096,16384,65536", help="MIN,AVG,MAX used to cut files and in the header")
    ap.add_argument("--chunker-line", choices=["auto", "yes", "no"], default="auto",
                    help="write `chunker MIN AVG MAX` after `bytes` (auto: for commit version >= 2)")
    ap.add_argument("--depth", type=int, default=None, help="deep-tree: 30000; dag-bomb: 32")
    ap.add_argument("--count", type=int, default=1, help="zstd-bomb: number of hostile records")
    ap.add_argument("--target", choices=["chunk", "tree"], default="chunk", help="zstd-bomb: which record lies")
    ap.add_argument("--raw-length", type=int, default=(1 << 32) - 1, help="zstd-bomb: claimed raw length")
    ap.add_argument("--manifest-length", type=int, default=65536, help="zstd-bomb: chunk length in the manifest")
    ap.add_argument("--packs", type=int, default=10000, help="many-packs, small-packs: packs the commit names")
    ap.add_argument("--length", type=int, default=1 << 40, help="huge-pack: the pack length")
    ap.add_argument("--name-length", type=int, default=300, help="long-name: bytes in the name")
    ap.add_argument("--time", default="-0", help="neg-zero-time: the author time as written")
    ap.add_argument("--delta", default="self", choices=["self", "cycle", "too-deep", "base-type", "mismatch", "unnamed",
                                                       "tensor-length", "tensor-width"],
                    help="bad-delta: which chain rule the record breaks")
    ap.add_argument("--bytes", type=int, default=None, help="override the commit's `bytes` header")
    ap.add_argument("--info", help="write a JSON description here")
    ap.add_argument("--digest", help="control: write the tree_digest (tests/e2e/lib.sh) of its work tree here")
    ap.add_argument("--index-db", action="store_true",
                    help="also write .dvt/index.db, so that dvt serve serves the packs without verifying them")
    args = ap.parse_args()
    args.chunker = [int(x) for x in args.chunker.split(",")]
    args.expect = None
    if args.repo_format is None:
        args.repo_format = args.commit_version
    args.chunker_line = args.chunker_line == "yes" or (args.chunker_line == "auto" and args.commit_version >= 2)
    if args.depth is None:
        args.depth = 30000 if args.case == "deep-tree" else 32
    args.extra_built = []
    built, commit_bytes, refs = CASES[args.case](args)
    os.makedirs(args.outdir, exist_ok=True)
    cid = write_repo(args.outdir, args, built + args.extra_built, commit_bytes)
    if args.digest:
        if args.expect is None:
            sys.exit("--digest: only the control and small-packs versions have a defined work tree")
        with open(args.digest, "w") as f:
            f.write(tree_digest(args.expect))
    if args.info:
        with open(args.info, "w") as f:
            json.dump({"case": args.case, "commit": cid.hex(), "commit_bytes": len(commit_bytes),
                       "packs_named": len(refs), "packs_written": [{"id": b.root.hex(), "length": len(b.data),
                                                                     "index_offset": b.index_offset} for b in built + args.extra_built],
                       "doc": CASES[args.case].__doc__.strip()}, f, indent=1)
            f.write("\n")
    print(cid.hex())


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
