"""dvt for Python: read dvt versions lazily through fsspec (and so pandas, PyTorch, Hugging Face datasets, ...).

    import dvt, fsspec
    fs = fsspec.filesystem("dvt", url="http://127.0.0.1:8080")      # a running `dvt serve --http`
    fs = fsspec.filesystem("dvt", repo="/data/ds")                  # or: start one for this repository
    with fs.open("dvt://<commit>/train/shard-0001.jsonl") as f: ...

Importing this package registers the fsspec protocol "dvt" (see dvt.fs.DvtFileSystem). Bytes come from dvt's HTTP
endpoint (docs/transport.md, "HTTP endpoint"), which sends only bytes it verified against their ids; this package adds
no compiled code, so it works with any Python 3 that has fsspec.
"""
from .fs import DvtFileSystem, Server

__all__ = ["DvtFileSystem", "Server"]

try:
    import fsspec

    fsspec.register_implementation("dvt", DvtFileSystem, clobber=True)
except ImportError:  # fsspec missing: DvtFileSystem cannot be used either (it subclasses fsspec's)
    pass
