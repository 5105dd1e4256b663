""""Restart required" after an install, and the restart itself (re-exec of ComfyUI, as ComfyUI-Manager does).

A freshly installed pack's nodes load only when ComfyUI starts again. Each successful install
adds itself to ``mend.extras["restart_required"]``; the routes report that list. The restart
(``POST /mend/restart``) is offered only when ComfyUI listens on loopback addresses alone: it
answers first, then after a short delay replaces the process with a new ComfyUI started with
the same interpreter and arguments (``os.execv(sys.executable, [sys.executable] + sys.argv)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import Forbidden
from ..url_safety import listens_only_on_loopback

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0  # seconds: lets the HTTP answer and the websocket event leave first


def mark_restart_required(mend: Any, change: Mapping[str, Any]) -> None:
    mend.extras.setdefault("restart_required", []).append(dict(change))


def restart_status(mend: Any) -> dict:
    """What the routes answer: whether a restart is needed, why, and whether Mend may do it here."""
    changes = list(mend.extras.get("restart_required", []))
    return {
        "restart_required": bool(changes),
        "changes": changes,
        "can_restart": listens_only_on_loopback(mend.host.listen_addresses()),
    }


def _reexec(execv: Callable[[str, Sequence[str]], Any]) -> None:
    log.warning("mend: restarting ComfyUI: %s %s", sys.executable, " ".join(sys.argv))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or replaced stream must not stop the restart
            stream.flush()
    execv(sys.executable, [sys.executable, *sys.argv])


def schedule_restart(mend: Any, *, delay: float = RESTART_DELAY,
                     execv: Callable[[str, Sequence[str]], Any] = os.execv) -> dict:
    """Re-exec ComfyUI after ``delay`` seconds; refused unless it listens only on loopback."""
    addresses = mend.host.listen_addresses()
    if not listens_only_on_loopback(addresses):
        raise Forbidden(f"ComfyUI listens on {', '.join(addresses)}: restart it yourself (Mend restarts only "
                        "a ComfyUI that listens on loopback addresses)")
    asyncio.get_running_loop().call_later(delay, _reexec, execv)
    mend.extras["restarting"] = True
    return {"restarting": True, "delay": delay}
