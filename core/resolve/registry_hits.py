"""The Comfy Registry's node look-up for types no catalog lists, with each answer kept for a while.

Analysis asks ``GET /comfy-nodes/{type}/node`` only for node types that nothing else placed, at most
``REGISTRY_LOOKUPS`` at once; a hit is kept a day, a miss (or no answer) ten minutes, so a workflow
analysed again does not ask again. ``bench/ranking.py --registry`` measures the same path.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from ..catalog.node_map import NodeMap, Pack
from ..catalog.registry import RegistryClient
from ..installed_packs import normalise_repo_url

REGISTRY_LOOKUPS = 8  # at most this many registry look-ups at once
REGISTRY_HIT_TTL = 24 * 3600  # a node type the registry placed in a pack is not asked again for a day
REGISTRY_MISS_TTL = 600  # nor one it did not know (or could not answer for) for ten minutes


class RegistryHits:
    """Node type -> the registry's pack, asked once per type within the TTLs."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self._seen: dict[str, tuple[float, dict | None]] = {}  # node type -> (when, the registry's answer)

    @property
    def enabled(self) -> bool:
        return self.registry.enabled

    async def lookup(self, node_types: list[str], node_map: NodeMap) -> dict[str, Pack]:
        """The registry's pack for each type it knows (the catalogs' pack when they list its repository)."""
        now = time.monotonic()
        seen = self._seen
        ask = [t for t in node_types if t not in seen or now - seen[t][0] > (
            REGISTRY_HIT_TTL if seen[t][1] else REGISTRY_MISS_TTL)]
        if ask:
            limit = asyncio.Semaphore(REGISTRY_LOOKUPS)
            async with aiohttp.ClientSession() as session:

                async def one(node_type: str) -> tuple[str, dict | None]:
                    async with limit:
                        return node_type, await self.registry.pack_for_node_type(session, node_type)

                for node_type, info in await asyncio.gather(*(one(t) for t in ask)):
                    seen[node_type] = (now, info)
        return {t: pack_from_registry(seen[t][1], node_map) for t in node_types if seen[t][1]}


def pack_from_registry(info: dict, node_map: NodeMap) -> Pack:
    """The catalogs' pack when the registry's repository (or id) is one they list, else a pack of its own."""
    repository = str(info.get("repository") or "")
    known = node_map.pack_by_registry_id(str(info["id"]))
    if known is None and repository.startswith(("http://", "https://")):
        found = node_map.pack_by_url(repository)
        known = found if found is not None and normalise_repo_url(repository) in found.aliases else None
    if known is not None:
        return known
    repository = repository or f"registry:{info['id']}"
    return Pack(
        repository=repository.lower().rstrip("/"),
        title=str(info.get("name") or info["id"]),
        id=str(info["id"]),
        author=(info.get("publisher") or {}).get("name") if isinstance(info.get("publisher"), dict) else None,
        description=info.get("description"),
        install_type="cnr",
        stars=int(info.get("github_stars") or 0),
    )
