"""Analysis: what a workflow is missing and where each missing thing can come from.

Glue between the reader, the host and the catalogs; the ranking itself lives in
``resolve_nodes`` and ``resolve_models``. The CPU-bound part runs in a worker thread, so a large
workflow or a cold model index never stalls ComfyUI's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..catalog.hashing import HashCache
from ..catalog.model_index import ModelIndex
from ..catalog.node_map import Pack
from ..catalog.pack_compat import BANNED, MachineFacts, conflicts, describe, machine_facts
from ..catalog.provenance import ESSENTIAL, CatalogStatus, catalog_warnings
from ..catalog.registry import RegistryClient
from ..catalog.store import CatalogStore
from ..host import Host
from ..installed_packs import InstalledPack
from ..workflow.model_refs import ModelRef, model_refs, placeholder_warning
from ..workflow.named_urls import urls_by_file_name
from ..workflow.reader import Workflow, read_workflow
from ..workflow.report_warning import ReportWarning
from .core_nodes import CoreFacts
from .file_folders import settle_folders
from .models import MissingModel, is_present, rank, workflow_url_candidates
from .nodes import MissingNode, resolve_missing
from .registry_hits import RegistryHits
from .report_items import MARKS, ModelFile, mark, model_files


@dataclass
class AnalysisReport:
    workflow: Workflow
    missing_nodes: list[MissingNode] = field(default_factory=list)
    missing_models: list[MissingModel] = field(default_factory=list)
    present_models: list[ModelRef] = field(default_factory=list)
    elapsed_ms: float = 0.0
    #: the manifest's resolutions for this workflow (``Manifest.resolutions``), when it is known by an id
    decisions: dict[str, dict] = field(default_factory=dict)
    #: what was read past or not trusted (the workflow's broken parts, garbage stamps, missing catalogs)
    warnings: list[ReportWarning] = field(default_factory=list)
    #: where each catalog came from and how old it is, or why it is missing (``catalog.provenance``)
    catalogs: list[CatalogStatus] = field(default_factory=list)

    @property
    def catalogs_missing(self) -> list[str]:
        """The essential catalogs that could not be loaded: what this report could not name is not "unknown"."""
        return [c.name for c in self.catalogs if c.source == "missing" and c.name in ESSENTIAL]

    def node_decision(self, node: MissingNode) -> dict | None:
        value = self.decisions.get("nodes", {}).get(node.type)
        return None if value is None else node_decision(value)

    def model_decision(self, model: MissingModel) -> dict | None:
        return self.decisions.get("models", {}).get(model.ref.key)

    def model_files(self) -> list[ModelFile]:
        """Missing references grouped by the file they name (``core/resolve/report_items.py``)."""
        return model_files(self.missing_models)

    def node_mark(self, node: MissingNode) -> str | None:
        """``bypassed``/``muted`` when none of the node type's instances runs (subgraph instances' modes count)."""
        modes = {n.id: n.mode for n in self.workflow.nodes}
        return mark(modes.get(i, 0) for i in node.node_ids)

    def node_blocks(self, node: MissingNode) -> bool:
        return not node.inactive and (self.node_decision(node) or {}).get("status") != "optional"

    @property
    def blocking(self) -> int:
        """Missing things a run would fail on: node types and model files that a running node needs and
        no decision settled (muted/bypassed nodes do not run; optional ones are not needed)."""
        return sum(self.node_blocks(n) for n in self.missing_nodes) + sum(
            f.blocking(self.model_decision) for f in self.model_files()
        )

    def to_json(self) -> dict[str, Any]:
        files = self.model_files()
        nodes = [_with_decision({**n.to_json(), "mark": self.node_mark(n), "blocking": self.node_blocks(n)},
                                self.node_decision(n)) for n in self.missing_nodes]
        file_of = {m.ref.key: f for f in files for m in f.models}
        models = [_with_decision({**m.to_json(), "file": file_of[m.ref.key].key, "mark": MARKS.get(m.ref.mode)},
                                 self.model_decision(m)) for m in self.missing_models]
        return {
            "format": self.workflow.format,
            "node_count": len(self.workflow.nodes),
            "summary": {
                "missing_nodes": len(nodes),
                "missing_models": len(models),
                "missing_model_files": len(files),
                "present_models": len(self.present_models),
                "blocking": self.blocking,
                "auto": sum(x["auto"] for x in nodes + models),
                "questions": sum(not x["auto"] and "decision" not in x for x in nodes + models),
                "decided": sum("decision" in x for x in nodes + models),
            },
            "warnings": [w.to_json() for w in self.warnings],
            "catalogs": [c.to_json() for c in self.catalogs],
            "missing_nodes": nodes,
            "missing_models": models,
            "model_files": [f.to_json(self.model_decision) for f in files],
            "present_models": [r.to_json() for r in self.present_models],
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


class Analyzer:
    """Holds what analyses share (catalogs, model index, hash cache) across requests."""

    def __init__(
        self,
        host: Host,
        catalogs: CatalogStore,
        *,
        registry: RegistryClient | None = None,
        hashes: HashCache | None = None,
        decisions: Callable[[str], dict[str, dict]] | None = None,
    ) -> None:
        self.host = host
        self.decisions = decisions  # workflow id -> its resolutions in the manifest
        self.catalogs = catalogs
        self.registry = registry
        self.hashes = hashes
        self._index: ModelIndex | None = None
        self._machine: MachineFacts | None = None
        self._registry_hits = RegistryHits(registry) if registry is not None else None

    def model_index(self) -> ModelIndex:
        """The model index, rescanned incrementally on every call (cheap when nothing changed)."""
        folders = self.host.model_folders()
        if self._index is None:
            self._index = ModelIndex(folders, {f: self.host.folder_extensions(f) for f in folders})
        return self._index.scan()

    def installed_node_types(self) -> set[str]:
        types = set(self.host.installed_node_types())
        if not getattr(self.host, "exact_node_types", True):
            # A ComfyUI on disk without a server: its core nodes and its packs' nodes are there.
            node_map = self.catalogs.node_map()
            types |= node_map.core_types()
            for pack in self._installed_packs():
                known = (pack.repository and node_map.pack_by_url(pack.repository)) or node_map.pack_by_id(pack.name)
                if known is not None and pack.enabled:
                    types |= known.node_types
        return types

    def machine(self) -> MachineFacts:
        """This machine as the registry's compatibility fields name it (read once)."""
        if self._machine is None:
            comfyui_dir = getattr(self.host, "comfyui_dir", None)  # a snapshot host (analysis helpers) has none
            self._machine = machine_facts(comfyui_dir() if comfyui_dir else None)
        return self._machine

    def core_facts(self) -> CoreFacts:
        """This ComfyUI's version and its core modules that failed to import (a server's host knows those)."""
        failed = getattr(self.host, "failed_core_modules", None)
        return CoreFacts(self.machine().comfyui_version, failed() if failed else {})

    def _installed_packs(self) -> list[InstalledPack]:
        packs = getattr(self.host, "installed_packs", None)
        return packs() if packs else []

    def analyze_sync(
        self, data: Any, registry_hits: dict[str, Pack] | None = None, workflow_id: str | None = None
    ) -> AnalysisReport:
        started = time.perf_counter()
        workflow = data if isinstance(data, Workflow) else read_workflow(data)
        report = AnalysisReport(workflow=workflow, warnings=list(workflow.warnings))
        report.catalogs = self.catalogs.provenance()
        report.warnings += catalog_warnings(report.catalogs)
        if workflow_id is not None and self.decisions is not None:
            report.decisions = self.decisions(workflow_id)
        node_map = self.catalogs.node_map()
        packs_on_disk = self._installed_packs()
        installed_repos = {p.repository for p in packs_on_disk if p.repository}
        missing, said = resolve_missing(
            workflow.nodes, self.installed_node_types(), node_map, installed_repos, registry_hits, self.core_facts())
        offer_enable(missing.values(), [p for p in packs_on_disk if not p.enabled])
        mark_misfits(missing.values(), self.machine())
        report.missing_nodes = list(missing.values())
        report.warnings += said

        index = self.model_index()
        model_list = self.catalogs.model_list()
        if (unfilled := placeholder_warning(workflow)) is not None:
            report.warnings.append(unfilled)
        links = urls_by_file_name(workflow)
        for ref in settle_folders(model_refs(workflow, self.host.node_schemas()), model_list):
            if is_present(ref, index):
                report.present_models.append(ref)
            else:
                report.missing_models.append(rank(ref, index, self.hashes, model_list,
                                                  workflow_url_candidates(ref, links)))
        report.elapsed_ms = (time.perf_counter() - started) * 1000
        return report

    async def analyze(self, data: Any, *, use_registry: bool = True, workflow_id: str | None = None) -> AnalysisReport:
        """Analyse; with ``workflow_id`` (see ``core/resolve/target.py``) decided items carry their decision."""
        report = await asyncio.to_thread(self.analyze_sync, data, None, workflow_id)
        unknown = [n.type for n in report.missing_nodes if not n.candidates and not n.core]  # core: no pack's
        if not (use_registry and unknown and self._registry_hits and self._registry_hits.enabled):
            return report
        hits = await self._registry_hits.lookup(unknown, self.catalogs.node_map())
        if not hits:
            return report
        return await asyncio.to_thread(self.analyze_sync, report.workflow, hits, workflow_id)


