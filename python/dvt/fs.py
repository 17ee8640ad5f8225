"""The fsspec file system "dvt": paths are "<commit>/<path>" (or "dvt://<commit>/<path>"); <commit> may be any
revision the server resolves (a branch or tag is redirected to its commit id). Reads use HTTP Range requests, so a
training job fetches only the bytes it reads."""
import atexit
import http.client
import json
import os
import shutil
import subprocess
import threading
import urllib.parse

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem


class Server:
    """A `dvt serve --http` of a local repository on loopback, started for this process and stopped at close()
    (or at exit)."""

    def __init__(self, repo, dvt=None, extra_args=()):
        dvt = dvt or os.environ.get("DVT") or shutil.which("dvt")
        if not dvt:
            raise FileNotFoundError("the dvt binary was not found (set DVT or put dvt on PATH)")
        self.proc = subprocess.Popen(
            [dvt, "-C", str(repo), "--json", "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip()
            self.proc.wait()
            raise RuntimeError(f"dvt serve did not start: {err}")
        ready = json.loads(line)
        if "http" not in ready:
            self.proc.wait()
            raise RuntimeError(f"dvt serve did not start: {ready.get('error', line.strip())}")
        self.url = "http://" + ready["http"]
        self.listen = ready["listen"]  # where it seeds (a peer for other repositories' lazy reads)
        atexit.register(self.close)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class DvtFileSystem(AbstractFileSystem):
    """fsspec.filesystem("dvt", url=...) for a running endpoint, or repo=... to start one (see Server); with repo= and
    peers=["IP:PORT", ...], versions that repository lacks are read from those peers on demand, verified."""

    protocol = "dvt"
    root_marker = ""

    def __init__(self, url=None, repo=None, dvt=None, timeout=60, peers=(), **kwargs):
        super().__init__(**kwargs)
        self._server = None
        if url is None:
            url = os.environ.get("DVT_HTTP_URL")
        if url is None:
            if repo is None:
                raise ValueError("give url= (a `dvt serve --http` endpoint) or repo= (a dvt repository)")
            # peers: versions the repository lacks are fetched from them on demand (`dvt serve --http --peer`)
            self._server = Server(repo, dvt, [a for p in peers for a in ("--peer", p)])
            url = self._server.url
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._split = urllib.parse.urlsplit(self.url)
        self._local = threading.local()  # one kept-alive connection per thread (and process: DataLoader workers)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("dvt://"):
            path = path[len("dvt://"):]
        return path.strip("/")

    def _connection(self, fresh=False):
        conn = getattr(self._local, "conn", None)
        if conn is not None and (fresh or self._local.pid != os.getpid()):
            if self._local.pid == os.getpid():
                conn.close()
            conn = None
        if conn is None:
            cls = http.client.HTTPSConnection if self._split.scheme == "https" else http.client.HTTPConnection
            conn = cls(self._split.hostname, self._split.port, timeout=self.timeout)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _request(self, method, target, headers):
        # a kept-alive connection the server closed meanwhile (idle timeout, request limit) fails at once: asked again
        # on a new one (GET and HEAD are idempotent)
        for attempt in range(2):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request(method, target, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest, http.client.ResponseNotReady):
                conn.close()
                if attempt:
                    raise

    def _get(self, path, headers=None, method="GET"):
        """The response (status 2xx or 304; read it whole before the next request of this thread), following
        redirects (a branch or tag to its commit id)."""
        target = self._split.path + "/" + urllib.parse.quote(path)
        for _ in range(8):
            r = self._request(method, target, headers or {})
            if r.status in (301, 302, 303, 307, 308) and r.getheader("Location"):
                r.read()
                loc = urllib.parse.urlsplit(r.getheader("Location"))
                target = loc.path + ("?" + loc.query if loc.query else "")
                continue
            if r.status >= 400:
                msg = r.read().decode("utf-8", "replace").strip()
                if r.status == 404:
                    raise FileNotFoundError(path)
                raise OSError(f"dvt: {r.status} for {path}: {msg}")
            return r
        raise OSError(f"dvt: too many redirects for {path}")

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        if "/" not in path:  # a version's root
            rev, sub = path, ""
        else:
            rev, sub = path.split("/", 1)
        with self._get(f"{rev}/{sub}/" if sub else f"{rev}/") as r:
            if not r.headers.get("Content-Type", "").startswith("application/json"):
                raise NotADirectoryError(path)
            listing = json.load(r)
        base = f"{rev}/{sub}".rstrip("/")
        out = []
        for e in listing["entries"]:
            kind = "directory" if e["type"] == "directory" else "file"
            out.append({"name": f"{base}/{e['name']}", "size": e["size"], "type": kind, "dvt_type": e["type"],
                        "id": e["id"]})
        return out if detail else [e["name"] for e in out]

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        if "/" not in path:
            path += "/"
        with self._get(path, method="HEAD") as r:
            if r.headers.get("Content-Type", "").startswith("application/json"):
                return {"name": path.rstrip("/"), "size": 0, "type": "directory"}
            return {"name": path, "size": int(r.headers["Content-Length"]), "type": "file",
                    "id": r.headers.get("ETag", "").strip('"')}

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        if start is not None or end is not None:
            size = None
            if (start is not None and start < 0) or (end is not None and end < 0):
                size = self.info(path)["size"]
            start = 0 if start is None else (start + size if start < 0 else start)
            if end is None:
                rng = f"bytes={start}-"
            else:
                end = end + size if end < 0 else end
                if end <= start:
                    return b""
                rng = f"bytes={start}-{end - 1}"
            try:
                with self._get(path, {"Range": rng}) as r:
                    return r.read()
            except OSError as e:
                if " 416 " in str(e):
                    return b""
                raise
        with self._get(path) as r:
            return r.read()

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        if mode != "rb":
            raise PermissionError("dvt versions are read-only")
        return DvtFile(self, self._strip_protocol(path), mode=mode, block_size=block_size or 4 << 20,
                       cache_options=cache_options, **kwargs)

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._server is not None:
            self._server.close()


class DvtFile(AbstractBufferedFile):
    def _fetch_range(self, start, end):
        return self.fs.cat_file(self.path, start, end)
