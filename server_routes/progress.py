"""Progress-text routes that need ComfyUI's ``PromptServer`` (its sockets), so only ``comfy_mount`` adds them.

    POST /mend/progress/follow  {"client_id": "<this socket's clientId>", "all": true|false}
         -> {"client_id", "all"}     404 no socket with that id, 409 too many followers
    GET  /mend/progress.js           the browser helper (``web/js/mend/progress.js``) at a fixed
                                     address, for other extensions that cannot know Mend's folder name

Following all prompts sends this socket a copy of every other prompt's ``mend.progress_text``
(``"scope": "follow"``), for the panel's "all clients" switch; it ends when the socket closes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from ..core.errors import InvalidField
from ..core.progress_recipients import set_follow
from .http import handler, json_response, read_json

HELPER_JS = Path(__file__).resolve().parents[1] / "web" / "js" / "mend" / "progress.js"


def routes(prompt_server: Any) -> list[web.RouteDef]:
    @handler
    async def follow(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidField("send an object {client_id, all}", field="body")
        client_id, follow_all = body.get("client_id"), body.get("all", True)
        if not isinstance(client_id, str) or not client_id:
            raise InvalidField("client_id must be the clientId of this page's websocket", field="client_id")
        if not isinstance(follow_all, bool):
            raise InvalidField("all must be true or false", field="all")
        set_follow(prompt_server, client_id, follow_all)
        return json_response({"client_id": client_id, "all": follow_all})

    async def helper_js(_request: web.Request) -> web.Response:
        return web.Response(text=HELPER_JS.read_text(encoding="utf-8"), content_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})

    return [web.post("/mend/progress/follow", follow), web.get("/mend/progress.js", helper_js)]
