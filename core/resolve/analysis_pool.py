"""Analyses, bounded and off the event loop: a few helper processes (or threads), a cap, 429 beyond it.

One analysis of a 60,000-node workflow holds a CPU for seconds, and a thread would hold ComfyUI's GIL
the whole time (a 25 MB ``json.loads`` is one C call), so under load the server's event loop stalls.
``AnalysisPool`` runs analyses in ``processes`` helper processes (``analysis_worker``; the body goes
there as raw bytes and the report comes back as JSON bytes, so the server process neither parses nor
serialises them), at most one analysis per helper. With ``processes=0`` (the CLI, most tests) analyses
run in threads, as many at once as ``MEND_MAX_ANALYSES``. Either way at most ``MEND_MAX_ANALYSES_WAITING``
more wait; beyond that a request is answered at once with ``TooManyRequests`` (429, ``Retry-After``).

    pool = AnalysisPool(mend, processes=2)
    report_json = await pool.analyze_body(raw_body)    # bytes of the report, as POST /mend/analyze answers
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import pickle
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import constants
from ..errors import MendError, TooManyRequests
from ..json_input import loads_checked
from .analysis_request import AnalyzeBody
from .analysis_worker import BOOTSTRAP, FRAME, HostSnapshot, frame_head
from .target import target_from_request

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parents[1].parent


class AnalysisTooLong(MendError):
    """A workflow whose analysis outlasted ``MEND_ANALYSIS_TIMEOUT``: its helper was stopped."""

    status = 413
    code = "analysis_too_long"


class HelperFailed(MendError):
    """The analysis helper process ended unexpectedly (it is replaced for the next request)."""

    status = 503
    code = "analysis_unavailable"


@dataclass
class Answer:
    kind: str
    meta: Any
    payload: bytes

    def result(self) -> tuple[str, Any, bytes]:
        """The answer, or the helper's error raised as the ``MendError`` it was (same status and code)."""
        if self.kind == "error":
            error = MendError(self.meta["message"], field=self.meta.get("field"), **(self.meta.get("details") or {}))
            error.status, error.code = self.meta["status"], self.meta["code"]
            raise error
        return self.kind, self.meta, self.payload


