"""Where the catalog files come from: a pinned folder, the on-disk cache, the public channel, or Manager.

Order of preference for each file (``extension-node-map.json``, ``custom-node-list.json``,
``github-stats.json``, ``model-list.json``):

1. a folder given explicitly (``MEND_CATALOG_DIR`` or the ``catalog_dir`` argument): used as is;
2. Mend's cache, when younger than ``MEND_CATALOG_MAX_AGE``;
3. the public channel ComfyUI-Manager uses, fetched with ``If-None-Match`` and cached;
4. a stale cache, then an installed ComfyUI-Manager's own copy (offline use).

ComfyUI-Manager's other channels (``channels``: ``dev``, packs in development; ``legacy``, retired packs)
are optional catalogs found the same ways, in Manager's own layout ``node_db/<channel>/<file>`` (under the
pinned folder, the cache, the channel's base URL, an installed Manager's checkout). A missing one is
listed as missing in the provenance, but is no ``catalog_missing`` warning.

The Comfy Registry's pack list (``registry-nodes.json``, see ``registry_index``) is fetched from the
registry itself and always cached in Mend's cache folder (a pinned folder may also hold one); it gives
packs their registry ids.

Loading is synchronous (files only); ``refresh`` is the one place that touches the network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .. import constants
from ..atomic_files import replace_atomic
from ..connection_words import is_offline, unreachable_message, why_failed
from ..errors import UpstreamError
from .channels import attach_dev, record_legacy
from .model_list import ModelList
from .node_map import NodeMap, paused_gc
from .provenance import CatalogStatus
from .registry import RegistryClient
from .registry_index import REGISTRY_NODES, fetch_registry_list

log = logging.getLogger(__name__)

NODE_MAP = "extension-node-map.json"
NODE_LIST = "custom-node-list.json"
STATS = "github-stats.json"
MODEL_LIST = "model-list.json"
ALL_FILES = (NODE_MAP, NODE_LIST, STATS, MODEL_LIST)
#: ComfyUI-Manager's other channels and the files of each that Mend reads (legacy's node map is empty)
CHANNEL_FILES = {"dev": (NODE_MAP, NODE_LIST, STATS), "legacy": (NODE_LIST,)}


def channel_file(channel: str, name: str) -> str:
    """Where a channel's file lies, under the channel's base URL and in a catalog folder (Manager's layout)."""
    return f"node_db/{channel}/{name}"


OPTIONAL_FILES = tuple(channel_file(c, n) for c, names in CHANNEL_FILES.items() for n in names)


def manager_dirs(custom_nodes_dirs: list[Path], user_dir: Path | None = None) -> list[Path]:
    """Where a ComfyUI-Manager keeps its own copies of the catalogs.

    As a custom node (``custom_nodes/ComfyUI-Manager``, its cache under ``user/default/ComfyUI-Manager``)
    and as the pip package ComfyUI 0.8 runs with ``--enable-manager`` (``user/__manager/cache``).
    """
    found = [d / name for d in custom_nodes_dirs for name in ("ComfyUI-Manager", "comfyui-manager")]
    if user_dir is not None:
        found += [Path(user_dir) / "__manager", Path(user_dir) / "default" / "ComfyUI-Manager"]
    return found


def _manager_copy(directory: Path, name: str) -> Path | None:
    """Manager's copy of ``name``: plain, or in its cache as ``<hash>_<name>`` (newest first).

    A channel's file (``node_db/dev/...``) only as its checkout holds it: its cache names files by their
    last path part, so a cached ``extension-node-map.json`` does not say which channel it came from.
    """
    for candidate in (directory / name, directory / "cache" / name):
        if candidate.is_file():
            return candidate
    cache = directory / "cache"
    if "/" in name or not cache.is_dir():
        return None
    hashed = [p for pattern in (f"*_{name}", f"*_{name}.json") for p in cache.glob(pattern) if p.is_file()]
    return max(hashed, key=lambda p: p.stat().st_mtime) if hashed else None


class CatalogStore:
    """Finds, caches and parses the catalogs; parsed results are kept in memory."""

    def __init__(
        self,
        *,
        catalog_dir: Path | None = None,
        cache_dir: Path | None = None,
        manager_dirs: list[Path] | None = None,
        channel_url: str | None = None,
        max_age: int | None = None,
        offline: bool | None = None,
        registry: RegistryClient | None = None,
    ) -> None:
        env_dir = os.environ.get("MEND_CATALOG_DIR")
        self.catalog_dir = catalog_dir or (Path(env_dir) if env_dir else None)
        self.cache_dir = (cache_dir or constants.CACHE_DIR) / "catalog"
        self.manager_dirs = manager_dirs or []
        self.channel_url = (channel_url or constants.MANAGER_CHANNEL_URL).rstrip("/")
        self.max_age = constants.CATALOG_MAX_AGE if max_age is None else max_age
        self.offline = constants.OFFLINE if offline is None else offline
        self.registry = registry if registry is not None else RegistryClient()
        self._node_map: NodeMap | None = None
        self._model_list: ModelList | None = None
        self.fetch_errors: dict[str, str] = {}  # catalog -> why its last refresh failed (cleared on success)

    # -- where a file is --------------------------------------------------------------------
    def path_of(self, name: str) -> Path | None:
        if name == REGISTRY_NODES:  # from the registry, not the channel: cached even beside a pinned folder
            found = [p for p in (self.catalog_dir and self.catalog_dir / name, self.cache_dir / name) if p]
            return next((p for p in found if p.is_file()), None)
        if self.catalog_dir is not None:
            pinned = self.catalog_dir / name
            return pinned if pinned.is_file() else None
        cached = self.cache_dir / name
        if cached.is_file():
            return cached
        for d in self.manager_dirs:
            found = _manager_copy(d, name)
            if found is not None:
                return found
        return None

    def is_fresh(self, name: str) -> bool:
        if self.catalog_dir is not None and name != REGISTRY_NODES:
            return True
        cached = self.cache_dir / name
        return cached.is_file() and time.time() - cached.stat().st_mtime < self.max_age

    def status(self, name: str) -> CatalogStatus:
        """Where ``name`` is read from and how old it is, or why it is missing (see ``provenance``)."""
        path = self.path_of(name)
        error = self.fetch_errors.get(name)
        if path is None:
            return CatalogStatus(name, "missing", reason=self._missing_reason(name, error))
        if self.catalog_dir is not None and path.is_relative_to(self.catalog_dir):
            source = "pinned"
        else:
            source = "cache" if path.is_relative_to(self.cache_dir) else "manager"
        age = max(0, int(time.time() - path.stat().st_mtime))
        stale = source != "pinned" and age >= self.max_age and (error is not None or self.offline)
        reason = (error or "offline (MEND_OFFLINE)") if stale else None
        return CatalogStatus(name, source, str(path), age, stale, reason)

    def provenance(self) -> list[CatalogStatus]:
        return [self.status(name) for name in (*ALL_FILES, REGISTRY_NODES, *OPTIONAL_FILES)]

    def _missing_reason(self, name: str, error: str | None) -> str:
        if self.catalog_dir is not None and name != REGISTRY_NODES:
            if not self.catalog_dir.is_dir():
                return f"the catalog folder {self.catalog_dir} does not exist"
            return f"not in the catalog folder {self.catalog_dir}"
        if name == REGISTRY_NODES and not self.registry.enabled:
            return "registry look-ups are off"
        if self.offline:
            return f"offline (MEND_OFFLINE) and nothing cached in {self.cache_dir}"
        if error is not None:
            return f"the download failed ({error}) and nothing is cached in {self.cache_dir}"
        return f"not downloaded yet, nothing cached in {self.cache_dir}"

    # -- parsed -----------------------------------------------------------------------------
    def node_map(self) -> NodeMap:
        if self._node_map is None:
            with paused_gc():
                node_map = self._load(NODE_MAP, {})
                node_list = self._load(NODE_LIST, {}).get("custom_nodes", [])
                stats = self._load(STATS, {})
                registry = self._load(REGISTRY_NODES, {}).get("nodes", [])
            self._node_map = NodeMap.from_data(node_map, node_list, stats)
            self._node_map.attach_registry(r for r in registry if isinstance(r, dict))
            self._attach_channels(self._node_map)
        return self._node_map

    def _attach_channels(self, node_map: NodeMap) -> None:
        def load(channel: str, name: str, empty: Any) -> Any:
            return self._load(channel_file(channel, name), empty)

        def dev() -> NodeMap | None:
            with paused_gc():
                dev_map = load("dev", NODE_MAP, {})
                if not dev_map:
                    return None
                dev_list = load("dev", NODE_LIST, {}).get("custom_nodes", [])
                return attach_dev(node_map, NodeMap.from_data(dev_map, dev_list, load("dev", STATS, {})))

        node_map.dev_later(dev)
        with paused_gc():
            legacy = load("legacy", NODE_LIST, {}).get("custom_nodes", [])
            record_legacy(node_map, (e for e in legacy if isinstance(e, dict)))

    def model_list(self) -> ModelList:
        if self._model_list is None:
            self._model_list = ModelList(self._load(MODEL_LIST, {}).get("models", []))
        return self._model_list

    def _load(self, name: str, empty: Any) -> Any:
        path = self.path_of(name)
        if path is None:
            return empty
        try:
            with open(path, "rb") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            log.warning("mend: catalog %s is unreadable (%s); ignoring it", path, exc)
            return empty
        return data if isinstance(data, type(empty)) else empty

    # -- network ----------------------------------------------------------------------------
    async def refresh(self, session: aiohttp.ClientSession | None = None, *, force: bool = False) -> list[str]:
        """Fetch stale catalogs from the channel; returns the names that changed. Never raises on network errors."""
        if self.offline:
            return []
        wanted = (*ALL_FILES, *OPTIONAL_FILES)
        stale = [] if self.catalog_dir is not None else [n for n in wanted if force or not self.is_fresh(n)]
        registry_stale = self.registry.enabled and (force or not self.is_fresh(REGISTRY_NODES))
        if not stale and not registry_stale:
            return []
        own = session is None
        session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60, sock_connect=10))
        try:
            jobs = [self._fetch(session, n) for n in stale]
            if registry_stale:
                stale.append(REGISTRY_NODES)
                jobs.append(self._fetch_registry(session))
            results = await asyncio.gather(*jobs)
        finally:
            if own:
                await session.close()
        changed = [n for n, ok in zip(stale, results, strict=True) if ok]
        self._say_failures(stale)
        if changed:
            self._node_map = None
            self._model_list = None
        return changed

    def _failed(self, name: str, why: str) -> None:
        """Remember why ``name`` was not refreshed (``refresh`` says it once for all of them)."""
        self.fetch_errors[name] = why

    def _say_failures(self, names: list[str]) -> None:
        """One line for a refresh, however many catalogs failed: offline, five catalogs are one piece of news.

        A warning when an essential catalog has no copy at all (the report cannot name everything), else a note.
        """
        failed = [n for n in names if n in self.fetch_errors and n not in OPTIONAL_FILES]
        if not failed:
            return
        reasons = "; ".join(dict.fromkeys(self.fetch_errors[n] for n in failed))
        absent = [n for n in failed if self.path_of(n) is None]
        cached = [n for n in failed if n not in absent]
        what = [f"nothing cached for {', '.join(absent)}" if absent else "",
                f"using the cached {', '.join(cached)}" if cached else ""]
        log.log(logging.WARNING if absent else logging.INFO, "mend: could not fetch %s (%s); %s",
                ", ".join(failed), reasons, "; ".join(w for w in what if w))

    async def _fetch_registry(self, session: aiohttp.ClientSession) -> bool:
        try:
            records = await fetch_registry_list(self.registry, session)
        except UpstreamError as exc:
            self._failed(REGISTRY_NODES, exc.message)
            return False
        self.fetch_errors.pop(REGISTRY_NODES, None)
        body = json.dumps({"nodes": records}, separators=(",", ":")).encode()
        await asyncio.to_thread(replace_atomic, self.cache_dir / REGISTRY_NODES, body)
        return True

    async def _fetch(self, session: aiohttp.ClientSession, name: str) -> bool:
        target = self.cache_dir / name
        etag_file = target.with_suffix(".etag")
        headers = {}
        if target.is_file() and etag_file.is_file():
            headers["If-None-Match"] = etag_file.read_text().strip()
        try:
            async with session.get(f"{self.channel_url}/{name}", headers=headers) as resp:
                if resp.status == 304:
                    os.utime(target)
                    self.fetch_errors.pop(name, None)
                    return False
                if resp.status != 200:
                    self._failed(name, f"HTTP {resp.status}")
                    return False
                body = await resp.read()
                json.loads(body)  # never cache a broken document
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self._failed(name, unreachable_message(self.channel_url) if is_offline(exc)
                         else f"cannot reach {urlsplit(self.channel_url).hostname}: {why_failed(exc)}")
            return False
        except ValueError:
            self._failed(name, "its answer is not JSON")
            return False
        self.fetch_errors.pop(name, None)
        await asyncio.to_thread(replace_atomic, target, body)
        if resp.headers.get("ETag"):
            await asyncio.to_thread(replace_atomic, etag_file, resp.headers["ETag"].encode())
        return True
