"""What the install tests share: a venv to install into, a wheelhouse, a plain TaskContext, snapshots.

The venv is real (``python -m venv --system-site-packages --without-pip``: the system pip installs
into it), with a fake ``torch 1.0`` from the wheelhouse installed first, so a pack that asks for
``torch==2.0`` can prove the protected set does not move.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mend.core.catalog.registry import RegistryClient
from mend.core.install.pack_task import InstallRunner
from mend.core.install.pip_deps import PipDeps
from mend.core.install.policy import InstallPolicy
from mend.core.tasks.task_context import run_in_thread
from mend.server_routes import setup

from .git_server import GitServer
from .registry_server import RegistryServer
from .wheelhouse import write_wheel


class PlainContext:
    """A ``TaskContext`` that records what the runner reports (no manager, no journal)."""

    def __init__(self, task_id: str = "t1") -> None:
        self.task_id = task_id
        self.attempt = 1
        self.checkpoint_state: Mapping[str, Any] = {}
        self.cancel_event = threading.Event()
        self.steps: list[str] = []
        self.messages: list[str] = []

    def progress(self, done: float, total: float | None = None, *, message: str | None = None) -> None:
        if message:
            self.messages.append(message)

    def checkpoint(self, state: Mapping[str, Any]) -> None:
        self.checkpoint_state = dict(state)

    def step(self, name: str) -> None:
        self.steps.append(name)

    async def run_thread(self, fn, *args):
        return await run_in_thread(None, self.cancel_event, fn, *args)


def make_wheelhouse(house: Path) -> Path:
    """Fake torch 1.0 and 2.0, two plain packages, one that needs torch 2.0."""
    write_wheel(house, "torch", "1.0")
    write_wheel(house, "torch", "2.0")
    write_wheel(house, "mend-dep-ok", "1.0")
    write_wheel(house, "mend-dep-second", "1.0")
    write_wheel(house, "mend-dep-wants-torch2", "1.0", requires=["torch==2.0"])
    return house


def make_venv(env_dir: Path, wheelhouse: Path) -> str:
    """A venv that sees the system's packages, with the fake torch 1.0 installed; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)],
                   check=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
                    "--find-links", str(wheelhouse), "torch==1.0"], check=True)
    return python


def tree_state(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a digest of its content: equal states mean nothing changed."""
    if not root.exists():
        return {}
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def make_runner(mend, *, python: str, wheelhouse: Path, registry_url: str = "", scripts: bool = True,
                remote: bool = False) -> InstallRunner:
    return InstallRunner(
        mend,
        policy=InstallPolicy(allow_http_loopback=True, allow_install_scripts=scripts, allow_remote_risk=remote),
        registry=RegistryClient(registry_url),
        pip=PipDeps(python=python, use_uv=False, extra_args=("--no-index", "--find-links", str(wheelhouse)),
                    timeout=120),
    )


# -- fixtures shared by the install, install-route and freeze/sync tests (import them by name) --------------

@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    return make_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory, wheelhouse) -> str:
    """One venv for the session: creating it costs seconds, and every test compares its packages before/after."""
    return make_venv(tmp_path_factory.mktemp("venv"), wheelhouse)


@pytest.fixture
async def registry(aiohttp_server) -> RegistryServer:
    reg = RegistryServer()
    server = await aiohttp_server(reg.app())
    reg.base_url = str(server.make_url("")).rstrip("/")
    return reg


@pytest.fixture
async def registry_env(tmp_path, comfy_dir, small_catalog, mend_for, aiohttp_server, registry, venv_python, wheelhouse):
    """A Mend over a ComfyUI 0.8.0 tree with the registry and git stand-ins; installs run on its task manager."""
    repos = tmp_path / "repos"
    repos.mkdir()
    git_srv = await aiohttp_server(GitServer(repos).app())
    mend = mend_for(comfy_dir, small_catalog)
    (comfy_dir / "comfyui_version.py").write_text('__version__ = "0.8.0"\n')

    class Env:
        pass

    e = Env()
    e.mend, e.repos, e.registry, e.custom_nodes = mend, repos, registry, comfy_dir / "custom_nodes"
    e.url = lambda name: f"http://127.0.0.1:{git_srv.port}/{name}.git"

    def use_registry(url: str) -> None:
        mend.extras["install_runner"] = make_runner(mend, python=venv_python, wheelhouse=wheelhouse, registry_url=url)
        mend.tasks.register(mend.extras["install_runner"])

    e.use_registry = use_registry
    use_registry(registry.base_url)
    return e



@pytest.fixture(name="app")
async def registry_app(registry_env, aiohttp_client):
    """``registry_env`` with Mend's routes served: ``app.client`` is an aiohttp test client."""
    application = web.Application()
    setup(application, registry_env.mend)
    registry_env.client = await aiohttp_client(application)
    return registry_env


async def install(env, body: dict):
    """Submit an install task on the real task manager and wait for its end."""
    task = await env.mend.tasks.submit("install", body)
    return await env.mend.tasks.wait(task.id, timeout=120)


def unused_url() -> str:
    """An http URL on loopback where nothing listens: a refused connection, as when offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"
