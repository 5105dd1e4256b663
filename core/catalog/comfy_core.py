"""ComfyUI itself, as the catalogs name it: never a node pack to install.

ComfyUI-Manager's node map lists ComfyUI's own node types under ComfyUI's repository, and the editor
stamps them ``cnr_id: comfy-core``. Cloning ComfyUI into ``custom_nodes`` fixes nothing, so a core
repository or id is never a pack candidate and never an install (``core/install/request.py``
refuses it); a core node this ComfyUI lacks is explained instead (``core/resolve/core_nodes.py``).
Mend's own record of core node types (``core/data/core_node_schemas.json``, taken from ComfyUI
0.8.0) is a third witness beside the stamp and the map.

    >>> is_core_repository("https://github.com/Comfy-Org/ComfyUI.git"), is_core_repository("git@github.com:a/b")
    (True, False)
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ..installed_packs import normalise_repo_url

CORE_ID = "comfy-core"
#: where ComfyUI lives (the repository moved from comfyanonymous to Comfy-Org; GitHub redirects the old name)
CORE_REPOSITORIES = frozenset({"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"})
RECORDED_SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "core_node_schemas.json"


def is_core_repository(url: str | None) -> bool:
    return bool(url) and normalise_repo_url(url) in CORE_REPOSITORIES  # type: ignore[arg-type]


def is_core_id(pack_id: str | None) -> bool:
    return bool(pack_id) and pack_id.lower() == CORE_ID  # type: ignore[union-attr]


@lru_cache(maxsize=1)
def recorded_core_types() -> frozenset[str]:
    """The core node types Mend recorded from ComfyUI itself (read once)."""
    try:
        return frozenset(json.loads(RECORDED_SCHEMAS.read_text(encoding="utf-8"))["schemas"])
    except (OSError, ValueError, KeyError):
        return frozenset()
