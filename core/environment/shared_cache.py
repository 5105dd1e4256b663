"""A model cache shared by many machines: files stored once by sha256, linked into each model folder.

Layout: ``<cache>/sha256/<first two hex digits>/<sha256><extension>`` (the extension keeps the
``.safetensors`` header check of the download). A Hugging Face cache (``HF_HUB_CACHE``: LFS blobs
are named by their sha256 under ``models--<org>--<name>/blobs/``) is searched as well, so a box
that already pulled a file with ``huggingface_hub`` never fetches it again.

A file is linked into a model folder, never copied: a hard link when the cache and the folder are
on one file system (the file survives even if the cache is pruned), else a symbolic link. The link
is made under a temporary name and renamed, so the final name appears complete or not at all.
Cached files are made read-only (a hard link shares the inode: a program writing a model in place
must not corrupt everyone's copy).

Machines downloading the same file at once take a per-file lock (``<sha256>.lock`` beside it):
the second waits, then finds the file there. The locks are ``flock``/``fcntl`` locks, so a killed
process releases its lock at once (on NFS this needs working ``lockd``; SMB and most FUSE volumes
support it).

    cache = SharedCache(Path("/mnt/models"))
    blob = cache.find(sha)              # or download to cache.blob_relpath(sha, "x.safetensors")
    how = cache.link(blob, final)       # "hardlink" | "symlink"
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .. import constants
from ..download.file_lock import hold_file_lock

FOLDER = "mend-shared-cache"  # the pseudo model folder the download runner writes cache files into
_LINK_FALLBACK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


def shared_cache_dir(flag: Path | str | None = None) -> Path | None:
    """The ``--shared-cache`` flag, else ``MEND_SHARED_MODEL_CACHE``; None when neither is set."""
    value = flag if flag is not None else constants.SHARED_MODEL_CACHE
    return Path(value).expanduser().resolve() if value else None


class SharedCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def blob_relpath(self, sha256: str, name: str) -> str:
        """Where the download of ``sha256`` goes, relative to the cache (a path the download runner accepts)."""
        suffix = PurePosixPath(name).suffix.lower()
        return f"sha256/{sha256[:2]}/{sha256}{suffix}"

    def find(self, sha256: str) -> Path | None:
        """A complete file with this digest, in Mend's layout or a Hugging Face cache (not verified here)."""
        sha256 = sha256.lower()
        shard = self.root / "sha256" / sha256[:2]
        if shard.is_dir():
            for entry in shard.iterdir():
                if entry.name.split(".", 1)[0] == sha256 and entry.suffix not in (".part", ".lock", ".json") \
                        and entry.is_file():
                    return entry
        if self.root.is_dir():
            for repo in self.root.glob("models--*"):
                blob = repo / "blobs" / sha256
                if blob.is_file():
                    return blob
        return None

    def lock_path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / f"{sha256}.lock"

    @contextlib.asynccontextmanager
    async def locked(self, sha256: str, cancel: threading.Event | None = None,
                     poll: float = 0.5) -> AsyncIterator[None]:
        """Hold the cache's lock for one file (other processes and machines wait); never blocks the loop."""
        path = self.lock_path(sha256)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        async with hold_file_lock(path, cancel, poll=poll):
            yield

    @staticmethod
    def seal(blob: Path) -> None:
        """Make a cached file read-only for everyone (hard links share this mode)."""
        mode = blob.stat().st_mode
        blob.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    @staticmethod
    def link(blob: Path, final: Path) -> str:
        """Link ``blob`` to ``final`` (which must not exist); returns ``"hardlink"`` or ``"symlink"``."""
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.mend-link")
        temp.unlink(missing_ok=True)
        try:
            os.link(blob, temp)
            how = "hardlink"
        except OSError as exc:
            if exc.errno not in _LINK_FALLBACK:
                raise
            os.symlink(blob.resolve(), temp)
            how = "symlink"
        os.replace(temp, final)
        return how


class CacheHost:
    """The ``Host`` face the download runner needs to write into the cache: one folder, the real policy's
    listen addresses."""

    def __init__(self, cache: SharedCache, host: Any) -> None:
        self.cache = cache
        self.host = host

    def model_folders(self) -> Mapping[str, list[Path]]:
        return {FOLDER: [self.cache.root]}

    def listen_addresses(self) -> list[str]:
        return self.host.listen_addresses()

    def models_changed(self, folder: str) -> None:
        """The cache is no model folder: the real folder is told when the link appears."""
