"""The install routes over a real aiohttp app and the real task manager: install, list, cancel, restart."""

from __future__ import annotations

import asyncio
import sys

import pytest
from aiohttp import web

from mend.server_routes import setup

from ..git_server import GitServer, make_pack_repo, node_pack_files
from ..install_support import make_runner, tree_state, venv_python, wheelhouse  # noqa: F401 (shared fixtures)


@pytest.fixture
async def env(tmp_path, comfy_dir, small_catalog, mend_for, aiohttp_server, aiohttp_client, venv_python, wheelhouse):
    repos = tmp_path / "repos"
    repos.mkdir()
    gs = GitServer(repos)
    git_srv = await aiohttp_server(gs.app())
    mend = mend_for(comfy_dir, small_catalog)
    mend.extras["install_runner"] = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    app = web.Application()
    setup(app, mend)
    client = await aiohttp_client(app)

    class Env:
        pass

    e = Env()
    e.mend, e.client, e.git, e.repos = mend, client, gs, repos
    e.url = lambda name: f"http://127.0.0.1:{git_srv.port}/{name}.git"
    e.custom_nodes = mend.host.custom_nodes_dirs()[0]
    return e


async def test_install_route_runs_a_task_and_lists_the_pack(env):
    _, shas = make_pack_repo(env.repos, "ComfyUI-Routed", [node_pack_files("RoutedNode")])
    resp = await env.client.post("/mend/nodes/install", json={"repository": env.url("ComfyUI-Routed")})
    assert resp.status == 202
    task = await resp.json()
    assert task["kind"] == "install" and task["target"] == "pack:comfyui-routed"
    done = await env.mend.tasks.wait(task["id"], timeout=120)
    assert done.state == "completed", done.to_json()
    assert done.result["commit"] == shas[0]

    listed = await (await env.client.get("/mend/nodes/installed")).json()
    assert [p["name"] for p in listed["packs"]] == ["ComfyUI-Routed"]
    assert listed["restart_required"] is True and listed["can_restart"] is True
    assert listed["changes"][0]["folder"] == "ComfyUI-Routed" and listed["manager"] is False
    assert env.mend.manifest.packs()["ComfyUI-Routed"]["commit"] == shas[0]


async def test_failed_install_reports_step_and_output(env):
    make_pack_repo(env.repos, "pack-f", [node_pack_files("F1")])
    resp = await env.client.post("/mend/nodes/install", json={"repository": env.url("pack-f"), "commit": "f" * 40})
    done = await env.mend.tasks.wait((await resp.json())["id"], timeout=120)
    body = done.to_json()
    assert body["state"] == "failed"
    assert body["error"]["message"].startswith("checkout:") and body["error"]["retryable"] is False
    assert list(env.custom_nodes.iterdir()) == []
    assert env.mend.manifest.packs() == {}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"repository": "https://evil.example.com/a/b"}, 403, "host_not_allowed"),
    ({"repository": "-https://github.com/a/b"}, 400, "invalid_field"),
    ({"id": "../x"}, 400, "invalid_registry_id"),
    ({"id": "x", "client_id": 3}, 400, "invalid_field"),
])
async def test_install_route_refuses_bad_input(env, body, status, code):
    resp = await env.client.post("/mend/nodes/install", json=body)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code
    assert await env.mend.tasks.list() == []


async def test_install_route_needs_json_and_loopback(env):
    resp = await env.client.post("/mend/nodes/install", data="id=x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    env.mend.host.listen_addresses = lambda: ["0.0.0.0"]
    resp = await env.client.post("/mend/nodes/install", json={"repository": "https://github.com/a/b"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"


async def test_cancel_through_the_manager_mid_clone(env):
    make_pack_repo(env.repos, "pack-slow", [node_pack_files("Slow")])
    before = tree_state(env.custom_nodes.parent)
    env.git.gate.clear()
    task = await (await env.client.post("/mend/nodes/install", json={"repository": env.url("pack-slow")})).json()
    await asyncio.wait_for(env.git.object_requested.wait(), 60)
    resp = await env.client.post(f"/mend/tasks/{task['id']}/cancel", json={})
    assert resp.status == 200
    done = await env.mend.tasks.wait(task["id"], timeout=60)
    env.git.gate.set()
    assert done.state == "cancelled"
    after = {k: v for k, v in tree_state(env.custom_nodes.parent).items() if not k.startswith("user/")}
    assert after == {k: v for k, v in before.items() if not k.startswith("user/")}
    assert env.mend.manifest.packs() == {}


async def test_restart_only_on_loopback(env):
    calls: list = []
    fired = asyncio.Event()

    def fake_execv(path, argv):  # os.execv would replace the test process
        calls.append((path, list(argv)))
        fired.set()

    env.mend.extras["restart_execv"] = fake_execv
    env.mend.host.listen_addresses = lambda: ["0.0.0.0"]
    resp = await env.client.post("/mend/restart", json={})
    assert resp.status == 403 and calls == []
    env.mend.host.listen_addresses = lambda: ["127.0.0.1"]
    resp = await env.client.post("/mend/restart", headers={"Content-Type": "application/json"})
    assert resp.status == 202 and (await resp.json())["restarting"] is True
    await asyncio.wait_for(fired.wait(), 30)
    assert calls == [(sys.executable, [sys.executable, *sys.argv])]


async def test_install_decided_packs_for_the_cli(env):
    from mend.core.catalog.node_map import Pack
    from mend.core.install.batch import install_decided_packs

    _, shas = make_pack_repo(env.repos, "cli-pack", [node_pack_files("CliNode")])
    pack = Pack(repository=env.url("cli-pack"), title="CLI pack")
    outcomes = await install_decided_packs(env.mend, [pack, {"id": "../bad"}], timeout=120)
    assert [o["state"] for o in outcomes] == ["refused", "completed"]
    assert outcomes[0]["error"]["code"] == "invalid_registry_id"
    assert outcomes[1]["result"]["commit"] == shas[0]
    assert (env.custom_nodes / "cli-pack" / "__init__.py").is_file()


async def test_existing_folder_is_a_409_before_queueing(env):
    (env.custom_nodes / "already-here").mkdir()
    resp = await env.client.post("/mend/nodes/install", json={"repository": "https://github.com/a/already-here"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "pack_exists"
    assert await env.mend.tasks.list() == []
