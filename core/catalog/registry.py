"""A read-only Comfy Registry client for look-ups (never the ``/install`` endpoint: it counts installs).

    GET /comfy-nodes/{node_type}/node   which registry pack provides a node type
    GET /nodes/search?search=...        packs by text
    GET /nodes/{id}                     one pack
    GET /nodes/{id}/versions            its published versions (with ``downloadUrl``)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from .. import constants
from ..errors import UpstreamError

log = logging.getLogger(__name__)


class RegistryClient:
    def __init__(self, base_url: str | None = None, *, timeout: float = 8.0) -> None:
        self.base_url = (constants.REGISTRY_URL if base_url is None else base_url).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 4.0))

    @property
    def enabled(self) -> bool:
        return bool(self.base_url) and not constants.OFFLINE

    async def _get(self, session: aiohttp.ClientSession, path: str, params: dict | None = None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            async with session.get(url, params=params, timeout=self.timeout) as resp:
                if resp.status == 404:
                    return None
                if resp.status >= 400:
                    raise UpstreamError(f"registry {path}: HTTP {resp.status}", retryable=resp.status >= 500)
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"registry {path}: {exc.__class__.__name__}", retryable=True) from exc

    async def pack_for_node_type(self, session: aiohttp.ClientSession, node_type: str) -> dict | None:
        """The registry pack that declares ``node_type``, or None (unknown, or registry unreachable)."""
        if not self.enabled:
            return None
        try:
            found = await self._get(session, f"/comfy-nodes/{quote(node_type, safe='')}/node")
        except UpstreamError as exc:
            log.info("mend: %s", exc)
            return None
        return found if isinstance(found, dict) and found.get("id") else None

    async def search(self, session: aiohttp.ClientSession, text: str, limit: int = 10) -> list[dict]:
        found = await self._get(session, "/nodes/search", {"search": text, "limit": limit})
        nodes = (found or {}).get("nodes", []) if isinstance(found, dict) else []
        return [n for n in nodes if isinstance(n, dict)]

    async def pack(self, session: aiohttp.ClientSession, pack_id: str) -> dict | None:
        return await self._get(session, f"/nodes/{quote(pack_id, safe='')}")

    async def versions(self, session: aiohttp.ClientSession, pack_id: str) -> list[dict]:
        found = await self._get(session, f"/nodes/{quote(pack_id, safe='')}/versions")
        if isinstance(found, dict):
            found = found.get("versions", [])
        return [v for v in found or [] if isinstance(v, dict)]
