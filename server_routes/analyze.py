"""``POST /mend/analyze``: a workflow in (UI or API format), the report of what it lacks out.

Body: the workflow itself, or ``{"workflow": {...}, "registry": false}`` to skip registry look-ups.
"""

from __future__ import annotations

from aiohttp import web

from ..core.errors import InvalidField
from ..core.services import Mend
from .http import handler, json_response, read_json


def routes(mend: Mend) -> list[web.RouteDef]:
    @handler
    async def analyze(request: web.Request) -> web.Response:
        body = await read_json(request)
        use_registry = True
        if isinstance(body, dict) and "workflow" in body and "nodes" not in body:
            use_registry = body.get("registry", True)
            if not isinstance(use_registry, bool):
                raise InvalidField("registry must be true or false", field="registry")
            body = body["workflow"]
        report = await mend.analyzer.analyze(body, use_registry=use_registry)
        return json_response(report.to_json())

    return [web.post("/mend/analyze", analyze)]
