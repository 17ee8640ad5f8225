#!/usr/bin/env python3
"""Small deterministic sample dataset for dvt's demo and tests (Python standard library only).

    make_sample.py DIR [MIB]     write DIR with ~MIB MiB (default 24): images/, text/, model/weights.bin
    make_sample.py --edit DIR    change it the way a new dataset version would: replace and add a few images,
                                 insert a row near the start of one text shard, rewrite scattered regions of weights
"""
import os
import random
import sys


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def make(root, mib):
    r = random.Random(1234)
    budget = mib * 1024 * 1024
    n_img = max(20, int(budget * 0.4 / 40000))
    for i in range(n_img):
        write(os.path.join(root, "images", "shard_%02d" % (i // 100), "img_%05d.jpg" % i),
              b"\xff\xd8\xff\xe0" + r.randbytes(r.randint(8000, 72000)))
    words = ["data", "model", "train", "token", "vector", "label", "image", "batch", "epoch", "loss", "the", "a", "of"]
    for k in range(4):
        rows = []
        size = 0
        while size < budget * 0.3 / 4:
            text = " ".join(r.choice(words) for _ in range(r.randint(5, 40)))
            row = '{"id": %d, "text": "%s", "score": %.3f}\n' % (len(rows), text, r.random())
            rows.append(row)
            size += len(row)
        write(os.path.join(root, "text", "shard-%d.jsonl" % k), "".join(rows).encode())
    write(os.path.join(root, "model", "weights.bin"), r.randbytes(int(budget * 0.3)))
    write(os.path.join(root, "README.txt"), b"sample dataset made by dvt's scripts/make_sample.py\n")


def edit(root):
    r = random.Random(99)
    imgs = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "images")) for f in fs)
    for p in r.sample(imgs, max(1, len(imgs) // 50)):
        write(p, b"\xff\xd8\xff\xe0" + r.randbytes(r.randint(8000, 72000)))
    for i in range(5):
        write(os.path.join(root, "images", "new", "img_new_%d.jpg" % i), r.randbytes(20000))
    p = os.path.join(root, "text", "shard-0.jsonl")
    data = open(p, "rb").read()
    at = data.index(b"\n", 8192) + 1
    write(p, data[:at] + b'{"id": -1, "text": "a row inserted near the start", "score": 1.0}\n' + data[at:])
    p = os.path.join(root, "model", "weights.bin")
    w = bytearray(open(p, "rb").read())
    for _ in range(20):
        off = r.randrange(0, len(w) - 4096)
        w[off:off + 4096] = r.randbytes(4096)
    write(p, bytes(w))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--edit":
        edit(sys.argv[2])
    elif len(sys.argv) in (2, 3) and not sys.argv[1].startswith("-"):
        make(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 24)
    else:
        sys.exit(__doc__)
