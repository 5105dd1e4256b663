"""The manifest: a ``pyproject.toml`` whose ``[tool.mend]`` table records what Mend installed and decided.

Packs, model files and every per-workflow resolution live there (schema in the README, "Manifest and
decisions"). It is edited with tomlkit, so a person's comments, ordering and formatting survive.

Every edit is a list of path operations (``set``/``del`` under ``[tool.mend]``). ``write`` makes it
durable in about a millisecond by appending it to the decision log (``core/decision_log.py``) under
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
import tempfile
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
from tomlkit.items import InlineTable, Table

from .decision_log import DecisionLog, fsync_dir
from .errors import InvalidField, ManifestCorrupt

try:  # the standard library's parser is ~7x faster than tomlkit: used wherever formatting is not needed
    import tomllib as _fast_toml
except ImportError:  # Python 3.10
    _fast_toml = None

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TABLES = ("packs", "models", "workflows")
MODEL_STATUSES = ("resolved", "pending_download", "optional", "skipped")
HEADER = (
    "Mend's manifest: node packs and model files Mend installed, and the choices made per workflow.\n"
    "Edit freely (comments and order are kept); see the README, \"Manifest and decisions\"."
)

Stamp = tuple[int, int, int]  # (inode, size, mtime_ns): changes whenever anybody rewrites the file
Op = dict[str, Any]


def set_op(*path: str, value: Any) -> Op:
    return {"op": "set", "path": list(path), "value": value}


def del_op(*path: str) -> Op:
    return {"op": "del", "path": list(path)}


def model_key(folder: str, relpath: str) -> str:
    """The key of a model file in ``[tool.mend.models]``."""
    return f"{folder}/{relpath}"


def node_decision(value: Any) -> dict:
    """A node type's resolution as stored (pack id, ``false``, ``{status = "skipped"}``) in one JSON shape.

    >>> node_decision("comfyui-foo"), node_decision(False)
    ({'status': 'resolved', 'pack': 'comfyui-foo'}, {'status': 'optional'})
    """
    if value is False:
        return {"status": "optional"}
    if isinstance(value, str):
        return {"status": "resolved", "pack": value}
    return dict(value) if isinstance(value, dict) else {"status": "unknown", "value": value}


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
        self._doc: tomlkit.TOMLDocument | None = None
        self._doc_stamp: Stamp | None = None
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
            before = self.log.append(record)
            if then is not None:
                try:
                    then()
                except BaseException:
                    self.log.truncate(before)
                    raise
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
        entry = {"folder": folder, "path": relpath, "size": size, "sha256": sha256, "sources": list(sources)}
        self.write([set_op("models", model_key(_key(folder, "folder"), _key(relpath, "path")),
                           value=_no_none(entry))])

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
        (hundreds of milliseconds for a large file) happen outside it, so decisions stay fast meanwhile.
        """
        with self._fold_mutex:
            for _ in range(5):  # another writer replaced the TOML while we rendered: render again
                with self.locked():
                    records = self.log.read()
                    log_size = self.log.size()
                    if not records:
                        return False
                    changed = self._doc is None or _stamp(self.path) != self._doc_stamp
                    stamp, text = _read_stamped(self.path) if changed else (None, None)
                    self._remove_stale_temps()
                if changed:
                    self._doc, self._doc_stamp = self._parse_doc(text), stamp
                doc, section, doc_stamp = self._doc, _mend_section(self._doc), self._doc_stamp
                pending = _after_marker(records, section.get("folded"))
                self._doc = None  # the cached document is mid-edit until the replace succeeds
                for record in pending:
                    for op in record["ops"]:
                        _apply_toml(section, op)
                section["folded"] = records[-1]["id"]
                tmp = write_temp(self.path, doc.as_string())
                with self.locked():
                    if _stamp(self.path) != doc_stamp:
                        os.unlink(tmp)
                        continue
                    view_in_step = self._view_stamp == doc_stamp and self._view_pos is not None
                    os.replace(tmp, self.path)
                    fsync_dir(self.path.parent)
                    new_stamp = _stamp(self.path)
                    self._doc, self._doc_stamp = doc, new_stamp
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

    def warm(self) -> None:
        """Parse the TOML for folding ahead of the first decision (in the background thread)."""
        self._schedule_fold(wake=False)

    def close(self) -> None:
        """Stop the background fold and fold what is pending."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

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
        try:  # have the tomlkit document ready before the first fold needs it
            with self._fold_mutex:
                if self._doc is None:
                    with self.locked():
                        stamp, text = _read_stamped(self.path)
                    self._doc, self._doc_stamp = self._parse_doc(text), stamp
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

    def _parse_doc(self, text: str | None) -> tomlkit.TOMLDocument:
        """The tomlkit document of ``text`` (None: no file yet), with a [tool.mend] table."""
        if text is None:
            doc = tomlkit.document()
            doc.add(tomlkit.comment(HEADER.replace("\n", "\n# ")))
        else:
            try:
                doc = tomlkit.parse(text)
            except ParseError as exc:
                raise ManifestCorrupt(f"{self.path} is not valid TOML: {exc}; Mend will not touch it",
                                      field=str(self.path)) from exc
            _section_of(doc.unwrap(), self.path)
        _mend_section(doc)
        return doc


# -- helpers --------------------------------------------------------------------------------------
def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_stamped(path: Path) -> tuple[Stamp | None, str | None]:
    """The file's text and the stamp of exactly that content (None, None: no file)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            st = os.fstat(f.fileno())
            return (st.st_ino, st.st_size, st.st_mtime_ns), f.read()
    except FileNotFoundError:
        return None, None


