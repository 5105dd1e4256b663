"""A read-only Comfy Registry client for look-ups (never the ``/install`` endpoint: it counts installs).

    GET /nodes?page=&limit=             every pack, paged (``registry_index`` caches the list)
    GET /comfy-nodes/{node_type}/node   which registry pack provides a node type
    GET /nodes/search?search=...        packs by text
    GET /nodes/{id}                     one pack (status, repository, latest version)
    GET /nodes/{id}/versions            its published versions (``downloadUrl``, status, compatibility)

Failures are named: ``RegistryUnreachable`` when the host cannot be reached at all (DNS failure,
refused connection, no route: one clear "are you offline?" and no retry, since trying again in a
second will not help), ``RegistryBadAnswer`` when it answers HTML or a shape that is not the API's,
``UpstreamError`` (retryable) for a 5xx or a timeout. A 404 is ``None``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from .. import constants
from ..connection_words import unreachable_message, why_failed
from ..errors import UpstreamError

log = logging.getLogger(__name__)


class RegistryUnreachable(UpstreamError):
    """DNS failure or refused connection: the registry host is out of reach (offline, wrong URL)."""

    code = "registry_unreachable"


class RegistryBadAnswer(UpstreamError):
    """The registry answered, but not with the API's JSON (an HTML error page, a proxy's login page)."""

    code = "registry_bad_answer"


def is_unreachable(exc: BaseException) -> bool:
    """Connection refused, name not resolved, network unreachable: not worth a retry."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return True
    if isinstance(exc, aiohttp.ClientConnectorError):
        return isinstance(exc.os_error, ConnectionRefusedError | socket.gaierror) or exc.os_error.errno in (
            101, 111, 113)  # ENETUNREACH, ECONNREFUSED, EHOSTUNREACH
    return isinstance(exc, ConnectionRefusedError)


class RegistryClient:
    def __init__(self, base_url: str | None = None, *, timeout: float = 8.0) -> None:
        self.base_url = (constants.REGISTRY_URL if base_url is None else base_url).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 4.0))

    @property
    def enabled(self) -> bool:
        return bool(self.base_url) and not constants.OFFLINE

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    async def _get(self, session: aiohttp.ClientSession, path: str, params: dict | None = None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            async with session.get(url, params=params, timeout=self.timeout) as resp:
                if resp.status == 404:
                    return None
                if resp.status >= 400:
                    raise UpstreamError(f"the registry answered {path} with HTTP {resp.status}",
                                        retryable=resp.status >= 500 or resp.status == 429, http_status=resp.status)
                body = await resp.read()
        except (aiohttp.ClientError, OSError) as exc:
            if is_unreachable(exc):
                raise RegistryUnreachable(unreachable_message(self.base_url), retryable=False) from exc
            raise UpstreamError(f"registry {path}: {why_failed(exc)}", retryable=True) from exc
        except asyncio.TimeoutError as exc:
            raise UpstreamError(f"registry {path}: no answer in {self.timeout.total:g} s", retryable=True) from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            start = body[:60].decode("utf-8", "replace").strip()
            raise RegistryBadAnswer(f"the registry answered {path} with something that is not JSON ({start!r}...)",
                                    retryable=False) from exc

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

    async def list_page(self, session: aiohttp.ClientSession, page: int, limit: int = 100) -> dict:
        """One page of ``GET /nodes``: ``{"nodes": [...], "page", "totalPages", ...}``."""
        found = await self._get(session, "/nodes", {"page": page, "limit": limit})
        if not isinstance(found, dict) or not isinstance(found.get("nodes"), list):
            raise RegistryBadAnswer("the registry's /nodes answer has no \"nodes\" list", retryable=False)
        return found

    async def pack(self, session: aiohttp.ClientSession, pack_id: str) -> dict | None:
        found = await self._get(session, f"/nodes/{quote(pack_id, safe='')}")
        if found is not None and not isinstance(found, dict):
            raise RegistryBadAnswer(f"the registry's answer for pack {pack_id!r} is not an object", retryable=False)
        return found

    async def versions(self, session: aiohttp.ClientSession, pack_id: str) -> list[dict] | None:
        """The pack's versions, newest first; None when the registry has no such pack."""
        found = await self._get(session, f"/nodes/{quote(pack_id, safe='')}/versions")
        if found is None:
            return None
        if isinstance(found, dict):
            found = found.get("versions")
        if not isinstance(found, list):
            raise RegistryBadAnswer(f"the registry's version list for {pack_id!r} is not a list", retryable=False)
        return [v for v in found if isinstance(v, dict)]
