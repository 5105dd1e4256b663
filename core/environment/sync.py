"""Sync: make a ComfyUI match a manifest — every pack at its pinned version, every model with its sha256.

``plan_sync`` compares the manifest with the disk (packs by folder, repository or registry id; models
by path and sha256, hashes cached per file) and says per item what is to be done: ``present``,
``install``, ``download``, ``link`` (the shared cache has it), or why it cannot be: ``conflict`` (a
pack at another version, a different file under the model's name: Mend changes neither) and
``unavailable`` (no source, unknown pack source, a git origin the installer refuses: an SSH URL, a
local path). ``start_sync`` turns the plan into ordinary
background tasks — ``install`` (``core/install/pack_task.py``) and ``sync_model``
(``core/environment/sync_model.py``) — so
they run in parallel within the task manager's per-kind limits, are journaled and resume after a
kill; a target some task already works on (a download the journal resumed) is adopted, not
started twice. ``finish_sync`` waits for them and fills in each item's outcome.

Idempotent: what is present and verified plans as ``present`` and starts nothing, so a second run
downloads nothing.

    plan = await plan_sync(mend, load_manifest(Path("manifest.toml")), shared_cache=None)
    started = await start_sync(mend, plan)            # task ids, at once (the route answers with them)
    await finish_sync(mend, plan)                     # the CLI waits and prints plan.summary()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from ..catalog.source_policy import target_path
from ..decide.manifest import Manifest
from ..errors import Conflict, ManifestCorrupt, MendError
from ..install.pack_task import install_runner
from ..install.policy import InstallPolicy
from ..installed_packs import InstalledPack, normalise_repo_url, scan_custom_nodes
from ..json_input import check_value
from ..tasks.task_api import classify_failure
from .pack_origin import origin_problem
from .shared_cache import SharedCache
from .sync_model import model_params, sync_model_runner

try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10: tomlkit parses too, only slower
    tomllib = None

#: what each action needs: the kind of task that does it
TASK_KINDS = {"install": "install", "download": "sync_model", "link": "sync_model"}


@dataclass
class SyncItem:
    kind: str  # pack | model
    name: str  # pack id, or folder/relpath
    action: str  # present | install | download | link | conflict | unavailable
    detail: str = ""
    size: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    outcome: str | None = None  # after the run: present | installed | downloaded | linked | failed | ...
    error: dict | None = None

    @property
    def task_kind(self) -> str | None:
        return TASK_KINDS.get(self.action)

    @property
    def ok(self) -> bool:
        return self.action == "present" or (self.outcome is not None and self.error is None
                                            and self.outcome not in ("failed", "cancelled", "interrupted"))

    def to_json(self) -> dict:
        out = {"kind": self.kind, "name": self.name, "action": self.action, "detail": self.detail,
               "size": self.size, "task_id": self.task_id, "outcome": self.outcome}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class SyncPlan:
    items: list[SyncItem]
    shared_cache: Path | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncPlan:
        """A plan as ``POST /mend/manifest/sync`` answers it (the CLI following a server's sync)."""
        fields = ("kind", "name", "action", "detail", "size", "task_id", "outcome", "error")
        items = [SyncItem(**{k: i.get(k) for k in fields if i.get(k) is not None}) for i in data.get("items", [])]
        return cls(items, Path(data["shared_cache"]) if data.get("shared_cache") else None)

    @property
    def to_do(self) -> list[SyncItem]:
        return [i for i in self.items if i.task_kind]

    @property
    def bytes_to_fetch(self) -> int:
        return sum(i.size or 0 for i in self.items if i.action == "download")

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            key = item.outcome or item.action
            counts[key] = counts.get(key, 0) + 1
        return counts

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    def to_json(self) -> dict:
        return {"items": [i.to_json() for i in self.items], "summary": self.summary(),
                "bytes_to_fetch": self.bytes_to_fetch, "ok": self.ok,
                "shared_cache": str(self.shared_cache) if self.shared_cache else None}


# -- reading a manifest ----------------------------------------------------------------------------
def parse_manifest_text(text: str, where: str = "manifest") -> dict:
    """``[tool.mend]`` of a manifest's text, as plain data (read-only: a manifest baked into an image works)."""
    try:
        data = tomllib.loads(text) if tomllib else tomlkit.parse(text).unwrap()
    except RecursionError as exc:
        raise ManifestCorrupt(f"{where} nests too deeply to be a manifest", field=where) from exc
    except (ValueError, TOMLKitError) as exc:
        raise ManifestCorrupt(f"{where} is not valid TOML: {exc}", field=where) from exc
    section = (data.get("tool") or {}).get("mend") if isinstance(data.get("tool"), dict) else None
    if not isinstance(section, dict):
        raise ManifestCorrupt(f"{where} has no [tool.mend] table: is it a Mend manifest?", field=where)
    check_section(section, where)
    return section


def check_section(section: Mapping[str, Any], where: str) -> None:
    """Every pack and model entry a table, a model's ``sources`` a list of strings (not one string)."""
    try:
        check_value(section, where)
    except MendError as exc:
        raise ManifestCorrupt(exc.message, field=where) from exc
    for name in ("packs", "models"):
        table = section.get(name, {})
        if not isinstance(table, dict):
            raise ManifestCorrupt(f"{where}: [tool.mend.{name}] must be a table", field=where)
        for key, entry in table.items():
            if not isinstance(entry, dict):
                raise ManifestCorrupt(f"{where}: [tool.mend.{name}] entry {key!r} must be a table", field=where)
    for key, entry in section.get("models", {}).items():
        sources = entry.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(u, str) for u in sources):
            raise ManifestCorrupt(f"{where}: sources of model {key!r} must be a list of URLs", field=where)


