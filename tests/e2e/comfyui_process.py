"""Start a real ComfyUI (``python main.py --cpu``) with Mend linked into a temporary ``custom_nodes``.

The ComfyUI checkout comes from ``COMFYUI_PATH``; its interpreter from ``COMFYUI_PYTHON``, else the
one an install keeps in or beside the checkout (``venv/``, ``.venv/``, the portable build's
``python_embeded/``), else this test's own; ``start`` skips, naming what is missing, when that
interpreter cannot import ComfyUI's start-up modules or Mend's dependencies. ``--base-directory``
puts models, custom_nodes and user data in a temporary folder, so the checkout is never written to.
"""

from __future__ import annotations

import functools
import json
import os
import re
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
        reason = skip_reason(python)
        if reason:
            import pytest

            pytest.skip(reason)
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


def find_comfyui_python(comfyui: Path) -> Path | None:
    """The interpreter an install of ComfyUI keeps in or beside its checkout, if any.

    A manual install has ``venv/`` or ``.venv/`` in the checkout; the Windows portable build has
    ``python_embeded/python.exe`` beside the ``ComfyUI`` folder (some unpack it inside).
    """
    candidates = [comfyui / env / sub for env in ("venv", ".venv") for sub in ("bin/python", "Scripts/python.exe")]
    candidates += [folder / "python_embeded" / name for folder in (comfyui.parent, comfyui)
                   for name in ("python.exe", "python")]
    return next((c for c in candidates if c.is_file()), None)


def comfyui_python(comfyui: Path | None = None) -> str:
    """``COMFYUI_PYTHON``, else ComfyUI's own interpreter found by its folder (default ``COMFYUI_PATH``),
    else this test's interpreter (``ComfyUI.start`` skips, naming what it lacks, if it cannot run ComfyUI)."""
    if os.environ.get("COMFYUI_PYTHON"):
        return os.environ["COMFYUI_PYTHON"]
    folder = comfyui or (Path(os.environ["COMFYUI_PATH"]) if os.environ.get("COMFYUI_PATH") else None)
    found = find_comfyui_python(folder) if folder else None
    return str(found) if found else sys.executable


def required_modules() -> list[str]:
    """What ComfyUI imports at start-up (torch, torchvision, aiohttp) and Mend's runtime dependencies."""
    import tomlkit  # a Mend dependency, so present wherever Mend's tests run

    project = tomlkit.parse((REPO / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!~;\[ ]", str(dep), maxsplit=1)[0] for dep in project["dependencies"]]
    modules = {"pyyaml": "yaml"}
    return ["torch", "torchvision", "aiohttp"] + [modules.get(n.lower(), n.lower().replace("-", "_")) for n in names]


_IMPORT_CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as e:
        print(f"{name} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
"""


def import_problems(python: str, modules: list[str]) -> list[str]:
    """The modules ``python`` cannot import, each with its error (a broken torchvision raises, not only misses)."""
    try:
        done = subprocess.run([python, "-c", _IMPORT_CHECK, *modules], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [f"{python} did not run ({e})"]
    if done.returncode != 0:
        return [f"{python} failed: {done.stderr.strip()[-500:]}"]
    return done.stdout.splitlines()


@functools.cache
def skip_reason(python: str) -> str | None:
    """Why ``python`` cannot run ComfyUI with Mend (checked once per interpreter), or None."""
    problems = import_problems(python, required_modules())
    if not problems:
        return None
    return (f"{python} cannot run ComfyUI with Mend; it lacks {'; '.join(problems)}. Set COMFYUI_PYTHON to the "
            "python ComfyUI runs with (a venv/ or .venv/ in the checkout, or the portable python_embeded/, is found)")
