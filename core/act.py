"""Acting on decisions: turning what a workflow's resolutions still need into installs and downloads.

Decisions say *what* (install this pack for that node type, download that file from this URL);
``pending_work`` says what of it is not done yet, and ``carry_out`` starts it as background tasks
(``core/install/batch.py``, ``core/download/run.py``) and waits for them. The CLI's ``mend resolve``
calls it after the questions; a task's progress reaches any subscriber of the task manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .catalog.install_plan import GIT_COMMIT, install_body
from .catalog.source_policy import check_relpath
from .decide.decisions import INSTALL_FIELDS
from .decide.downloaded import settle_file, waits_for
from .download.run import download_decided
from .errors import MendError
from .install.batch import install_decided_packs
from .installed_packs import normalise_repo_url
from .resolve.analyze import AnalysisReport, node_decision
from .resolve.nodes import NodeCandidate
from .resolve.pack_pins import pick_pin
from .services import Mend


def pending_work(mend: Mend, workflow_id: str) -> list[dict[str, Any]]:
    """What the decisions for ``workflow_id`` still need (blocking: reads the manifest).

    A pinned node decision (``{pack, id?, repository?, version? | commit?}``) carries its install body in ``install``.
    A decided file already in place (fetched by the panel, a copy put there by hand) is not work: its
    decisions are settled here, so nothing is queued, handed to a server or shown as a second task.
    """
    settle_present(mend, workflow_id)
    resolutions = mend.manifest.resolutions(workflow_id)
    installed = mend.manifest.packs()
    on_disk = {p.name.lower() for d in mend.host.custom_nodes_dirs() if d.is_dir() for p in d.iterdir()}
    pending: list[dict[str, Any]] = []
    for node_type, value in resolutions["nodes"].items():
        decided = node_decision(value)
        pack = decided.get("pack")
        if decided.get("status") != "resolved" or not isinstance(pack, str):
            continue
        if pack not in installed and pack.rsplit("/", 1)[-1].lower() not in on_disk:
            job = {"kind": "install_pack", "pack": pack, "node_type": node_type}
            body = {k: decided[k] for k in INSTALL_FIELDS if isinstance(decided.get(k), str)}
            if body:
                job["install"] = body
            pending.append(job)
    for key, entry in resolutions["models"].items():
        if entry.get("status") == "pending_download":
            pending.append({"kind": "download_model", "ref": key, "folder": entry.get("folder"),
                            "path": entry.get("path"), "url": entry.get("url"), "sha256": entry.get("sha256"),
                            "on_existing": entry.get("on_existing")})
    return pending


def install_request(mend: Mend, job: dict[str, Any], report: AnalysisReport | None) -> dict[str, Any]:
    """The install body for a decided pack: exactly the plan the report showed for it (source, id, version or
    commit), as the decision recorded it, else as the current analysis shows that candidate."""
    if job.get("install"):
        return dict(job["install"])
    candidate = _decided_candidate(job, report)
    if candidate is not None:
        return candidate.install_plan()["body"]
    ident = job["pack"]
    node_map = mend.catalogs.node_map()
    # a decision made before registry ids were known may name Manager's id; it is never sent as a registry id
    pack = node_map.pack_by_url(ident) if "://" in ident else node_map.pack_by_id(ident) \
        or node_map.pack_by_manager_id(ident)
    if pack is None:  # not in the catalogs: the decision named a registry id or a repository itself
        return {"repository": ident} if "://" in ident else {"id": ident}
    return install_body(pack)


def _decided_candidate(job: dict[str, Any], report: AnalysisReport | None) -> NodeCandidate | None:
    ident = job["pack"]
    for node in report.missing_nodes if report else []:
        if node.type == job["node_type"]:
            for c in node.candidates:
                if ident in (c.pack.id, c.pack.repository, c.pack.repo_name):
                    return c
    return None


@dataclass
class Work:
    """What a workflow's decisions still need: install bodies (as ``POST /mend/nodes/install`` takes them)
    and pending downloads grouped per target file (one download however many references name it)."""

    packs: list[dict[str, Any]]
    files: list[list[dict[str, Any]]]
    notes: list[str] = field(default_factory=list)  # what was reconciled (one pack decided at two versions)

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
    """One install per pack, however many node types were decided for it (see ``one_install_per_pack``)."""
    pending = await asyncio.to_thread(pending_work, mend, workflow_id)
    bodies = [install_request(mend, job, report) for job in pending if job["kind"] == "install_pack"]
    packs, notes = one_install_per_pack(bodies)
    return Work(packs, downloads_per_file(pending), notes)


def one_install_per_pack(bodies: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Install bodies merged per pack (same registry id or repository). Decisions made at different times may pin
    one pack at different versions: the pick is ``pack_pins``'s (the newest release; else the default branch),
    never whichever row came first, and a note says so."""
    groups: list[list[dict[str, Any]]] = []
    for body in bodies:
        keys = _pack_keys(body)
        group = next((g for g in groups if keys & set().union(*map(_pack_keys, g))), None)
        if group is None:
            groups.append([body])
        else:
            group.append(body)
    packs, notes = [], []
    for group in groups:
        merged = {k: v for b in group for k, v in b.items() if k not in ("version", "commit")}
        pins = sorted({b.get("commit") or b.get("version") for b in group} - {None})
        version, note, _ = pick_pin(pins, "the decisions for its node types")
        if version:
            merged["commit" if GIT_COMMIT.match(version) and merged.get("repository") else "version"] = version
        if note:
            notes.append(f"{merged.get('id') or merged.get('repository')}: {note}")
        packs.append(merged)
    return packs, notes


def _pack_keys(body: dict[str, Any]) -> set[str]:
    keys = {f"id:{body['id'].lower()}"} if body.get("id") else set()
    return keys | ({normalise_repo_url(body["repository"])} if body.get("repository") else set())


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
    """A finished download settles its decisions (every key kept). The task manager's listener has
    (``core/tasks/model_records.py``), unless a server without it ran the download: then this does."""
    for job, outcome in done:
        result = outcome.get("result") or {}
        settle_file(mend.manifest, job["folder"], job["path"], size=result.get("size"),
                    sha256=result.get("sha256") or job.get("sha256"), sources=[job["url"]] if job.get("url") else [])


def settle_present(mend: Mend, workflow_id: str) -> None:
    """Settle the decisions of ``workflow_id`` whose file is already in its folder (the right sha256, when
    the decision names one: hashed once, cached by path, size and mtime)."""
    folders = mend.host.model_folders()
    seen: set[tuple[str, str]] = set()
    for entry in mend.manifest.resolutions(workflow_id)["models"].values():
        folder, path = entry.get("folder"), entry.get("path")
        if entry.get("status") != "pending_download" or not isinstance(folder, str) or (folder, path) in seen \
                or not _safe_relpath(path):
            continue
        seen.add((folder, path))
        found = next((d / path for d in folders.get(folder, []) if (d / path).is_file()), None)
        if found is None:
            continue
        sha = mend.hashes.digest(found) if entry.get("sha256") else None
        if not waits_for(entry, folder, path, sha):
            continue  # another file under that name: the download refuses to overwrite it, and says so
        settle_file(mend.manifest, folder, path, size=found.stat().st_size, sha256=sha,
                    sources=[entry["url"]] if entry.get("url") else [])


async def _nothing() -> list[dict]:
    return []


def _safe_relpath(path: object) -> bool:
    """A manifest is a file people edit: a path leaving its folder is never looked at."""
    try:
        check_relpath(path)
    except MendError:
        return False
    return True
