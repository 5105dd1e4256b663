"""Did the packs Mend installed load after the restart? Each is checked once ComfyUI has started.

An install only puts files in place; ComfyUI imports the pack at its next start. Each successful
install is remembered in ``<user>/mend/import-checks.json`` (folder, registry id, what pip changed);
after the restart, when ComfyUI's server starts (all custom nodes are imported by then), every
remembered pack installed before this process started is checked:

- ``loaded``: ComfyUI lists the folder among its loaded modules; ``node_types`` are the node types
  whose ``RELATIVE_PYTHON_MODULE`` is ``custom_nodes.<folder>`` (what ComfyUI stamps on each class);
- ``import_failed``: it is not loaded; ``error`` is ComfyUI's ``Cannot import ... module for custom
  nodes: <error>`` and ``log`` the last lines of the traceback ComfyUI logged just before it (from its
  in-memory log, ``app.logger.get_logs()``). Such a pack can be rolled back (``rollback``);
- ``restart_required``: installed in this process; ComfyUI has not imported it yet.

The result stays in the file (``GET /mend/nodes/installed`` shows it) until the pack is rolled back.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..atomic_files import replace_atomic
from ..host import LoadState

PROCESS_START = time.time()  # Mend is imported while ComfyUI starts: installs after this need a restart
CHECKS_FILE = "import-checks.json"
LOG_LINES = 8
_lock = threading.Lock()


def checks_path(user_dir: Path) -> Path:
    return Path(user_dir) / "mend" / CHECKS_FILE


def read_checks(user_dir: Path) -> dict[str, dict]:
    """Remembered installs by folder (lower-case key)."""
    try:
        data = json.loads(checks_path(user_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _write(user_dir: Path, checks: Mapping[str, dict]) -> None:
    replace_atomic(checks_path(user_dir), json.dumps(checks, indent=1, sort_keys=True))


def remember_install(user_dir: Path, record: Mapping[str, Any], pip_changes: Mapping[str, Any] | None) -> None:
    """After a successful install (blocking): check this pack once ComfyUI has restarted."""
    with _lock:
        checks = read_checks(user_dir)
        checks[str(record["folder"]).lower()] = {
            "folder": record["folder"], "id": record.get("id"), "source": record.get("source"),
            "path": record.get("path"), "installed_at": time.time(), "status": "restart_required",
            "pip": dict(pip_changes or {}),
        }
        _write(user_dir, checks)


def forget(user_dir: Path, folder: str) -> dict | None:
    with _lock:
        checks = read_checks(user_dir)
        gone = checks.pop(folder.lower(), None)
        if gone is not None:
            _write(user_dir, checks)
        return gone


def import_error(log_text: str, folder: str) -> tuple[str | None, list[str]]:
    """ComfyUI's ``Cannot import <path> module for custom nodes: <error>`` for ``folder``, and the traceback's end."""
    lines = log_text.splitlines()
    marker = re.compile(r"Cannot import (.*[/\\])?" + re.escape(folder) + r" module for custom nodes: (.*)$")
    for i in range(len(lines) - 1, -1, -1):
        found = marker.search(lines[i])
        if not found:
            continue
        start = next((j for j in range(i - 1, max(-1, i - 400), -1) if lines[j].startswith("Traceback")), None)
        trace = [ln for ln in lines[start:i] if ln.strip()] if start is not None else []
        return found.group(2).strip(), trace[-LOG_LINES:]
    return None, []


def check_one(entry: dict, state: LoadState) -> dict:
    folder = str(entry["folder"])
    if folder in state.loaded_folders:
        module = f"custom_nodes.{folder}"
        types = sorted(t for t, m in state.node_modules.items() if m == module)
        return {**entry, "status": "loaded", "node_types": types, "checked_at": time.time()}
    error, trace = import_error(state.log_text, folder)
    return {**entry, "status": "import_failed", "checked_at": time.time(),
            "error": error or "ComfyUI did not load it (its import error is no longer in ComfyUI's log)",
            "log": trace}


def run_checks(user_dir: Path, state: LoadState, *, started: float | None = None) -> list[dict]:
    """Check every remembered pack installed before this process started (blocking); returns all entries."""
    started = PROCESS_START if started is None else started
    with _lock:
        checks = read_checks(user_dir)
        changed = False
        for key, entry in checks.items():
            if entry.get("status") == "restart_required" and float(entry.get("installed_at", 0)) < started:
                checks[key] = check_one(entry, state)
                changed = True
        if changed:
            _write(user_dir, checks)
        return list(checks.values())


def status_by_folder(entries: Iterable[dict]) -> dict[str, dict]:
    """What ``GET /mend/nodes/installed`` attaches to each pack (lower-case folder -> check)."""
    keep = ("status", "node_types", "error", "log", "source", "id", "checked_at")
    return {str(e["folder"]).lower(): {k: e[k] for k in keep if k in e} for e in entries}


def import_checks(mend: Any) -> list[dict]:
    """Run the pending checks when the host is a started ComfyUI (blocking); every remembered entry."""
    load_state = getattr(mend.host, "load_state", None)
    if load_state is None:
        return list(read_checks(mend.host.user_dir()).values())
    return run_checks(mend.host.user_dir(), load_state())
