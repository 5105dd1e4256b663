"""Installs with real parts: git repos over loopback HTTP, a registry-shaped server, a venv and a wheelhouse.

Every failure test checks that ``custom_nodes``, the manifest and the venv are exactly as before.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mend.core.errors import Forbidden, HostNotAllowed, InvalidField, UnsafePath
from mend.core.install.pack_task import PackExists
from mend.core.install.pip_deps import PipDeps
from mend.core.install.proc import StepFailed
from mend.core.install.request import InvalidRegistryId
from mend.core.install.restart import restart_status
from mend.core.installed_packs import scan_custom_nodes
from mend.core.tasks.task_api import PermanentTaskError

from ..git_server import GitServer, make_pack_repo, node_pack_files
from ..install_support import PlainContext, make_runner, registry, tree_state, venv_python, wheelhouse  # noqa: F401 (shared fixtures)
from ..registry_server import zip_bytes


@pytest.fixture
def mend(comfy_dir, small_catalog, mend_for):
    return mend_for(comfy_dir, small_catalog)


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    d = tmp_path / "repos"
    d.mkdir()
    return d


@pytest.fixture
async def git_server(aiohttp_server, repos):
    gs = GitServer(repos)
    server = await aiohttp_server(gs.app())
    gs.url = lambda name: f"http://127.0.0.1:{server.port}/{name}.git"
    return gs


class Before:
    """custom_nodes, the manifest folder and the venv's packages, to compare after a failure."""

    def __init__(self, mend, python: str) -> None:
        self.mend, self.python = mend, python

    async def take(self) -> tuple:
        custom_nodes = self.mend.host.custom_nodes_dirs()[0]
        return (tree_state(custom_nodes), tree_state(self.mend.manifest_path.parent),
                await PipDeps(python=self.python).installed())

    async def assert_unchanged(self, before: tuple) -> None:
        assert await self.take() == before
        staging = self.mend.host.custom_nodes_dirs()[0].parent / ".mend-staging"
        assert not staging.exists() or not any(staging.iterdir())


# -- success -------------------------------------------------------------------------------------

async def test_git_install_at_commit_records_manifest_and_deps(mend, repos, git_server, venv_python, wheelhouse):
    _, shas = make_pack_repo(repos, "ComfyUI-Alpha", [
        node_pack_files("AlphaNode", requirements="mend-dep-ok\n"),
        {"__init__.py": "raise RuntimeError('the second commit must not be checked out')\n"},
    ])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    ctx = PlainContext()
    result = await runner.run({"repository": git_server.url("ComfyUI-Alpha"), "commit": shas[0]}, ctx)

    pack_dir = mend.host.custom_nodes_dirs()[0] / "ComfyUI-Alpha"
    assert result["commit"] == shas[0] and result["restart_required"] is True
    assert "AlphaNode" in (pack_dir / "__init__.py").read_text()
    [pack] = scan_custom_nodes(pack_dir.parent)
    assert pack.commit == shas[0] and pack.repository.endswith("/comfyui-alpha")
    assert ctx.steps[:4] == ["source", "clone", "checkout", "pip"] and ctx.steps[-2:] == ["publish", "manifest"]
    assert (await PipDeps(python=venv_python).installed())["mend-dep-ok"] == "1.0"
    entry = mend.manifest.packs()["ComfyUI-Alpha"]
    assert entry["source"] == "git" and entry["commit"] == shas[0]
    assert restart_status(mend)["restart_required"] is True


async def test_git_install_at_tag(mend, repos, git_server, venv_python, wheelhouse):
    _, shas = make_pack_repo(repos, "pack-tagged", [node_pack_files("Tagged1"), node_pack_files("Tagged2")],
                             tags={0: "v1.0.0"})
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    result = await runner.run({"repository": git_server.url("pack-tagged"), "version": "v1.0.0"}, PlainContext())
    assert result["commit"] == shas[0]
    assert "Tagged1" in (mend.host.custom_nodes_dirs()[0] / "pack-tagged" / "__init__.py").read_text()


