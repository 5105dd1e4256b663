"""``POST /mend/analyze``: a workflow in (UI or API format), the report of what it lacks out.

Body: the workflow itself, or ``{"workflow": {...}, "workflow_id": "...", "registry": false}``.
``workflow_id`` (a path in the user's workflows folder, or an unsaved graph's uuid; see
``core/resolve/target.py``) makes decided items come back with their decision; without it a UI graph's own
top-level uuid is used.

The body is handed, unparsed, to the analysis pool (``core/resolve/analysis_pool.py``): helper processes in
ComfyUI (``MEND_ANALYSIS_PROCESSES``), threads elsewhere; beyond its cap the answer is 429 with
``Retry-After``.
"""

from __future__ import annotations

from aiohttp import web

from ..core.resolve.analysis_pool import AnalysisPool
from ..core.services import Mend
from .http import handler, read_body


def analysis_pool(mend: Mend) -> AnalysisPool:
    """The ``Mend``'s one pool (``mend.extras["analysis_processes"]`` helpers; 0: threads)."""
    pool = mend.extras.get("analysis_pool")
    if pool is None:
        pool = mend.extras["analysis_pool"] = AnalysisPool(mend, processes=mend.extras.get("analysis_processes", 0))
        mend.extras.setdefault("on_close", []).append(pool.close)
    return pool


def routes(mend: Mend) -> list[web.RouteDef]:
    @handler
    async def analyze(request: web.Request) -> web.Response:
        report = await analysis_pool(mend).analyze_body(lambda: read_body(request))  # read once admitted
        return web.Response(body=report, content_type="application/json", charset="utf-8")

    return [web.post("/mend/analyze", analyze)]
