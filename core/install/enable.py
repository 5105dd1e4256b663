"""Enable a pack ComfyUI-Manager disabled: move it back into ``custom_nodes``, never install a second copy.

Manager disables a pack by moving it to ``custom_nodes/.disabled/<name>`` (registry packs as
``<name>@<version>``) or, in older versions, renaming it ``<name>.disabled``; enabling is the move
back (what Manager itself does). One rename: the pack is either disabled or enabled, never half-moved.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import NotFound
from ..installed_packs import InstalledPack, scan_custom_nodes
from .pack_task import PackExists
from .policy import check_safe_name


def find_disabled(custom_nodes_dirs: list[Path], folder: str) -> InstalledPack:
    for directory in custom_nodes_dirs:
        for pack in scan_custom_nodes(Path(directory)):
            if not pack.enabled and pack.name.lower() == folder.lower():
                return pack
    raise NotFound(f"no disabled pack named {folder!r} in {', '.join(str(d) for d in custom_nodes_dirs)}",
                   field="folder")


def enable_pack(custom_nodes_dirs: list[Path], folder: str) -> dict:
    """Move the disabled pack ``folder`` back to ``<custom_nodes>/<folder>``; returns where it is now."""
    check_safe_name(folder, "folder")
    pack = find_disabled(custom_nodes_dirs, folder)
    home = pack.path.parent.parent if pack.path.parent.name == ".disabled" else pack.path.parent
    target = home / pack.name
    if target.exists() or target.is_symlink():
        raise PackExists(f"{target} already exists: remove one copy before enabling the other", folder=pack.name)
    os.rename(pack.path, target)  # same file system: atomic, nothing half-moved
    return {"enabled": pack.name, "path": str(target), "from": str(pack.path)}