def _mend_section(doc: tomlkit.TOMLDocument) -> Table:
    if "tool" not in doc:
        doc["tool"] = tomlkit.table(is_super_table=True)
    if "mend" not in doc["tool"]:
        section = tomlkit.table()
        section["version"] = SCHEMA_VERSION
        doc["tool"]["mend"] = section
    return doc["tool"]["mend"]


def write_temp(path: Path, text: str) -> str:
    """Write ``text`` to a fsynced temp file beside ``path`` (same file system, so replace is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _section_of(parsed: dict, path: Path) -> dict:
    tool = parsed.get("tool", {})
    section = tool.get("mend", {}) if isinstance(tool, dict) else None
    if not isinstance(section, dict):
        raise ManifestCorrupt(f"{path}: [tool.mend] must be a table", field=str(path))
    for name in TABLES:
        if not isinstance(section.get(name, {}), dict):
            raise ManifestCorrupt(f"{path}: [tool.mend.{name}] must be a table", field=str(path))
    return section


def _after_marker(records: list[dict], marker: object) -> list[dict]:
    """The records not yet folded: those after the one the TOML names as folded last."""
    for i, record in enumerate(records):
        if record.get("id") == marker:
            return records[i + 1:]
    return records


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


def _apply_toml(section: Table, op: Op) -> None:
    """Apply one operation to the tomlkit document, touching nothing it does not change."""
    *parents, last = op["path"]
    inline = parents[0] == "workflows"  # resolutions: one line per node type or model reference
    node: Any = section
    for depth, key in enumerate(parents):
        holds_tables = depth < len(parents) - 1 or not inline
        if key not in node or not isinstance(node[key], (Table, InlineTable)):
            node[key] = tomlkit.table(is_super_table=holds_tables)
        node = node[key]
    if op["op"] == "del":
        if last in node:
            del node[last]
        return
    value = op["value"]
    current = node.get(last)
    if current is not None and _unwrap(current) == value:
        return
    if isinstance(value, dict) and not inline:
        if isinstance(current, Table):  # edit in place: comments inside the entry survive
            for k in [k for k in current if k not in value]:
                del current[k]
            for k, v in value.items():
                if _unwrap(current.get(k)) != v:
                    current[k] = v
            return
        table = tomlkit.table()
        table.update(value)
        node[last] = table
    elif isinstance(value, dict):
        item = tomlkit.inline_table()
        item.update(value)
        node[last] = item
    else:
        node[last] = value


def _unwrap(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item
