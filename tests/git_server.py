"""Real git repositories made in a temp dir, served over loopback HTTP with git's dumb protocol.

``make_pack_repo`` commits a node pack (one commit per dict of files) into a bare repository and
runs ``git update-server-info``, so plain static files are a clonable remote. ``git_app`` serves a
folder of bare repositories with aiohttp; ``GitServer.gate`` (an ``asyncio.Event``) holds every
object request until it is set, so a test can cancel a clone while git is provably mid-transfer.

    repo, commits = make_pack_repo(tmp / "repos", "ComfyUI-Alpha", [{"__init__.py": "..."}])
    server = await aiohttp_server(GitServer(tmp / "repos").app())
    url = f"http://127.0.0.1:{server.port}/ComfyUI-Alpha.git"
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from aiohttp import web

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_pack_repo(root: Path, name: str, commits: list[dict[str, str]],
                   tags: dict[int, str] | None = None) -> tuple[Path, list[str]]:
    """A bare repo ``root/<name>.git`` with one commit per files dict; ``tags`` maps commit index -> tag."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    shas = []
    for i, files in enumerate(commits):
        for rel, text in files.items():
            path = work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", f"commit {i}", cwd=work)
        shas.append(git("rev-parse", "HEAD", cwd=work))
        if tags and i in tags:
            git("tag", tags[i], cwd=work)
    bare = root / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    git("update-server-info", cwd=bare)
    return bare, shas


def node_pack_files(node_type: str, *, requirements: str | None = None, install_py: str | None = None,
                    version: str = "1.0.0", name: str = "pack") -> dict[str, str]:
    """A minimal ComfyUI node pack defining ``node_type``."""
    files = {
        "__init__.py": (
            f"class {node_type}:\n"
            "    @classmethod\n"
            "    def INPUT_TYPES(cls):\n"
            "        return {'required': {}}\n"
            "    RETURN_TYPES = ()\n"
            "    FUNCTION = 'run'\n"
            "    OUTPUT_NODE = True\n"
            "    CATEGORY = 'mend-test'\n"
            "    def run(self):\n"
            "        return ()\n"
            f"NODE_CLASS_MAPPINGS = {{'{node_type}': {node_type}}}\n"
        ),
        "pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n',
    }
    if requirements is not None:
        files["requirements.txt"] = requirements
    if install_py is not None:
        files["install.py"] = install_py
    return files


class GitServer:
    """Static files of bare repositories; object requests wait on ``gate`` and are counted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gate = asyncio.Event()
        self.gate.set()
        self.object_requests = 0
        self.object_requested = asyncio.Event()

    def app(self) -> web.Application:
        @web.middleware
        async def hold_objects(request: web.Request, handler):
            if "/objects/" in request.path:
                self.object_requests += 1
                self.object_requested.set()
                await self.gate.wait()
            return await handler(request)

        app = web.Application(middlewares=[hold_objects])
        app.router.add_static("/", self.root, follow_symlinks=False)
        return app
