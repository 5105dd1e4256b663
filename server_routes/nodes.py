"""Node pack routes: install a pack in the background, list what is installed, restart ComfyUI.

    POST /mend/nodes/install   {"id"?, "repository"?, "version"?, "commit"?, "source"?, "folder"?,
                                "confirm_incompatible"?, "client_id"?}
                               -> 202, the ``install`` task (its ``id`` is the task id); before queueing:
                               400 bad input, 403 remote/banned/flagged, 409 exists/disabled/incompatible
    GET  /mend/nodes/installed -> {"packs": [...], "restart_required", "changes", "can_restart", "manager",
                                   "manager_loaded": "pip"|"custom_node"|null, "manager_on_disk": [...]}
                               (disabled packs too, ``enabled: false``)
                               each pack Mend installed has ``import_check`` ({status: loaded | import_failed |
                               restart_required, node_types, error, log}); ``import_checks`` lists them all
    POST /mend/nodes/enable    {"folder"} -> {"enabled", "path", "from"}: a pack ComfyUI-Manager disabled, moved back
    POST /mend/nodes/rollback  {"folder"} -> {"rolled_back", "removed", "pip_not_restored"}: undo Mend's install
    POST /mend/restart         -> {"restarting": true, "delay"}; 403 unless ComfyUI listens on loopback only

``mend.extras["restart_execv"]`` replaces ``os.execv`` for the restart (tests).
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from ..core.errors import InvalidField, UnsupportedMediaType
from ..core.install.enable import enable_pack
from ..core.install.import_check import import_checks, status_by_folder
from ..core.install.manager import manager_status
from ..core.install.pack_task import install_runner
from ..core.install.request import InstallRequest
from ..core.install.restart import mark_restart_required, restart_status, schedule_restart
from ..core.install.rollback import rollback_pack
from ..core.installed_packs import scan_custom_nodes
from ..core.services import Mend
from .http import handler, json_response, read_json


def body_folder(body: object, what: str) -> str:
    """The ``folder`` a pack route acts on, or a named 400 (it names an existing folder, checked later)."""
    folder = body.get("folder") if isinstance(body, dict) else None
    if not isinstance(folder, str) or not folder:
        raise InvalidField(f"folder must name {what}", field="folder")
    return folder


def routes(mend: Mend) -> list[web.RouteDef]:
    install_runner(mend)  # registered before the task journal is replayed

    @handler
    async def install(request: web.Request) -> web.Response:
        body = await read_json(request)
        runner = install_runner(mend)
        parsed = InstallRequest.parse(body, runner.policy)
        client_id = body.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise InvalidField("client_id must be a string", field="client_id")
        runner.validate(parsed.to_params())  # bad input, remote risk, a copy already there: before any look-up
        await runner.precheck(parsed)  # banned, flagged, does not fit this machine: refused now, not in a task
        task = await mend.tasks.submit("install", parsed.to_params(), client_id=client_id)
        return json_response(task.to_json(), status=202)

    @handler
    async def installed(request: web.Request) -> web.Response:
        dirs = list(mend.host.custom_nodes_dirs())

        def scan() -> tuple[list[dict], dict, list[dict]]:
            checks = import_checks(mend)
            by_folder = status_by_folder(checks)
            packs = [p.to_json() for d in dirs for p in scan_custom_nodes(d)]
            for pack in packs:
                if pack["name"].lower() in by_folder:
                    pack["import_check"] = by_folder[pack["name"].lower()]
            return packs, manager_status(dirs), checks

        packs, manager, checks = await asyncio.to_thread(scan)
        return json_response({"packs": packs, **restart_status(mend), **manager, "import_checks": checks})

    @handler
    async def rollback(request: web.Request) -> web.Response:
        folder = body_folder(await read_json(request), "a pack Mend installed")
        return json_response(await rollback_pack(mend, install_runner(mend), folder))

    @handler
    async def enable(request: web.Request) -> web.Response:
        folder = body_folder(await read_json(request), "the disabled pack's folder")
        install_runner(mend).policy.check_remote_risk(mend.host.listen_addresses())  # enabling runs its code
        done = await asyncio.to_thread(enable_pack, list(mend.host.custom_nodes_dirs()), folder)
        mark_restart_required(mend, {"action": "enable", "folder": done["enabled"]})
        return json_response(done)

    @handler
    async def restart(request: web.Request) -> web.Response:
        if request.content_type != "application/json":  # no cross-site form can restart the server
            raise UnsupportedMediaType("send the request as application/json", field="Content-Type")
        execv = mend.extras.get("restart_execv", os.execv)
        return json_response(schedule_restart(mend, execv=execv), status=202)

    return [
        web.post("/mend/nodes/install", install),
        web.get("/mend/nodes/installed", installed),
        web.post("/mend/nodes/enable", enable),
        web.post("/mend/nodes/rollback", rollback),
        web.post("/mend/restart", restart),
    ]
