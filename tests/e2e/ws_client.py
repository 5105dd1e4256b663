"""One websocket client of a real ComfyUI, as a browser tab or an API script is: queues prompts, keeps every message.

``Client(comfyui, session)`` connects as ``/ws?clientId=<its id>`` and queues with that ``client_id``;
``Client(..., api_only=True)`` connects without one (the server names the socket) and queues prompts
without a ``client_id``, as scripts using only the HTTP API do.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
import uuid

import aiohttp

from .comfyui_process import ComfyUI

TEXT = 3  # BinaryEventTypes.TEXT: >I event, >I len(node_id), node_id, text
FINAL = ("execution_success", "execution_interrupted", "execution_error")


class Client:
    def __init__(self, comfyui: ComfyUI, session: aiohttp.ClientSession, *, api_only: bool = False) -> None:
        self.comfyui, self.session, self.api_only = comfyui, session, api_only
        self.id = uuid.uuid4().hex
        self.json: list[dict] = []
        self.texts: list[tuple[str, str]] = []  # binary progress text frames: (node id, text)
        self.finished: dict[str, str] = {}  # prompt id -> execution_success | execution_interrupted | ...
        self._changed = asyncio.Event()

    async def connect(self) -> None:
        query = "" if self.api_only else f"?clientId={self.id}"
        self.ws = await self.session.ws_connect(f"{self.comfyui.url}/ws{query}")
        self.reader = asyncio.create_task(self._read())
        await self.wait_for(lambda: any(m["type"] == "status" for m in self.json), timeout=30)
        if self.api_only:  # the id the server gave this socket
            self.id = next(m["data"]["sid"] for m in self.json if m["type"] == "status" and "sid" in m["data"])

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                event, = struct.unpack(">I", msg.data[:4])
                if event == TEXT:
                    n, = struct.unpack(">I", msg.data[4:8])
                    self.texts.append((msg.data[8:8 + n].decode(), msg.data[8 + n:].decode()))
            elif msg.type == aiohttp.WSMsgType.TEXT:
                body = msg.json()
                self.json.append(body)
                if body["type"] in FINAL:
                    self.finished[body["data"]["prompt_id"]] = body["type"]
            self._changed.set()

    async def queue(self, prompt: dict) -> str:
        body = {"prompt": prompt} if self.api_only else {"prompt": prompt, "client_id": self.id}
        async with self.session.post(f"{self.comfyui.url}/prompt", json=body) as r:
            answer = await r.json()
            assert r.status == 200, answer
            return answer["prompt_id"]

    async def follow_all(self, on: bool = True) -> None:
        async with self.session.post(f"{self.comfyui.url}/api/mend/progress/follow",
                                     json={"client_id": self.id, "all": on}) as r:
            assert r.status == 200, await r.text()

    async def wait_for(self, predicate, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            self._changed.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; last messages: {self.json[-5:]}"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))

    def mend_texts(self, scope: str | None = None) -> list[dict]:
        return [m["data"] for m in self.json
                if m["type"] == "mend.progress_text" and (scope is None or m["data"].get("scope") == scope)]

    def progress(self, prompt_id: str, node: str) -> list[tuple[float, float]]:
        return [(m["data"]["value"], m["data"]["max"]) for m in self.json
                if m["type"] == "progress" and m["data"]["prompt_id"] == prompt_id and m["data"]["node"] == node]

    def executed(self, prompt_id: str, node: str) -> list[dict]:
        """The ``executed`` outputs of ``node`` in ``prompt_id`` this client received."""
        return [m["data"]["output"] for m in self.json
                if m["type"] == "executed" and m["data"]["prompt_id"] == prompt_id and m["data"]["node"] == node]


async def wait_for_history(comfyui: ComfyUI, prompt_id: str, timeout: float = 120) -> dict:
    """``GET /history/<id>`` once the prompt finished (how an API-only client learns it is done)."""
    deadline = time.monotonic() + timeout
    while True:
        _status, history = comfyui.get(f"/history/{prompt_id}")
        if history and prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
            return history[prompt_id]
        assert time.monotonic() < deadline, comfyui.log()[-3000:]
        await asyncio.sleep(0.2)