def offer_enable(missing: Iterable[MissingNode], disabled: list[InstalledPack]) -> None:
    """A candidate pack that is installed but disabled is enabled, never installed a second time."""
    if not disabled:
        return
    for entry in missing:
        for candidate in entry.candidates:
            pack = candidate.pack
            for have in disabled:
                if (have.repository and (have.repository == pack.repository or have.repository in pack.aliases)) \
                        or (have.cnr_id and pack.id and have.cnr_id.lower() == pack.id.lower()):
                    candidate.install = {"source": "enable", "folder": have.name, "path": str(have.path),
                                         "label": f"installed but disabled: enable {have.name}"}
                    break


def mark_misfits(missing: Iterable[MissingNode], facts: MachineFacts) -> None:
    """Candidates whose registry entry says they do not fit this machine (or are banned) say so before the click."""
    for entry in missing:
        for candidate in entry.candidates:
            record = candidate.pack.registry
            if not record or candidate.install is not None:
                continue
            latest = record.get("latest_version") if isinstance(record.get("latest_version"), dict) else {}
            plan = candidate.to_json()["install"]
            if BANNED & {record.get("status"), latest.get("status")}:
                candidate.install = {**plan, "banned": True, "label": f"{plan['label']} — banned by the registry"}
                continue
            found = conflicts({**{k: v for k, v in record.items() if k.startswith("supported_")}, **latest}, facts)
            if found:
                candidate.install = {**plan, "conflicts": found,
                                     "label": f"{plan['label']} — does not fit this machine: {describe(found)}"}


def _with_decision(item: dict, decision: dict | None) -> dict:
    if decision is not None:
        item["decision"] = decision
    return item


def node_decision(value: Any) -> dict:
    """A node type's resolution as stored (pack id, ``false``, ``{status = "skipped"}``) in one JSON shape.

    >>> node_decision("comfyui-foo"), node_decision(False)
    ({'status': 'resolved', 'pack': 'comfyui-foo'}, {'status': 'optional'})
    """
    if value is False:
        return {"status": "optional"}
    if isinstance(value, str):
        return {"status": "resolved", "pack": value}
    return dict(value) if isinstance(value, dict) else {"status": "unknown", "value": value}
