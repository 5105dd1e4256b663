"""Property/fuzz suite over every route in ``server_routes/openapi.json``: thousands of generated requests.

For each operation, hypothesis draws bodies from its request schema (``from_schema``), any
JSON at all, raw bytes and deep nesting; odd path parameters and query strings; and the headers a
browser or a script would send (content types, foreign and own origins). Properties, for every one:
no 5xx, an answer within ``TIMEOUT`` seconds (no hang), and, at the end, nothing written outside
Mend's state folder, its cache and the model folders (saved workflows may be rewritten by a
decision, never created or removed). ``MEND_FUZZ_EXAMPLES`` (per operation, default 150) bounds
the time; the whole suite is about 3,000 requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

pytest.importorskip("hypothesis", reason="the fuzz suite needs hypothesis (pip install -e '.[test]')")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mend.core.catalog.source_policy import DownloadPolicy
from mend.server_routes import route_defs, setup
from mend.server_routes.openapi import spec

from ..decisions_support import GRAPH_ID, saved_workflow
from ..hf_server import FakeHub

EXAMPLES = int(os.environ.get("MEND_FUZZ_EXAMPLES", "150"))
TIMEOUT = 20.0
COMFY_ONLY = {("POST", "/mend/progress/follow"), ("GET", "/mend/progress.js")}  # need ComfyUI's PromptServer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=25)
#: values that have broken routes before: deep nesting, surrogates, long ids, objects where strings go
_NASTY = [
    "[" * 3000 + "]" * 3000, '{"a":' * 150 + "1" + "}" * 150, '{"nodes": [{"id": {"x": 1}, "type": "A"}]}',
    '{"nodes": [{"id": 1, "type": "\\ud800"}]}', json.dumps({"workflow": "a" * 5000 + ".json", "action": "skip",
                                                              "node_type": "A"}),
    json.dumps({"workflow": "w.json", "model": "3/ckpt_name", "action": "url", "url": "https://u:p@hf.co/x"}),
    json.dumps({"manifest": "[tool.mend]\nx = " + "[" * 3000 + "]" * 3000}), "", "null", "1e999999",
]
NASTY = st.integers(0, len(_NASTY) - 1).map(lambda i: _NASTY[i])  # by index: a failure prints short
TEXT = st.text(max_size=40)


def operations() -> list[tuple[str, str, dict]]:
    out = []
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if (method.upper(), path) not in COMFY_ONLY:
                out.append((method.upper(), path, op))
    return out


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values of a request schema of ``openapi.json`` (the subset it uses), any JSON where it says nothing."""
    if "oneOf" in schema:
        return st.one_of(*(from_schema(b) for b in schema["oneOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        props = {k: from_schema(v) for k, v in schema["properties"].items()}
        required = {k: props[k] for k in schema.get("required", [])}
        return st.fixed_dictionaries(required, optional={k: v for k, v in props.items() if k not in required})
    if kind == "object":
        return st.dictionaries(st.sampled_from(["nodes", "links", "id", "workflow", "1", "definitions"]) | TEXT,
                               JSON, max_size=4)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=4)
    if kind == "string":
        return st.from_regex(schema["pattern"]) if "pattern" in schema else st.one_of(TEXT, st.sampled_from(WORDS))
    return {"boolean": st.booleans(), "integer": st.integers(-3, 10)}.get(kind, JSON)


#: strings that reach deeper branches than random text: real folder, file, workflow and source names
WORDS = ["w.json", "./w.json", GRAPH_ID, "loras", "checkpoints", "x.safetensors", "x.ckpt.", "../x", "3/ckpt_name",
         "AlphaNode", "SharedNode", "candidate", "skip", "optional", "url", "https://huggingface.co/a/b/resolve/main/x.safetensors",
         "https://github.com/alice/ComfyUI-Alpha", "comfyui-alpha", "acme/loras", "git", "registry"]


def body_strategy(op: dict) -> st.SearchStrategy[bytes | None]:
    schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
    encoded = st.builds(lambda v: json.dumps(v).encode(), JSON)
    choices = [encoded, st.builds(str.encode, NASTY), st.binary(max_size=64), st.none()]
    if schema is not None:
        choices.insert(0, st.builds(lambda v: json.dumps(v).encode(), from_schema(schema)))
    return st.one_of(*choices)


def request_strategy(method: str, path: str, op: dict, own_origin: str):
    params = op.get("parameters", [])
    path_values = st.fixed_dictionaries({p["name"]: st.one_of(TEXT, st.from_regex(r"[0-9a-f]{32}", fullmatch=True))
                                         for p in params if p["in"] == "path"})
    query = st.lists(st.tuples(st.sampled_from([p["name"] for p in params if p["in"] == "query"] or ["x"]),
                               st.one_of(TEXT, st.sampled_from(["w.json", "./w.json", GRAPH_ID, "json", "toml"]))),
                     max_size=3)
    headers = st.fixed_dictionaries({
        "Content-Type": st.sampled_from(["application/json", "application/json", "text/plain",
                                         "application/x-www-form-urlencoded", ""]),
        "Origin": st.sampled_from(["", "", "", "", own_origin, "https://evil.example", "null"]),
    })
    return st.tuples(path_values, query, body_strategy(op), headers)


def tree(root: Path, skip: tuple[Path, ...]) -> dict[str, str]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file() and not any(p == s or s in p.parents for s in skip):
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def fuzz_operation(client: TestClient, loop: asyncio.AbstractEventLoop, own: str, seen: dict[int, int],
                   method: str, path: str, op: dict) -> None:
    """``EXAMPLES`` generated requests to one operation, each answered below 500 within ``TIMEOUT``."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data):
        path_values, query, body, headers = data.draw(request_strategy(method, path, op, own))
        url = path
        for name, value in path_values.items():
            url = url.replace("{" + name + "}", quote(value, safe="") or "x")
        send = {k: v for k, v in headers.items() if v}

        async def go() -> int:
            async with client.request(method, url, params=query, data=body, headers=send) as resp:
                await resp.read()
                return resp.status

        status = loop.run_until_complete(asyncio.wait_for(go(), TIMEOUT))
        seen[status] = seen.get(status, 0) + 1
        assert status < 500, (method, url, query, body[:300] if body else body, send)

    one()


def test_the_description_names_every_route(comfy_dir, small_catalog, mend_for):
    served = {(rd.method, re.sub(r"\{[^}]+\}", "{id}", rd.path)) for rd in route_defs(mend_for(comfy_dir,
                                                                                            small_catalog))}
    described = {(m, p) for m, p, _ in operations()}
    assert served == described


def test_every_route_survives_generated_requests(tmp_path, comfy_dir, small_catalog, mend_for):
    saved_workflow(comfy_dir)
    mend = mend_for(comfy_dir, small_catalog)
    mend.host.listen_addresses = lambda: ["0.0.0.0"]  # installs and URL downloads are refused: no network
    mend.extras["restart_execv"] = lambda *a: None
    workflows = comfy_dir / "user" / "default" / "workflows"
    mine = (comfy_dir / "models", comfy_dir / "user" / "mend", tmp_path / "cache", workflows)
    before, workflow_files = tree(tmp_path, mine), sorted(p.name for p in workflows.iterdir())

    loop = asyncio.new_event_loop()
    hub = FakeHub()  # the hub answers at once (searches find nothing, files are 404): no network, no waiting
    hub_server = TestServer(hub.app(), loop=loop)
    loop.run_until_complete(hub_server.start_server())
    mend.extras["download_policy"] = DownloadPolicy(hf_endpoint=str(hub_server.make_url("")).rstrip("/"),
                                                    allow_http_loopback=True)
    app = web.Application()
    setup(app, mend)
    client = TestClient(TestServer(app), loop=loop)
    loop.run_until_complete(client.start_server())
    own = f"http://127.0.0.1:{client.port}"
    seen: dict[int, int] = {}
    try:
        for method, path, op in operations():
            started = time.perf_counter()
            fuzz_operation(client, loop, own, seen, method, path, op)
            print(f"fuzz: {method} {path}: {time.perf_counter() - started:.1f} s")
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(hub_server.close())
        loop.close()
    assert sum(seen.values()) >= EXAMPLES * len(operations()) * 0.9
    print(f"fuzz: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
    assert tree(tmp_path, mine) == before  # nothing outside Mend's state, cache and model folders
    assert sorted(p.name for p in workflows.iterdir() if not p.name.startswith(".")) == workflow_files

