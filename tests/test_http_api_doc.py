"""docs/http-api.md names every route of the OpenAPI description Mend serves (``server_routes/openapi.json``).

The description is checked against the routes Mend registers elsewhere; this keeps the prose reference from
silently missing a route that was added to both.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METHODS = {"get", "post", "put", "patch", "delete"}


def test_http_api_doc_names_every_described_route() -> None:
    spec = json.loads((REPO / "server_routes" / "openapi.json").read_text(encoding="utf-8"))
    doc = (REPO / "docs" / "http-api.md").read_text(encoding="utf-8")
    routes = [f"{m.upper()} {path}" for path, ops in spec["paths"].items() for m in ops if m in METHODS]
    assert routes, "the OpenAPI description lists no routes"
    missing = [r for r in routes if f"`{r}" not in doc]
    assert not missing, f"docs/http-api.md does not name: {missing}"
