"""Acting on decisions: the one place that turns what a workflow's resolutions still need into work.

Decisions say *what* (install this pack for that node type, download that file from this URL);
this hook says what of it is not done yet. Today it only reports; the download and install tasks
(``core/download.py``, ``core/install.py``) are started from here by their owners, so the CLI's
``mend resolve`` and the routes get them without changing.
"""

from __future__ import annotations

from typing import Any

from .services import Mend


def act_on_decisions(mend: Mend, workflow_id: str) -> list[dict[str, Any]]:
    """What the decisions for ``workflow_id`` still need (blocking: reads the manifest)."""
    resolutions = mend.manifest.resolutions(workflow_id)
    installed = mend.manifest.packs()
    pending: list[dict[str, Any]] = []
    for node_type, pack in resolutions["nodes"].items():
        if isinstance(pack, str) and pack not in installed:
            pending.append({"kind": "install_pack", "pack": pack, "node_type": node_type})
    for key, entry in resolutions["models"].items():
        if entry.get("status") == "pending_download":
            pending.append({"kind": "download_model", "ref": key, "folder": entry.get("folder"),
                            "path": entry.get("path"), "url": entry.get("url"), "sha256": entry.get("sha256")})
    return pending
