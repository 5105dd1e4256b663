"""Background task routes: the panel's data and the polling fallback for clients without a websocket.

    GET  /mend/tasks[?state=running&kind=download]   -> {"tasks": [task, ...]}   (oldest first)
    GET  /mend/tasks/{id}                            -> task                      (404 unknown id)
    POST /mend/tasks/{id}/cancel                     -> task (cancelled)          (409 if already finished)
    POST /mend/tasks/{id}/retry                      -> task (queued)             (failed / cancelled / interrupted)
    POST /mend/tasks/{id}/resume                     -> task (queued)             (interrupted only)
    POST /mend/tasks/{id}/pause                      -> task (interrupted, "paused": the .part is kept)

Tasks are created by the routes of the work itself (downloads, installs) through ``mend.tasks.submit``.
POSTs need ``Content-Type: application/json`` (the body may be empty or ``{}``), like every Mend POST.
"""

from __future__ import annotations

from aiohttp import web

from ..core.errors import InvalidField, UnsupportedMediaType
from ..core.services import Mend
from ..core.tasks.task_model import STATES
from .http import handler, json_response


def _require_json(request: web.Request) -> None:
    """Same CSRF rule as ``read_json`` without requiring a body: these actions take no parameters."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the request as application/json", field="Content-Type")


def routes(mend: Mend) -> list[web.RouteDef]:
    @handler
    async def list_tasks(request: web.Request) -> web.Response:
        state = request.query.get("state") or None
        if state is not None and state not in STATES:
            raise InvalidField(f"state must be one of {', '.join(STATES)}", field="state")
        tasks = await mend.tasks.list(state=state, kind=request.query.get("kind") or None)
        return json_response({"tasks": [t.to_json() for t in tasks]})

    @handler
    async def get_task(request: web.Request) -> web.Response:
        return json_response((await mend.tasks.get(request.match_info["id"])).to_json())

    def action(name: str):
        @handler
        async def act(request: web.Request) -> web.Response:
            _require_json(request)
            task = await getattr(mend.tasks, name)(request.match_info["id"])
            return json_response(task.to_json())

        return act

    return [
        web.get("/mend/tasks", list_tasks),
        web.get("/mend/tasks/{id}", get_task),
        web.post("/mend/tasks/{id}/cancel", action("cancel")),
        web.post("/mend/tasks/{id}/retry", action("retry")),
        web.post("/mend/tasks/{id}/resume", action("resume")),
        web.post("/mend/tasks/{id}/pause", action("pause")),
    ]
