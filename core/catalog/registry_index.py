"""The Comfy Registry's pack list, paged through once and cached: where packs get their registry ids.

ComfyUI-Manager's ``custom-node-list.json`` has its own ``id`` field (``vhs``, ``ipadapter``,
``essentials``) that is *not* the registry id (``comfyui-videohelpersuite``, ...). The registry's own
records carry each pack's repository URL, so ``NodeMap.attach_registry`` joins them to the catalog's
packs by URL: one pack, one identity across registry id, Manager id and every repository URL.

The list is cached as ``registry-nodes.json`` beside the other catalogs (refreshed when older than
``MEND_CATALOG_MAX_AGE``), trimmed to what identity and the compatibility check need.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .registry import RegistryClient

REGISTRY_NODES = "registry-nodes.json"
PAGE_SIZE = 100
MAX_PAGES = 500  # 50k packs: a registry that never says "last page" cannot keep Mend paging forever

#: per version: what ``install_compat`` reads
VERSION_FIELDS = ("version", "status", "deprecated", "supported_os", "supported_accelerators",
                  "supported_comfyui_version", "supported_comfyui_frontend_version")


def trim_record(node: dict[str, Any]) -> dict[str, Any]:
    """The parts of a registry ``Node`` Mend keeps (id, name, repository, status, latest version's fields)."""
    out = {k: node.get(k) for k in ("id", "name", "repository", "status") if node.get(k) is not None}
    latest = node.get("latest_version")
    if isinstance(latest, dict):
        out["latest_version"] = {k: latest[k] for k in VERSION_FIELDS if latest.get(k) is not None}
    for key in VERSION_FIELDS[3:]:  # newer registries also put the compatibility fields on the pack
        if node.get(key) is not None:
            out[key] = node[key]
    return out


async def fetch_registry_list(client: RegistryClient, session: aiohttp.ClientSession) -> list[dict]:
    """Every pack the registry lists, page by page (raises ``UpstreamError`` subclasses when it cannot)."""
    records: list[dict] = []
    page = 1
    while page <= MAX_PAGES:
        found = await client.list_page(session, page, PAGE_SIZE)
        nodes = [n for n in found["nodes"] if isinstance(n, dict)]
        records.extend(trim_record(n) for n in nodes)
        total_pages = found.get("totalPages")
        if not nodes or (isinstance(total_pages, int) and page >= total_pages):
            break
        page += 1
    return records
