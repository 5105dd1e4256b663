"""Freeze: the current ComfyUI as a manifest (a lock file) that ``sync`` rebuilds anywhere.

Packs come from the ``custom_nodes`` folders as they are on disk (``installed_packs``): a pack with
ComfyUI-Manager's ``.tracking`` file is a registry install at its pyproject version; a git checkout
is pinned at its exact ``HEAD`` commit and ``origin`` (an SSH or local-path origin is pinned but
listed in ``Frozen.unavailable_packs``: no other machine can install it); anything else is listed with source
``unknown`` (sync reports it, it never guesses). Models are the files the given workflows use (or
every file in the model folders), each with its size, sha256 (``HashCache``, several threads) and
the sources known for it, in this order: the manifest's recorded sources, the URLs decided for it
in the manifest's workflow resolutions, the workflow's own ``models`` metadata, ComfyUI-Manager's
model list (same file name and folder). A file with no known source keeps ``sources = []`` and is
listed in ``Frozen.unsourced``.

    frozen = await freeze(mend, workflows=[target_from_cli(mend.host, Path("flux.json"))])
    await asyncio.to_thread(write_frozen, frozen, Path("manifest.toml"))   # the manifest's own writer
"""

from __future__ import annotations

import asyncio
import configparser
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog.model_index import ModelFile
from ..decide.manifest import Manifest, del_op, model_key, set_op
from ..installed_packs import InstalledPack, scan_custom_nodes
from ..resolve.models import normalise_value
from ..resolve.target import WorkflowTarget, read_target
from ..workflow.model_refs import ModelRef
from .pack_origin import origin_problem

HASH_THREADS = 4  # sha256 runs near disk speed: a few threads keep an SSD busy without thrashing a disk


@dataclass(frozen=True)
class FrozenPack:
    id: str
    folder: str
    source: str  # git | registry | unknown
    repository: str | None = None
    commit: str | None = None
    version: str | None = None
    #: why another machine cannot install it (an SSH or local-path origin), or None
    unavailable: str | None = None

    def entry(self) -> dict:
        values = {"source": self.source, "folder": self.folder, "repository": self.repository,
                  "commit": self.commit, "version": self.version}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class FrozenModel:
    folder: str
    relpath: str
    size: int
    sha256: str
    sources: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return model_key(self.folder, self.relpath)

    def entry(self) -> dict:
        return {"folder": self.folder, "path": self.relpath, "size": self.size, "sha256": self.sha256,
                "sources": list(self.sources)}


@dataclass
class Frozen:
    packs: list[FrozenPack] = field(default_factory=list)
    models: list[FrozenModel] = field(default_factory=list)
    #: model references of the given workflows that name no file on disk (they cannot be pinned)
    missing: list[dict] = field(default_factory=list)

    @property
    def unknown_packs(self) -> list[FrozenPack]:
        return [p for p in self.packs if p.source == "unknown"]

    @property
    def unavailable_packs(self) -> list[FrozenPack]:
        """Pinned, but from an origin ``sync`` cannot install from elsewhere."""
        return [p for p in self.packs if p.unavailable]

    @property
    def reproducible(self) -> bool:
        """Everything pinned can be rebuilt on another machine by ``sync``."""
        return not (self.unknown_packs or self.unavailable_packs or self.unsourced or self.missing)

    @property
    def unsourced(self) -> list[FrozenModel]:
        return [m for m in self.models if not m.sources]

    def ops(self, existing_packs: Mapping[str, Any], existing_models: Mapping[str, Any]) -> list[dict]:
        """Manifest operations that make its packs and models exactly this (resolutions are kept)."""
        packs = {p.id: p.entry() for p in self.packs}
        models = {m.key: m.entry() for m in self.models}
        ops = [del_op("packs", k) for k in existing_packs if k not in packs]
        ops += [del_op("models", k) for k in existing_models if k not in models]
        ops += [set_op("packs", k, value=v) for k, v in packs.items() if existing_packs.get(k) != v]
        ops += [set_op("models", k, value=v) for k, v in models.items() if existing_models.get(k) != v]
        return ops

    def to_json(self) -> dict:
        return {
            "packs": [{"id": p.id, **p.entry()} for p in self.packs],
            "models": [{"key": m.key, **m.entry()} for m in self.models],
            "missing": self.missing,
            "unknown_packs": [p.id for p in self.unknown_packs],
            "unavailable_packs": [{"id": p.id, "reason": p.unavailable} for p in self.unavailable_packs],
            "unsourced_models": [m.key for m in self.unsourced],
        }


