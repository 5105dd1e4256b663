"""Start a real ComfyUI (``python main.py --cpu``) with Mend linked into a temporary ``custom_nodes``.

The ComfyUI checkout comes from ``COMFYUI_PATH`` and its interpreter from ``COMFYUI_PYTHON``
(default: this test's interpreter). ``--base-directory`` puts models, custom_nodes and user data in a
temporary folder, so the checkout is never written to.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEND_FOLDER = "mend-under-test"  # any folder name must work
#: test-only node packs linked in beside Mend (folder under tests/e2e -> name under custom_nodes)
TEST_PACKS = {"progress_text_pack": "progress-text-probe"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ComfyUI:
    base: Path
    port: int
    log_path: Path
    process: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)  # e.g. ["--enable-cors-header"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def models(self) -> Path:
        return self.base / "models"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str) -> tuple[int, object]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def post(self, path: str, body: object, content_type: str = "application/json") -> tuple[int, object]:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def start(self, comfyui_path: Path, python: str, timeout: float = 180) -> None:
        args = [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
                "--base-directory", str(self.base), "--disable-auto-launch", *self.extra_args]
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(args, cwd=comfyui_path, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                status, _ = self.get("/api/features")
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ComfyUI did not answer within {timeout}s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def prepare_base(base: Path) -> None:
    """A ComfyUI base directory: empty model folders, Mend linked in under an arbitrary name, test packs."""
    for sub in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "controlnet", "upscale_models"):
        (base / "models" / sub).mkdir(parents=True, exist_ok=True)
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    link = base / "custom_nodes" / MEND_FOLDER
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    for source, name in TEST_PACKS.items():
        pack = base / "custom_nodes" / name
        if not pack.exists():
            pack.symlink_to(Path(__file__).resolve().parent / source, target_is_directory=True)
    (base / "user" / "default" / "workflows").mkdir(parents=True, exist_ok=True)
    # What the editor asks for at start; without them its console logs 404s (browser tests fail on those).
    (base / "user" / "default" / "subgraphs").mkdir(exist_ok=True)
    index = base / "user" / "default" / "workflows" / ".index.json"  # the Workflows sidebar's bookmarks
    if not index.exists():
        index.write_text('{"favorites": []}')
    for name, text in (("user.css", ""), ("comfy.templates.json", "[]")):
        if not (base / "user" / "default" / name).exists():
            (base / "user" / "default" / name).write_text(text)


def comfyui_python() -> str:
    return os.environ.get("COMFYUI_PYTHON") or sys.executable