def load_manifest(path: Path) -> dict:
    """A manifest file; with its decision log beside it, the records not yet folded count too (blocking)."""
    path = Path(path)
    if path.with_name(f"{path.stem}.decisions.jsonl").is_file():
        return Manifest(path, autofold=False).data()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MendError(f"cannot read {path}: {exc.strerror}", field=str(path)) from exc
    return parse_manifest_text(text, str(path))


# -- planning --------------------------------------------------------------------------------------
def _find_installed(pack_id: str, entry: Mapping[str, Any], installed: list[InstalledPack]) -> InstalledPack | None:
    folder = str(entry.get("folder") or pack_id).lower()
    repo = normalise_repo_url(str(entry["repository"])) if entry.get("repository") else None
    for pack in installed:
        if pack.name.lower() == folder:
            return pack
    for pack in installed:
        if (repo and pack.repository == repo) or (entry.get("source") == "registry" and pack.cnr_id == pack_id):
            return pack
    return None


def plan_pack(pack_id: str, entry: Mapping[str, Any], installed: list[InstalledPack],
              check_url: Callable[[str], object] | None = None) -> SyncItem:
    """What to do for one pinned pack; ``check_url`` is the installer's URL check (an origin it would
    refuse, such as an SSH URL or a local path, plans as ``unavailable`` with the reason)."""
    source = entry.get("source")
    have = _find_installed(pack_id, entry, installed)
    if have is not None and not have.enabled:  # ComfyUI-Manager disabled it: enabling, never a second copy
        return SyncItem("pack", pack_id, "conflict", f"{have.name} is installed but disabled ({have.path}); "
                        "enable it (POST /mend/nodes/enable or ComfyUI-Manager)")
    if source == "git":
        want = entry.get("commit")
        if have is not None:
            if want and have.commit == want:
                return SyncItem("pack", pack_id, "present", f"{have.name} at {want[:12]}")
            return SyncItem("pack", pack_id, "conflict",
                            f"{have.name} is at {(have.commit or 'an unknown commit')[:12]}, the manifest pins "
                            f"{(want or '?')[:12]}; Mend does not change an installed pack")
        if not entry.get("repository"):
            return SyncItem("pack", pack_id, "unavailable", "a git pack without a repository")
        if problem := origin_problem(str(entry["repository"]), check_url):
            return SyncItem("pack", pack_id, "unavailable", problem)
        params = {"source": "git", "repository": entry["repository"], "commit": want, "id": pack_id,
                  "folder": entry.get("folder")}
        return SyncItem("pack", pack_id, "install", f"git {entry['repository']} @ {(want or 'HEAD')[:12]}",
                        params={k: v for k, v in params.items() if v})
    if source == "registry":
        want = entry.get("version")
        if have is not None:
            if want and have.version == want:
                return SyncItem("pack", pack_id, "present", f"{have.name} {want}")
            return SyncItem("pack", pack_id, "conflict", f"{have.name} is at {have.version or '?'}, the manifest "
                            f"pins {want or '?'}; Mend does not change an installed pack")
        params = {"source": "registry", "id": pack_id, "version": want, "folder": entry.get("folder")}
        return SyncItem("pack", pack_id, "install", f"registry {pack_id} {want or 'latest'}",
                        params={k: v for k, v in params.items() if v})
    if have is not None:
        return SyncItem("pack", pack_id, "present", f"{have.name} (source unknown: not checked)")
    return SyncItem("pack", pack_id, "unavailable", f"source {source!r} is not one Mend can install from")


