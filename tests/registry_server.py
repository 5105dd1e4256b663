"""A loopback server shaped like the Comfy Registry's read API (api.comfy.org), serving real zips built in the test.

Shapes follow the registry's OpenAPI (``Node``, ``NodeVersion``, paged ``/nodes``):

    GET /nodes?page=&limit=          {"total", "nodes": [Node], "page", "limit", "totalPages"}
    GET /nodes/{id}                  Node: {"id", "name", "repository", "status", "latest_version": NodeVersion}
    GET /nodes/{id}/versions         [NodeVersion, ...] newest first: {"id", "version", "createdAt", "status",
                                     "deprecated", "downloadUrl", "supported_os", "supported_accelerators",
                                     "supported_comfyui_version", "supported_comfyui_frontend_version", "node_id"}
                                     404 unknown, 403 for a banned pack
    GET /comfy-nodes/{name}/node     the Node that declares a node type
    GET /files/{id}/{version}.zip
    GET|POST /nodes/{id}/install     counted: Mend must never call it

Registry ids are the registry's own (``comfyui-videohelpersuite``), never ComfyUI-Manager's (``vhs``).
``fault`` makes every API answer fail the way a broken registry does: ``"html"`` (a 200 HTML page) or
``"500"``.

    reg = RegistryServer()
    reg.publish("comfyui-beta", "1.0.0", {"__init__.py": "..."}, repository="https://github.com/a/ComfyUI-Beta")
    server = await aiohttp_server(reg.app()); reg.base_url = str(server.make_url(""))
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from aiohttp import web


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


class RegistryServer:
    def __init__(self) -> None:
        self.versions: dict[str, list[dict]] = {}
        self.packs: dict[str, dict] = {}  # id -> Node fields other than latest_version
        self.node_types: dict[str, str] = {}  # node type -> pack id
        self.archives: dict[tuple[str, str], bytes] = {}
        self.install_calls = 0
        self.requests: list[str] = []  # paths asked for, in order
        self.fault: str | None = None
        self.base_url = ""  # set once the server listens: download URLs point back at it

    def publish(self, pack_id: str, version: str, files: dict[str, str] | None = None, *,
                archive: bytes | None = None, created: str | None = None, status: str = "NodeVersionStatusActive",
                repository: str | None = None, name: str | None = None, node_types: tuple[str, ...] = (),
                download_url: bool = True, **compat: Any) -> None:
        """One version of a pack; ``compat``: ``supported_os=[...]``, ``supported_comfyui_version=">=0.9"``..."""
        self.archives[(pack_id, version)] = archive if archive is not None else zip_bytes(files or {})
        entry = {"id": f"{pack_id}-{version}", "version": version, "status": status, "deprecated": False,
                 "node_id": pack_id, "_download": download_url,
                 "createdAt": created or f"2025-01-{len(self.versions.get(pack_id, [])) + 1:02d}T00:00:00Z", **compat}
        self.versions.setdefault(pack_id, []).insert(0, entry)
        pack = self.packs.setdefault(pack_id, {"id": pack_id, "name": name or pack_id, "status": "NodeStatusActive",
                                               "publisher": {"id": "tests", "name": "tests"}})
        if repository:
            pack["repository"] = repository
        for node_type in node_types:
            self.node_types[node_type] = pack_id

    def ban(self, pack_id: str) -> None:
        self.packs[pack_id]["status"] = "NodeStatusBanned"

    def _version(self, pack_id: str, v: dict) -> dict:
        out = {k: val for k, val in v.items() if not k.startswith("_")}
        if v["_download"]:
            out["downloadUrl"] = f"{self.base_url.rstrip('/')}/files/{pack_id}/{v['version']}.zip"
        return out

    def _node(self, pack_id: str) -> dict:
        return {**self.packs[pack_id], "latest_version": self._version(pack_id, self.versions[pack_id][0])}

    def app(self) -> web.Application:
        def broken() -> web.Response | None:
            if self.fault == "html":
                return web.Response(text="<!doctype html><html><body>Service Unavailable</body></html>",
                                    content_type="text/html")
            if self.fault == "500":
                return web.json_response({"message": "internal error"}, status=500)
            return None

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.requests.append(request.path)
            if not request.path.startswith("/files/"):
                failure = broken()
                if failure is not None:
                    return failure
            return await handler(request)

        async def list_nodes(request: web.Request) -> web.Response:
            page = max(1, int(request.query.get("page", "1")))
            limit = max(1, min(100, int(request.query.get("limit", "10"))))
            ids = sorted(self.packs)
            chunk = ids[(page - 1) * limit: page * limit]
            return web.json_response({"total": len(ids), "nodes": [self._node(i) for i in chunk], "page": page,
                                      "limit": limit, "totalPages": max(1, -(-len(ids) // limit))})

        async def node(request: web.Request) -> web.Response:
            pack_id = request.match_info["id"]
            if pack_id not in self.packs:
                return web.json_response({"message": "Node not found"}, status=404)
            return web.json_response(self._node(pack_id))

        async def versions(request: web.Request) -> web.Response:
            pack_id = request.match_info["id"]
            if pack_id not in self.versions:
                return web.json_response({"message": "Node not found"}, status=404)
            if self.packs[pack_id]["status"] == "NodeStatusBanned":
                return web.json_response({"message": "Node banned"}, status=403)
            return web.json_response([self._version(pack_id, v) for v in self.versions[pack_id]])

        async def comfy_node(request: web.Request) -> web.Response:
            pack_id = self.node_types.get(request.match_info["name"])
            if pack_id is None:
                return web.json_response({"message": "not found"}, status=404)
            return web.json_response(self._node(pack_id))

        async def archive(request: web.Request) -> web.Response:
            key = (request.match_info["id"], request.match_info["version"])
            if key not in self.archives:
                raise web.HTTPNotFound()
            return web.Response(body=self.archives[key], content_type="application/zip")

        async def install(request: web.Request) -> web.Response:
            self.install_calls += 1
            return web.json_response({"error": "tests: Mend must not call /install"}, status=500)

        app = web.Application(middlewares=[record])
        app.router.add_get("/nodes", list_nodes)
        app.router.add_route("*", "/nodes/{id}/install", install)
        app.router.add_get("/nodes/{id}/versions", versions)
        app.router.add_get("/nodes/{id}", node)
        app.router.add_get("/comfy-nodes/{name}/node", comfy_node)
        app.router.add_get("/files/{id}/{version}.zip", archive)
        return app
