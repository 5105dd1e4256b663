"""A real ComfyUI installs packs through Mend (git at a commit, registry at a version), restarts, runs their nodes.

The git repositories are static files on a loopback ``python -m http.server`` (git's dumb HTTP
protocol needs nothing more); the registry is the stand-in ``tests/registry_server.py`` in a thread.
This test starts its own ComfyUI: it restarts it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..git_server import make_pack_repo, node_pack_files
from ..registry_server import RegistryServer
from .comfyui_process import ComfyUI, comfyui_python, free_port, prepare_base
from .conftest import comfyui_path
from .threaded_hub import ThreadedApp


def wait_for(check, timeout: float = 180, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def finished(server: ComfyUI, task_id: str) -> dict | None:
    task = server.get(f"/api/mend/tasks/{task_id}")[1]
    return task if task["state"] in ("completed", "failed", "cancelled") else None


def node_info(server: ComfyUI, node_type: str) -> dict | None:
    status, body = server.get(f"/api/object_info/{node_type}")
    return body if status == 200 and body else None


@pytest.fixture
def static_server(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        yield root, f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_install_then_restart_loads_the_nodes(tmp_path, static_server, e2e_env):
    path = comfyui_path()
    root, url = static_server
    _, shas = make_pack_repo(root, "ComfyUI-E2EAlpha", [node_pack_files("MendE2EAlpha"), node_pack_files("Later")])
    registry = RegistryServer()
    served = ThreadedApp(registry.app).start()
    registry.base_url = served.endpoint
    registry.publish("mend-e2e-beta", "1.0.0", node_pack_files("MendE2EBeta", name="mend-e2e-beta"))

    base = tmp_path / "base"
    prepare_base(base)
    env = {**e2e_env, "MEND_REGISTRY_URL": served.endpoint, "MEND_TEST_ALLOW_HTTP_LOOPBACK": "1",
           "MEND_CACHE_DIR": str(tmp_path / "cache")}
    server = ComfyUI(base=base, port=free_port(), log_path=base / "comfyui.log", env=env)
    server.start(path, comfyui_python())
    try:
        tasks = []
        for body in ({"repository": f"{url}/ComfyUI-E2EAlpha.git", "commit": shas[0]},
                     {"id": "mend-e2e-beta", "version": "1.0.0"}):
            status, task = server.post("/api/mend/nodes/install", body)
            assert status == 202, task
            tasks.append(task["id"])
        for task_id in tasks:
            done = wait_for(lambda tid=task_id: finished(server, tid), what=f"task {task_id}")
            assert done["state"] == "completed", done
        status, installed = server.get("/api/mend/nodes/installed")
        assert installed["restart_required"] is True and installed["can_restart"] is True
        assert {"ComfyUI-E2EAlpha", "mend-e2e-beta"} <= {p["name"] for p in installed["packs"]}
        assert server.get("/api/object_info/MendE2EAlpha")[1] == {}  # not loaded before the restart

        status, answer = server.post("/api/mend/restart", {})
        assert status == 202, answer
        # the same process re-executes itself: wait until the new ComfyUI knows both node types
        info = wait_for(lambda: node_info(server, "MendE2EBeta"), what="ComfyUI to come back with the new nodes")
        assert "MendE2EBeta" in info
        assert "MendE2EAlpha" in server.get("/api/object_info/MendE2EAlpha")[1]
        manifest = (base / "user" / "mend" / "pyproject.toml")
        wait_for(manifest.is_file, what="the manifest")
        text = manifest.read_text()
        assert shas[0] in text and "mend-e2e-beta" in text
        status, installed = server.get("/api/mend/nodes/installed")
        assert installed["restart_required"] is False
    finally:
        server.stop()
        served.stop()
