"""A small Hugging Face Hub for tests: the HTTP endpoints huggingface_hub's client uses to create a
repo, commit files and download them, served on 127.0.0.1 from memory.

It speaks the real protocol (JSON APIs, the NDJSON commit, ``resolve`` with X-Repo-Commit/ETag
headers, X-Error-Code on 404s), so ganzoo is tested through the unmodified client with HF_ENDPOINT
pointed here. Files are always committed as regular (non-LFS) blobs, which the protocol allows.
``fail`` injects faults: {"resolve": 500} answers every download with that status, {"resolve":
"drop"} sends half of a file and closes the connection. Model and dataset repos are both served,
under the Hub's own routes (``/api/models/...`` and ``/{repo}/resolve/...``; ``/api/datasets/...``
and ``/datasets/{repo}/resolve/...``); a dataset repo is kept under the key "datasets/owner/name".
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from urllib.parse import unquote, urlparse


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, private: bool):
        self.private = private
        root = hashlib.sha1(b"initial").hexdigest()
        self.commits: dict[str, dict[str, bytes]] = {root: {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}}
        self.branches: dict[str, str] = {"main": root}

    def resolve(self, rev: str) -> str | None:
        return self.branches.get(rev) or (rev if rev in self.commits else None)


class HubState:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.fail: dict[str, object] = {}
        self.auth: list[str | None] = []  # Authorization headers seen, in order
        self.lock = threading.Lock()


def _key(kind: str, repo_id: str) -> str:
    """Where a repo is kept: models under their id, datasets under "datasets/" + id."""
    return repo_id if kind == "models" else f"datasets/{repo_id}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState

    def log_message(self, *args):
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, *, head: bool = False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not (head or self.command == "HEAD"):
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None):
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: str, message: str):
        self._json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {repo_id.removeprefix('datasets/')} not found")
        return repo

    def _commit(self, repo: Repo, rev: str) -> str | None:
        sha = repo.resolve(rev)
        if sha is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return sha

    # -- routes -------------------------------------------------------------------------------
    def do_POST(self):
        self.state.auth.append(self.headers.get("Authorization"))
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        body = self._body()
        with self.state.lock:
            if url.path == "/api/repos/create":
                req = json.loads(body)
                repo_id = ("datasets/" if req.get("type") == "dataset" else "") + f"{req['organization']}/{req['name']}"
                if repo_id in self.state.repos:  # the Hub's 409 carries the url, which the client reads
                    msg = "You already created this model repo"
                    return self._json(409, {"error": msg, "url": f"http://{self.headers['Host']}/{repo_id}"}, {"X-Error-Message": msg})
                self.state.repos[repo_id] = Repo(req.get("visibility") == "private" or bool(req.get("private")))
                return self._json(200, {"url": f"http://{self.headers['Host']}/{repo_id}", "name": repo_id})
            if url.path == "/api/validate-yaml":
                return self._json(200, {"errors": [], "warnings": []})
            if parts[:1] == ["api"] and parts[1:2] in (["models"], ["datasets"]) and len(parts) >= 6:
                repo_id, action, rev = _key(parts[1], f"{parts[2]}/{parts[3]}"), parts[4], "/".join(parts[5:])
                repo = self._repo(repo_id)
                if repo is None:
                    return
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._json(200, {"files": [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files
                    ]})
                if action == "commit":
                    return self._commit_files(repo, repo_id, rev, body)
                if action == "branch":
                    if rev in repo.branches:
                        return self._error(409, "BranchExists", f"Branch {rev} already exists")
                    start = json.loads(body or b"{}").get("startingPoint") or "main"
                    sha = self._commit(repo, start)
                    if sha is None:
                        return
                    repo.branches[rev] = sha
                    return self._json(200, {})
        self._error(404, "NotFound", f"no route for POST {url.path}")

    def _commit_files(self, repo: Repo, repo_id: str, rev: str, body: bytes):
        parent = self._commit(repo, rev)
        if parent is None:
            return
        if rev not in repo.branches:
            return self._error(400, "BadRequest", "commits go to a branch")
        files = dict(repo.commits[parent])
        summary = ""
        for line in body.splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                summary = value["summary"]
            elif item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
            elif item["key"] == "deletedFile":
                files.pop(value["path"], None)
            else:
                return self._error(400, "BadRequest", f"unsupported operation {item['key']}")
        sha = hashlib.sha1(json.dumps([parent, summary, sorted((k, git_blob_oid(v)) for k, v in files.items())]).encode()).hexdigest()
        repo.commits[sha] = files
        repo.branches[rev] = sha
        host = self.headers["Host"]
        self._json(200, {"success": True, "commitOid": sha, "commitUrl": f"http://{host}/{repo_id}/commit/{sha}"})

    def do_GET(self):
        self._get(head=False)

    def do_HEAD(self):
        self._get(head=True)

    def _get(self, head: bool):
        self.state.auth.append(self.headers.get("Authorization"))
        url = urlparse(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        with self.state.lock:
            if parts[:1] == ["api"] and parts[1:2] in (["models"], ["datasets"]) and len(parts) >= 4:
                name = f"{parts[2]}/{parts[3]}"
                repo = self._repo(_key(parts[1], name))
                if repo is None:
                    return
                if len(parts) == 4 or parts[4] == "revision":
                    sha = self._commit(repo, "/".join(parts[5:]) if len(parts) > 5 else "main")
                    if sha is None:
                        return
                    return self._json(200, {
                        "id": name, **({"modelId": name} if parts[1] == "models" else {}), "sha": sha, "private": repo.private,
                        "siblings": [{"rfilename": p} for p in sorted(repo.commits[sha])], "tags": [],
                    })
                if parts[4] == "tree":  # recursive listing of the whole repo, whatever the path asked
                    sha = self._commit(repo, parts[5])
                    if sha is None:
                        return
                    return self._json(200, [
                        {"type": "file", "path": p, "size": len(d), "oid": git_blob_oid(d)} for p, d in sorted(repo.commits[sha].items())
                    ])
            if len(parts) >= 6 and parts[0] == "datasets" and parts[3] == "resolve":
                return self._resolve(f"datasets/{parts[1]}/{parts[2]}", parts[4], "/".join(parts[5:]), head)
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), head)
        self._error(404, "NotFound", f"no route for GET {url.path}")

    def _resolve(self, repo_id: str, rev: str, path: str, head: bool):
        repo = self._repo(repo_id)
        if repo is None:
            return
        sha = self._commit(repo, rev)
        if sha is None:
            return
        data = repo.commits[sha].get(path)
        if data is None:
            return self._error(404, "EntryNotFound", f"{path} does not exist at {rev}")
        fail = self.state.fail.get("resolve")
        headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_oid(data)}"', "Content-Length": str(len(data)), "Accept-Ranges": "bytes"}
        if head:
            return self._send(200, b"", headers, head=True)
        if isinstance(fail, int):
            return self._error(fail, "ServerError", "injected failure")
        if fail == "drop":
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            headers["Content-Length"] = str(len(data) - start)
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return self._send(206, data[start:], headers)
        self._send(200, data, headers)


class LocalHub:
    """``with LocalHub() as hub:`` serves on ``hub.endpoint`` until the block ends."""

    def __init__(self):
        self.state = HubState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def add_dataset(self, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        """A dataset repo holding ``files`` at a new commit on ``branch`` (created, or added to); its sha."""
        with self.state.lock:
            repo = self.state.repos.setdefault(f"datasets/{repo_id}", Repo(False))
            parent = repo.branches.get(branch, repo.branches["main"])
            content = {**repo.commits[parent], **files}
            sha = hashlib.sha1(json.dumps([parent, sorted((k, git_blob_oid(v)) for k, v in content.items())]).encode()).hexdigest()
            repo.commits[sha] = content
            repo.branches[branch] = sha
            return sha

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.state.repos[repo_id]
        return repo.commits[repo.resolve(rev)]
