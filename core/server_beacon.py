"""Where the Mend server that owns a state folder can be reached, so the CLI hands it work instead of failing.

One process at a time runs tasks from a state folder (the task journal's lock, ``core/tasks/manager.py``). A
ComfyUI with Mend takes it at start-up and writes ``server.json`` beside the journal with its loopback
URL; it removes the file when it stops (a normal shutdown, and SIGTERM, which ends ComfyUI without its
shutdown hooks). ``mend resolve`` first asks whether the lock is held: free means
nothing else runs tasks here (a stale beacon of a killed server is ignored); held with a beacon means
"queue the work on that server over HTTP"::

    write_beacon(state_dir, local_url("0.0.0.0", 8188))      # the server, once it owns the journal
    owner(state_dir)   # -> "http://127.0.0.1:8188", or None (run here), or "" (owned, no address known)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .atomic_files import replace_atomic

BEACON = "server.json"
JOURNAL_LOCK = "tasks.jsonl.lock"


def local_url(listen: str, port: int, *, tls: bool = False) -> str:
    """The URL a process on this machine uses: a wildcard or missing listen address means loopback."""
    first = (listen or "127.0.0.1").split(",")[0].strip()
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(first, first)
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"


def write_beacon(state_dir: Path, url: str) -> Path:
    path = Path(state_dir) / BEACON
    replace_atomic(path, json.dumps({"url": url, "pid": os.getpid(), "started": time.time()}) + "\n")
    return path


def remove_beacon(state_dir: Path) -> None:
    path = Path(state_dir) / BEACON
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def remove_on_exit(state_dir: Path) -> None:
    """Remove the beacon however this process ends normally: at exit, and on SIGTERM (systemd, ``docker stop``).

    SIGTERM's default ends Python without atexit or aiohttp's shutdown hooks, so the handler removes the
    beacon first and then lets the signal do what it did before (the previous handler, or the default death).
    """
    atexit.register(remove_beacon, state_dir)
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):
        return

    def on_term(signum: int, frame: object) -> None:
        remove_beacon(state_dir)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    # not the main thread: atexit and the server's shutdown hook still remove it
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, on_term)


def journal_owned(state_dir: Path) -> bool:
    """Another process holds the task journal's lock (never creates the folder)."""
    lock_path = Path(state_dir) / JOURNAL_LOCK
    if not lock_path.exists():
        return False
    lock = FileLock(str(lock_path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def owner(state_dir: Path) -> str | None:
    """The owning server's URL; ``""`` when the journal is owned but no beacon names the owner; None if free."""
    if not journal_owned(state_dir):
        return None
    try:
        url = json.loads((Path(state_dir) / BEACON).read_text(encoding="utf-8")).get("url")
    except (OSError, ValueError, AttributeError):
        return ""
    return url if isinstance(url, str) else ""
