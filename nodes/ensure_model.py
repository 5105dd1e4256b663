"""*Ensure Model*: download a model file during a prompt if it is missing, then hand its name to a loader.

The download is the panel's: Mend's ``DownloadRunner`` (same policy, ``.part`` + Range resume,
sha256 and safetensors verification) with ``run_with_retries`` and a ``LocalContext`` whose
checkpoint file sits beside the ``.part`` (the CLI's resume file, so either can finish what the
other began). It runs on the prompt's own event loop (the node is ``async``) while a watcher polls
ComfyUI's interrupt flag and reports progress: ComfyUI's progress bar (bytes) and a line of
prompt-scoped progress text (percent, MB/s, ETA). ``POST /interrupt`` cancels the download at
once; the ``.part`` and its checkpoint stay, and the next run resumes from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.host import canonical_folder
from ..core.progress_text import progress, send_text
from ._runtime import CATEGORY, current_mend, find_model, model_folder_names
from .model_source import model_url

POLL_SECONDS = 0.25  # how often the watcher looks at the interrupt flag and reports (4 texts a second)
Report = Callable[[float, "float | None", "float | None"], None]  # done, total, bytes per second


class DownloadInterrupted(Exception):
    """The prompt was interrupted; the ``.part`` and its checkpoint were kept for the next run."""


def _rate_meter() -> Any:
    from ..core.tasks.task_model import RateMeter  # the task manager's own speed meter

    return RateMeter()


@dataclass
class Progress:
    """Bytes done and total, written by the download's context, read by the watcher."""

    done: float = 0
    total: float | None = None
    rate: Any = field(default_factory=_rate_meter)

    def update(self, _task_id: str, done: float, total: float | None) -> None:
        self.done, self.total = done, total
        self.rate.add(done)


def progress_line(name: str, done: float, total: float | None, rate: float | None) -> str:
    """``x.safetensors: 42% · 12.3 MB/s · ETA 0:05 (123.4 / 290.0 MB)``"""
    mb = 1e6
    parts = []
    if total:
        parts.append(f"{min(100.0, 100 * done / total):.0f}%")
    if rate:
        parts.append(f"{rate / mb:.1f} MB/s")
        if total and done < total:
            left = int((total - done) / rate)
            parts.append(f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}" if left >= 3600
                         else f"ETA {left // 60}:{left % 60:02d}")
    sizes = f"{done / mb:.1f} / {total / mb:.1f} MB" if total else f"{done / mb:.1f} MB"
    return f"{name}: {' · '.join(parts)} ({sizes})" if parts else f"{name}: {sizes}"


async def download_watched(
    mend: Any,
    params: Mapping[str, Any],
    *,
    interrupted: Callable[[], bool],
    report: Report,
    poll: float = POLL_SECONDS,
    runner: Any = None,
    on_wait: Callable[[str], Any] | None = None,
) -> Mapping[str, Any]:
    """Run one download with the panel's engine; stop at once (keeping the ``.part``) when ``interrupted()``.

    ``report`` is called from this coroutine, never from inside the download, so it may raise (ComfyUI's
    progress hook raises on interrupt): the download is then cancelled first and the error propagates.
    While another download of the same file (the panel's, the CLI's) holds it, nothing is reported but
    one ``on_wait(why)``.
    """
    from ..core.download.engine import DownloadRunner
    from ..core.download.run import LocalContext, run_with_retries

    runner = runner or DownloadRunner(mend.host, hashes=mend.hashes)  # policy from the environment, as the panel
    final = Path(runner.target(params))
    runner.validate(params)  # refuse bad input before touching anything
    watched = Progress()
    # the CLI's resume file: a run of either finishes what the other began
    ctx = LocalContext(f"node:{final.name}", final.with_name(f".{final.name}.mend-download.json"), watched.update)
    work = asyncio.create_task(run_with_retries(runner, params, ctx))
    told = False
    try:
        while True:
            done, _ = await asyncio.wait({work}, timeout=poll)
            if done:
                return work.result()
            if interrupted():
                raise DownloadInterrupted(f"{final.name}: interrupted; the partial file is kept for the next run")
            step = ctx.steps[-1] if ctx.steps else ""
            if step.startswith("waiting"):
                if on_wait is not None and not told:
                    on_wait(step)
                told = True
                continue
            report(watched.done, watched.total, watched.rate.per_second())
    finally:
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work  # the runner flushes what it received and closes the .part


def _comfy_interrupt() -> tuple[Callable[[], bool], Callable[[], None]]:
    """ComfyUI's (is the prompt interrupted?, raise its InterruptProcessingException); no-ops outside it."""
    management = sys.modules.get("comfy.model_management")
    if management is None:
        return (lambda: False), (lambda: None)
    return management.processing_interrupted, management.throw_exception_if_processing_interrupted


