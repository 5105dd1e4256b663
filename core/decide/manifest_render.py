"""Rendering the manifest's TOML: parse with tomlkit, apply decision-log records, write a fsynced temp file.

This is the CPU-heavy half of folding the decision log (hundreds of milliseconds for a large manifest,
all pure Python). Run in a thread, it would hold the GIL and make every decision written meanwhile wait
in 5 ms slices; so ``RenderProcess`` runs it in a small helper process (started on demand, exits when
its parent's pipe closes) and the manifest only waits on a pipe. ``Renderer`` is the same work
in-process, used when no helper process is wanted (synchronous ``flush``) or it cannot start.
The manifest keeps the lock, the stamp check and the ``os.replace``: the helper never replaces a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import InlineTable, Table

from ..atomic_files import write_temp
from ..errors import ManifestCorrupt

SCHEMA_VERSION = 1
TABLES = ("packs", "models", "workflows")
HEADER = (
    "Mend's manifest: node packs and model files Mend installed, and the choices made per workflow.\n"
    "Edit freely (comments and order are kept); see Mend's docs/manifest.md."
)

Stamp = tuple[int, int, int]  # (inode, size, mtime_ns): changes whenever anybody rewrites the file
Op = dict[str, Any]


class Renderer:
    """Holds the parsed document between folds; re-parses only when the file is not what it rendered."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._doc: tomlkit.TOMLDocument | None = None
        self._stamp: Stamp | None = None
        self._pending: str | None = None  # the temp file last rendered, until we hear it was committed

    def render(self, records: list[dict], stamp: Stamp | None, commit: dict | None = None) -> dict:
        """Apply ``records`` (those after the TOML's ``folded`` marker) and write a temp file.

        ``stamp``: the file's stamp now; ``commit``: ``{"tmp", "stamp"}`` when the previous render was
        put in place. Answers ``{"tmp", "base"}`` (``base``: the stamp of the content it started from).
        """
        if self._pending is not None:
            if commit and commit.get("tmp") == self._pending:
                self._stamp = tuple(commit["stamp"]) if commit.get("stamp") else None
            else:
                self._doc = None  # that render was dropped: our document is ahead of the file
            self._pending = None
        if self._doc is None or (tuple(stamp) if stamp else None) != self._stamp:
            base, text = _read_stamped(self.path)
            self._doc, self._stamp = parse_doc(self.path, text), base
        if not records:
            return {"tmp": None, "base": self._stamp}
        section = _mend_section(self._doc)
        for record in _after_marker(records, section.get("folded")):
            for op in record["ops"]:
                _apply_toml(section, op)
        section["folded"] = records[-1]["id"]
        self._pending = write_temp(self.path, self._doc.as_string())
        return {"tmp": self._pending, "base": self._stamp}


class RenderProcess:
    """A ``Renderer`` in a helper process, spoken to in JSON lines over its stdin/stdout."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def render(self, records: list[dict], stamp: Stamp | None, commit: dict | None = None) -> dict:
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"records": records, "stamp": stamp, "commit": commit}) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        if not line:
            self.close()
            raise OSError("the manifest's render helper exited")
        answer = json.loads(line)
        if "error" in answer:
            raise ManifestCorrupt(answer["error"], field=str(self.path))
        return answer

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            # Import this module by file under a private package name: the child needs neither the
            # package's install name (ComfyUI imports it from custom_nodes/<any folder>) nor its __init__.
            code = ("import sys, types; pkg = types.ModuleType('_mend_render'); pkg.__path__ = [sys.argv[1]]; "
                    "sys.modules['_mend_render'] = pkg; from _mend_render.decide import manifest_render as m; "
                    "m.serve(sys.argv[2])")
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code, str(Path(__file__).resolve().parents[1]), str(self.path)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
            )
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()  # the helper exits on end of input
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serve(path: str) -> None:
    """The helper process: one JSON request per line in, one answer per line out, until stdin closes."""
    renderer = Renderer(Path(path))
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = renderer.render(request["records"], request["stamp"], request.get("commit"))
        except ManifestCorrupt as exc:
            answer = {"error": exc.message}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def parse_doc(path: Path, text: str | None) -> tomlkit.TOMLDocument:
    """The tomlkit document of ``text`` (None: no file yet), with a [tool.mend] table."""
    if text is None:
        doc = tomlkit.document()
        for line in HEADER.splitlines():
            doc.add(tomlkit.comment(line))
    else:
        try:
            doc = tomlkit.parse(text)
        except ParseError as exc:
            raise ManifestCorrupt(f"{path} is not valid TOML: {exc}; Mend will not touch it", field=str(path)) from exc
        _section_of(doc.unwrap(), path)
    _mend_section(doc)
    return doc


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
