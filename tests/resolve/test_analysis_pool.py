"""``POST /mend/analyze`` through the analysis helper processes: same reports, named errors, a cap with 429.

Real helper processes (``sys.executable``), the largest real template of ``../shared/corpus``.
"""

from __future__ import annotations

import asyncio
import io
import json
import pickle
import signal

import pytest
from aiohttp import web

from mend.core.resolve.analysis_worker import HostSnapshot
from mend.server_routes import setup

from ..conftest import shared_path


def largest_template() -> bytes:
    folder = shared_path("corpus", "templates")
    return max(folder.glob("*.json"), key=lambda p: p.stat().st_size).read_bytes()


async def app_with(aiohttp_client, mend, processes: int):
    mend.extras["analysis_processes"] = processes
    app = web.Application()
    setup(app, mend)
    return await aiohttp_client(app)


def without_timing(report: dict) -> dict:
    """The report less what depends on the clock (elapsed time, catalog ages)."""
    out = {k: v for k, v in report.items() if k != "elapsed_ms"}
    if isinstance(out.get("catalogs"), list):
        out["catalogs"] = [{k: v for k, v in c.items() if k != "age_seconds"} for c in out["catalogs"]]
    return out


async def post(client, body: bytes):
    return await client.post("/mend/analyze", data=body, headers={"Content-Type": "application/json"})


async def test_helpers_answer_as_threads_do(aiohttp_client, comfy_dir, small_catalog, mend_for):
    body = largest_template()
    in_threads = await app_with(aiohttp_client, mend_for(comfy_dir, small_catalog), 0)
    in_helpers = await app_with(aiohttp_client, mend_for(comfy_dir, small_catalog), 1)
    expected = await (await post(in_threads, body)).json()
    for _ in range(2):  # the second request reuses the helper
        resp = await post(in_helpers, body)
        assert resp.status == 200
        assert without_timing(await resp.json()) == without_timing(expected)
    wrapped = json.dumps({"workflow": json.loads(body), "registry": False}).encode()
    assert (await post(in_helpers, wrapped)).status == 200


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"[" * 5000 + b"]" * 5000, 400, "invalid_json"),
    (b'{"nodes": [{"id": 1, "type": "X\\ud800"}]}', 400, "invalid_json"),
    (b'{"nodes": 5}', 400, "invalid_workflow"),
    (json.dumps({"workflow": {"nodes": []}, "workflow_id": "../x.json"}).encode(), 400, "unsafe_path"),
    (json.dumps({"workflow": {"nodes": []}, "registry": "no"}).encode(), 400, "invalid_field"),
])
async def test_helpers_refuse_bad_bodies_with_named_errors(aiohttp_client, comfy_dir, small_catalog, mend_for,
                                                           body, status, code):
    client = await app_with(aiohttp_client, mend_for(comfy_dir, small_catalog), 1)
    resp = await post(client, body)
    assert resp.status == status and (await resp.json())["error"]["code"] == code
    assert (await post(client, b'{"nodes": []}')).status == 200  # the helper lives on


async def test_beyond_the_cap_is_429_with_retry_after(aiohttp_client, comfy_dir, small_catalog, mend_for,
                                                      monkeypatch):
    from mend.core import constants

    monkeypatch.setattr(constants, "MAX_ANALYSES_WAITING", 1)
    client = await app_with(aiohttp_client, mend_for(comfy_dir, small_catalog), 1)
    body = largest_template()
    answers = await asyncio.gather(*(post(client, body) for _ in range(8)))
    statuses = sorted(r.status for r in answers)
    assert statuses.count(200) >= 2 and 429 in statuses and set(statuses) <= {200, 429}
    refused = next(r for r in answers if r.status == 429)
    assert refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "too_many_requests"
    assert (await post(client, body)).status == 200  # the cap frees up


async def test_a_killed_helper_is_replaced(aiohttp_client, comfy_dir, small_catalog, mend_for):
    mend = mend_for(comfy_dir, small_catalog)
    client = await app_with(aiohttp_client, mend, 1)
    assert (await post(client, b'{"nodes": []}')).status == 200
    helper = mend.extras["analysis_pool"]._idle[0]
    helper.proc.kill()
    await helper.proc.wait()
    assert (await post(client, b'{"nodes": []}')).status == 200
    await mend.close()


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.split(".")[0] in ("builtins", "pathlib", "copyreg", "collections"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} would not exist in the helper")


