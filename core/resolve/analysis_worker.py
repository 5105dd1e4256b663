"""The analysis helper process: parses and analyses workflows away from ComfyUI's process (and its GIL).

Started by ``analysis_pool`` with ``BOOTSTRAP`` (the package is imported from its folder under a
private name, whatever ComfyUI calls it), it reads one ``HostSnapshot`` and then requests, each a
length-prefixed frame: a pickled header and a raw payload. It never fetches catalogs (the server
does and caches them), runs at a lower CPU priority than the server, and writes nothing but the
protocol to its stdout (everything printed goes to stderr).

    (snapshot)                                -> ("ready",) once the catalogs are loaded
    ("parse", body bytes)                     -> ("parsed", {"workflow_id", "graph_uuid", "use_registry"})
    ("analyze", {"workflow_id", "decisions"}) -> ("report", report JSON bytes)
    any failure                               -> ("error", {"status", "code", "message", "field", "details"})
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import struct
import sys
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, BinaryIO

from ..catalog.hashing import HashCache
from ..catalog.pack_compat import machine_facts
from ..catalog.registry import RegistryClient
from ..catalog.store import CatalogStore
from ..errors import MendError
from ..installed_packs import InstalledPack
from ..json_input import loads_checked
from ..node_schema import NodeSchema
from .analysis_request import AnalyzeBody
from .analyze import Analyzer

#: the helper's start: import the package from its folder (argv[1]) under a private name, run ``main``
BOOTSTRAP = (
    "import importlib, importlib.util, sys\n"
    "root, name = sys.argv[1], '_mend_analysis_helper'\n"
    "spec = importlib.util.spec_from_file_location(name, root + '/__init__.py', submodule_search_locations=[root])\n"
    "sys.modules[name] = importlib.util.module_from_spec(spec)\n"
    "importlib.import_module(name + '.core.resolve.analysis_worker').main()\n"
)
NICE = 10  # below the server: its event loop gets a core first
FRAME = struct.Struct(">II")  # header length, payload length; then the pickled (kind, meta), then the payload


def frame_head(kind: str, meta: Any, payload_len: int) -> bytes:
    """Everything of a frame but its payload (written after it as is: a large body is never copied)."""
    header = pickle.dumps((kind, meta), protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(header), payload_len) + header


def write_frame(out: BinaryIO, kind: str, meta: Any = None, payload: bytes = b"") -> None:
    out.write(frame_head(kind, meta, len(payload)))
    out.write(payload)
    out.flush()


def read_frame(inp: BinaryIO) -> tuple[str, Any, bytes] | None:
    head = inp.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    header_len, payload_len = FRAME.unpack(head)
    kind, meta = pickle.loads(inp.read(header_len))
    return kind, meta, inp.read(payload_len)


@dataclass
class HostSnapshot:
    """What analysis needs of the server's host and catalogs, taken once in the server process."""

    folders: dict[str, list[str]]
    extensions: dict[str, frozenset[str]]
    node_types: set[str]
    exact_node_types: bool
    schemas: dict[str, NodeSchema]
    packs: list[Any]
    user_dir: str
    catalog_dir: str | None
    cache_dir: str  # the catalog store's cache folder
    manager_dirs: list[str] = field(default_factory=list)
    hashes_path: str | None = None
    registry_url: str = ""
    comfyui_dir: str | None = None  # the machine facts (ComfyUI's version) come from it
    failed_core_modules: dict[str, list[str]] = field(default_factory=dict)  # see ``ComfyHost.failed_core_modules``
    comfyui_version: str | None = None  # the server's (its code folder is not ``comfyui_dir`` with --base-directory)

    @classmethod
    def take(cls, mend: Any) -> HostSnapshot:
        """Blocking (a ComfyUI host learns its node schemas the first time): call in a thread."""
        host, catalogs, analyzer = mend.host, mend.catalogs, mend.analyzer
        folders = {k: [str(p) for p in v] for k, v in host.model_folders().items()}
        packs = getattr(host, "installed_packs", None)
        registry = analyzer.registry
        return cls(
            folders=folders, extensions={f: frozenset(host.folder_extensions(f)) for f in folders},
            node_types=set(host.installed_node_types()), exact_node_types=getattr(host, "exact_node_types", True),
            schemas=dict(host.node_schemas()), packs=list(packs()) if packs else [], user_dir=str(host.user_dir()),
            catalog_dir=str(catalogs.catalog_dir) if catalogs.catalog_dir else None,
            cache_dir=str(catalogs.cache_dir), manager_dirs=[str(d) for d in catalogs.manager_dirs],
            hashes_path=str(mend.hashes.path) if getattr(mend.hashes, "path", None) else None,
            registry_url=registry.base_url if registry is not None and registry.enabled else "",
            comfyui_dir=str(host.comfyui_dir()) if host.comfyui_dir() else None,
            failed_core_modules=dict(failed()) if (failed := getattr(host, "failed_core_modules", None)) else {},
            comfyui_version=analyzer.machine().comfyui_version)


    def to_wire(self) -> dict:
        """Plain data only: the helper imports Mend under another module name, so no Mend class is pickled."""
        wire = {f.name: getattr(self, f.name) for f in fields(self)}
        wire["schemas"] = {k: asdict(v) for k, v in self.schemas.items()}
        wire["packs"] = [asdict(p) for p in self.packs]
        return wire

    @classmethod
    def from_wire(cls, wire: dict) -> HostSnapshot:
        return cls(**{**wire, "schemas": {k: NodeSchema(**v) for k, v in wire["schemas"].items()},
                      "packs": [InstalledPack(**p) for p in wire["packs"]]})


