"""Every model Mend downloads joins the manifest and settles its decisions: one listener, whoever asked.

The panel's ``POST /mend/models/download`` ("Fix all certain" too), the CLI's ``mend resolve`` (here or
handed to the server), a task resumed after a restart and a sync all end in a completed ``download``
task; recording it here (not in each caller) keeps ``freeze`` and ``sync`` honest about where every
file came from, and turns every decision waiting for that file from ``pending_download`` into
``resolved`` (``core/decide/downloaded.py``). The manifest write runs in a thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ..decide.downloaded import settle_file
from .manager import EVENT

log = logging.getLogger(__name__)


class ModelRecorder:
    """A task-manager listener; ``drain()`` waits for the records still being written."""

    def __init__(self, manifest: Any) -> None:
        self.manifest = manifest
        self._pending: set[asyncio.Future] = set()

    def __call__(self, event: str, data: Mapping[str, Any], client_id: str | None = None) -> None:
        if event != EVENT or data.get("kind") != "download" or data.get("state") != "completed":
            return
        result, params = data.get("result") or {}, data.get("params") or {}
        if result.get("recorded"):  # the runner recorded it itself, while it held the file's lock
            return
        folder, relpath = result.get("folder") or params.get("folder"), result.get("relpath") or params.get("relpath")
        if not folder or not relpath:
            return
        entry = {"size": result.get("size"), "sha256": result.get("sha256"),
                 "sources": [params["url"]] if params.get("url") else []}
        try:
            future = asyncio.get_running_loop().run_in_executor(None, self._record, folder, relpath, entry)
        except RuntimeError:  # not on a loop (a thread of a CLI run): record right here
            self._record(folder, relpath, entry)
            return
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _record(self, folder: str, relpath: str, entry: dict) -> None:
        try:
            settle_file(self.manifest, folder, relpath, **entry)
        except Exception:  # a manifest problem must not fail the download that succeeded
            log.warning("mend: could not record %s/%s in the manifest", folder, relpath, exc_info=True)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
