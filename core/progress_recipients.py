"""Who receives a prompt's progress text: the client that queued it, plus sockets that follow all jobs.

ComfyUI 0.8.0 sends every execution event of a prompt (``executing``, ``progress``, ``executed``…) to
``server.client_id``, the ``client_id`` the prompt was queued with, but progress text with
``sid=None``, which ``send_bytes`` broadcasts to every socket. Mend's wrapper of
``send_progress_text`` asks ``prompt_client_id`` for the executing prompt's client and sends there.
A prompt queued without a client id (API-only) has none: its text stays a broadcast.

A socket may ask to *follow* every prompt (the panel's "all clients" switch, ``POST
/mend/progress/follow``); it then also gets a copy of each scoped twin, marked ``"scope": "follow"``.
Client ids are never sent to other clients (ComfyUI hands a reconnecting ``clientId`` its session).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

#: attribute on the server object holding the remembered prompt -> client ids and the followers
_STATE = "_mend_progress_recipients"
#: prompts whose client id is remembered after they left the queue (a thread that reports late)
REMEMBERED_PROMPTS = 256
#: sockets that may follow at once (each is a sid of a connected socket when added)
MAX_FOLLOWERS = 64


class _Recipients:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # nodes report from the prompt worker and from their own threads
        self.clients: OrderedDict[str, str | None] = OrderedDict()
        self.followers: set[str] = set()

    def remember(self, prompt_id: str, client_id: str | None) -> None:
        with self.lock:
            self.clients[prompt_id] = client_id
            self.clients.move_to_end(prompt_id)
            while len(self.clients) > REMEMBERED_PROMPTS:
                self.clients.popitem(last=False)

    def recall(self, prompt_id: str) -> str | None:
        with self.lock:
            return self.clients.get(prompt_id)


def attach(server: Any) -> _Recipients:
    """The server's recipients state, created once (``install`` calls it before any node runs)."""
    state = getattr(server, _STATE, None)
    if state is None:
        state = _Recipients()
        setattr(server, _STATE, state)
    return state


def _running_items(server: Any) -> list:
    """``PromptQueue.currently_running``'s items: ``(number, prompt_id, prompt, extra_data, outputs, …)``."""
    running = getattr(getattr(server, "prompt_queue", None), "currently_running", None)
    if not isinstance(running, dict):
        return []
    try:
        return list(running.values())  # one C-level copy under the GIL; the worker may change the dict
    except RuntimeError:
        return []


def prompt_client_id(server: Any, prompt_id: str | None) -> str | None:
    """The client id ``prompt_id`` was queued with, or None (queued without one, or unknown: broadcast)."""
    if prompt_id is None:
        return None
    state = attach(server)
    for item in _running_items(server):
        try:
            if item[1] == prompt_id:
                extra = item[3] if isinstance(item[3], dict) else {}
                client = extra.get("client_id") or None
                state.remember(prompt_id, client)
                return client
        except (IndexError, TypeError):
            continue
    if prompt_id == getattr(server, "last_prompt_id", None):
        client = getattr(server, "client_id", None) or None  # PromptExecutor.execute set it for this prompt
        state.remember(prompt_id, client)
        return client
    return state.recall(prompt_id)


def connected(server: Any, sid: str) -> bool:
    sockets = getattr(server, "sockets", None)
    return isinstance(sockets, dict) and sid in sockets


def set_follow(server: Any, sid: str, follow: bool) -> None:
    """Start or stop sending copies of every prompt's twin to the connected socket ``sid``."""
    from .errors import Conflict, NotFound

    state = attach(server)
    # a new set each time (never changed in place): senders on other threads read it without the lock
    with state.lock:
        current = {s for s in state.followers if connected(server, s)}  # forget closed sockets
        if not follow:
            state.followers = current - {sid}
            return
        if not connected(server, sid):
            raise NotFound("no websocket is connected with that client_id", field="client_id")
        if sid not in current and len(current) >= MAX_FOLLOWERS:
            raise Conflict(f"{MAX_FOLLOWERS} sockets already follow all prompts", field="client_id")
        state.followers = current | {sid}


def followers(server: Any, *, besides: str | None) -> list[str]:
    """Connected sockets that follow all prompts, except ``besides`` (the prompt's own client)."""
    return sorted(s for s in attach(server).followers if s != besides and connected(server, s))
