"""Acting on decisions: turning what a workflow's resolutions still need into installs and downloads.

Decisions say *what* (install this pack for that node type, download that file from this URL);
``pending_work`` says what of it is not done yet, and ``carry_out`` starts it as background tasks
(``core/install/batch.py``, ``core/download/run.py``) and waits for them. The CLI's ``mend resolve``
calls it after the questions; a task's progress reaches any subscriber of the task manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .catalog.install_plan import install_body
from .catalog.node_map import Pack
from .decide.manifest import set_op
from .download.run import download_decided
from .install.batch import install_decided_packs
from .resolve.analyze import AnalysisReport
from .services import Mend


def pending_work(mend: Mend, workflow_id: str) -> list[dict[str, Any]]:
    """What the decisions for ``workflow_id`` still need (blocking: reads the manifest)."""
    resolutions = mend.manifest.resolutions(workflow_id)
    installed = mend.manifest.packs()
    on_disk = {p.name.lower() for d in mend.host.custom_nodes_dirs() if d.is_dir() for p in d.iterdir()}
    pending: list[dict[str, Any]] = []
    for node_type, pack in resolutions["nodes"].items():
        if isinstance(pack, str) and pack not in installed and pack.rsplit("/", 1)[-1].lower() not in on_disk:
            pending.append({"kind": "install_pack", "pack": pack, "node_type": node_type})
    for key, entry in resolutions["models"].items():
        if entry.get("status") == "pending_download":
            pending.append({"kind": "download_model", "ref": key, "folder": entry.get("folder"),
                            "path": entry.get("path"), "url": entry.get("url"), "sha256": entry.get("sha256"),
                            "on_existing": entry.get("on_existing")})
    return pending


def install_request(mend: Mend, job: dict[str, Any], report: AnalysisReport | None) -> dict[str, Any]:
    """The install body for a decided pack, at the version the workflow's nodes name (``ver``)."""
    pack, version, stamp_id = _decided_pack(mend, job, report)
    if pack is None:  # not in the catalogs: the decision named a registry id or a repository itself
        ident = job["pack"]
        return {"repository": ident} if "://" in ident else {"id": ident}
    return install_body(pack, version, stamp_id)


def _decided_pack(mend: Mend, job: dict[str, Any],
                  report: AnalysisReport | None) -> tuple[Pack | None, str | None, str | None]:
    ident = job["pack"]
    for node in report.missing_nodes if report else []:
        if node.type == job["node_type"]:
            for c in node.candidates:
                if ident in (c.pack.id, c.pack.repository, c.pack.repo_name):
                    stamped = c.reason in ("cnr_id", "aux_id")
                    return c.pack, c.version if stamped else None, node.cnr_id if c.reason == "cnr_id" else None
    node_map = mend.catalogs.node_map()
    if "://" in ident:
        return node_map.pack_by_url(ident), None, None
    # a decision made before registry ids were known may name Manager's id; it is never sent as a registry id
    return node_map.pack_by_id(ident) or node_map.pack_by_manager_id(ident), None, None


@dataclass
class Work:
    """What a workflow's decisions still need: install bodies (as ``POST /mend/nodes/install`` takes them)
    and pending downloads grouped per target file (one download however many references name it)."""

    packs: list[dict[str, Any]]
    files: list[list[dict[str, Any]]]

    @property
    def downloads(self) -> list[dict[str, Any]]:
        """``download`` task params, one per file."""
        return [{k: v for k, v in {"url": js[0]["url"], "folder": js[0]["folder"], "relpath": js[0]["path"],
                                   "sha256": js[0]["sha256"], "on_existing": js[0].get("on_existing")}.items() if v}
                for js in self.files]

    def __bool__(self) -> bool:
        return bool(self.packs or self.files)


#: runs the work somewhere and says how each install and download ended, in order
Execute = Callable[[Work], Awaitable[tuple[list[dict], list[dict]]]]


async def plan_work(mend: Mend, workflow_id: str, report: AnalysisReport | None = None) -> Work:
    pending = await asyncio.to_thread(pending_work, mend, workflow_id)
    packs, seen = [], set()
    for job in pending:
        if job["kind"] == "install_pack":
            body = install_request(mend, job, report)
            key = body.get("id") or body.get("repository")
            if key not in seen:
                seen.add(key)
                packs.append(body)
    return Work(packs, downloads_per_file(pending))


async def carry_out(mend: Mend, workflow_id: str, report: AnalysisReport | None = None, *,
                    client_id: str | None = None, execute: Execute | None = None) -> dict[str, list[dict]]:
    """Install every decided pack and download every decided model not there yet; wait for all.

    The work runs in this process's task manager, or wherever ``execute`` sends it (the CLI hands it
    to a running Mend server); either way a finished download turns its decisions into ``resolved``.
    """
    work = await plan_work(mend, workflow_id, report)

    async def here(w: Work) -> tuple[list[dict], list[dict]]:
        return await asyncio.gather(
            install_decided_packs(mend, w.packs, client_id=client_id) if w.packs else _nothing(),
            download_decided(mend, w.downloads) if w.files else _nothing(),
        )

    installed, fetched = await (execute or here)(work)
    done = [(job, out) for js, out in zip(work.files, fetched, strict=True) if out.get("ok") for job in js]
    if done:
        await asyncio.to_thread(_mark_downloaded, mend, workflow_id, done)
    for js, out in zip(work.files, fetched, strict=True):
        out["refs"] = [j["ref"] for j in js]
        out["file"] = f"{js[0]['folder']}/{js[0]['path']}"
    return {"installs": installed, "downloads": fetched}


def downloads_per_file(pending: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Pending downloads grouped by the file they write: one download per file, however many references."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for job in pending:
        if job["kind"] == "download_model" and job.get("url"):
            groups.setdefault((job["folder"], job["path"]), []).append(job)
    return list(groups.values())


def _mark_downloaded(mend: Mend, workflow_id: str, done: list[tuple[dict, dict]]) -> None:
    """A finished download turns its decision from pending into resolved."""
    ops = []
    for job, outcome in done:
        result = outcome.get("result") or {}
        entry = {"status": "resolved", "folder": job["folder"], "path": job["path"], "url": job["url"]}
        if result.get("sha256") or job.get("sha256"):
            entry["sha256"] = result.get("sha256") or job["sha256"]
        ops.append(set_op("workflows", workflow_id, "models", job["ref"], value=entry))
    mend.manifest.write(ops)  # the file itself joins [tool.mend.models] through core/tasks/model_records.py


async def _nothing() -> list[dict]:
    return []
