"""Run one install step's subprocess (git, pip, install.py) without blocking the event loop.

The process gets its own session so a timeout or a cancel kills it *and its children* (pip's build
backends, git's remote helpers) with SIGKILL; the last few KB of its output are kept for the
failure report (``TaskError.output_tail``).

    tail = await run_step(["git", "--version"], step="clone", timeout=30)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..tasks.task_api import PermanentTaskError

TAIL_BYTES = 8 * 1024


class StepFailed(PermanentTaskError):
    """An install step failed; ``step`` names it and ``output_tail`` holds the end of its output."""

    code = "install_step_failed"

    def __init__(self, step: str, message: str, output_tail: str | None = None) -> None:
        super().__init__(f"{step}: {message}", output_tail=output_tail, step=step)
        self.step = step


class _Tail:
    """The last ``TAIL_BYTES`` of a stream, and its latest line for progress messages."""

    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * TAIL_BYTES:
            del self.data[: len(self.data) - TAIL_BYTES]

    def text(self) -> str:
        return bytes(self.data[-TAIL_BYTES:]).decode("utf-8", errors="replace").replace("\r\n", "\n")

    def last_line(self) -> str:
        lines = [s for s in bytes(self.data[-512:]).decode("utf-8", "replace").replace("\r", "\n").split("\n") if s]
        return lines[-1].strip() if lines else ""


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()


async def run_step(
    argv: Sequence[str],
    *,
    step: str,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Run ``argv``; return its output tail, or raise ``StepFailed`` (non-zero exit, timeout, not found).

    ``asyncio.CancelledError`` kills the process group, waits for it, and propagates.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd) if cwd else None,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise StepFailed(step, f"cannot run {argv[0]}: {exc}") from exc
    tail = _Tail()

    async def pump() -> int:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(4096):
            tail.add(chunk)
            if on_line is not None:
                line = tail.last_line()
                if line:
                    on_line(line)
        return await proc.wait()

    try:
        returncode = await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        _kill(proc)
        await proc.wait()
        raise StepFailed(step, f"timed out after {timeout:g} s", tail.text()) from None
    except BaseException:  # cancelled: never leave a git or pip running behind us
        _kill(proc)
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    if returncode != 0:
        raise StepFailed(step, f"{Path(argv[0]).name} exited with status {returncode}", tail.text())
    return tail.text()
