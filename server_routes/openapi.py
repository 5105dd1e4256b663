"""``GET /mend/openapi.json``: the description of every Mend route (``openapi.json`` beside this file).

Kept in the repository and served, so clients and the route fuzz suite (``tests/routes/test_routes_fuzz.py``)
work from the same description; a test checks that it names exactly the routes Mend serves.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

SPEC = Path(__file__).resolve().with_name("openapi.json")


def spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


def routes() -> list[web.RouteDef]:
    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(body=SPEC.read_bytes(), content_type="application/json", charset="utf-8")

    return [web.get("/mend/openapi.json", openapi)]
