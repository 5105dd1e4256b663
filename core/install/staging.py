"""The staging folder an install works in, beside ``custom_nodes``, and the one move that publishes it.

A pack is cloned or unpacked, gets its requirements and runs its ``install.py`` in
``<ComfyUI>/.mend-staging/<pid>-<task>/pack``; only a complete pack is renamed into
``custom_nodes/<folder>`` (one ``rename`` on the same file system). So ComfyUI, ComfyUI-Manager
and a restart never see a half-installed pack. When the folder beside ``custom_nodes`` is not
writable, ``custom_nodes/.mend-staging.disabled`` is used instead: ComfyUI skips ``*.disabled``.
Staging folders of processes that are gone are removed when the next install starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
import stat
from pathlib import Path

STAGING = ".mend-staging"


def staging_root(custom_nodes: Path) -> Path:
    parent = custom_nodes.parent
    return parent / STAGING if os.access(parent, os.W_OK) else custom_nodes / f"{STAGING}.disabled"


def _force_remove(func, path, _exc_info) -> None:  # git writes its objects read-only
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
        func(path)


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, onerror=_force_remove)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale(custom_nodes: Path) -> None:
    """Drop staging folders left by a process that died mid-install (its pid is gone)."""
    root = staging_root(custom_nodes)
    if not root.is_dir():
        return
    for entry in root.iterdir():
        m = re.match(r"^(\d+)-", entry.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            remove_tree(entry)


class Staging:
    """One install's work folder; ``pack`` is what gets published."""

    def __init__(self, custom_nodes: Path, task_id: str) -> None:
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", task_id)[:64]
        self.dir = staging_root(custom_nodes) / f"{os.getpid()}-{safe_id}"
        self.pack = self.dir / "pack"

    async def create(self) -> None:
        await asyncio.to_thread(remove_tree, self.dir)  # a retry of the same task starts clean
        self.dir.mkdir(parents=True)

    async def remove(self) -> None:
        await asyncio.to_thread(remove_tree, self.dir)
        with contextlib.suppress(OSError):
            self.dir.parent.rmdir()  # only when empty

    async def publish(self, final: Path) -> None:
        """Move the finished pack to ``final`` (which must not exist)."""
        if final.exists() or final.is_symlink():
            raise FileExistsError(f"{final} already exists")
        try:
            os.rename(self.pack, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # another file system: copy under a name ComfyUI skips, then rename in place
            temp = final.with_name(f".{final.name}.mend-partial.disabled")
            await asyncio.to_thread(shutil.copytree, self.pack, temp, symlinks=True)
            os.rename(temp, final)