def plan_model(mend: Any, key: str, entry: Mapping[str, Any], cache: SharedCache | None) -> SyncItem:
    size = entry.get("size") if isinstance(entry.get("size"), int) else None
    sha = str(entry.get("sha256") or "").lower() or None
    try:
        final = target_path(mend.host.model_folders(), entry.get("folder"), entry.get("path"))
    except MendError as exc:
        return SyncItem("model", key, "unavailable", exc.message, size)
    params = model_params(entry, cache.root if cache else None)
    if final.exists():
        if not sha:
            have = final.stat().st_size
            if size is not None and size == have:
                return SyncItem("model", key, "present", "no sha256 pinned: the recorded size matches", size)
            return SyncItem("model", key, "conflict", f"{final} holds {have} bytes, the manifest records "
                            f"{size if size is not None else 'no size'} and no sha256: Mend cannot tell it is "
                            "the same file and never overwrites one", size)
        actual = mend.hashes.digest(final)
        if actual == sha:
            return SyncItem("model", key, "present", "sha256 verified", size)
        return SyncItem("model", key, "conflict", f"{final} has sha256 {actual[:12]}…, the manifest pins "
                        f"{sha[:12]}…; Mend never overwrites a file", size)
    if cache is not None and sha:
        blob = cache.find(sha)
        if blob is not None:
            return SyncItem("model", key, "link", f"from the shared cache {blob}", size, params)
    if not entry.get("sources"):
        return SyncItem("model", key, "unavailable", "no source known: add one to its sources", size)
    return SyncItem("model", key, "download", str(entry["sources"][0]), size, params)


def plan_sync_blocking(mend: Any, manifest: Mapping[str, Any], *, shared_cache: Path | None = None,
                       threads: int = 4) -> SyncPlan:
    installed = [p for d in mend.host.custom_nodes_dirs() for p in scan_custom_nodes(Path(d))]
    policy = getattr(getattr(mend, "extras", {}).get("install_runner"), "policy", None) or InstallPolicy.from_env()
    items = [plan_pack(k, v, installed, policy.check_git_url) for k, v in sorted((manifest.get("packs") or {}).items())]
    cache = SharedCache(shared_cache) if shared_cache else None
    models = sorted((manifest.get("models") or {}).items())
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="mend-sync-plan") as pool:
        items += list(pool.map(lambda kv: plan_model(mend, kv[0], kv[1], cache), models))  # hashing present files
    return SyncPlan([_as_the_run_would(mend, item) for item in items], cache.root if cache else None)


def _as_the_run_would(mend: Any, item: SyncItem) -> SyncItem:
    """An install or download the real run would refuse (a policy, a URL) is planned as ``unavailable``."""
    if item.task_kind is None:
        return item
    register_runners(mend)
    try:
        mend.tasks.runners[item.task_kind].validate(item.params)
        if item.task_kind == "sync_model" and item.action == "download":
            policy = sync_model_runner(mend).policy
            refusals = []
            for url in item.params.get("sources") or []:
                try:
                    policy.check_url(url, "sources")
                    break
                except MendError as exc:
                    refusals.append(exc.message)
            else:
                raise MendError("; ".join(refusals) or "no source")
    except MendError as exc:
        return SyncItem(item.kind, item.name, "unavailable", f"refused: {exc.message}", item.size)
    return item


async def plan_sync(mend: Any, manifest: Mapping[str, Any], *, shared_cache: Path | None = None) -> SyncPlan:
    return await asyncio.to_thread(plan_sync_blocking, mend, manifest, shared_cache=shared_cache)


# -- running -----------------------------------------------------------------------------------------
def register_runners(mend: Any) -> None:
    """Before the task journal is replayed: interrupted sync downloads resume by themselves."""
    install_runner(mend)
    sync_model_runner(mend)


async def start_sync(mend: Any, plan: SyncPlan, *, client_id: str | None = None) -> list[str]:
    """Submit a task per item to do; returns the task ids (a busy target's task is adopted)."""
    register_runners(mend)
    await mend.tasks.start()
    ids = []
    for item in plan.to_do:
        try:
            task = await mend.tasks.submit(item.task_kind, item.params, client_id=client_id)
        except Conflict as exc:
            holder = exc.details.get("task_id")
            if not holder:
                item.outcome, item.error = "failed", {"code": exc.code, "message": exc.message}
                continue
            task = await mend.tasks.get(str(holder))
            if task.state == "interrupted":  # an install cut off by the kill: it was rolled back; run it again
                task = await mend.tasks.retry(task.id)
        except MendError as exc:
            item.outcome, item.error = "failed", {"code": exc.code, "message": exc.message}
            continue
        item.task_id = task.id
        ids.append(task.id)
    return ids


async def finish_sync(mend: Any, plan: SyncPlan) -> SyncPlan:
    """Wait for every task of the plan and record each item's outcome."""
    for item in plan.to_do:
        if item.task_id is None:
            continue
        try:
            task = await mend.tasks.wait(item.task_id)
        except Exception as exc:  # the manager stopped under us
            item.outcome, item.error = "failed", classify_failure(exc).to_json()
            continue
        settle(item, task.state, task.result, task.error)
    return plan


def settle(item: SyncItem, state: str, result: Mapping[str, Any] | None, error: dict | None) -> None:
    """Record how an item's task ended (here, or on the server a CLI handed the sync to)."""
    if state == "completed":
        result = result or {}
        item.outcome = result.get("status") or ("installed" if item.kind == "pack" else "done")
        if item.kind == "pack":
            item.outcome = "installed"
        elif result.get("link") in ("hardlink", "symlink"):
            item.detail = f"{result.get('status')} ({result['link']} from the shared cache)"
    else:
        item.outcome, item.error = state, error or {"code": state, "message": state}
