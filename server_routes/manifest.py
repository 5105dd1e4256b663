"""Freeze and sync over HTTP: the editor's "Sync from manifest" action and a lock-file download.

    GET  /mend/manifest/freeze?workflow=<id>&workflow=...&format=json|toml
         -> 200 {"toml": "<manifest text>", "packs": [...], "models": [...], "missing": [...],
                 "unknown_packs": [...], "unsourced_models": [...]}
            (format=toml: the manifest text itself, as an attachment ``mend-manifest.toml``). Without a
            ``workflow`` every model file is pinned. Nothing is written: the server's manifest is unchanged.
    POST /mend/manifest/sync  {"manifest"?: "<toml text>", "dry_run"?: false, "client_id"?: "..."}
         -> 202 {"tasks": ["<task id>", ...], "plan": {"items": [...], "summary", "bytes_to_fetch", "ok",
                 "shared_cache"}}
            (dry_run: 200 with the plan and no tasks). Without ``manifest`` the server's own manifest is
            synced. Each item to do is an ``install`` or ``sync_model`` task (follow them with the task
            routes or ``mend.task`` events); ``plan.items[].task_id`` ties an item to its task. The shared
            cache is the operator's ``MEND_SHARED_MODEL_CACHE`` (a request never chooses a directory).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..core.environment.freeze import freeze, render_frozen
from ..core.environment.shared_cache import shared_cache_dir
from ..core.environment.sync import check_section, parse_manifest_text, plan_sync, register_runners, start_sync
from ..core.errors import InvalidField
from ..core.resolve.target import target_from_request
from ..core.services import Mend
from .analyze import analysis_pool
from .http import handler, json_response, read_json


def routes(mend: Mend) -> list[web.RouteDef]:
    register_runners(mend)  # before the task journal is replayed: an interrupted sync resumes

    @handler
    async def freeze_route(request: web.Request) -> web.Response:
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "toml"):
            raise InvalidField("format must be json or toml", field="format")
        idents = request.query.getall("workflow", [])
        targets = [target_from_request(mend.host, i) for i in idents] or None
        if targets and any(t.file is None for t in targets):
            raise InvalidField("freeze takes saved workflows (paths in the workflows folder)", field="workflow")
        async with analysis_pool(mend).slot():  # its analyses count against the cap (429 beyond it)
            frozen = await freeze(mend, targets)
        text = await asyncio.to_thread(render_frozen, frozen)
        if fmt == "toml":
            return web.Response(text=text, content_type="application/toml", headers={
                "Content-Disposition": 'attachment; filename="mend-manifest.toml"'})
        return json_response({"toml": text, **frozen.to_json()})

    @handler
    async def sync_route(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidField("send an object (manifest, dry_run, client_id)", field="body")
        text, dry_run, client_id = body.get("manifest"), body.get("dry_run", False), body.get("client_id")
        if text is not None and not isinstance(text, str):
            raise InvalidField("manifest must be the manifest's TOML text", field="manifest")
        if not isinstance(dry_run, bool):
            raise InvalidField("dry_run must be true or false", field="dry_run")
        if client_id is not None and not isinstance(client_id, str):
            raise InvalidField("client_id must be a string", field="client_id")
        if text is not None:
            data = parse_manifest_text(text, "manifest")
        else:
            data = await asyncio.to_thread(mend.manifest.data)
            check_section(data, str(mend.manifest_path))
        plan = await plan_sync(mend, data, shared_cache=shared_cache_dir())
        if dry_run:
            return json_response({"tasks": [], "plan": plan.to_json()})
        ids = await start_sync(mend, plan, client_id=client_id)
        return json_response({"tasks": ids, "plan": plan.to_json()}, status=202)

    return [web.get("/mend/manifest/freeze", freeze_route), web.post("/mend/manifest/sync", sync_route)]