class _Helper:
    """One helper process and its pipes; used by one request at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.mid_exchange = False  # a request was sent and its whole answer not yet read
        self.generation = 0

    @classmethod
    async def start(cls, snapshot: HostSnapshot) -> _Helper:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BOOTSTRAP, str(PACKAGE_ROOT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20)
        helper = cls(proc)
        try:
            await helper.send("snapshot", snapshot.to_wire())
            (await helper.receive_frame()).result()  # "ready": catalogs loaded (not counted in the timeout)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            helper.stop()
            raise HelperFailed("the analysis helper did not start; see the server log") from exc
        return helper

    async def send(self, kind: str, meta: Any = None, payload: bytes = b"") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(frame_head(kind, meta, len(payload)))
        if payload:
            self.proc.stdin.write(payload)
        await self.proc.stdin.drain()

    async def receive_frame(self) -> Answer:
        assert self.proc.stdout is not None
        header_len, payload_len = FRAME.unpack(await self.proc.stdout.readexactly(FRAME.size))
        kind, meta = pickle.loads(await self.proc.stdout.readexactly(header_len))
        payload = await self.proc.stdout.readexactly(payload_len) if payload_len else b""
        return Answer(kind, meta, payload)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()


class AnalysisPool:
    def __init__(self, mend: Any, *, processes: int = 0, running: int | None = None,
                 waiting: int | None = None) -> None:
        self.mend = mend
        self.processes = max(0, processes)
        self.running = self.processes or (running if running is not None else constants.MAX_ANALYSES)
        self.waiting = constants.MAX_ANALYSES_WAITING if waiting is None else waiting
        self._admitted = 0
        self._slots = asyncio.Semaphore(self.running)
        self._idle: list[_Helper] = []
        self._snapshot: HostSnapshot | None = None
        self._generation = 0  # helpers of an older generation hold catalogs from before a refresh
        self._seen_refresh: Any = None

    # -- the gate ------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One analysis in this process (a decision's, a search's), under the same cap: 429 beyond it."""
        self._admit()
        try:
            async with self._slots:
                yield
        finally:
            self._admitted -= 1

    def _admit(self) -> None:
        if self._admitted >= self.running + self.waiting:
            raise TooManyRequests(f"{self._admitted} analyses are running or waiting; try again shortly",
                                  retry_after=1)
        self._admitted += 1

    async def analyze_body(self, body: bytes | Callable[[], Awaitable[bytes]]) -> bytes:
        """The report of the workflow in a raw ``POST /mend/analyze`` body, as JSON bytes.

        ``body`` may be a coroutine function that reads it: it is called only once the request is
        admitted, so a refused request costs no body read at all.
        """
        self._admit()
        try:
            if callable(body):
                body = await body()
            async with self._slots:
                if self.processes:
                    return await self._in_helper(body)
                return await self._in_thread(body)
        finally:
            self._admitted -= 1

    async def _workflow_id(self, workflow_id: Any, graph_uuid: str | None) -> str | None:
        if workflow_id is None:
            return graph_uuid
        return (await asyncio.to_thread(target_from_request, self.mend.host, workflow_id)).id

    # -- threads ------------------------------------------------------------------------------------
    async def _in_thread(self, body: bytes) -> bytes:
        parsed = await asyncio.to_thread(lambda: AnalyzeBody.from_data(loads_checked(body)))
        wid = await self._workflow_id(parsed.workflow_id, parsed.graph_uuid)
        report = await self.mend.analyzer.analyze(parsed.workflow, use_registry=parsed.use_registry, workflow_id=wid)
        return await asyncio.to_thread(lambda: json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8"))

    # -- helper processes ---------------------------------------------------------------------------
    async def _in_helper(self, body: bytes) -> bytes:
        helper = await self._take()
        try:
            _, parsed, _ = await self._ask(helper, "parse", None, body)
            wid = await self._workflow_id(parsed["workflow_id"], parsed["graph_uuid"])
            decisions = await asyncio.to_thread(self.mend.manifest.resolutions, wid) if wid else {}
            _, _, report = await self._ask(helper, "analyze", {"workflow_id": wid, "decisions": decisions})
            return report
        finally:
            # a helper cut off mid-exchange (the client went away, the helper died) holds a stale answer
            if helper.mid_exchange or helper.proc.returncode is not None or helper.generation != self._generation:
                helper.stop()
            else:
                self._idle.append(helper)

    async def _ask(self, helper: _Helper, kind: str, meta: Any, payload: bytes = b"") -> tuple[str, Any, bytes]:
        helper.mid_exchange = True
        try:
            await helper.send(kind, meta, payload)
            answer = await asyncio.wait_for(helper.receive_frame(), constants.ANALYSIS_TIMEOUT)
        except asyncio.TimeoutError as exc:
            raise AnalysisTooLong(f"the workflow took longer than {constants.ANALYSIS_TIMEOUT} s to analyse; "
                                  "its analysis was stopped") from exc
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            log.error("mend: the analysis helper ended (%s); a new one starts with the next request", exc)
            raise HelperFailed("the analysis helper ended unexpectedly; try again") from exc
        helper.mid_exchange = False
        return answer.result()

    def _renew_after_refresh(self) -> None:
        """Once the server's catalog refresh changed a catalog, helpers started before it are replaced."""
        task = self.mend.extras.get("catalog_refresh")
        if task is None or not task.done() or task is self._seen_refresh:
            return
        self._seen_refresh = task
        if not task.cancelled() and task.exception() is None and task.result():
            self._generation += 1
            helpers, self._idle = self._idle, []
            for helper in helpers:
                helper.stop()

    async def _take(self) -> _Helper:
        self._renew_after_refresh()
        while self._idle:
            helper = self._idle.pop()
            if helper.proc.returncode is None:
                return helper
        if self._snapshot is None:
            self._snapshot = await asyncio.to_thread(HostSnapshot.take, self.mend)
        helper = await _Helper.start(self._snapshot)
        helper.generation = self._generation
        return helper

    async def close(self) -> None:
        """Stop the helpers (they also end by themselves when the server's pipes close)."""
        helpers, self._idle = self._idle, []
        for helper in helpers:
            helper.stop()
            with contextlib.suppress(Exception):
                await helper.proc.wait()
