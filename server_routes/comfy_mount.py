"""Mounting Mend on a running ComfyUI: one ``Mend`` over a ``ComfyHost``, its routes on the server.

ComfyUI calls custom nodes' ``__init__`` before it builds its aiohttp app, so routes added to
``PromptServer.instance.routes`` are served both as ``/mend/...`` and ``/api/mend/...``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..core import progress_text
from ..core.host_comfy import ComfyHost
from ..core.services import Mend
from . import route_defs

log = logging.getLogger("mend")


def mount(prompt_server: Any) -> Mend:
    mend = Mend.create(ComfyHost())
    for rd in route_defs(mend):
        prompt_server.routes.route(rd.method, rd.path, **rd.kwargs)(rd.handler)
    prompt_server.mend = mend
    # mend.progress_text twin of send_progress_text; helpers reachable as `import mend_progress`
    progress_text.install(prompt_server)
    progress_text.register_public_module()
    prompt_server.mend_progress = progress_text
    log.info("[Mend] ready: manifest %s", mend.manifest_path)
    return mend
