"""sha256 of model files, at the speed of openssl, cached by (path, size, mtime).

Hashing a 20 GB checkpoint takes a minute, so a digest is computed at most once per version of
a file: the cache key is the absolute path with its size and mtime, and the cache is a small
JSON file in Mend's cache directory. Callers run ``sha256_file`` in a thread (never on the loop).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from ..page_buffers import page_buffer

CHUNK = 4 * 1024 * 1024  # large reads keep hashlib (OpenSSL) at full speed


def sha256_file(path: Path | str, chunk_size: int = CHUNK) -> str:
    return sha256_prefix(path, None, chunk_size).hexdigest()


def sha256_prefix(path: Path | str, length: int | None, chunk_size: int = CHUNK) -> Any:
    """The running sha256 of the file's first ``length`` bytes (all when None), to finish or to go on with."""
    digest = hashlib.sha256()
    view = memoryview(page_buffer(chunk_size))
    left = length
    with open(path, "rb", buffering=0) as f:
        while left is None or left > 0:
            n = f.readinto(view if left is None or left >= chunk_size else view[:left])
            if not n:
                break
            digest.update(view[:n])
            if left is not None:
                left -= n
    return digest


class HashCache:
    """Digests by (path, size, mtime_ns); persisted atomically, safe to share between threads."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: dict[str, list] = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}

    @property
    def path(self) -> Path | None:
        """The file the cache is kept in (None: in memory only)."""
        return self._path

    def cached(self, path: Path) -> str | None:
        """The digest if known for the file as it is now, without reading it."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        entry = self._entries.get(str(path))
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            return entry[2]
        return None

    def digest(self, path: Path) -> str:
        """The file's sha256, computed only if the file changed since it was last hashed."""
        known = self.cached(path)
        if known:
            return known
        st = os.stat(path)
        value = sha256_file(path)
        self.remember(path, st.st_size, st.st_mtime_ns, value)
        return value

    def remember(self, path: Path, size: int, mtime_ns: int, value: str) -> None:
        """Record a digest computed elsewhere (a download hashes while it streams)."""
        with self._lock:
            self._entries[str(path)] = [size, mtime_ns, value]
            self._save()

    def find(self, sha256: str) -> list[Path]:
        """Files whose cached digest is ``sha256`` and that are still unchanged on disk."""
        sha256 = sha256.lower()
        return [Path(p) for p, e in list(self._entries.items()) if e[2] == sha256 and self.cached(Path(p)) == sha256]

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._entries), encoding="utf-8")
        os.replace(tmp, self._path)
