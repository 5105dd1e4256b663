"""Loopback stand-ins (``FakeHub``, the registry) on their own loop in a thread, for a real ComfyUI to reach."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

from ..hf_server import FakeHub
from ..registry_server import RegistryServer
from .comfyui_process import free_port


class ThreadedApp:
    """An aiohttp app served on its own loop in a thread, so a sync session (and ComfyUI) can reach it."""

    def __init__(self, app_factory: Callable[[], web.Application]) -> None:
        self._app_factory = app_factory
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self._app_factory())
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def start(self) -> ThreadedApp:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class ThreadedHub(ThreadedApp):
    """``FakeHub`` served in a thread."""

    def __init__(self) -> None:
        self.hub = FakeHub()
        super().__init__(self.hub.app)


class ThreadedRegistry(ThreadedApp):
    """``RegistryServer`` served in a thread: what ``MEND_REGISTRY_URL`` points at; it serves its own zips."""

    def __init__(self) -> None:
        self.registry = RegistryServer()
        super().__init__(self.registry.app)
        self.registry.base_url = self.endpoint
