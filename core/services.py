"""The one object that holds Mend's long-lived parts for a host: what routes, nodes and the CLI share.

Created once per process (ComfyUI's server, or one CLI run); tests create one per test over a
``StandaloneHost`` in a temporary directory.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import constants
from .atomic_files import remove_stale_temps
from .catalog.hashing import HashCache
from .catalog.registry import RegistryClient
from .catalog.store import CatalogStore, manager_dirs
from .decide.manifest import Manifest
from .host import Host
from .resolve.analyze import Analyzer
from .tasks.manager import TaskManager
from .tasks.model_records import ModelRecorder

log = logging.getLogger(__name__)


@dataclass
class Mend:
    host: Host
    catalogs: CatalogStore
    analyzer: Analyzer
    hashes: HashCache
    state_dir: Path  # where the manifest, its decision log and the task journal live
    extras: dict = field(default_factory=dict)
    #: background tasks (``core/tasks/manager.py``); runners register on it, ``start`` replays its journal
    tasks: TaskManager = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.tasks is None:
            self.tasks = TaskManager(self.state_dir, self.host)
        self.extras["model_recorder"] = recorder = ModelRecorder(self.manifest)
        self.tasks.subscribe(recorder)

    async def start(self) -> None:
        """Start long-lived parts on the running loop (replay the task journal, resume downloads)."""
        await self.tasks.start()
        await asyncio.to_thread(self._remove_stale_temps)
        await asyncio.to_thread(self.manifest.warm)  # parse the TOML before the first decision needs it
        # Stale catalogs are refreshed in the background; analyses meanwhile use what is cached.
        self.extras["catalog_refresh"] = asyncio.create_task(self.catalogs.refresh())

    def _remove_stale_temps(self) -> None:
        """Temp files of rewrites a kill cut short (workflows, the manifest) would stay forever otherwise."""
        workflows = self.host.user_dir() / "default" / "workflows"
        for path in [*remove_stale_temps(workflows, recursive=True), *remove_stale_temps(self.state_dir)]:
            log.info("mend: removed %s, left by a rewrite that was killed", path)

    async def close(self) -> None:
        """Stop background work as a restart would: what was running resumes at the next start."""
        refresh = self.extras.pop("catalog_refresh", None)
        if refresh is not None and not refresh.done():
            refresh.cancel()
        await self.tasks.close()
        await self.extras["model_recorder"].drain()
        for closer in self.extras.get("on_close", []):  # e.g. the analysis helpers
            await closer()

    @classmethod
    def create(
        cls,
        host: Host,
        *,
        catalogs: CatalogStore | None = None,
        registry: RegistryClient | None = None,
        manifest_path: Path | None = None,
        cache_dir: Path | None = None,
    ) -> Mend:
        cache_dir = cache_dir or constants.CACHE_DIR
        registry = registry if registry is not None else RegistryClient()
        catalogs = catalogs or CatalogStore(
            cache_dir=cache_dir,
            manager_dirs=manager_dirs(host.custom_nodes_dirs(), host.user_dir()),
            registry=registry,
        )
        hashes = HashCache(cache_dir / "sha256.json")
        manifest = manifest_path or constants.MANIFEST_PATH or host.user_dir() / "mend" / "pyproject.toml"
        store = Manifest(Path(manifest))
        # analyses of a known workflow come back with the decisions already made for it
        analyzer = Analyzer(host, catalogs, registry=registry, hashes=hashes, decisions=store.resolutions)
        return cls(
            host=host,
            catalogs=catalogs,
            analyzer=analyzer,
            hashes=hashes,
            state_dir=Path(manifest).parent,
            extras={"manifest_path": Path(manifest), "manifest": store},
        )

    @property
    def manifest_path(self) -> Path:
        return self.extras["manifest_path"]

    @property
    def manifest(self) -> Manifest:
        """The manifest (``core/decide/manifest.py``): ``record_pack``, ``record_model``, ``resolutions``..."""
        if "manifest" not in self.extras:
            self.extras["manifest"] = Manifest(self.manifest_path)
        return self.extras["manifest"]
