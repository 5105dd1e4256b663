"""``mend.progress_text``: the prompt-scoped JSON twin of ComfyUI's binary progress text.

ComfyUI's ``PromptServer.send_progress_text(text, node_id, sid=None)`` sends a binary frame that
carries the node id and the text but not the prompt, and every caller passes ``sid=None``, so each
socket gets every prompt's text and paints it on its own node of that id. ``install(server)`` wraps
that method on the server object (same signature) for every node of every pack:

- the binary frame, unchanged, goes to the client that queued the executing prompt (its
  ``client_id``; see ``progress_recipients``); a prompt queued without one (API-only) keeps the
  broadcast, and an explicit ``sid`` is kept as given;
- then the twin goes to the same recipients:

    {"type": "mend.progress_text",
     "data": {"prompt_id", "node_id", "display_node_id", "real_node_id", "parent_node_id", "text",
              "scope": "client" | "broadcast" | "follow"}}

  and a copy (``"scope": "follow"``) to each socket that follows all prompts.

The prompt id comes from ``comfy_execution.utils.get_executing_context()`` (the node running in
this thread or task), else an explicit ``prompt_id`` argument of newer servers, else the server's
``last_prompt_id``. Node ids created inside subgraphs/expansions are resolved the way ComfyUI's
``progress_state`` does, through the prompt's ``DynamicPrompt``. When the server advertises
``supports_progress_text_metadata`` in ``/features`` it scopes progress text itself, and Mend
changes nothing.

Other extensions reach the helpers without knowing Mend's folder name (see docs/for-extension-authors.md):

    import mend_progress                    # registered in sys.modules when Mend mounts
    mend_progress.send_text("step 3 of 8")  # to the executing prompt and node
    mend_progress.progress(3, 8)            # the node's progress bar

ComfyUI is imported lazily and only from modules it has already loaded, so this module is
importable (and testable with any server-shaped object) without ComfyUI.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .progress_recipients import attach, followers, prompt_client_id

log = logging.getLogger(__name__)

EVENT = "mend.progress_text"
#: the ``/features`` flag of servers that send ``prompt_id`` with progress text themselves
FEATURE_FLAG = "supports_progress_text_metadata"
#: ``sys.modules`` name under which other extensions import the helpers
PUBLIC_MODULE = "mend_progress"
_MARK = "__mend_progress_text__"

Features = Callable[[], Mapping[str, Any]]


# -- what ComfyUI knows (each lookup degrades to "nothing" outside ComfyUI) -----------------------
def executing_context() -> Any | None:
    """ComfyUI's ``ExecutionContext(prompt_id, node_id, list_index)`` of the running node, or None."""
    try:
        from comfy_execution.utils import get_executing_context
    except ImportError:
        return None
    return get_executing_context()


def server_features() -> Mapping[str, Any]:
    """The server's ``/features`` flags (empty when ComfyUI's feature_flags module is not loaded)."""
    module = sys.modules.get("comfy_api.feature_flags")
    flags = getattr(module, "SERVER_FEATURE_FLAGS", None)
    return flags if isinstance(flags, Mapping) else {}


def dynprompt_for(prompt_id: str | None) -> Any | None:
    """The executing prompt's ``DynamicPrompt`` from ComfyUI's progress registry, if it is that prompt's."""
    module = sys.modules.get("comfy_execution.progress")  # loaded by ComfyUI; never imported here (torch)
    registry = getattr(module, "global_progress_registry", None)
    if registry is None or prompt_id is None or getattr(registry, "prompt_id", None) != prompt_id:
        return None
    return getattr(registry, "dynprompt", None)


def resolve_node_ids(node_id: str, dynprompt: Any | None) -> dict[str, str | None]:
    """``display_node_id``, ``real_node_id`` and ``parent_node_id`` as ComfyUI's progress_state sends them."""
    if dynprompt is None:
        return {"display_node_id": node_id, "real_node_id": node_id, "parent_node_id": None}
    try:
        return {
            "display_node_id": dynprompt.get_display_node_id(node_id),
            "real_node_id": dynprompt.get_real_node_id(node_id),
            "parent_node_id": dynprompt.get_parent_node_id(node_id),
        }
    except Exception:  # a registry in an unexpected shape must never break progress text
        log.debug("mend: could not resolve node id %s", node_id, exc_info=True)
        return {"display_node_id": node_id, "real_node_id": node_id, "parent_node_id": None}


# -- the twin event ---------------------------------------------------------------------------------
def twin_payload(server: Any, text: bytes | bytearray | str, node_id: Any, prompt_id: str | None = None,
                 context: Any | None = None) -> dict[str, Any]:
    """The JSON twin's data for one progress text call."""
    if context is not None:
        prompt_id = context.prompt_id  # the node running in this thread/task is the truth
    if prompt_id is None:
        prompt_id = getattr(server, "last_prompt_id", None)
    node = str(node_id)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    return {"prompt_id": prompt_id, "node_id": node, **resolve_node_ids(node, dynprompt_for(prompt_id)),
            "text": text}