async def test_registry_install_at_version_and_latest(mend, registry, venv_python, wheelhouse):
    registry.publish("comfyui-beta", "1.0.0", node_pack_files("BetaOld", name="comfyui-beta"))
    registry.publish("comfyui-beta", "1.1.0", node_pack_files("BetaNew", name="comfyui-beta", version="1.1.0"))
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse, registry_url=registry.base_url)
    result = await runner.run({"id": "comfyui-beta", "version": "1.0.0"}, PlainContext())

    pack_dir = mend.host.custom_nodes_dirs()[0] / "comfyui-beta"
    assert result["version"] == "1.0.0" and result["source"] == "registry"
    assert "BetaOld" in (pack_dir / "__init__.py").read_text()
    assert set((pack_dir / ".tracking").read_text().split()) == {"__init__.py", "pyproject.toml"}
    assert mend.manifest.packs()["comfyui-beta"] == {"source": "registry", "version": "1.0.0",
                                                    "folder": "comfyui-beta"}
    assert registry.install_calls == 0

    registry.publish("comfyui-gamma", "0.1.0", node_pack_files("G1"))
    registry.publish("comfyui-gamma", "0.2.0", node_pack_files("G2"))
    latest = await runner.run({"id": "comfyui-gamma"}, PlainContext("t2"))
    assert latest["version"] == "0.2.0"


# -- refused before anything happens -----------------------------------------------------------------

BAD_REQUESTS = [
    ({"repository": "https://evil.example.com/a/b"}, HostNotAllowed),
    ({"repository": "-uhttps://github.com/a/b"}, InvalidField),
    ({"repository": "http://github.com/a/b"}, InvalidField),
    ({"repository": "https://github.com/a/b", "commit": "--upload-pack=x"}, InvalidField),
    ({"repository": "https://github.com/a/.."}, UnsafePath),
    ({"id": "../evil"}, InvalidRegistryId),
    ({"id": "a/b"}, InvalidRegistryId),
    ({"id": "vhs pack"}, InvalidRegistryId),
    ({"repository": "https://github.com/a/b", "folder": "x/../../y"}, UnsafePath),
    ({"id": "pack", "commit": "abc"}, InvalidField),
    ({"id": "pack", "source": "svn"}, InvalidField),
    (["not", "an", "object"], InvalidField),
]


async def test_bad_requests_are_refused_and_change_nothing(mend, venv_python, wheelhouse):
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    snap = Before(mend, venv_python)
    before = await snap.take()
    for body, error in BAD_REQUESTS:
        with pytest.raises(error):
            runner.validate(body)
        with pytest.raises(error):
            await runner.run(body, PlainContext())
    await snap.assert_unchanged(before)


async def test_installs_refused_on_a_non_loopback_server(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "remote-pack", [node_pack_files("RemoteNode")])
    mend.host.listen_addresses = lambda: ["0.0.0.0"]  # the standalone host's answer, as a server's would be
    body = {"repository": git_server.url("remote-pack")}
    with pytest.raises(Forbidden):
        await make_runner(mend, python=venv_python, wheelhouse=wheelhouse).run(body, PlainContext())
    assert not (mend.host.custom_nodes_dirs()[0] / "remote-pack").exists()
    result = await make_runner(mend, python=venv_python, wheelhouse=wheelhouse, remote=True).run(body, PlainContext())
    assert result["folder"] == "remote-pack"


# -- failures roll back ------------------------------------------------------------------------------

async def run_failing(mend, runner, body, python) -> PermanentTaskError:
    snap = Before(mend, python)
    before = await snap.take()
    ctx = PlainContext()
    with pytest.raises(PermanentTaskError) as info:
        await runner.run(body, ctx)
    await snap.assert_unchanged(before)
    assert restart_status(mend)["restart_required"] is False
    return info.value


