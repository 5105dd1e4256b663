"""``GET /mend/decisions?workflow=…`` and ``POST /mend/decisions``: one decision per request, on disk at once.

POST body (``core/decide/decisions.py`` has the rules)::

    {"workflow": "portraits/flux.json",            # a saved workflow: path in <user>/default/workflows/
     "model": "12:5/ckpt_name",                     # or "node_type": "VHS_VideoCombine"
     "action": "candidate", "candidate": 0}         # or "url" (+ "url", "folder"?, "path"?), "optional", "skip"

For an unsaved graph send ``"graph": {...}`` (the UI workflow; its top-level ``id`` is its identity)
instead of, or with, ``"workflow": "<that id>"``. Candidate indexes refer to the analysis of the workflow
as it is when the request arrives. The answer says what was stored and whether the file was rewritten.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..core.decide.decisions import Decision, analyze_settled, apply_decision
from ..core.errors import InvalidField
from ..core.resolve.analyze import node_decision
from ..core.resolve.target import canonical_id, graph_id, target_from_request
from ..core.services import Mend
from .analyze import analysis_pool
from .http import handler, json_response, read_json


def routes(mend: Mend) -> list[web.RouteDef]:
    @handler
    async def get_decisions(request: web.Request) -> web.Response:
        target = await asyncio.to_thread(target_from_request, mend.host, request.query.get("workflow"))
        found = await asyncio.to_thread(mend.manifest.resolutions, target.id)
        return json_response({
            "workflow": target.id,
            "nodes": {t: node_decision(v) for t, v in found["nodes"].items()},
            "models": found["models"],
        })

    @handler
    async def post_decision(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidField("a decision is a JSON object", field="$")
        decision = Decision.from_json(body)
        graph = body.get("graph")
        ident = body.get("workflow")
        if graph is not None:
            gid = graph_id(graph)
            if ident is not None and canonical_id(ident) != gid:
                raise InvalidField("workflow and graph.id name different workflows", field="workflow")
            ident = gid
        target = await asyncio.to_thread(target_from_request, mend.host, ident)
        if target.file is None and graph is None:
            raise InvalidField("an unsaved workflow (a uuid) needs its graph in \"graph\"", field="graph")
        async with analysis_pool(mend).slot():  # the analysis counts against the cap (429 beyond it)
            report = await analyze_settled(mend, target, graph,
                                           use_registry=body.get("registry", True) is not False)
        result = await asyncio.to_thread(apply_decision, mend, target, report, decision)
        return json_response(result)

    return [web.get("/mend/decisions", get_decisions), web.post("/mend/decisions", post_decision)]