def install(server: Any, *, features: Features = server_features) -> bool:
    """Wrap ``server.send_progress_text`` (once); returns False when it was already wrapped.

    With ``sid=None`` the binary frame goes to the executing prompt's client (broadcast only for a
    prompt queued without a client id); the twin goes to the same recipients, and a copy to sockets
    that follow all prompts. A server that scopes progress text itself is left alone.
    """
    original = server.send_progress_text
    if getattr(original, _MARK, False):
        return False
    signature = inspect.signature(original)
    attach(server)

    @functools.wraps(original)
    def send_progress_text(*args: Any, **kwargs: Any) -> Any:
        if features().get(FEATURE_FLAG) is True:
            return original(*args, **kwargs)
        try:
            text, node_id, prompt_id, sid = _call_args(signature, args, kwargs)
            data = twin_payload(server, text, node_id, prompt_id, executing_context())
            target = sid if sid is not None else prompt_client_id(server, data["prompt_id"])
            args, kwargs = _with_sid(signature, args, kwargs, target)
        except Exception:  # an unexpected call shape: ComfyUI's own behaviour, no twin
            log.warning("mend: could not scope progress text", exc_info=True)
            return original(*args, **kwargs)
        result = original(*args, **kwargs)
        try:
            server.send_sync(EVENT, {**data, "scope": "broadcast" if target is None else "client"}, target)
            if target is not None:
                for follower in followers(server, besides=target):
                    server.send_sync(EVENT, {**data, "scope": "follow"}, follower)
        except Exception:  # the binary frame went out; the twin must never break the caller
            log.warning("mend: could not send %s", EVENT, exc_info=True)
        return result

    setattr(send_progress_text, _MARK, True)
    send_progress_text.__signature__ = signature  # type: ignore[attr-defined]
    server.send_progress_text = send_progress_text
    return True


def _call_args(signature: inspect.Signature, args: tuple, kwargs: dict) -> tuple[Any, Any, Any, Any]:
    """(text, node_id, prompt_id, sid) of a call, by name; by ComfyUI's order if the method hides its names."""
    arguments = signature.bind(*args, **kwargs).arguments
    if "text" in arguments and "node_id" in arguments:
        return arguments["text"], arguments["node_id"], arguments.get("prompt_id"), arguments.get("sid")
    # someone wrapped it before us as (*args, **kwargs): ComfyUI's order is (text, node_id, sid)
    rest = list(args[2:])
    return (args[0] if args else kwargs.get("text"), args[1] if len(args) > 1 else kwargs.get("node_id"),
            kwargs.get("prompt_id"), kwargs.get("sid", rest[0] if rest else None))


def _with_sid(signature: inspect.Signature, args: tuple, kwargs: dict, sid: Any) -> tuple[tuple, dict]:
    """The same call addressed to ``sid`` (unchanged when ``sid`` is None)."""
    if sid is None:
        return args, kwargs
    bound = signature.bind(*args, **kwargs)
    if "sid" in signature.parameters:
        bound.arguments["sid"] = sid
        return bound.args, bound.kwargs
    if len(args) > 2:  # (*args, **kwargs) wrapper: ComfyUI's order (text, node_id, sid)
        return (*args[:2], sid, *args[3:]), kwargs
    return args, {**kwargs, "sid": sid}


# -- helpers for any extension's nodes --------------------------------------------------------------
def _server(server: Any | None) -> Any | None:
    if server is not None:
        return server
    prompt_server = getattr(sys.modules.get("server"), "PromptServer", None)
    return getattr(prompt_server, "instance", None)


def send_text(text: str, node_id: str | None = None, *, server: Any | None = None) -> bool:
    """Show ``text`` under the executing node (or ``node_id``), scoped to the executing prompt.

    Goes through ``server.send_progress_text``, so clients get ComfyUI's binary frame and Mend's
    JSON twin. Returns False (and sends nothing) when there is no server or no node to address.
    """
    server = _server(server)
    if node_id is None:
        context = executing_context()
        node_id = context.node_id if context is not None else None
    if server is None or node_id is None:
        return False
    server.send_progress_text(text, node_id)
    return True


def progress(value: float, max: float, node_id: str | None = None) -> bool:
    """Move the executing node's progress bar (ComfyUI's ``ProgressBar``, prompt id included).

    Like any ``ProgressBar`` update it raises ComfyUI's ``InterruptProcessingException`` after
    ``POST /interrupt``, so a loop that reports progress also stops when asked. Returns False
    outside ComfyUI.
    """
    utils = sys.modules.get("comfy.utils")
    if utils is None or not hasattr(utils, "ProgressBar"):
        return False
    utils.ProgressBar(max, node_id=node_id).update_absolute(value, max)
    return True


def register_public_module() -> None:
    """Make this module importable as ``mend_progress`` whatever Mend's custom_nodes folder is called."""
    sys.modules.setdefault(PUBLIC_MODULE, sys.modules[__name__])
