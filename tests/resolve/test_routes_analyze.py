"""POST /mend/analyze over aiohttp's test client: answers, and bad input refused with nothing written."""

from __future__ import annotations

import json
import os

import pytest
from aiohttp import web

from mend.server_routes import MEND_KEY, setup


@pytest.fixture
async def client(aiohttp_client, comfy_dir, small_catalog, mend_for):
    app = web.Application()
    setup(app, mend_for(comfy_dir, small_catalog))
    return await aiohttp_client(app)


def tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*"))


async def test_analyze_ui_workflow(client):
    wf = {"nodes": [{"id": 1, "type": "AlphaNode", "widgets_values": []}], "links": []}
    resp = await client.post("/mend/analyze", json=wf)
    assert resp.status == 200
    body = await resp.json()
    assert body["summary"]["missing_nodes"] == 1
    assert body["missing_nodes"][0]["candidates"][0]["pack"]["title"] == "Alpha"


async def test_analyze_wrapped_with_options(client):
    resp = await client.post("/mend/analyze", json={"workflow": {"1": {"class_type": "AlphaNode", "inputs": {}}},
                                                    "registry": False})
    assert resp.status == 200 and (await resp.json())["format"] == "api"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "field"),
    [
        (b"{nope", {"Content-Type": "application/json"}, 400, "invalid_json", None),
        (b"[1,2]", {"Content-Type": "application/json"}, 400, "invalid_workflow", "$"),
        (json.dumps({"workflow": {"nodes": []}, "registry": "yes"}).encode(), {"Content-Type": "application/json"},
         400, "invalid_field", "registry"),
        (b"nodes=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type",
         "Content-Type"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(client, comfy_dir, body, headers, status, code, field):
    before = tree(comfy_dir)
    resp = await client.post("/mend/analyze", data=body, headers=headers)
    assert resp.status == status
    error = (await resp.json())["error"]
    assert error["code"] == code and error.get("field") == field and error["message"]
    assert tree(comfy_dir) == before


async def test_broken_parts_are_warnings_in_the_report_not_a_refusal(client):
    """What the frontend loads (dangling links, a node without a type, a subgraph cycle) is read and said."""
    sg = {"id": "sg-a", "nodes": [{"id": 1, "type": "sg-a"}, {"id": 2, "type": "AlphaNode"}], "links": []}
    resp = await client.post("/mend/analyze", json={
        "nodes": [{"id": 1, "type": "sg-a"}, {"id": 2, "type": 5}, {"id": 3, "type": "BetaNode"}],
        "links": [[1, 3, 0, 9, 0, "X"]], "definitions": {"subgraphs": [sg]}})
    assert resp.status == 200
    report = await resp.json()
    assert {(w["code"], w.get("node_id")) for w in report["warnings"]} == {
        ("subgraph_cycle", "1:1"), ("node_without_type", "2"), ("dangling_link", "3")}
    assert report["node_count"] == 2


async def test_body_over_the_limit_is_413(client, monkeypatch):
    from mend.core import constants

    monkeypatch.setattr(constants, "MAX_BODY_BYTES", 1024)
    resp = await client.post("/mend/analyze", data=b"[" + b"0," * 2000 + b"0]",
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "payload_too_large"


async def test_unexpected_failures_do_not_leak_details(client, monkeypatch):
    async def boom(*args, **kwargs):
        raise RuntimeError(os.environ.get("HOME", "secret"))

    monkeypatch.setattr(client.app[MEND_KEY].analyzer, "analyze", boom)
    resp = await client.post("/mend/analyze", json={"1": {"class_type": "A", "inputs": {}}})
    assert resp.status == 500
    assert (await resp.json())["error"] == {"code": "internal_error", "message": "internal error; see the server log"}


async def test_decided_items_come_back_with_their_decision(client):
    graph = {"id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
             "nodes": [{"id": 1, "type": "AlphaNode", "widgets_values": []}], "links": []}
    resp = await client.post("/mend/decisions", json={"workflow": graph["id"], "graph": graph,
                                                      "node_type": "AlphaNode", "action": "optional"})
    assert resp.status in (200, 201), await resp.text()
    for body in (graph, {"workflow": graph, "workflow_id": graph["id"]}):
        report = await (await client.post("/mend/analyze", json=body)).json()
        assert report["missing_nodes"][0]["decision"]["status"] == "optional", report
        assert report["summary"]["blocking"] == 0


async def test_unsafe_workflow_id_is_refused(client):
    resp = await client.post("/mend/analyze", json={"workflow": {"nodes": []}, "workflow_id": "../x.json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unsafe_path"
