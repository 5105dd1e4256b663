"""A loopback server shaped like the Comfy Registry's read API, serving real zips built in the test.

    GET /nodes/{id}/versions   [{"id", "version", "createdAt", "status", "downloadUrl"}, ...] newest first
    GET /files/{id}/{version}.zip
    POST|GET /nodes/{id}/install   counted: Mend must never call it

    reg = RegistryServer()
    reg.publish("comfyui-beta", "1.0.0", {"__init__.py": "..."})
    server = await aiohttp_server(reg.app()); reg.base_url = str(server.make_url(""))
"""

from __future__ import annotations

import io
import zipfile

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
        self.archives: dict[tuple[str, str], bytes] = {}
        self.install_calls = 0
        self.base_url = ""  # set once the server listens: download URLs point back at it

    def publish(self, pack_id: str, version: str, files: dict[str, str] | None = None, *,
                archive: bytes | None = None, created: str | None = None, status: str = "NodeVersionStatusActive"):
        self.archives[(pack_id, version)] = archive if archive is not None else zip_bytes(files or {})
        entry = {"id": f"{pack_id}-{version}", "version": version, "status": status,
                 "createdAt": created or f"2025-01-{len(self.versions.get(pack_id, [])) + 1:02d}T00:00:00Z"}
        self.versions.setdefault(pack_id, []).insert(0, entry)

    def app(self) -> web.Application:
        async def versions(request: web.Request) -> web.Response:
            pack_id = request.match_info["id"]
            if pack_id not in self.versions:
                return web.json_response({"message": "not found"}, status=404)
            base = self.base_url.rstrip("/")
            return web.json_response([
                {**v, "downloadUrl": f"{base}/files/{pack_id}/{v['version']}.zip"} for v in self.versions[pack_id]
            ])

        async def archive(request: web.Request) -> web.Response:
            key = (request.match_info["id"], request.match_info["version"])
            if key not in self.archives:
                raise web.HTTPNotFound()
            return web.Response(body=self.archives[key], content_type="application/zip")

        async def install(request: web.Request) -> web.Response:
            self.install_calls += 1
            return web.json_response({"error": "tests: Mend must not call /install"}, status=500)

        app = web.Application()
        app.router.add_get("/nodes/{id}/versions", versions)
        app.router.add_get("/files/{id}/{version}.zip", archive)
        app.router.add_route("*", "/nodes/{id}/install", install)
        return app
