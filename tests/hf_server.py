"""A loopback server that speaks the parts of the Hugging Face Hub that ``huggingface_hub`` and Mend use.

Endpoints: model search (``/api/models?search=``), model info with siblings, the repo tree,
``paths-info``, and ``/{repo}/resolve/{rev}/{path}``: LFS files answer 302 with ``X-Linked-Etag``
(the sha256), ``X-Linked-Size`` and ``X-Repo-Commit``, and redirect to a CDN-like ``/cdn/{sha}``
path that serves the bytes with ``ETag`` and HTTP ``Range``. Faults are injected per file:
a connection cut after N bytes, 500s, a 429 with ``Retry-After``, wrong bytes, a slow trickle, a lying
``Content-Length``, a redirect elsewhere. Every request is recorded (with its ``Authorization``
header) and every body byte sent is counted, so tests can prove what was re-fetched.

    hub = FakeHub()
    hub.add_file("acme/loras", "split/x.safetensors", data)
    server = await aiohttp_server(hub.app())
    monkeypatch.setenv("HF_ENDPOINT", str(server.make_url("")).rstrip("/"))

Files are bytes in memory or a ``Path`` on disk (the 1 GB benchmark), streamed in 1 MiB writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def safetensors_bytes(payload_size: int = 64, seed: int = 0) -> bytes:
    """A small valid ``.safetensors`` file (one uint8 tensor) whose bytes depend on ``seed``."""
    header = json.dumps({"t": {"dtype": "U8", "shape": [payload_size], "data_offsets": [0, payload_size]}}).encode()
    header += b" " * (-len(header) % 8)
    body = bytes((seed + i) % 251 for i in range(payload_size))
    return struct.pack("<Q", len(header)) + header + body


@dataclass
class HubFile:
    path: str
    data: bytes | None = None
    disk: Path | None = None
    lfs: bool = True
    size: int = 0
    sha256: str = ""
    sendfile: bool = False  # disk files: serve with aiohttp's FileResponse (fast; bytes are not counted)

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        assert self.disk is not None
        with open(self.disk, "rb") as f:
            f.seek(start)
            return f.read(end - start)


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile] = field(default_factory=dict)
    downloads: int = 0
    likes: int = 0
    gated_token: str | None = None  # when set, requests need "Authorization: Bearer <token>"


@dataclass
class Fault:
    """One injected failure on the bytes of files whose path ends with ``path``; used ``times`` times."""

    path: str
    kind: str  # cut | status | corrupt | trickle | lie_length | redirect
    at: int = 0  # cut: bytes of body sent before the connection is dropped
    status: int = 500
    retry_after: str | None = None
    location: str | None = None  # redirect target
    piece: int = 16 * 1024  # trickle: bytes per write
    delay: float = 0.005  # trickle: seconds between writes
    times: int = 1


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, str | None, str | None]] = []  # method, path, range, authorization
        self.sent: Counter[str] = Counter()  # file path -> body bytes written to the socket
        self.searches: list[str] = []
        self.connections_cut = 0

    # -- content ----------------------------------------------------------------------------
    def repo(self, repo_id: str, **kwargs) -> HubRepo:
        repo = self.repos.get(repo_id)
        if repo is None:
            repo = self.repos[repo_id] = HubRepo(repo_id)
        for k, v in kwargs.items():
            setattr(repo, k, v)
        return repo

    def add_file(self, repo_id: str, path: str, data: bytes | Path, *, lfs: bool = True, sendfile: bool = False,
                 **repo_kwargs) -> HubFile:
        if isinstance(data, Path):
            digest = hashlib.sha256()
            with open(data, "rb") as f:
                while block := f.read(8 << 20):
                    digest.update(block)
            entry = HubFile(path, disk=data, lfs=lfs, size=data.stat().st_size, sha256=digest.hexdigest(),
                            sendfile=sendfile)
        else:
            entry = HubFile(path, data=data, lfs=lfs, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        self.repo(repo_id, **repo_kwargs).files[path] = entry
        return entry

    def fault(self, path: str, kind: str, **kwargs) -> Fault:
        f = Fault(path, kind, **kwargs)
        self.faults.append(f)
        return f

    def _take_fault(self, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and path.endswith(f.path):
                f.times -= 1
                return f
        return None

    # -- app --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()

        @web.middleware
        async def record(request: web.Request, handler):
            self.requests.append(
                (request.method, request.path_qs, request.headers.get("Range"), request.headers.get("Authorization"))
            )
            return await handler(request)

        app.middlewares.append(record)
        app.add_routes([
            web.get("/api/models", self._search),
            web.get("/api/models/{ns}/{name}", self._info),
            web.get("/api/models/{ns}/{name}/revision/{rev}", self._info),
            web.get("/api/models/{ns}/{name}/tree/{rev}", self._tree),
            web.get("/api/models/{ns}/{name}/tree/{rev}/{sub:.*}", self._tree),
            web.post("/api/models/{ns}/{name}/paths-info/{rev}", self._paths_info),
            web.route("*", "/{ns}/{name}/resolve/{rev}/{path:.+}", self._resolve),
            web.route("*", "/cdn/{sha}", self._cdn),
            web.route("*", "/files/{path:.+}", self._plain),
        ])
        return app

    def _repo_or_404(self, request: web.Request) -> HubRepo:
        repo = self.repos.get(f"{request.match_info['ns']}/{request.match_info['name']}")
        if repo is None:
            raise web.HTTPNotFound(headers={"X-Error-Code": "RepoNotFound"}, text='{"error":"Repository not found"}')
        if repo.gated_token and request.headers.get("Authorization") != f"Bearer {repo.gated_token}":
            raise web.HTTPUnauthorized(headers={"X-Error-Code": "GatedRepo"}, text='{"error":"gated"}')
        return repo

    @staticmethod
    def _summary(repo: HubRepo, siblings: bool) -> dict:
        out = {"id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0],
               "sha": COMMIT, "downloads": repo.downloads, "likes": repo.likes, "private": False,
               "gated": bool(repo.gated_token), "tags": []}
        if siblings:
            out["siblings"] = [{"rfilename": p} for p in sorted(repo.files)]
        return out

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query.get("search", "")
        self.searches.append(query)
        words = [w.lower() for w in query.split() if w]
        expand = request.query.getall("expand", []) + request.query.getall("expand[]", [])
        hits = [r for r in self.repos.values() if all(w in r.repo_id.lower() for w in words)]
        hits.sort(key=lambda r: -r.downloads)
        limit = int(request.query.get("limit", "1000"))
        return web.json_response([self._summary(r, "siblings" in expand or bool(request.query.get("full")))
                                  for r in hits[:limit]])

    async def _info(self, request: web.Request) -> web.Response:
        return web.json_response(self._summary(self._repo_or_404(request), True))

    @staticmethod
    def _file_json(f: HubFile) -> dict:
        out = {"type": "file", "path": f.path, "size": f.size, "oid": hashlib.sha1(f.sha256.encode()).hexdigest()}
        if f.lfs:
            out["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
        return out

    async def _tree(self, request: web.Request) -> web.Response:
        repo = self._repo_or_404(request)
        sub = request.match_info.get("sub", "").strip("/")
        recursive = request.query.get("recursive", "false").lower() in ("1", "true")
        out, dirs = [], set()
        for path, f in sorted(repo.files.items()):
            if sub and not path.startswith(sub + "/"):
                continue
            rest = path[len(sub) + 1:] if sub else path
            if "/" in rest and not recursive:
                dirs.add((f"{sub}/" if sub else "") + rest.split("/", 1)[0])
                continue
            out.append(self._file_json(f))
        out = [{"type": "directory", "path": d, "oid": "0" * 40} for d in sorted(dirs)] + out
        return web.json_response(out)

    async def _paths_info(self, request: web.Request) -> web.Response:
        repo = self._repo_or_404(request)
        form = await request.post()
        paths = form.getall("paths", [])
        return web.json_response([self._file_json(repo.files[p]) for p in paths if p in repo.files])

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        repo = self._repo_or_404(request)
        path = request.match_info["path"]
        f = repo.files.get(path)
        if f is None:
            raise web.HTTPNotFound(headers={"X-Error-Code": "EntryNotFound"}, text='{"error":"Entry not found"}')
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{f.sha256 if f.lfs else "g" + f.sha256[:39]}"'}
        if f.lfs:
            headers.update({"X-Linked-Etag": f'"{f.sha256}"', "X-Linked-Size": str(f.size),
                            "Location": f"/cdn/{f.sha256}?name={path}"})
            return web.Response(status=302, headers=headers)
        return await self._serve(request, f, headers)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        sha, name = request.match_info["sha"], request.query.get("name")
        matches = [f for repo in self.repos.values() for f in repo.files.values() if f.sha256 == sha]
        for f in sorted(matches, key=lambda f: f.path != name):  # the file the resolve step named, if given
            return await self._serve(request, f, {"ETag": f'"{sha}"'})
        raise web.HTTPNotFound()

    async def _plain(self, request: web.Request) -> web.StreamResponse:
        """``/files/{path}``: any repository's file at that path, as a plain web server sends it (no LFS
        metadata, no Hugging Face URL shape): a pasted link from anywhere."""
        path = request.match_info["path"]
        for repo in self.repos.values():
            if path in repo.files:
                return await self._serve(request, repo.files[path], {"ETag": f'"{repo.files[path].sha256[:16]}"'})
        raise web.HTTPNotFound()

    async def _serve(self, request: web.Request, f: HubFile, headers: dict[str, str]) -> web.StreamResponse:
        fault = self._take_fault(f.path)
        if fault and fault.kind == "status":
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return web.Response(status=fault.status, headers=headers, text="injected failure")
        if fault and fault.kind == "redirect":
            return web.Response(status=302, headers={"Location": fault.location or "/"})
        if fault is None and f.sendfile and f.disk is not None:
            return web.FileResponse(f.disk, chunk_size=1 << 20)
        start, end = 0, f.size
        status = 200
        rng = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        if rng and (if_range is None or if_range == headers.get("ETag")):
            first = int(rng.split("=", 1)[1].split("-", 1)[0])
            if first >= f.size:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{f.size}"})
            start, status = first, 206
            headers["Content-Range"] = f"bytes {start}-{f.size - 1}/{f.size}"
        length = end - start
        if fault and fault.kind == "lie_length":
            length += max(1, length // 2)  # promise more than will be sent
            end = start + (end - start)
        headers["Content-Length"] = str(length)
        headers["Accept-Ranges"] = "bytes"
        resp = web.StreamResponse(status=status, headers=headers)
        await resp.prepare(request)
        if request.method == "HEAD":
            return resp
        piece = fault.piece if fault and fault.kind == "trickle" else 1 << 20
        pos = start
        while pos < end:
            n = min(piece, end - pos)
            if fault and fault.kind == "cut" and pos + n > fault.at:
                n = max(0, fault.at - pos)
                if n:
                    await resp.write(f.read(pos, pos + n))
                    self.sent[f.path] += n
                self.connections_cut += 1
                request.transport.close() if request.transport else None
                return resp
            block = f.read(pos, pos + n)
            if fault and fault.kind == "corrupt":
                block = bytes(b ^ 0xFF for b in block[:1]) + block[1:]
            await resp.write(block)
            self.sent[f.path] += n
            pos += n
            if fault and fault.kind == "trickle":
                await asyncio.sleep(fault.delay)
        if fault and fault.kind == "lie_length":
            request.transport.close() if request.transport else None
            return resp
        await resp.write_eof()
        return resp


async def served_hub(aiohttp_server, files: tuple[tuple[str, str, bytes], ...] = ()) -> FakeHub:
    """A ``FakeHub`` with ``files`` (repo, path, bytes), served by pytest-aiohttp's ``aiohttp_server``."""
    hub = FakeHub()
    for repo_id, path, data in files:
        hub.add_file(repo_id, path, data)
    hub.server = await aiohttp_server(hub.app())
    hub.endpoint = hub.url = str(hub.server.make_url("")).rstrip("/")
    return hub
