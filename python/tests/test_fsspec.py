"""The fsspec file system "dvt" against a real `dvt serve --http` of a repository made here (run by
tests/e2e/t192_python.sh with Debian's /usr/bin/python3; DVT names the binary). Reads give the committed bytes of
the version asked (whole, in ranges, line by line, from an older version than the work tree's), listings and info
match the version, errors are FileNotFoundError / PermissionError, and the PyTorch example trains for one epoch on a
version read lazily."""
import json
import os
import random
import subprocess
import sys

import fsspec
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import dvt  # noqa: E402

DVT = os.environ["DVT"]


def run(*args, cwd=None):
    return subprocess.run([DVT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    run("init", "-q", str(root))
    rnd = random.Random(7)
    files = {
        "README.md": b"a dataset\n",
        "blobs/big.bin": bytes(rnd.getrandbits(8) for _ in range(600_000)),
        "blobs/small.bin": b"\x00\x01\x02" * 1000,
    }
    for i in range(6):  # CSV shards: 8 features, a label that a linear model can learn
        rows = []
        for _ in range(200):
            x = [rnd.uniform(-1, 1) for _ in range(8)]
            y = 1 if sum(x[:4]) - sum(x[4:]) > 0 else 0
            rows.append(",".join(f"{v:.4f}" for v in x) + f",{y}\n")
        files[f"train/shard-{i:04d}.csv"] = "".join(rows).encode()
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)) or root, exist_ok=True)
        with open(os.path.join(root, path), "wb") as f:
            f.write(data)
    v1 = run("commit", "-q", "-m", "v1", cwd=root)
    with open(os.path.join(root, "README.md"), "wb") as f:
        f.write(b"changed in v2\n")
    v2 = run("commit", "-q", "-m", "v2", cwd=root)
    server = dvt.Server(root)
    yield {"root": root, "v1": v1, "v2": v2, "files": files, "url": server.url, "listen": server.listen}
    server.close()


def test_protocol_registered_on_import(repo):
    fs = fsspec.filesystem("dvt", url=repo["url"])
    assert isinstance(fs, dvt.DvtFileSystem)


def test_whole_files_and_ranges(repo):
    fs = fsspec.filesystem("dvt", url=repo["url"])
    big = repo["files"]["blobs/big.bin"]
    assert fs.cat_file(f"dvt://{repo['v1']}/blobs/big.bin") == big
    for start, end in [(0, 1), (100, 70_000), (599_990, 600_000), (599_990, None), (-10, None)]:
        assert fs.cat_file(f"{repo['v1']}/blobs/big.bin", start, end) == big[start:end]
    with fs.open(f"dvt://{repo['v1']}/blobs/big.bin", block_size=64 * 1024) as f:
        f.seek(123_456)
        assert f.read(10_000) == big[123_456:133_456]
        f.seek(-5, 2)
        assert f.read() == big[-5:]


def test_versions_are_distinct(repo):
    fs = fsspec.filesystem("dvt", url=repo["url"])
    assert fs.cat_file(f"{repo['v1']}/README.md") == b"a dataset\n"
    assert fs.cat_file(f"{repo['v2']}/README.md") == b"changed in v2\n"
    assert fs.cat_file("main/README.md") == b"changed in v2\n"  # a branch: redirected to its commit


def test_listing_and_info(repo):
    fs = fsspec.filesystem("dvt", url=repo["url"])
    names = fs.ls(f"{repo['v1']}/train", detail=False)
    assert names == [f"{repo['v1']}/train/shard-{i:04d}.csv" for i in range(6)]
    info = fs.info(f"{repo['v1']}/blobs/big.bin")
    assert info["type"] == "file" and info["size"] == 600_000
    assert fs.info(f"{repo['v1']}/blobs")["type"] == "directory"
    assert sorted(fs.ls(repo["v1"], detail=False)) == [f"{repo['v1']}/{n}" for n in ["README.md", "blobs", "train"]]
    # fsspec's generic walk over the version: every file, with its bytes
    found = {p[len(repo["v1"]) + 1:]: fs.cat_file(p) for p in fs.find(repo["v1"])}
    assert found == repo["files"]


def test_errors(repo):
    fs = fsspec.filesystem("dvt", url=repo["url"])
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{repo['v1']}/nope.txt")
    with pytest.raises(FileNotFoundError):
        fs.cat_file("0" * 64 + "/README.md")
    with pytest.raises(PermissionError):
        fs.open(f"{repo['v1']}/README.md", "wb")


def test_torch_example_trains_one_epoch(repo):
    out = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "train_torch.py"), "--url", repo["url"],
                          "--rev", repo["v1"], "--batch", "32"], check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert r["samples"] == 1200 and r["shards"] == 6
    assert r["last_loss"] < r["first_loss"]
    assert r["accuracy"] > 0.7


def test_repo_argument_starts_a_server(tmp_path):
    run("init", "-q", str(tmp_path))
    data = bytes(random.Random(3).getrandbits(8) for _ in range(100_000))
    (tmp_path / "d.bin").write_bytes(data)
    v = run("commit", "-q", "-m", "one", cwd=tmp_path)
    fs = dvt.DvtFileSystem(repo=tmp_path, skip_instance_cache=True)
    try:
        assert fs.cat_file(f"{v}/d.bin") == data
        # one server per repository: a second one is refused with dvt's own message
        with pytest.raises(RuntimeError, match="already being served"):
            dvt.Server(tmp_path)
    finally:
        fs.close()
    assert fs._server.proc.returncode == 0  # stopped by close(): SIGTERM, exit 0


def test_lazy_reads_of_a_commit_the_repository_lacks(repo, tmp_path):
    # an empty repository's endpoint, with the module's server as its peer: v1 is fetched on demand, every byte verified
    run("init", "-q", str(tmp_path))
    fs = dvt.DvtFileSystem(repo=tmp_path, peers=[repo["listen"]], skip_instance_cache=True)
    try:
        v1 = repo["v1"]
        assert fs.cat_file(f"dvt://{v1}/blobs/big.bin", 12345, 212345) == repo["files"]["blobs/big.bin"][12345:212345]
        for path, data in repo["files"].items():
            assert fs.cat_file(f"{v1}/{path}") == data
        assert sorted(e["name"] for e in fs.ls(f"{v1}/train", detail=True))[0].endswith("shard-0000.csv")
        assert not os.listdir(tmp_path / ".dvt" / "packs")  # read in pieces, not cloned
    finally:
        fs.close()
