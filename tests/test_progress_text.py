"""``mend.progress_text``: the JSON twin of ComfyUI's binary progress text, over a real websocket.

``PromptShapedServer`` is written here with the parts of ComfyUI's ``PromptServer`` the wrapper
touches, the way ComfyUI 0.8.0 has them: a real aiohttp websocket endpoint (``/ws?clientId=``), a
message queue drained by ``publish_loop``, a thread-safe ``send_sync`` (``call_soon_threadsafe``),
binary events framed as ``>I event`` + payload, and ``send_progress_text`` packing
``>I len(node_id)`` + node_id + text. The executing prompt is set on a real ContextVar exactly as
``comfy_execution.utils.CurrentNodeContext`` does, from a worker thread like ComfyUI's prompt worker.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import inspect
import json
import os
import struct
import sys
import threading
import types
from pathlib import Path
from typing import NamedTuple

import aiohttp
import pytest
from aiohttp import web

from mend.core import errors, progress_recipients, progress_text

TEXT = 3  # protocol.BinaryEventTypes.TEXT
EVENT = progress_text.EVENT


# -- comfy_execution.utils: the real file when a ComfyUI checkout is known, else the same three things --
class ExecutionContext(NamedTuple):
    prompt_id: str
    node_id: str
    list_index: int | None


def _stand_in_utils() -> types.ModuleType:
    module = types.ModuleType("comfy_execution.utils")
    var: contextvars.ContextVar = contextvars.ContextVar("current_executing_context", default=None)

    class CurrentNodeContext:
        def __init__(self, prompt_id: str, node_id: str, list_index: int | None = None) -> None:
            self.context = ExecutionContext(prompt_id, node_id, list_index)

        def __enter__(self):
            self.token = var.set(self.context)
            return self

        def __exit__(self, *exc):
            var.reset(self.token)

    module.ExecutionContext = ExecutionContext
    module.current_executing_context = var
    module.get_executing_context = lambda: var.get(None)
    module.CurrentNodeContext = CurrentNodeContext
    return module


@pytest.fixture
def comfy_utils(monkeypatch) -> types.ModuleType:
    """``comfy_execution.utils`` importable by name: ComfyUI's own file if COMFYUI_PATH has it."""
    try:
        import comfy_execution.utils as real

        return real
    except ImportError:
        pass
    source = Path(os.environ.get("COMFYUI_PATH", "/nonexistent")) / "comfy_execution" / "utils.py"
    if source.is_file():  # it imports only contextvars and typing
        spec = importlib.util.spec_from_file_location("comfy_execution.utils", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = _stand_in_utils()
    package = types.ModuleType("comfy_execution")
    package.__path__ = []
    package.utils = module
    monkeypatch.setitem(sys.modules, "comfy_execution", package)
    monkeypatch.setitem(sys.modules, "comfy_execution.utils", module)
    return module


# -- a server shaped like ComfyUI's PromptServer ----------------------------------------------------
class PromptShapedServer:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.messages: asyncio.Queue = asyncio.Queue()
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.client_id: str | None = None
        self.last_prompt_id: str | None = None
        self.prompt_queue = types.SimpleNamespace(currently_running={})  # number -> queue item
        self.app = web.Application()
        self.app.router.add_get("/ws", self.websocket_handler)

    async def websocket_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = request.rel_url.query.get("clientId", "")
        self.sockets[sid] = ws
        await ws.send_json({"type": "status", "data": {"sid": sid}})
        try:
            async for _ in ws:
                pass
        finally:
            self.sockets.pop(sid, None)
        return ws

    async def send(self, event, data, sid=None) -> None:
        targets = list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        for ws in targets:
            if isinstance(event, int):
                await ws.send_bytes(struct.pack(">I", event) + data)
            else:
                await ws.send_json({"type": event, "data": data})

    def send_sync(self, event, data, sid=None) -> None:
        self.loop.call_soon_threadsafe(self.messages.put_nowait, (event, data, sid))

    async def publish_loop(self) -> None:
        while True:
            await self.send(*(await self.messages.get()))

    def send_progress_text(self, text: bytes | bytearray | str, node_id: str, sid=None):
        if isinstance(text, str):
            text = text.encode("utf-8")
        node_id_bytes = str(node_id).encode("utf-8")
        self.send_sync(TEXT, struct.pack(">I", len(node_id_bytes)) + node_id_bytes + text, sid)


class NewerServer(PromptShapedServer):
    """A newer ComfyUI's signature: an explicit ``prompt_id`` before ``sid``."""

    def send_progress_text(self, text, node_id, prompt_id=None, sid=None):
        super().send_progress_text(text, node_id, sid)


def binary_text(node_id: str, text: str) -> bytes:
    node = node_id.encode()
    return struct.pack(">I", TEXT) + struct.pack(">I", len(node)) + node + text.encode()


@pytest.fixture
async def served(aiohttp_server):
    """Start a server of the given class with its publish loop; returns (server, connect(sid))."""
    publishers: list[asyncio.Task] = []

    async def start(cls=PromptShapedServer):
        server = cls(asyncio.get_running_loop())
        http = await aiohttp_server(server.app)
        publishers.append(asyncio.create_task(server.publish_loop()))
        session = aiohttp.ClientSession()
        publishers.append(session)

        async def connect(sid: str) -> aiohttp.ClientWebSocketResponse:
            ws = await session.ws_connect(http.make_url(f"/ws?clientId={sid}"))
            assert (await ws.receive_json())["type"] == "status"
            return ws

        return server, connect

    yield start
    for item in publishers:
        if isinstance(item, asyncio.Task):
            item.cancel()
        else:
            await item.close()


async def in_worker(fn) -> None:
    """Run ``fn`` in a separate thread, as ComfyUI's prompt worker runs nodes."""
    error: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    await asyncio.to_thread(thread.join)
    if error:
        raise error[0]


async def next_frames(ws, n: int) -> list:
    out = []
    for _ in range(n):
        msg = await asyncio.wait_for(ws.receive(), 10)
        out.append(msg.data if msg.type == aiohttp.WSMsgType.BINARY else json.loads(msg.data))
    return out


async def test_binary_frame_unchanged_and_twin_carries_the_executing_prompt(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    server.last_prompt_id = "older-prompt"
    assert progress_text.install(server, features=dict) is True

    def node_body():
        with comfy_utils.CurrentNodeContext("prompt-1", "7", None):
            server.send_progress_text("42% · 3.1 MB/s", "7")

    await in_worker(node_body)
    twin = {"type": "mend.progress_text", "data": {
        "prompt_id": "prompt-1", "node_id": "7", "display_node_id": "7", "real_node_id": "7",
        "parent_node_id": None, "text": "42% · 3.1 MB/s", "scope": "broadcast"}}
    for ws in (a, b):  # a prompt nobody queued with a client id: both frames go to every client
        assert await next_frames(ws, 2) == [binary_text("7", "42% · 3.1 MB/s"), twin]


async def test_sid_limits_both_frames_to_that_client(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    progress_text.install(server, features=dict)

    def node_body():
        with comfy_utils.CurrentNodeContext("prompt-2", "3", None):
            server.send_progress_text(b"bytes text", "3", sid="client-b")
        server.send_sync("marker", {}, None)

    await in_worker(node_body)
    frames = await next_frames(b, 3)
    assert frames[0] == binary_text("3", "bytes text")
    assert frames[1]["data"]["prompt_id"] == "prompt-2" and frames[1]["data"]["text"] == "bytes text"
    assert await next_frames(a, 1) == [{"type": "marker", "data": {}}]  # nothing else reached client-a


async def test_outside_a_node_the_last_prompt_id_is_used(served, comfy_utils):
    server, connect = await served()
    a = await connect("client-a")
    server.last_prompt_id = "prompt-last"
    progress_text.install(server, features=dict)
    server.send_progress_text("hello", "12:5")
    _binary, twin = await next_frames(a, 2)
    assert (twin["data"]["prompt_id"], twin["data"]["node_id"]) == ("prompt-last", "12:5")


async def test_server_that_scopes_progress_text_itself_gets_no_twin(served, comfy_utils):
    server, connect = await served()
    a = await connect("client-a")
    progress_text.install(server, features=lambda: {progress_text.FEATURE_FLAG: True})

    def node_body():
        with comfy_utils.CurrentNodeContext("prompt-3", "1", None):
            server.send_progress_text("once", "1")
        server.send_sync("marker", {}, None)

    await in_worker(node_body)
    assert await next_frames(a, 2) == [binary_text("1", "once"), {"type": "marker", "data": {}}]


async def test_newer_signature_with_prompt_id_is_kept(served, comfy_utils):
    server, connect = await served(NewerServer)
    a = await connect("client-a")
    before = inspect.signature(server.send_progress_text)
    progress_text.install(server, features=dict)
    assert inspect.signature(server.send_progress_text) == before
    server.send_progress_text("given", "4", prompt_id="explicit-prompt", sid="client-a")
    _binary, twin = await next_frames(a, 2)
    assert twin["data"]["prompt_id"] == "explicit-prompt"


async def test_install_is_idempotent(served, comfy_utils):
    server, connect = await served()
    a = await connect("client-a")
    assert progress_text.install(server, features=dict) is True
    assert progress_text.install(server, features=dict) is False
    server.send_progress_text("x", "1")
    server.send_sync("marker", {}, None)
    frames = await next_frames(a, 3)
    assert [f["type"] if isinstance(f, dict) else "binary" for f in frames] == ["binary", EVENT, "marker"]


async def test_send_text_helper_addresses_the_executing_node(served, comfy_utils):
    server, connect = await served()
    a = await connect("client-a")
    progress_text.install(server, features=dict)
    assert progress_text.send_text("no node here", server=server) is False

    def node_body():
        with comfy_utils.CurrentNodeContext("prompt-4", "9", None):
            assert progress_text.send_text("from a helper", server=server) is True

    await in_worker(node_body)
    binary, twin = await next_frames(a, 2)
    assert binary == binary_text("9", "from a helper")
    assert (twin["data"]["prompt_id"], twin["data"]["node_id"]) == ("prompt-4", "9")



class EphemeralPrompt:
    """The three lookups of ComfyUI's ``DynamicPrompt`` over its ephemeral maps (expanded nodes)."""

    def __init__(self) -> None:
        self.ephemeral_parents: dict[str, str] = {}
        self.ephemeral_display: dict[str, str] = {}

    def add_ephemeral_node(self, node_id: str, parent_id: str, display_id: str) -> None:
        self.ephemeral_parents[node_id] = parent_id
        self.ephemeral_display[node_id] = display_id

    def get_real_node_id(self, node_id):
        while node_id in self.ephemeral_parents:
            node_id = self.ephemeral_parents[node_id]
        return node_id

    def get_parent_node_id(self, node_id):
        return self.ephemeral_parents.get(node_id)

    def get_display_node_id(self, node_id):
        while node_id in self.ephemeral_display:
            node_id = self.ephemeral_display[node_id]
        return node_id


def test_expanded_node_ids_resolve_like_progress_state():
    prompt = EphemeralPrompt()
    prompt.add_ephemeral_node("12:5.0.1", parent_id="12:5", display_id="12:5")
    prompt.add_ephemeral_node("12:5.0.1.2", parent_id="12:5.0.1", display_id="12:5.0.1")
    assert progress_text.resolve_node_ids("12:5.0.1.2", prompt) == {
        "display_node_id": "12:5", "real_node_id": "12:5", "parent_node_id": "12:5.0.1"}
    assert progress_text.resolve_node_ids("4", None) == {
        "display_node_id": "4", "real_node_id": "4", "parent_node_id": None}


def test_twin_reads_the_registry_of_its_own_prompt_only(monkeypatch):
    prompt = EphemeralPrompt()
    prompt.add_ephemeral_node("8.1", parent_id="8", display_id="8")
    registry = types.SimpleNamespace(prompt_id="p-now", dynprompt=prompt)
    monkeypatch.setitem(sys.modules, "comfy_execution.progress",
                        types.SimpleNamespace(global_progress_registry=registry))
    server = types.SimpleNamespace(last_prompt_id=None)
    now = progress_text.twin_payload(server, "t", "8.1", context=ExecutionContext("p-now", "8.1", None))
    assert (now["display_node_id"], now["real_node_id"], now["parent_node_id"]) == ("8", "8", "8")
    other = progress_text.twin_payload(server, "t", "8.1", context=ExecutionContext("p-old", "8.1", None))
    assert other["display_node_id"] == "8.1"  # another prompt's registry says nothing about this one


def test_public_module_name(monkeypatch):
    monkeypatch.delitem(sys.modules, progress_text.PUBLIC_MODULE, raising=False)
    progress_text.register_public_module()
    import mend_progress

    assert mend_progress.send_text is progress_text.send_text and mend_progress.progress is progress_text.progress


# -- recipients: the client that queued the executing prompt ---------------------------------------
def queue_item(prompt_id: str, client_id: str | None) -> tuple:
    """A ``PromptQueue`` item as ComfyUI 0.8.0 keeps it: (number, prompt_id, prompt, extra_data, outputs, sensitive)."""
    return (0, prompt_id, {}, {"client_id": client_id} if client_id else {}, [], {})


def sends(comfy_utils, server, prompt_id: str, node_id: str, *texts: str):
    """A node of ``prompt_id`` sending ``texts`` with ``sid=None``, as every ComfyUI caller does, then a marker."""

    def body():
        with comfy_utils.CurrentNodeContext(prompt_id, node_id, None):
            for text in texts:
                server.send_progress_text(text, node_id)
        server.send_sync("marker", {}, None)

    return body


async def frames_until_marker(ws) -> list:
    out = []
    while True:
        (frame,) = await next_frames(ws, 1)
        if frame == {"type": "marker", "data": {}}:
            return out
        out.append(frame)


async def test_the_executing_prompts_client_alone_gets_both_frames(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    progress_text.install(server, features=dict)
    server.last_prompt_id, server.client_id = "prompt-a", "client-a"  # as PromptExecutor.execute sets them
    await in_worker(sends(comfy_utils, server, "prompt-a", "1", "a: 10%", "a: 90%"))
    got = await frames_until_marker(a)
    assert got[0::2] == [binary_text("1", "a: 10%"), binary_text("1", "a: 90%")]
    assert [(t["data"]["prompt_id"], t["data"]["text"], t["data"]["scope"]) for t in got[1::2]] == [
        ("prompt-a", "a: 10%", "client"), ("prompt-a", "a: 90%", "client")]
    assert await frames_until_marker(b) == []  # same node id 1 in b's graph: nothing to paint there


async def test_the_queue_item_names_the_client_of_a_prompt_that_is_not_the_last(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    progress_text.install(server, features=dict)
    server.last_prompt_id, server.client_id = "prompt-a", "client-a"
    server.prompt_queue.currently_running[7] = queue_item("prompt-b", "client-b")
    await in_worker(sends(comfy_utils, server, "prompt-b", "1", "b text"))
    assert await frames_until_marker(a) == []
    binary, twin = await frames_until_marker(b)
    assert binary == binary_text("1", "b text") and twin["data"]["prompt_id"] == "prompt-b"
    # remembered after it left the queue: a thread reporting late still reaches the right client
    server.prompt_queue.currently_running.clear()
    await in_worker(sends(comfy_utils, server, "prompt-b", "1", "late"))
    assert await frames_until_marker(a) == [] and len(await frames_until_marker(b)) == 2


async def test_a_prompt_queued_without_client_id_is_still_broadcast(served, comfy_utils):
    server, connect = await served()
    a, api = await connect("client-a"), await connect("api-reader")
    progress_text.install(server, features=dict)
    server.last_prompt_id, server.client_id = "prompt-api", None  # POST /prompt without client_id
    await in_worker(sends(comfy_utils, server, "prompt-api", "5", "api text"))
    for ws in (a, api):
        binary, twin = await frames_until_marker(ws)
        assert binary == binary_text("5", "api text") and twin["data"]["scope"] == "broadcast"


async def test_a_follower_gets_a_labelled_twin_and_no_binary_frame(served, comfy_utils):
    server, connect = await served()
    a, watcher = await connect("client-a"), await connect("watcher")
    progress_text.install(server, features=dict)
    progress_recipients.set_follow(server, "watcher", True)
    server.last_prompt_id, server.client_id = "prompt-a", "client-a"
    await in_worker(sends(comfy_utils, server, "prompt-a", "1", "a text"))
    assert [f["data"]["scope"] if isinstance(f, dict) else "binary" for f in await frames_until_marker(a)] == [
        "binary", "client"]
    (copy,) = await frames_until_marker(watcher)
    assert copy["data"] == {**copy["data"], "prompt_id": "prompt-a", "text": "a text", "scope": "follow"}
    assert "client-a" not in json.dumps(copy)  # another client's id is never handed out
    progress_recipients.set_follow(server, "watcher", False)
    await in_worker(sends(comfy_utils, server, "prompt-a", "1", "again"))
    assert len(await frames_until_marker(a)) == 2 and await frames_until_marker(watcher) == []


async def test_following_needs_a_connected_socket(served):
    server, connect = await served()
    await connect("here")
    with pytest.raises(errors.NotFound):
        progress_recipients.set_follow(server, "not-connected", True)
    progress_recipients.set_follow(server, "here", True)
    assert progress_recipients.followers(server, besides=None) == ["here"]
    assert progress_recipients.followers(server, besides="here") == []


async def test_a_server_that_scopes_text_itself_is_left_alone(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    progress_text.install(server, features=lambda: {progress_text.FEATURE_FLAG: True})
    server.last_prompt_id, server.client_id = "prompt-a", "client-a"
    await in_worker(sends(comfy_utils, server, "prompt-a", "1", "as is"))
    for ws in (a, b):  # this stand-in broadcasts: Mend changed neither recipients nor frames
        assert await frames_until_marker(ws) == [binary_text("1", "as is")]


async def test_an_earlier_args_kwargs_wrapper_still_gets_the_client(served, comfy_utils):
    server, connect = await served()
    a, b = await connect("client-a"), await connect("client-b")
    inner = server.send_progress_text
    seen: list[tuple] = []

    def other_packs_wrapper(*args, **kwargs):
        seen.append((args, kwargs))
        return inner(*args, **kwargs)

    server.send_progress_text = other_packs_wrapper
    progress_text.install(server, features=dict)
    server.last_prompt_id, server.client_id = "prompt-a", "client-a"
    await in_worker(sends(comfy_utils, server, "prompt-a", "1", "wrapped"))
    assert seen == [(("wrapped", "1"), {"sid": "client-a"})]
    assert len(await frames_until_marker(a)) == 2 and await frames_until_marker(b) == []