async def test_missing_repository_fails_at_clone(mend, git_server, venv_python, wheelhouse):
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    err = await run_failing(mend, runner, {"repository": git_server.url("nope")}, venv_python)
    assert isinstance(err, StepFailed) and err.step == "clone" and err.output_tail


async def test_missing_commit_fails_at_checkout(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-c", [node_pack_files("C1")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    err = await run_failing(mend, runner, {"repository": git_server.url("pack-c"), "commit": "0" * 40}, venv_python)
    assert isinstance(err, StepFailed) and err.step == "checkout"


async def test_pip_failure_rolls_back(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-p", [node_pack_files("P1", requirements="mend-dep-second\nno-such-dist-xyz\n")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    err = await run_failing(mend, runner, {"repository": git_server.url("pack-p")}, venv_python)
    assert isinstance(err, StepFailed) and err.step == "pip"
    assert "no-such-dist-xyz" in err.output_tail


async def test_install_script_failure_undoes_pip(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-s", [node_pack_files(
        "S1", requirements="mend-dep-second\n", install_py="import sys\nprint('setting up')\nsys.exit(3)\n")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    err = await run_failing(mend, runner, {"repository": git_server.url("pack-s")}, venv_python)
    assert isinstance(err, StepFailed) and err.step == "install_script"
    assert "setting up" in err.output_tail and "status 3" in err.message


async def test_install_script_skipped_unless_allowed(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-k", [node_pack_files("K1", install_py="raise SystemExit(1)\n")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse, scripts=False)
    result = await runner.run({"repository": git_server.url("pack-k")}, PlainContext())
    assert result["install_script"].startswith("skipped")


async def test_protected_set_never_moves(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-t", [node_pack_files("T1", requirements="torch==2.0\n")])
    make_pack_repo(repos, "pack-u", [node_pack_files("U1", requirements="mend-dep-wants-torch2\n")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    for name in ("pack-t", "pack-u"):
        err = await run_failing(mend, runner, {"repository": git_server.url(name)}, venv_python)
        assert err.step == "pip"
        assert (await PipDeps(python=venv_python).installed())["torch"] == "1.0"


async def test_cancel_mid_clone_kills_git_and_rolls_back(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-slow", [node_pack_files("Slow1")])
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    snap = Before(mend, venv_python)
    before = await snap.take()
    git_server.gate.clear()  # object requests wait: git is provably mid-clone
    task = asyncio.ensure_future(runner.run({"repository": git_server.url("pack-slow")}, PlainContext()))
    await asyncio.wait_for(git_server.object_requested.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    git_server.gate.set()
    await snap.assert_unchanged(before)


async def test_registry_failures_roll_back(mend, registry, venv_python, wheelhouse):
    registry.publish("evil-zip", "1.0.0", archive=zip_bytes({"../escape.py": "x"}))
    registry.publish("not-zip", "1.0.0", archive=b"this is no zip")
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse, registry_url=registry.base_url)
    for body in ({"id": "evil-zip"}, {"id": "not-zip"}, {"id": "unknown-pack"},
                 {"id": "evil-zip", "version": "9.9.9"}):
        await run_failing(mend, runner, body, venv_python)
    offline = make_runner(mend, python=venv_python, wheelhouse=wheelhouse, registry_url="")
    err = await run_failing(mend, offline, {"id": "evil-zip"}, venv_python)
    assert "registry look-ups are off" in err.message
    assert not (mend.host.custom_nodes_dirs()[0].parent / "escape.py").exists()


async def test_existing_folder_is_refused(mend, repos, git_server, venv_python, wheelhouse):
    make_pack_repo(repos, "pack-e", [node_pack_files("E1")])
    (mend.host.custom_nodes_dirs()[0] / "pack-e").mkdir()
    runner = make_runner(mend, python=venv_python, wheelhouse=wheelhouse)
    with pytest.raises(PackExists):
        await runner.run({"repository": git_server.url("pack-e")}, PlainContext())
