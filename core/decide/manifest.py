"""The manifest: a ``pyproject.toml`` whose ``[tool.mend]`` table records what Mend installed and decided.

Packs, model files and every per-workflow resolution live there (schema in docs/manifest.md). It is
edited with tomlkit, so a person's comments, ordering and formatting survive.

Every edit is a list of path operations (``set``/``del`` under ``[tool.mend]``). ``write`` makes it
durable in about a millisecond by appending it to the decision log (``core/decide/decision_log.py``) under
an inter-process file lock; a background thread folds the log into the TOML a moment later,
coalescing bursts: it re-parses the TOML only when another writer (a second process, a person's
editor) changed it since this process last read it (inode, size, mtime), applies the pending
records on top (so nobody's entries are dropped), writes a temp file in the same folder, fsyncs it
and ``os.replace``s it. ``tool.mend.folded`` names the last record folded, so a crash between the
replace and emptying the log never applies a record twice. Reads see the TOML plus pending records.

    m = Manifest(Path("user/mend/pyproject.toml"))
    m.record_pack("comfyui-videohelpersuite", source="registry", version="1.7.9",
                  repository="https://github.com/kosinkadink/comfyui-videohelpersuite")
    m.record_model("checkpoints", "xl/sdxl.safetensors", size=6938078334, sha256="31e3...",
                   sources=["https://huggingface.co/..."])
    m.resolutions("portraits/flux.json")   # {"nodes": {...}, "models": {...}}

All methods block (file locks, fsync): from async code call them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomlkit
from filelock import FileLock
from tomlkit.exceptions import ParseError

from ..atomic_files import fsync_dir
from ..errors import InvalidField, ManifestCorrupt
from .decision_log import DecisionLog
from .manifest_render import (
    TABLES,
    Renderer,
    RenderProcess,
    Stamp,
    _after_marker,
    _section_of,
)

try:  # the standard library's parser is ~7x faster than tomlkit: used wherever formatting is not needed
    import tomllib as _fast_toml
except ImportError:  # Python 3.10
    _fast_toml = None

log = logging.getLogger(__name__)

MODEL_STATUSES = ("resolved", "pending_download", "optional", "skipped")

Op = dict[str, Any]


def set_op(*path: str, value: Any) -> Op:
    return {"op": "set", "path": list(path), "value": value}


def del_op(*path: str) -> Op:
    return {"op": "del", "path": list(path)}


def model_key(folder: str, relpath: str) -> str:
    """The key of a model file in ``[tool.mend.models]``."""
    return f"{folder}/{relpath}"


def model_record_op(folder: str, relpath: str, *, size: int | None = None, sha256: str | None = None,
                    sources: Sequence[str] = ()) -> Op:
    """The ``[tool.mend.models]`` entry of a model file present on disk, as one operation."""
    entry = {"folder": folder, "path": relpath, "size": size, "sha256": sha256, "sources": list(sources)}
    return set_op("models", model_key(_key(folder, "folder"), _key(relpath, "path")), value=_no_none(entry))


class Manifest:
    """The manifest at ``path``, its decision log beside it (``<stem>.decisions.jsonl``) and its lock."""

    def __init__(self, path: Path, *, fold_delay: float = 0.05, autofold: bool = True) -> None:
        self.path = Path(path)
        self.log = DecisionLog(self.path.with_name(f"{self.path.stem}.decisions.jsonl"))
        self.fold_delay = fold_delay  # seconds a burst of writes may add to before the TOML is rewritten
        self.autofold = autofold
        self.fold_error: Exception | None = None  # why the last background fold failed, if it did
        self._flock = FileLock(str(self.path) + ".lock", thread_local=False)
        self._lock = threading.RLock()  # threads of this process queue here, not on the file lock
        self._fold_mutex = threading.Lock()  # one fold at a time owns the cached tomlkit document
        self._dir_ready = False
        self._temps_checked = False
        # parsing and rendering the TOML: a helper process for background folds, in-process otherwise
        self._renderer: Renderer | RenderProcess = RenderProcess(self.path) if autofold else Renderer(self.path)
        self._commit: dict | None = None  # the last render put in place, told to the renderer next time
        # [tool.mend] as plain data: the TOML at _view_stamp plus the log's records up to _view_pos
        self._view: dict = {}
        self._view_stamp: Stamp | bool | None = False  # False: never read
        self._view_pos: tuple[int, int] | None = None  # (log inode, offset read up to)
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- writing -------------------------------------------------------------------------------
    def write(self, ops: Sequence[Op], *, then: Callable[[], None] | None = None) -> None:
        """Apply ``ops`` durably (all or none). ``then`` runs under the lock right after; if it raises,
        the edit is undone and the exception propagates (a decision whose workflow write failed)."""
        ops = [_check_op(op) for op in ops]
        record = {"id": uuid.uuid4().hex, "at": round(time.time(), 3), "ops": ops}
        with self.locked():
            self._current_view()  # refuses a corrupt manifest before anything is written
            before, after = self.log.append(record)
            if then is not None:
                try:
                    then()
                except BaseException:
                    self.log.truncate(before)
                    raise
            if self._view_pos is not None and self._view_pos[1] == before:  # keep the view in step, cheaply
                for op in ops:
                    _apply_plain(self._view, op)
                self._view_pos = (self._view_pos[0], after)
        self._schedule_fold()

    def record_pack(self, pack_id: str, *, source: str, repository: str | None = None,
                    version: str | None = None, commit: str | None = None, **extra: Any) -> None:
        """An installed node pack. ``source``: ``registry`` or ``git``; ``version`` (registry) or ``commit``."""
        entry = {"source": source, "version": version, "commit": commit, "repository": repository, **extra}
        self.write([set_op("packs", _key(pack_id, "pack_id"), value=_no_none(entry))])

    def forget_pack(self, pack_id: str) -> None:
        self.write([del_op("packs", _key(pack_id, "pack_id"))])

    def record_model(self, folder: str, relpath: str, *, size: int | None = None, sha256: str | None = None,
                     sources: Sequence[str] = ()) -> None:
        """A model file present on disk: ``relpath`` inside model folder ``folder``, where it came from."""
        self.write([model_record_op(folder, relpath, size=size, sha256=sha256, sources=sources)])

    def forget_model(self, folder: str, relpath: str) -> None:
        self.write([del_op("models", model_key(folder, relpath))])

    # -- reading -------------------------------------------------------------------------------
    def data(self) -> dict:
        """``[tool.mend]`` as plain data, pending records included (a copy)."""
        with self.locked():
            return copy.deepcopy(self._current_view())

    def packs(self) -> dict[str, dict]:
        with self.locked():
            return copy.deepcopy(self._current_view().get("packs", {}))

    def models(self) -> dict[str, dict]:
        with self.locked():
            return copy.deepcopy(self._current_view().get("models", {}))

    def resolutions(self, workflow_id: str) -> dict[str, dict]:
        """``{"nodes": {type: pack id | False | {...}}, "models": {key: {...}}}`` for one workflow."""
        with self.locked():
            found = self._current_view().get("workflows", {}).get(workflow_id, {})
            return {"nodes": copy.deepcopy(found.get("nodes", {})), "models": copy.deepcopy(found.get("models", {}))}

    def workflows(self) -> list[str]:
        with self.locked():
            return sorted(self._current_view().get("workflows", {}))

    # -- folding the log into the TOML -----------------------------------------------------------
    def flush(self) -> bool:
        """Fold pending records into the TOML now; True if the file was rewritten.

        Only reading the log and the final ``os.replace`` hold the lock: parsing and rendering the TOML
        (hundreds of milliseconds for a large file) happen outside it, in the renderer.
        """
        with self._fold_mutex:
            for _ in range(5):  # another writer replaced the TOML while we rendered: render again
                with self.locked():
                    records = self.log.read()
                    log_size = self.log.size()
                    if not records:
                        return False
                    stamp = _stamp(self.path)
                    self._remove_stale_temps()
                out = self._render(records, stamp)
                base = tuple(out["base"]) if out["base"] else None
                with self.locked():
                    if _stamp(self.path) != base:
                        os.unlink(out["tmp"])
                        continue
                    view_in_step = self._view_stamp == base
                    os.replace(out["tmp"], self.path)
                    fsync_dir(self.path.parent)
                    new_stamp = _stamp(self.path)
                    self._commit = {"tmp": out["tmp"], "stamp": new_stamp}
                    cleared = self.log.size() == log_size  # nothing new arrived meanwhile
                    if cleared:
                        self.log.clear()
                    pos = self._view_pos
                    if view_in_step and pos is not None and pos[0] == self._log_inode() and pos[1] >= log_size:
                        self._view["folded"] = records[-1]["id"]  # it already holds all that was folded
                        self._view_stamp = new_stamp
                        if cleared:
                            self._view_pos = (pos[0], 0)
                    else:
                        self._view_stamp = False  # rebuilt at the next read
                    return True
            raise ManifestCorrupt(f"{self.path} keeps changing under Mend; try again", field=str(self.path))

    def _render(self, records: list[dict], stamp: Stamp | None) -> dict:
        commit, self._commit = self._commit, None
        try:
            return self._renderer.render(records, stamp, commit)
        except OSError:  # the helper process could not run: render here
            log.warning("mend: rendering %s in-process", self.path, exc_info=True)
            self._renderer = Renderer(self.path)
            return self._renderer.render(records, stamp, None)

    def warm(self) -> None:
        """Parse the TOML for folding ahead of the first decision (in the background thread)."""
        self._schedule_fold(wake=False)

    def close(self) -> None:
        """Stop the background fold and fold what is pending."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush()
        finally:
            if isinstance(self._renderer, RenderProcess):
                self._renderer.close()

    def _remove_stale_temps(self) -> None:
        """Temp files of writers killed mid-fold (a live writer's temp file is never a minute old)."""
        if self._temps_checked:
            return
        self._temps_checked = True
        for tmp in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > 60:
                    tmp.unlink()
            except OSError:
                pass

    def _schedule_fold(self, wake: bool = True) -> None:
        if not self.autofold or self._closed:
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._fold_loop, name="mend-manifest-fold", daemon=True)
                self._thread.start()
        if wake:
            self._wake.set()

    def _fold_loop(self) -> None:
        try:  # have the tomlkit document parsed before the first fold needs it
            with self._fold_mutex:
                self._render([], _stamp(self.path))
        except ManifestCorrupt:
            pass  # reported by the write that meets it
        while not self._closed:
            self._wake.wait()
            if self._closed:
                return
            time.sleep(self.fold_delay)  # let a burst of decisions land, then rewrite the TOML once
            self._wake.clear()
            try:
                self.flush()
                self.fold_error = None
            except ManifestCorrupt as exc:  # a person broke the file: keep the log, try after the next write
                self.fold_error = exc
                log.warning("mend: %s", exc.message)
            except Exception as exc:
                self.fold_error = exc
                log.exception("mend: folding the decision log into %s failed", self.path)

    # -- state ---------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """This process's threads and every other process, one at a time."""
        with self._lock:
            if not self._dir_ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._dir_ready = True
            with self._flock:
                yield

    def _current_view(self) -> dict:
        """The plain view, brought up to date cheaply: new log lines are applied incrementally; the TOML
        is re-parsed (fast parser) only when somebody else rewrote it. Raises ManifestCorrupt."""
        stamp = _stamp(self.path)
        inode, size = self._log_inode(), self.log.size()
        pos = self._view_pos
        if stamp != self._view_stamp or pos is None or pos[0] != inode or size < pos[1]:
            self._view, self._view_stamp = self._parse_plain(), stamp
            records, end = self.log.read_from(0)
            records = _after_marker(records, self._view.get("folded"))
        elif size > pos[1]:
            records, end = self.log.read_from(pos[1])
        else:
            return self._view
        for record in records:
            for op in record["ops"]:
                _apply_plain(self._view, op)
        self._view_pos = (inode, end)
        return self._view

    def _log_inode(self) -> int:
        stamp = self.log.stamp()
        return stamp[0] if stamp else 0

    def _parse_plain(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            parsed = _fast_toml.loads(text) if _fast_toml else tomlkit.parse(text).unwrap()
        except (ValueError, ParseError) as exc:
            raise ManifestCorrupt(f"{self.path} is not valid TOML: {exc}; fix or move it, Mend will not touch it",
                                  field=str(self.path)) from exc
        return _section_of(parsed, self.path)

# -- helpers --------------------------------------------------------------------------------------
def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _key(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidField(f"{name} must be a non-empty string", field=name)
    return value


def _no_none(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if v is not None}


def _check_op(op: Op) -> Op:
    path = op.get("path")
    if op.get("op") not in ("set", "del") or not isinstance(path, list) or not path:
        raise ValueError(f"not a manifest operation: {op!r}")
    if path[0] not in TABLES or not all(isinstance(p, str) and p for p in path):
        raise ValueError(f"manifest operations edit packs, models or workflows: {path!r}")
    return op


def _apply_plain(root: dict, op: Op) -> None:
    *parents, last = op["path"]
    node = root
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if op["op"] == "del":
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(op["value"])


