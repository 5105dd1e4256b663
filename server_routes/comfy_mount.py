"""Mounting Mend on a running ComfyUI: one ``Mend`` over a ``ComfyHost``, its routes on the server.

ComfyUI calls custom nodes' ``__init__`` before it builds its aiohttp app, so routes added to
``PromptServer.instance.routes`` are served both as ``/mend/...`` and ``/api/mend/...``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..core import constants, progress_text
from ..core.errors import MendError
from ..core.host_comfy import ComfyHost
from ..core.install.import_check import PROCESS_START, import_checks
from ..core.server_beacon import local_url, remove_beacon, remove_on_exit, write_beacon
from ..core.services import Mend
from . import progress as progress_routes
from . import route_defs

log = logging.getLogger("mend")


def mount(prompt_server: Any) -> Mend:
    mend = Mend.create(ComfyHost())
    mend.extras["analysis_processes"] = constants.ANALYSIS_PROCESSES  # analyses never hold ComfyUI's GIL
    for rd in route_defs(mend, progress_routes.routes(prompt_server)):
        # no **rd.kwargs: ComfyUI re-adds every route under /api without passing kwargs on, and web.get's
        # name/allow_head kwargs make that TypeError at start-up
        prompt_server.routes.route(rd.method, rd.path)(rd.handler)
    prompt_server.mend = mend
    # progress text scoped to the prompt's client, plus its mend.progress_text twin; `import mend_progress`
    progress_text.install(prompt_server)
    progress_text.register_public_module()
    prompt_server.mend_progress = progress_text
    start_on_server_loop(prompt_server, mend)
    log.info("[Mend] ready: manifest %s", mend.manifest_path)
    return mend


def start_on_server_loop(prompt_server: Any, mend: Mend) -> None:
    """Replay the task journal on ComfyUI's own loop once the server starts (interrupted downloads resume)."""

    async def start(_app: Any = None) -> None:
        try:
            await mend.start()
        except MendError as exc:  # e.g. a journal from a newer Mend: tasks stay off, the rest works
            log.error("[Mend] background tasks are off: %s", exc.message)
        else:  # this process owns the task journal now: tell `mend resolve` where to hand its work
            try:
                write_beacon(mend.state_dir, server_url())
                remove_on_exit(mend.state_dir)
            except (OSError, ImportError, AttributeError) as exc:
                log.warning("[Mend] could not write %s: %s", mend.state_dir / "server.json", exc)
        # every custom node is imported by now: did the packs Mend installed before the restart load?
        for check in await asyncio.to_thread(import_checks, mend):
            if check.get("status") == "import_failed" and check.get("checked_at", 0) >= PROCESS_START:
                log.error("[Mend] %s was installed but failed to import: %s (roll it back from the panel or "
                          "POST /mend/nodes/rollback)", check["folder"], check.get("error"))

    async def close(_app: Any) -> None:
        remove_beacon(mend.state_dir)
        await mend.close()

    try:
        prompt_server.app.on_startup.append(start)
        prompt_server.app.on_shutdown.append(close)
    except (AttributeError, RuntimeError):  # no app yet, or it already runs (frozen): use its loop directly
        asyncio.run_coroutine_threadsafe(start(), prompt_server.loop)


def server_url() -> str:
    """This ComfyUI's URL as seen from the same machine (its --listen, --port and TLS options)."""
    from comfy.cli_args import args

    return local_url(str(args.listen or "127.0.0.1"), int(args.port), tls=bool(args.tls_keyfile and args.tls_certfile))
