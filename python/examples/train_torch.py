"""Train a small PyTorch model for one epoch on a dvt version, read lazily over dvt's HTTP endpoint.

    /usr/bin/python3 python/examples/train_torch.py --url http://127.0.0.1:8080 --rev <commit> [--dir train]
    /usr/bin/python3 python/examples/train_torch.py --repo /data/ds --rev main

The version holds CSV shards (<dir>/shard-*.csv, rows "x0,...,x7,label"); each DataLoader worker opens its shards
through fsspec ("dvt://<rev>/<dir>/shard-NNNN.csv"), so only the bytes read cross the network, and no checkout is
made. Prints one JSON line: samples, shards, bytes read, the mean loss of the first and the last batches, accuracy.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fsspec  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, IterableDataset, get_worker_info  # noqa: E402

import dvt  # noqa: E402,F401  (registers the "dvt" protocol)


class Shards(IterableDataset):
    def __init__(self, fs_args, rev, directory):
        self.fs_args, self.rev, self.directory = fs_args, rev, directory
        fs = fsspec.filesystem("dvt", **fs_args)
        self.shards = sorted(p for p in fs.ls(f"{rev}/{directory}", detail=False) if p.endswith(".csv"))

    def __iter__(self):
        fs = fsspec.filesystem("dvt", **self.fs_args)
        info = get_worker_info()
        mine = self.shards if info is None else self.shards[info.id::info.num_workers]
        for path in mine:
            with fs.open(f"dvt://{path}", "rb") as f:
                for line in f:
                    *x, y = line.decode().strip().split(",")
                    yield torch.tensor([float(v) for v in x]), torch.tensor(float(y))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--repo")
    ap.add_argument("--rev", required=True)
    ap.add_argument("--dir", default="train")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1.0)
    a = ap.parse_args()
    server = None
    if a.url is None:
        server = dvt.Server(a.repo)
        a.url = server.url
    torch.manual_seed(0)
    data = Shards({"url": a.url}, a.rev, a.dir)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses, samples, correct = [], 0, 0
    for x, y in DataLoader(data, batch_size=a.batch, num_workers=a.workers):
        logits = model(x).squeeze(1)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        samples += len(y)
        correct += int(((logits > 0).float() == y).sum())
    k = max(1, len(losses) // 10)
    print(json.dumps({"samples": samples, "shards": len(data.shards), "batches": len(losses),
                      "first_loss": sum(losses[:k]) / k, "last_loss": sum(losses[-k:]) / k,
                      "accuracy": correct / max(1, samples)}))
    if server:
        server.close()


if __name__ == "__main__":
    main()
