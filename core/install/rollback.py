"""Roll back a pack Mend installed (typically one that failed to import after the restart).

Only packs Mend itself installed (remembered by ``import_check``) can be rolled back: their folder is
removed, what pip added for them is uninstalled and what it changed is put back (``PipDeps.undo``;
what pip cannot restore is reported), and the manifest forgets the pack. ComfyUI still holds whatever
the failed import left in memory, so a restart is marked required.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..errors import NotFound
from .import_check import forget, read_checks
from .policy import check_safe_name
from .restart import mark_restart_required
from .staging import remove_tree


async def rollback_pack(mend: Any, runner: Any, folder: str) -> dict:
    """Undo the install of ``folder``; returns what was done and what pip could not restore."""
    check_safe_name(folder, "folder")
    runner.policy.check_remote_risk(mend.host.listen_addresses())
    user_dir = mend.host.user_dir()
    entry = (await asyncio.to_thread(read_checks, user_dir)).get(folder.lower())
    if entry is None:
        raise NotFound(f"Mend did not install a pack named {folder!r}; only its own installs can be rolled back",
                       field="folder")
    path = Path(mend.host.custom_nodes_dirs()[0]) / str(entry["folder"])
    async with runner.site_lock:
        await asyncio.to_thread(remove_tree, path)
        left = await runner.pip.undo(entry.get("pip") or {})
        if entry.get("id") in await asyncio.to_thread(mend.manifest.packs):
            await asyncio.to_thread(mend.manifest.forget_pack, str(entry["id"]))
        await asyncio.to_thread(forget, user_dir, folder)
    mark_restart_required(mend, {"action": "rollback", "folder": entry["folder"]})
    return {"rolled_back": entry["folder"], "removed": str(path), "pip_not_restored": left,
            "restart_required": True}