def test_the_snapshot_crosses_as_plain_data(comfy_dir, small_catalog, mend_for):
    """In ComfyUI Mend's modules have another name than in the helper: nothing of Mend may be pickled."""
    snapshot = HostSnapshot.take(mend_for(comfy_dir, small_catalog))
    wire = _BuiltinsOnly(io.BytesIO(pickle.dumps(snapshot.to_wire()))).load()
    assert HostSnapshot.from_wire(wire) == snapshot


async def test_decisions_and_searches_count_against_the_cap(aiohttp_client, comfy_dir, small_catalog, mend_for,
                                                            monkeypatch):
    from mend.core import constants
    from mend.server_routes.analyze import analysis_pool

    from ..decisions_support import saved_workflow

    monkeypatch.setattr(constants, "MAX_ANALYSES", 1)
    monkeypatch.setattr(constants, "MAX_ANALYSES_WAITING", 0)
    saved_workflow(comfy_dir)
    mend = mend_for(comfy_dir, small_catalog)
    client = await app_with(aiohttp_client, mend, 0)
    decision = {"workflow": "w.json", "node_type": "AlphaNode", "action": "skip"}
    async with analysis_pool(mend).slot():  # an analysis is running
        for path, body in (("/mend/decisions", decision), ("/mend/models/search", {"workflow": {"nodes": []}}),
                           ("/mend/analyze", {"nodes": []})):
            resp = await client.post(path, json=body)
            assert resp.status == 429 and resp.headers["Retry-After"] == "1", path
        resp = await client.get("/mend/manifest/freeze", params={"workflow": "w.json"})
        assert resp.status == 429
    assert (await client.post("/mend/decisions", json=decision)).status == 200
    assert mend.manifest.resolutions("w.json")["nodes"] == {"AlphaNode": {"status": "skipped"}}


async def test_helpers_are_replaced_after_a_catalog_refresh(aiohttp_client, comfy_dir, small_catalog, mend_for):
    """A refresh that changed a catalog: the next analysis runs in a new helper (it loads the new catalogs)."""
    mend = mend_for(comfy_dir, small_catalog)
    client = await app_with(aiohttp_client, mend, 1)
    assert (await post(client, b'{"nodes": []}')).status == 200
    first = mend.extras["analysis_pool"]._idle[0]

    async def refreshed() -> list[str]:
        return ["extension-node-map.json"]

    mend.extras["catalog_refresh"] = task = asyncio.ensure_future(refreshed())
    await task
    assert (await post(client, b'{"nodes": []}')).status == 200
    second = mend.extras["analysis_pool"]._idle[0]
    assert second is not first
    await first.proc.wait()  # the old helper was stopped
    assert (await post(client, b'{"nodes": []}')).status == 200
    assert mend.extras["analysis_pool"]._idle[0] is second  # kept until the next refresh


async def test_an_analysis_that_takes_too_long_is_stopped(aiohttp_client, comfy_dir, small_catalog, mend_for,
                                                          monkeypatch):
    from mend.core import constants

    monkeypatch.setattr(constants, "ANALYSIS_TIMEOUT", 1)
    mend = mend_for(comfy_dir, small_catalog)
    client = await app_with(aiohttp_client, mend, 1)
    assert (await post(client, b'{"nodes": []}')).status == 200  # the helper is up (its start is not timed)
    helper = mend.extras["analysis_pool"]._idle[0]
    helper.proc.send_signal(signal.SIGSTOP)  # a helper stuck in an endless analysis
    try:
        resp = await post(client, b'{"nodes": []}')
        assert resp.status == 413 and (await resp.json())["error"]["code"] == "analysis_too_long"
    finally:
        helper.proc.send_signal(signal.SIGCONT)
    await helper.proc.wait()  # stopped for good
    assert (await post(client, b'{"nodes": []}')).status == 200  # a new helper answers