# -- packs -------------------------------------------------------------------------------------------
def freeze_pack(pack: InstalledPack, recorded: Mapping[str, Mapping[str, Any]]) -> FrozenPack:
    """One installed pack as the manifest pins it; the id Mend recorded for its folder wins."""
    pack_id = next((k for k, v in recorded.items() if str(v.get("folder", "")).lower() == pack.name.lower()), None)
    if (pack.path / ".tracking").is_file() and pack.cnr_id and pack.version:  # Manager's mark of a registry zip
        return FrozenPack(pack_id or pack.cnr_id, pack.name, "registry", version=pack.version)
    if pack.repository and pack.commit:
        # the URL as git has it (case and scheme kept): the normalised one is for comparing, not cloning
        origin = origin_url(pack.path) or pack.repository
        return FrozenPack(pack_id or pack.name, pack.name, "git", repository=origin, commit=pack.commit,
                          unavailable=origin_problem(origin))
    return FrozenPack(pack_id or pack.name, pack.name, "unknown", version=pack.version)


def origin_url(pack_dir: Path) -> str | None:
    """``remote "origin"`` of a checkout exactly as configured (a worktree's ``.git`` file is followed)."""
    git_dir = pack_dir / ".git"
    if git_dir.is_file():
        text = git_dir.read_text(errors="replace").strip()
        git_dir = (pack_dir / text[7:].strip()).resolve() if text.startswith("gitdir:") else git_dir
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(git_dir / "config", encoding="utf-8")
        return config.get('remote "origin"', "url", fallback=None)
    except (configparser.Error, OSError):
        return None


def freeze_packs(custom_nodes_dirs: Sequence[Path], recorded: Mapping[str, Mapping[str, Any]]) -> list[FrozenPack]:
    """Every enabled pack (disabled ones are not part of the environment that runs)."""
    return [freeze_pack(p, recorded) for d in custom_nodes_dirs for p in scan_custom_nodes(Path(d)) if p.enabled]


# -- models ------------------------------------------------------------------------------------------
def _file_of(ref: ModelRef, index: Any) -> ModelFile | None:
    value = normalise_value(ref.value)
    if ref.folder is not None:
        return index.get(ref.folder, value)
    return next((f for f in index.by_name(value) if index.get(f.folder, value)), None)


class SourceBook:
    """Where each model file is known to come from, gathered once per freeze."""

    def __init__(self, mend: Any, manifests: Sequence[Mapping[str, Any]]) -> None:
        self.recorded: dict[str, list[str]] = {}
        self.decided: dict[str, list[str]] = {}
        for manifest in manifests:
            for key, entry in (manifest.get("models") or {}).items():
                self.recorded.setdefault(key, []).extend((entry or {}).get("sources") or [])
            for resolutions in (manifest.get("workflows") or {}).values():
                for entry in (resolutions.get("models") or {}).values():
                    if isinstance(entry, dict) and entry.get("url") and entry.get("folder") and entry.get("path"):
                        self.decided.setdefault(model_key(entry["folder"], entry["path"]), []).append(entry["url"])
        self.from_workflows: dict[str, list[str]] = {}
        self.model_list = mend.catalogs.model_list()

    def add_ref(self, f: ModelFile, ref: ModelRef) -> None:
        if ref.meta is not None and ref.meta.url:
            self.from_workflows.setdefault(model_key(f.folder, f.relpath), []).append(ref.meta.url)

    def sources(self, f: ModelFile) -> tuple[str, ...]:
        key = model_key(f.folder, f.relpath)
        found = list(self.recorded.get(key, []))
        found += self.decided.get(key, []) + self.from_workflows.get(key, [])
        found += [k.url for k in self.model_list.find(f.name) if k.folder == f.folder]
        return tuple(dict.fromkeys(u for u in found if isinstance(u, str) and u))


