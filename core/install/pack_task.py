"""Install a node pack as a background task (kind ``"install"``): fetch, requirements, install.py, publish.

Steps (each named with ``ctx.step`` so a failure says where it broke):

0. ``source``: registry or git, and why (``install_source``; the reason is the task's first message
   and is kept in the result and the manifest);
1. ``download``/``unpack`` (a published version's zip) or ``clone``/``checkout`` (git at a commit,
   tag or the default branch), into a staging folder beside ``custom_nodes`` (``install_staging``);
2. ``pip``: the pack's requirements into ComfyUI's Python under the protected-set constraints
   (``pip_deps``);
3. ``install_script``: the pack's ``install.py``, only when the operator allows it;
4. ``publish``: one rename into ``custom_nodes/<folder>``; ``manifest``: the pack is recorded, and
   remembered for the import check after the restart (``import_check``, with what pip changed, so a
   pack that fails to import can be rolled back: ``install_rollback``).

Any failure or cancel undoes everything done so far: the staging folder (or the published folder)
is removed, pip's changes are rolled back, nothing is written to the manifest. Success marks
"restart required" (``install_restart``). The folder layout is the one ComfyUI-Manager makes
(``<repo name>`` with ``.git`` for git, ``<registry id>`` with ``.tracking`` for registry zips),
so Manager sees and can update what Mend installed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from ..catalog.pack_compat import machine_facts
from ..catalog.registry import RegistryClient
from ..errors import MendError
from ..installed_packs import InstalledPack, normalise_repo_url, scan_custom_nodes
from ..tasks.task_api import PermanentTaskError, TaskContext
from ..url_safety import listens_only_on_loopback
from .git import clone_at
from .import_check import remember_install
from .manifest_record import record_installed
from .pip_deps import PipDeps, diff
from .policy import InstallPolicy
from .proc import run_step
from .registry import fetch_registry_zip
from .request import InstallRequest
from .restart import mark_restart_required
from .source import GATES, SourceChoice, choose_source
from .staging import Staging, remove_stale, remove_tree


class PackExists(PermanentTaskError):
    status = 409
    code = "pack_exists"


class PackDisabled(PackExists):
    """The pack is installed but disabled (ComfyUI-Manager's ``.disabled``): enable it, never a second copy."""

    code = "pack_disabled"


def same_pack(pack: InstalledPack, request: InstallRequest) -> bool:
    """Whether an installed folder is the pack ``request`` asks for: its folder, repository or registry id."""
    folders = {f.lower() for f in (request.folder, request.git_folder) if f}
    if pack.name.lower() in folders:
        return True
    if request.repository and pack.repository and pack.repository == normalise_repo_url(request.repository):
        return True
    return bool(request.id and pack.cnr_id and pack.cnr_id.lower() == request.id.lower())


def install_runner(mend: Any) -> InstallRunner:
    """The install runner of ``mend``, created and registered on its task manager once."""
    runner = mend.extras.get("install_runner")
    if runner is None:
        runner = mend.extras["install_runner"] = InstallRunner(mend)
    if getattr(mend, "tasks", None) is not None and runner.kind not in getattr(mend.tasks, "_runners", {}):
        mend.tasks.register(runner)
    return runner


class InstallRunner:
    kind = "install"
    resumable = False  # an interrupted install was rolled back; installing again is the user's call
    limit_group = "install"

    def __init__(self, mend: Any, *, policy: InstallPolicy | None = None, registry: RegistryClient | None = None,
                 pip: PipDeps | None = None, step_timeout: float | None = None) -> None:
        self.mend = mend
        self.policy = policy or InstallPolicy.from_env()
        self.registry = registry or RegistryClient()
        self.pip = pip or PipDeps()
        self.timeout = step_timeout or self.pip.timeout
        # pip and the publish step run one install at a time: a rollback must only undo its own install
        self.site_lock = asyncio.Lock()

    # -- TaskRunner -------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> None:
        """Refuse before queueing (400/403/409): bad input, a server others can reach, a pack already there."""
        request = InstallRequest.parse(params, self.policy)
        self.policy.check_remote_risk(self.mend.host.listen_addresses())
        self._refuse_existing(request)

    def target(self, params: Mapping[str, Any]) -> str:
        return InstallRequest.parse(params, self.policy).target

    async def cleanup(self, params: Mapping[str, Any], checkpoint_state: Mapping[str, Any]) -> None:
        """A cancelled interrupted install: its staging folder belongs to a process that is gone."""
        await asyncio.to_thread(remove_stale, Path(self.mend.host.custom_nodes_dirs()[0]))

    async def choose(self, request: InstallRequest, ctx: TaskContext | None = None) -> SourceChoice:
        """Registry or git for ``request``, and why (look-ups only); the gates refuse here."""
        if ctx is not None:
            ctx.step("source")
        facts = await asyncio.to_thread(machine_facts, self.mend.host.comfyui_dir())
        loopback = listens_only_on_loopback(self.mend.host.listen_addresses())
        async with aiohttp.ClientSession() as session:
            return await choose_source(self.registry, session, request, facts, loopback_only=loopback)

    async def precheck(self, request: InstallRequest, *, timeout: float = 6.0) -> None:
        """The registry's gates before queueing (banned, flagged, does not fit, no such version): a 4xx now.

        Registry trouble (unreachable, slow, broken) is left to the task, which falls back to git and says so.
        """
        if request.source == "git" or not self.registry.enabled:
            return
        try:
            await asyncio.wait_for(self.choose(request), timeout)
        except GATES:
            raise
        except (MendError, asyncio.TimeoutError, aiohttp.ClientError):
            return

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        asked = InstallRequest.parse(params, self.policy)
        self.policy.check_remote_risk(self.mend.host.listen_addresses())
        self._refuse_existing(asked)
        choice = await self.choose(asked, ctx)
        ctx.progress(0, None, message=choice.reason)
        request = choice.request
        custom_nodes = Path(self.mend.host.custom_nodes_dirs()[0])
        final = custom_nodes / request.folder
        await asyncio.to_thread(remove_stale, custom_nodes)
        staging = Staging(custom_nodes, ctx.task_id)
        await staging.create()
        snapshot: dict[str, str] | None = None
        published = False
        try:
            fetched = await self._fetch(choice, staging, ctx)
            async with self.site_lock:
                try:
                    snapshot = await self.pip.install(staging.pack, staging.dir, step=ctx.step,
                                                      on_line=lambda line: ctx.progress(0, None, message=line))
                    script = await self._install_script(staging.pack, ctx)
                    ctx.step("publish")
                    self._refuse_existing(request)
                    await staging.publish(final)
                    published = True
                    ctx.step("manifest")
                    record = {"id": request.id or request.folder, "source": request.source,
                              "folder": request.folder, "repository": request.normalised_repository, **fetched}
                    await asyncio.to_thread(record_installed, self.mend, record)
                    changes = diff(snapshot, await self.pip.installed()) if snapshot is not None else None
                    await asyncio.to_thread(remember_install, self.mend.host.user_dir(),
                                            {**record, "path": str(final)}, changes)
                except BaseException:
                    if published:
                        await asyncio.to_thread(remove_tree, final)
                    if snapshot is not None:
                        await self.pip.rollback(snapshot)
                    raise
        finally:
            await staging.remove()
        mark_restart_required(self.mend, {"action": "install", **record})
        result = {**record, "source_reason": choice.reason, "path": str(final), "install_script": script,
                  "restart_required": True}
        if choice.conflicts:
            result["confirmed_conflicts"] = choice.conflicts
        return result

    # -- steps --------------------------------------------------------------------------------
    def _refuse_existing(self, request: InstallRequest) -> None:
        """One pack, one copy: refuse when its folder, repository or registry id is already installed."""
        dirs = [Path(d) for d in self.mend.host.custom_nodes_dirs()]
        for folder in {request.folder, request.git_folder} - {None}:
            path = dirs[0] / str(folder)
            if path.exists() or path.is_symlink():
                raise PackExists(f"{path.name} is already in {dirs[0]}; remove or update it instead",
                                 folder=path.name)
        for pack in (p for d in dirs for p in scan_custom_nodes(d)):
            if not same_pack(pack, request):
                continue
            if not pack.enabled:
                raise PackDisabled(f"{pack.name} is installed but disabled ({pack.path}); enable it instead of "
                                   "installing a second copy", folder=pack.name)
            raise PackExists(f"this pack is already installed as {pack.name}; remove or update it instead",
                             folder=pack.name)

    async def _fetch(self, choice: SourceChoice, staging: Staging, ctx: TaskContext) -> dict[str, str]:
        request = choice.request
        if request.source == "git":
            assert request.repository is not None
            commit = await clone_at(
                request.repository, staging.pack, request.git_ref, timeout=self.timeout, step=ctx.step,
                on_line=lambda line: ctx.progress(0, None, message=line),
                allow_http=self.policy.allow_http_loopback, ref_optional=choice.fallback and not request.commit,
            )
            return {"commit": commit, **({"version": request.version} if request.version else {})}
        assert choice.version is not None
        await fetch_registry_zip(
            str(choice.version["downloadUrl"]), staging.pack, policy=self.policy, step=ctx.step,
            progress=lambda done, total: ctx.progress(done, total), run_thread=ctx.run_thread,
        )
        return {"version": str(choice.version.get("version"))}

    async def _install_script(self, pack: Path, ctx: TaskContext) -> str:
        """Run ``install.py`` (as ComfyUI-Manager does: the pack's folder as cwd) when the operator allows it."""
        if not (pack / "install.py").is_file():
            return "none"
        if not self.policy.allow_install_scripts:
            return "skipped: set MEND_ALLOW_INSTALL_SCRIPTS=1 to run install.py"
        ctx.step("install_script")
        env = dict(os.environ)
        comfyui = self.mend.host.comfyui_dir()
        if comfyui:
            env["COMFYUI_PATH"] = str(comfyui)
        await run_step([self.pip.python, "install.py"], step="install_script", timeout=self.timeout, cwd=pack,
                       env=env, on_line=lambda line: ctx.progress(0, None, message=line))
        return "ran"