class MendEnsureModel:
    """Ensure Model (Mend): downloads a model file into a model folder if it is missing, then outputs its name.

    The download uses Mend's engine (allowed hosts, https, resume from ``.part``, sha256 and safetensors
    verification) and reports progress on the node; interrupting the prompt keeps the partial file.
    """

    DESCRIPTION = ("Makes sure a model file is present before a loader needs it: if the file is missing from "
                   "the chosen model folder it is downloaded (Hugging Face repo and file, or a URL) with "
                   "progress, speed and ETA shown on the node, verified (sha256, safetensors header) and only "
                   "then put in place. Re-running with the file present costs nothing. Interrupting the "
                   "prompt stops the download; the next run resumes it. Connect file_name to a loader.")
    CATEGORY = CATEGORY
    FUNCTION = "ensure"
    RETURN_TYPES = ("COMBO", "STRING")
    RETURN_NAMES = ("file_name", "file_name_text")
    OUTPUT_TOOLTIPS = ("the file's name inside its model folder, for a loader's file list (COMBO) input",
                       "the same name as text")

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {
            "required": {
                "source": ("STRING", {"default": "", "tooltip": "a Hugging Face repo (owner/name), owner/name/"
                                      "path/to/file, or an https URL of the file"}),
                "repo_file": ("STRING", {"default": "", "tooltip": "the file inside the Hugging Face repo "
                                         "(leave empty for a URL or owner/name/path source)"}),
                "folder": (model_folder_names(), {"default": "checkpoints",
                                                  "tooltip": "the model folder the file belongs in"}),
                "file_name": ("STRING", {"default": "", "tooltip": "the name (or sub/path) inside that folder; "
                                         "empty: the source file's own name"}),
            },
            "optional": {
                "revision": ("STRING", {"default": "main", "tooltip": "Hugging Face branch, tag or commit"}),
                "sha256": ("STRING", {"default": "", "tooltip": "expected sha256 (hex); empty: Hugging Face's "
                                      "own hash is checked when it sends one"}),
                "confirm_pickle": ("BOOLEAN", {"default": False, "tooltip": ".ckpt/.pt/.pth/.bin files can run "
                                               "code when loaded: allow downloading one"}),
            },
        }

    @classmethod
    def IS_CHANGED(cls, source: str, repo_file: str, folder: str, file_name: str, **_: Any) -> str:
        """Unchanged (so cached, nothing re-runs) while the file is present; a missing file runs the node."""
        try:
            name = file_name.strip() or model_url(source, repo_file)[1]
            path = find_model(current_mend().host.model_folders(), canonical_folder(folder), name)
        except Exception:  # let the run report what is wrong
            return "unknown"
        return "present" if path is not None else "missing"

    async def ensure(self, source: str, repo_file: str, folder: str, file_name: str, revision: str = "main",
                     sha256: str = "", confirm_pickle: bool = False) -> tuple[str, str]:
        url, own_name = model_url(source, repo_file, revision)
        name = file_name.strip() or own_name
        interrupted, raise_interrupt = _comfy_interrupt()
        try:
            await ensure_model(current_mend(), url=url, folder=canonical_folder(folder), name=name, sha256=sha256,
                               confirm_pickle=confirm_pickle, interrupted=interrupted, report=node_reporter(name))
        except DownloadInterrupted:
            raise_interrupt()  # ComfyUI's own exception, so the prompt ends as "interrupted"
            raise
        return name, name


def node_reporter(name: str, say: Callable[[str], Any] = send_text) -> Report:
    """Progress to ComfyUI's bar (bytes) and, a few times a second, a line of prompt-scoped text."""
    last_text = [0.0]

    def report(done: float, total: float | None, rate: float | None) -> None:
        if total:
            progress(done, total)  # raises ComfyUI's InterruptProcessingException on interrupt
        if time.monotonic() - last_text[0] >= POLL_SECONDS:
            last_text[0] = time.monotonic()
            say(progress_line(name, done, total, rate))

    return report


async def ensure_model(mend: Any, *, url: str, folder: str, name: str, sha256: str = "", confirm_pickle: bool = False,
                       interrupted: Callable[[], bool], report: Report, say: Callable[[str], Any] = send_text,
                       runner: Any = None) -> Mapping[str, Any]:
    """The file ``name`` in ``folder``: found (and checked against ``sha256`` if given) or downloaded from ``url``."""
    from ..core.errors import InvalidField

    if "." not in name.rsplit("/", 1)[-1]:
        raise InvalidField(f"{name!r} has no file extension: fill in file_name", field="file_name")
    expected = sha256.strip().lower()
    present = find_model(mend.host.model_folders(), folder, name)
    if present is not None:
        if expected and await asyncio.to_thread(mend.hashes.digest, present) != expected:
            raise ValueError(f"{present} is present but its sha256 is not {expected}; Mend never overwrites it")
        say(f"✓ {name} is present")
        return {"path": str(present), "relpath": name, "status": "present"}
    params = {"url": url, "folder": folder, "relpath": name, "confirm_pickle": bool(confirm_pickle)}
    if expected:
        params["sha256"] = expected
    else:  # the node's contract is its file_name: one that appears meanwhile counts, as one found above does
        params["on_existing"] = "keep"
    say(f"{name}: starting download")
    try:
        result = await download_watched(mend, params, interrupted=interrupted, report=report, runner=runner,
                                        on_wait=lambda why: say(f"{name}: {why}"))
    except DownloadInterrupted:
        say(f"{name}: interrupted; the next run resumes the download")
        raise
    size = float(result.get("size") or 0)
    report(size, size or None, None)
    verified = " (sha256 verified)" if result.get("verified") else ""
    say(f"✓ {name}: {result.get('status', 'downloaded')}{verified}")
    return result