def _hash_all(files: Sequence[ModelFile], hashes: Any, threads: int,
              on_hashed: Callable[[ModelFile], None] | None) -> list[str]:
    def one(f: ModelFile) -> str:
        digest = hashes.digest(f.path)
        if on_hashed is not None:
            on_hashed(f)
        return digest

    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="mend-freeze-hash") as pool:
        return list(pool.map(one, files))


def freeze_sync(mend: Any, workflows: Sequence[WorkflowTarget | tuple[str, Any]] | None = None, *,
                threads: int = HASH_THREADS, on_hashed: Callable[[ModelFile], None] | None = None,
                also: Sequence[Mapping[str, Any]] = ()) -> Frozen:
    """Blocking freeze (reads disk, hashes files): call ``freeze`` from async code.

    ``workflows``: file targets, or ``(id, workflow JSON)`` pairs; None freezes every model file.
    ``also``: other manifests (``[tool.mend]`` data, e.g. the lock file being rewritten, where people add
    sources by hand) whose recorded sources count as well.
    """
    manifest = mend.manifest.data()
    frozen = Frozen(packs=freeze_packs(mend.host.custom_nodes_dirs(), manifest.get("packs", {})))
    index = mend.analyzer.model_index()
    book = SourceBook(mend, [manifest, *also])
    if workflows is None:
        files = list(index.files)
    else:
        chosen: dict[str, ModelFile] = {}
        for item in workflows:
            ident, data = (item.id, read_target(item)) if isinstance(item, WorkflowTarget) else item
            report = mend.analyzer.analyze_sync(data)
            for ref in report.present_models:
                f = _file_of(ref, index)
                if f is not None:
                    chosen.setdefault(f.abspath, f)
                    book.add_ref(f, ref)
            frozen.missing += [{"workflow": ident, **m.ref.to_json()} for m in report.missing_models]
        files = list(chosen.values())
    files.sort(key=lambda f: (f.folder, f.relpath))
    # one file listed under two folders (extra_model_paths pointing at one directory) is pinned once
    unique = list({(f.folder, f.relpath): f for f in files}.values())
    digests = _hash_all(unique, mend.hashes, threads, on_hashed)
    frozen.models = [FrozenModel(f.folder, f.relpath, f.size, d, book.sources(f))
                     for f, d in zip(unique, digests, strict=True)]
    return frozen


async def freeze(mend: Any, workflows: Sequence[WorkflowTarget | tuple[str, Any]] | None = None, *,
                 threads: int = HASH_THREADS, on_hashed: Callable[[ModelFile], None] | None = None,
                 also: Sequence[Mapping[str, Any]] = ()) -> Frozen:
    """Freeze in a worker thread (hashing never blocks the event loop)."""
    return await asyncio.to_thread(freeze_sync, mend, workflows, threads=threads, on_hashed=on_hashed, also=also)


# -- writing ---------------------------------------------------------------------------------------
def write_frozen(frozen: Frozen, manifest: Manifest | Path) -> Path:
    """Make ``manifest``'s packs and models the frozen ones, through the manifest's own writer (blocking)."""
    own = not isinstance(manifest, Manifest)
    store = Manifest(Path(manifest), autofold=False) if own else manifest
    ops = frozen.ops(store.packs(), store.models())
    if ops:
        store.write(ops)
    store.flush()  # the TOML itself is the lock file people copy: fold now
    if own:
        store.close()
    return store.path


def render_frozen(frozen: Frozen) -> str:
    """The manifest text of ``frozen`` alone, written by the manifest's writer in a scratch folder."""
    scratch = Path(tempfile.mkdtemp(prefix="mend-freeze-"))
    try:
        path = write_frozen(frozen, scratch / "pyproject.toml")
        return path.read_text(encoding="utf-8") if path.exists() else ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