class SnapshotHost:
    """A ``Host`` over a snapshot: what the analysis reads, nothing it could change."""

    def __init__(self, snap: HostSnapshot) -> None:
        self.snap = snap
        self.exact_node_types = snap.exact_node_types

    def model_folders(self) -> Mapping[str, list[Path]]:
        return {k: [Path(p) for p in v] for k, v in self.snap.folders.items()}

    def folder_extensions(self, folder: str) -> frozenset[str]:
        return self.snap.extensions.get(folder, frozenset())

    def installed_node_types(self) -> set[str]:
        return self.snap.node_types

    def node_schemas(self) -> Mapping[str, NodeSchema]:
        return self.snap.schemas

    def installed_packs(self) -> list[Any]:
        return self.snap.packs

    def user_dir(self) -> Path:
        return Path(self.snap.user_dir)

    def comfyui_dir(self) -> Path | None:
        return Path(self.snap.comfyui_dir) if self.snap.comfyui_dir else None

    def failed_core_modules(self) -> dict[str, list[str]]:
        return self.snap.failed_core_modules


def analyzer_for(snap: HostSnapshot) -> Analyzer:
    catalogs = CatalogStore(catalog_dir=Path(snap.catalog_dir) if snap.catalog_dir else None,
                            cache_dir=Path(snap.cache_dir).parent, manager_dirs=[Path(d) for d in snap.manager_dirs],
                            offline=True, registry=RegistryClient(""))
    hashes = HashCache(Path(snap.hashes_path) if snap.hashes_path else None)
    analyzer = Analyzer(SnapshotHost(snap), catalogs, registry=RegistryClient(snap.registry_url),  # type: ignore[arg-type]
                        hashes=hashes)
    if snap.comfyui_version:  # as the server read it
        analyzer._machine = replace(machine_facts(None), comfyui_version=snap.comfyui_version)
    return analyzer


def _error(exc: BaseException) -> dict:
    if isinstance(exc, MendError):
        return {"status": exc.status, "code": exc.code, "message": exc.message, "field": exc.field,
                "details": exc.details}
    if isinstance(exc, RecursionError):
        return {"status": 400, "code": "invalid_workflow", "message": "the workflow nests too deeply to analyse",
                "field": None, "details": {}}
    traceback.print_exc()
    return {"status": 500, "code": "internal_error", "message": "internal error; see the server log",
            "field": None, "details": {}}


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints from anything imported go to stderr, never into the protocol
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    with contextlib.suppress(OSError):
        os.nice(NICE)
    first = read_frame(inp)
    if first is None:
        return
    analyzer = analyzer_for(HostSnapshot.from_wire(first[1]))
    analyzer.catalogs.node_map()  # loaded once, before the first request waits for it
    write_frame(out, "ready")  # the server times analyses, not this start
    decisions: dict = {}
    analyzer.decisions = lambda _wid: decisions
    current: AnalyzeBody | None = None
    while (frame := read_frame(inp)) is not None:
        kind, meta, payload = frame
        try:
            if kind == "parse":
                current = AnalyzeBody.from_data(loads_checked(payload))
                write_frame(out, "parsed", {"workflow_id": current.workflow_id, "graph_uuid": current.graph_uuid,
                                            "use_registry": current.use_registry})
            elif kind == "analyze" and current is not None:
                decisions = meta.get("decisions") or {}
                report = asyncio.run(analyzer.analyze(current.workflow, use_registry=current.use_registry,
                                                      workflow_id=meta.get("workflow_id")))
                current = None
                write_frame(out, "report", None, json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8"))
            else:
                write_frame(out, "error", _error(MendError(f"unknown request {kind!r}")))
        except Exception as exc:  # every failure is answered; the helper lives on
            current = None
            write_frame(out, "error", _error(exc))
