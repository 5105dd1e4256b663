"""Mend's HTTP routes: thin aiohttp handlers that parse, validate, call the engine and serialise.

``route_defs(mend)`` returns every route, each behind the Host/Origin guard (``guard.py``); ComfyUI's
``PromptServer.instance.routes`` takes them (and serves each under ``/api`` too), tests add them to a
plain ``aiohttp.web.Application``. ``mend.extras["cors_origin"]`` stands in for ComfyUI's
``--enable-cors-header`` value (tests).
"""

from __future__ import annotations

from aiohttp import web

from ..core.services import Mend
from . import analyze, decisions, manifest, models, nodes, openapi, tasks
from .guard import Guard, comfy_cors_origin

#: where ``setup`` keeps the ``Mend`` on a plain aiohttp app
MEND_KEY = web.AppKey("mend", Mend)


def route_defs(mend: Mend, extra: list[web.RouteDef] | None = None) -> list[web.RouteDef]:
    """Every Mend route (and ``extra`` ones, e.g. ComfyUI-only progress routes), each behind the guard."""
    guard = Guard(lambda: mend.host.listen_addresses(), lambda: mend.extras.get("cors_origin", comfy_cors_origin()))
    defs = [*analyze.routes(mend), *tasks.routes(mend), *decisions.routes(mend), *models.routes(mend),
            *nodes.routes(mend), *manifest.routes(mend), *openapi.routes(), *(extra or [])]
    return [web.RouteDef(rd.method, rd.path, guard.wrap(rd.handler), rd.kwargs) for rd in defs]


def setup(app: web.Application, mend: Mend) -> None:
    """Mount Mend on an aiohttp app (tests, or a standalone server)."""
    app[MEND_KEY] = mend
    app.add_routes(route_defs(mend))

    async def close_mend(_app: web.Application) -> None:
        await mend.close()  # releases the task journal; running tasks resume at the next start

    app.on_cleanup.append(close_mend)
