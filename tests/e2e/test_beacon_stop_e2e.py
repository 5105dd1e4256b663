"""A real ComfyUI with Mend stopped as systemd and ``docker stop`` do (SIGTERM): its ``server.json`` goes with it."""

from __future__ import annotations

import json

from .comfyui_process import ComfyUI, comfyui_python, free_port, prepare_base
from .conftest import comfyui_path


def test_sigterm_stop_removes_server_json(tmp_path, e2e_env):
    path = comfyui_path()
    prepare_base(tmp_path)
    server = ComfyUI(base=tmp_path, port=free_port(), log_path=tmp_path / "comfyui.log", env=e2e_env)
    server.start(path, comfyui_python())
    beacon = tmp_path / "user" / "mend" / "server.json"
    try:
        assert json.loads(beacon.read_text())["url"] == server.url  # what `mend resolve` reads
    finally:
        server.stop()  # SIGTERM to its process group
    assert server.process.returncode is not None
    assert not beacon.exists(), server.log()[-2000:]
