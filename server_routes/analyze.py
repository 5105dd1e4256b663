"""``POST /mend/analyze``: a workflow in (UI or API format), the report of what it lacks out.

Body: the workflow itself, or ``{"workflow": {...}, "workflow_id": "...", "registry": false}``.
``workflow_id`` (a path in the user's workflows folder, or an unsaved graph's uuid; see
``core/resolve.py``) makes decided items come back with their decision; without it a UI graph's own
top-level uuid is used.
"""

from __future__ import annotations

from aiohttp import web

from ..core.errors import InvalidField
from ..core.resolve import UUID, target_from_request
from ..core.services import Mend
from .http import handler, json_response, read_json


def routes(mend: Mend) -> list[web.RouteDef]:
    @handler
    async def analyze(request: web.Request) -> web.Response:
        body = await read_json(request)
        use_registry, workflow_id = True, None
        if isinstance(body, dict) and "workflow" in body and "nodes" not in body:
            use_registry = body.get("registry", True)
            if not isinstance(use_registry, bool):
                raise InvalidField("registry must be true or false", field="registry")
            if body.get("workflow_id") is not None:
                workflow_id = target_from_request(mend.host, body["workflow_id"]).id
            body = body["workflow"]
        graph_uuid = body.get("id") if isinstance(body, dict) else None
        if workflow_id is None and isinstance(graph_uuid, str) and UUID.fullmatch(graph_uuid):
            workflow_id = graph_uuid.lower()
        report = await mend.analyzer.analyze(body, use_registry=use_registry, workflow_id=workflow_id)
        return json_response(report.to_json())

    return [web.post("/mend/analyze", analyze)]
