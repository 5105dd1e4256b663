"""Mend's HTTP routes: thin aiohttp handlers that parse, validate, call the engine and serialise.

``route_defs(mend)`` returns every route; ComfyUI's ``PromptServer.instance.routes`` takes them (and
serves each under ``/api`` too), tests add them to a plain ``aiohttp.web.Application``.
"""

from __future__ import annotations

from aiohttp import web

from ..core.services import Mend
from . import analyze, decisions, manifest, models, nodes, tasks

#: where ``setup`` keeps the ``Mend`` on a plain aiohttp app
MEND_KEY = web.AppKey("mend", Mend)


def route_defs(mend: Mend) -> list[web.RouteDef]:
    return [*analyze.routes(mend), *tasks.routes(mend), *decisions.routes(mend), *models.routes(mend),
            *nodes.routes(mend), *manifest.routes(mend)]


def setup(app: web.Application, mend: Mend) -> None:
    """Mount Mend on an aiohttp app (tests, or a standalone server)."""
    app[MEND_KEY] = mend
    app.add_routes(route_defs(mend))

    async def close_mend(_app: web.Application) -> None:
        await mend.close()  # releases the task journal; running tasks resume at the next start

    app.on_cleanup.append(close_mend)
