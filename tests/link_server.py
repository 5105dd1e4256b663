"""A loopback file host with one path per thing a link's server can answer, for the link probe's tests.

Paths (each answers HEAD and GET; a GET honours ``Range: bytes=0-0`` with a 206):

- ``/files/<name>``: the file (``Accept-Ranges: bytes``, ``Content-Length``), a valid ``.safetensors``;
- ``/nohead/<name>``: HEAD answers 405, GET works (a server that refuses HEAD);
- ``/signed/<name>``: HEAD answers 403, GET works (a link signed for GET only, as S3 does);
- ``/download?id=7``: the file under ``Content-Disposition: attachment; filename*=UTF-8''…`` (no name in the path);
- ``/login/<name>`` 401, ``/private/<name>`` 403, ``/gone/<name>`` 404, ``/removed/<name>`` 410,
  ``/busy/<name>`` 503;
- ``/page/<name>``: 200 ``text/html`` (a model's web page, a login form);
- ``/archive/<name>``: 200 ``application/zip`` named ``pack.zip``; ``/picture/<name>``: 200 ``image/png``;
- ``/to/<path>``: 302 to ``/<path>`` on this server; ``/away``: 302 to ``https://evil.example/x.safetensors``;
  ``/loop``: 302 to itself.

Every request is recorded as ``(method, path, Range)``, so tests prove what the probe asked and what a
download fetched.

    links = LinkHost()
    server = await aiohttp_server(links.app())
    links.base = str(server.make_url("")).rstrip("/")
"""

from __future__ import annotations

from aiohttp import web

from .hf_server import safetensors_bytes

FILE = safetensors_bytes(4096, seed=3)


class LinkHost:
    def __init__(self, data: bytes = FILE) -> None:
        self.data = data
        self.requests: list[tuple[str, str, str | None]] = []
        self.base = ""  # set by the test once served: http://127.0.0.1:<port>

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        return app

    def downloads(self, path_prefix: str = "/") -> int:
        """GETs that ask for more than the probe's one byte (``Range: bytes=0-0``)."""
        return sum(1 for m, p, r in self.requests if m == "GET" and p.startswith(path_prefix) and r != "bytes=0-0")

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, request.headers.get("Range")))
        path = request.path
        head = request.method == "HEAD"
        kind = path.split("/")[1] if path.count("/") >= 1 else ""
        if kind == "files":
            return self._file(request)
        if kind == "nohead":
            return web.Response(status=405) if head else self._file(request)
        if kind == "signed":
            return web.Response(status=403, text="signature does not match") if head else self._file(request)
        if path == "/download":
            name = "real name.safetensors".replace(" ", "%20")
            return self._file(request, {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
        statuses = {"login": 401, "private": 403, "gone": 404, "removed": 410, "busy": 503}
        if kind in statuses:
            return web.Response(status=statuses[kind], text="no")
        if kind == "page":
            return web.Response(text="<html><body>Sign in to download</body></html>", content_type="text/html")
        if kind == "archive":
            return web.Response(body=b"PK\x03\x04", content_type="application/zip",
                                headers={"Content-Disposition": 'attachment; filename="pack.zip"'})
        if kind == "picture":
            return web.Response(body=b"\x89PNG", content_type="image/png")
        if kind == "to":
            raise web.HTTPFound(path[len("/to"):])
        if path == "/away":
            raise web.HTTPFound("https://evil.example/x.safetensors")
        if path == "/loop":
            raise web.HTTPFound("/loop")
        return web.Response(status=404)

    def _file(self, request: web.Request, extra: dict[str, str] | None = None) -> web.Response:
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream", **(extra or {})}
        wanted = request.headers.get("Range", "")
        if wanted.startswith("bytes=") and request.method == "GET":
            start_s, _, end_s = wanted[len("bytes="):].partition("-")
            start = int(start_s)
            end = min(int(end_s) if end_s else len(self.data) - 1, len(self.data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(self.data)}"
            return web.Response(status=206, body=self.data[start:end + 1], headers=headers)
        return web.Response(body=self.data, headers=headers)
