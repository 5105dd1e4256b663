"""Model downloads: stream to ``<name>.part``, resume with Range, verify, then rename into place.

``DownloadRunner`` is the task manager's runner of kind ``"download"`` (see ``task_api``). One run:

1. checks the request against the policy (folder, path, host, https, pickle confirmation, remote risk),
   and, on its first attempt, asks a link that is not Hugging Face's what it would send
   (``core/catalog/link_check.py``): a login page, a 404, a web page or a file of the wrong kind ends
   the task at once with that named error instead of being retried;
2. resumes from the ``.part`` file's size (HTTP ``Range`` + ``If-Range``) only when the part's recorded
   provenance matches (``part_provenance``: source, validators, size, first bytes), else starts over;
   the part's bytes are hashed once, then the rest is hashed while it streams;
3. streams off the event loop (``download_stream``): one thread receives with ``http.client`` into a
   few preallocated buffers, a second writes and hashes them; at most half a chunk of received bytes
   is ever not yet on disk, so memory stays flat and a kill loses less than one chunk (what was held
   here plus the kernel's socket buffers); the loop only awaits the end, so it never carries bytes;
4. verifies the sha256 when one is known (the request's, or Hugging Face's ``X-Linked-Etag``) and
   the ``.safetensors`` header, then ``os.replace``s the part to its final name and tells the host.

A dropped connection, a 5xx or a 429 raise ``RetryableTaskError`` (the part stays, the next attempt
resumes); a hash mismatch, a bad header, a 4xx or a lying server raise ``PermanentTaskError`` and
remove the part, so nothing ever appears under the final name unverified.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import http.client
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic_files import fsync_dir
from ..catalog.hashing import HashCache, sha256_prefix
from ..catalog.huggingface import parse_hf_url
from ..catalog.link_check import LinkChecker
from ..catalog.source_policy import DownloadPolicy, check_relpath, target_path
from ..decide.downloaded import settle_file
from ..decide.existing_target import ExistingFile, judge_existing
from ..decide.manifest import model_key
from ..errors import InvalidField, MendError
from ..host import Host
from ..tasks.task_api import PermanentTaskError, RetryableTaskError, TaskContext
from .file_lock import file_lock_if_free, hold_file_lock
from .http import Opened, linked_file, open_download, raise_for_status, to_mirror
from .part_provenance import HEAD_BYTES, Provenance, changed_at_source, discard, resume_offset, sidecar
from .safetensors_header import InvalidSafetensors
from .safetensors_header import read_header as read_safetensors_header
from .stream import (
    BUFFERS,
    MAX_UNIT,
    BodyReader,
    Control,
    ReceiveFailed,
    Sink,
    Stopped,
    StoreFailed,
    run_transfer,
    store_body,
)

log = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024  # the unit of loss: at most this many received bytes are not yet on disk
DISK_RESERVE = 16 * 1024 * 1024  # keep this much free beyond the file itself
CHECKPOINT_EVERY = 1.0  # seconds between checkpoints (the manager throttles too)


class HashMismatch(PermanentTaskError):
    code = "hash_mismatch"


class InvalidModelFile(PermanentTaskError):
    code = "invalid_file"


class DiskFull(PermanentTaskError):
    code = "disk_full"


class TargetExists(PermanentTaskError):
    """The final name holds a file not known to be this source's: the user keeps, renames or replaces."""

    code = "file_exists"


class InconsistentServer(PermanentTaskError):
    """The server's sizes or ranges contradict each other (a lying ``Content-Length``)."""

    code = "inconsistent_server"


@dataclass(frozen=True)
class DownloadRequest:
    """What to fetch and where it goes; built from task params by ``from_params``."""

    url: str
    folder: str
    relpath: str
    sha256: str | None = None
    size: int | None = None
    confirm_pickle: bool = False
    catalogued: bool = False  # the URL came from a catalog (Manager's list, Hugging Face), not pasted
    on_existing: str | None = None  # a file not known to be this one under the name: "keep" it or "replace" it

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DownloadRequest:
        sha = params.get("sha256")
        if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
            raise InvalidField("sha256 must be 64 hex digits", field="sha256")
        size = params.get("size")
        on_existing = params.get("on_existing")
        if on_existing not in (None, "keep", "replace"):
            raise InvalidField("on_existing must be keep or replace (rename is a new relpath)", field="on_existing")
        return cls(
            url=str(params.get("url") or ""),
            folder=str(params.get("folder") or ""),
            relpath=check_relpath(params.get("relpath") or params.get("filename")),
            sha256=sha.lower() if sha else None,
            size=int(size) if isinstance(size, int) and size >= 0 else None,
            confirm_pickle=params.get("confirm_pickle") is True,
            catalogued=params.get("catalogued") is True,
            on_existing=on_existing,
        )

    def to_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}


def validate(request: DownloadRequest, host: Host, policy: DownloadPolicy) -> Path:
    """Every policy check, before any byte moves; returns the final path. Raises named ``MendError``s."""
    final = target_path(host.model_folders(), request.folder, request.relpath)
    policy.check_url(request.url)
    policy.check_pickle(request.relpath, request.confirm_pickle)
    policy.check_remote_risk(request.url, host.listen_addresses(), catalogued=request.catalogued)
    return final


def check_safetensors(path: Path) -> None:
    """A ``.safetensors`` file whose header parses and whose tensors fill the file exactly (no framework)."""
    try:
        read_safetensors_header(path)
    except InvalidSafetensors as exc:
        raise InvalidModelFile(f"{path.name[:-5] if path.name.endswith('.part') else path.name} is not a valid "
                               f"safetensors file: {exc}; it was removed") from exc


class DownloadRunner:
    """The ``download`` task kind. Params: ``url, folder, relpath`` and optional ``sha256, size,
    confirm_pickle, catalogued, on_existing``.

    With a ``manifest``, a placed file is recorded there (source, size, sha256) before its lock is let
    go, so the next download of that name can tell the file is this source's (``existing_target``)."""

    kind = "download"
    resumable = True
    limit_group = "download"

    def __init__(
        self,
        host: Host,
        *,
        hashes: HashCache | None = None,
        policy: DownloadPolicy | None = None,
        chunk_size: int = CHUNK,
        hash_while_streaming: bool = True,
        free_space: Callable[[Path], int] | None = None,
        links: LinkChecker | None = None,
        manifest: Any = None,
    ) -> None:
        self.host = host
        self.manifest = manifest
        self.hashes = hashes
        self.policy = policy or DownloadPolicy.from_env()
        self.links = links or LinkChecker(self.policy, host.folder_extensions)
        self.chunk_size = chunk_size
        self.hash_while_streaming = hash_while_streaming
        self.free_space = free_space or (lambda p: shutil.disk_usage(p).free)
        self._prefix_hashes: dict[str, tuple[int, Any]] = {}  # part -> (size, sha256 state) across attempts

    def target(self, params: Mapping[str, Any]) -> str:
        request = DownloadRequest.from_params(params)
        return str(target_path(self.host.model_folders(), request.folder, request.relpath))

    def validate(self, params: Mapping[str, Any]) -> None:
        """Refuse bad input (400/403) before anything is queued."""
        validate(DownloadRequest.from_params(params), self.host, self.policy)

    async def cleanup(self, params: Mapping[str, Any], checkpoint_state: Mapping[str, Any]) -> None:
        """The user cancelled: the partial file goes."""
        final = Path(self.target(params))
        part = final.with_name(final.name + ".part")
        self._prefix_hashes.pop(str(part), None)
        with file_lock_if_free(_lock_path(final)) as alone:
            if alone:  # else the part is another download's, still being written
                await asyncio.to_thread(discard, part)

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        try:
            request = DownloadRequest.from_params(params)
            final = validate(request, self.host, self.policy)
        except MendError as exc:
            refused = PermanentTaskError(exc.message, field=exc.field)
            refused.code = exc.code  # the policy's own code (host_not_allowed, unsafe_path...)
            raise refused from exc
        await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
        # one writer per .part, whoever asks (a task, an Ensure Model node, the CLI): the others wait,
        # then find the file in place or resume what the first left
        async with hold_file_lock(_lock_path(final), ctx.cancel_event,
                                  on_wait=lambda: ctx.step("waiting for another download of this file")):
            if final.exists():
                existing = await self._judge(request, final)
                if existing.same or request.on_existing == "keep":
                    return await self._already_there(request, final, existing)
                if request.on_existing != "replace":
                    raise TargetExists(existing.error(request.url).message, field="on_existing")
                ctx.step("replace")
            if ctx.attempt == 1:  # a later attempt follows one that reached the server
                ctx.step("check link")
                await self.links.acheck(request.url, request.folder)  # a named error, never retried
            return await self._download(request, final, ctx)

    async def _download(self, request: DownloadRequest, final: Path, ctx: TaskContext) -> Mapping[str, Any]:
        part = final.with_name(final.name + ".part")
        state = dict(ctx.checkpoint_state or {})
        if state.get("url") not in (None, request.url):
            state = {}  # a different source for the same file: its validators mean nothing here
        ctx.step("download")
        control = Control(ctx.cancel_event)
        try:
            sha, size = await run_transfer(lambda: self._fetch(request, part, state, ctx, control), control)
        except Stopped as exc:  # the manager stopped the attempt (shutdown) without cancelling the coroutine
            raise RetryableTaskError(f"the download of {final.name} was stopped; it resumes from its part") from exc
        ctx.step("verify")
        try:
            await asyncio.to_thread(self._verify, request, part, sha, size, state)
        except PermanentTaskError:
            await asyncio.to_thread(discard, part)
            self._prefix_hashes.pop(str(part), None)
            raise
        aside = await asyncio.to_thread(_move_aside, final) if request.on_existing == "replace" else None
        st = await asyncio.to_thread(_place, part, final)
        self._prefix_hashes.pop(str(part), None)
        if self.hashes is not None and sha:
            await asyncio.to_thread(self.hashes.remember, final, st.st_size, st.st_mtime_ns, sha)
        self.host.models_changed(request.folder)
        result = {"path": str(final), "folder": request.folder, "relpath": request.relpath, "size": st.st_size,
                  "sha256": sha, "verified": bool(state.get("expected_sha256")), "status": "downloaded"}
        if aside is not None:
            result["replaced"] = aside.name
        return await self._record(request, result, [request.url])

    async def _judge(self, request: DownloadRequest, final: Path) -> ExistingFile:
        """Whether the file under the name is this source's (``existing_target``); a Hugging Face link with
        no digest yet is asked for its LFS sha256 first (one request, no body; not when the user keeps it)."""
        sha = request.sha256
        if sha is None and request.on_existing != "keep" and parse_hf_url(request.url, self.policy.hf_endpoint):
            sha, _size = await asyncio.to_thread(linked_file, request.url, self.policy)
        models = await asyncio.to_thread(self.manifest.models) if self.manifest is not None else None
        digest = self.hashes.digest if self.hashes is not None else None
        existing = await asyncio.to_thread(
            lambda: judge_existing(final, folder=request.folder, relpath=request.relpath, url=request.url,
                                   sha256=sha, size=request.size, models=models,
                                   **({"digest": digest} if digest else {})))
        if existing is None:  # gone meanwhile (a person moved it): judged as absent by the caller's next run
            raise RetryableTaskError(f"{final.name} went away while it was checked")
        return existing

    async def _already_there(self, request: DownloadRequest, final: Path, existing: ExistingFile) -> Mapping[str, Any]:
        """The file under the name is this source's (or the user said so): done without a byte."""
        result = {"path": str(final), "folder": request.folder, "relpath": request.relpath, "size": existing.size,
                  "sha256": existing.sha256 or (request.sha256 if existing.same else None),
                  "status": "present", "verified": existing.same, "why": existing.why if existing.same
                  else "kept: the user said it is the same file"}
        if not existing.same:
            result["kept"] = True
        models = await asyncio.to_thread(self.manifest.models) if self.manifest is not None else {}
        known = (models or {}).get(model_key(request.folder, request.relpath)) or {}
        if result["sha256"] is None and known.get("size") == existing.size:
            result["sha256"] = known.get("sha256")  # what the manifest knew of this file is not dropped
        sources = list(known.get("sources") or [])
        return await self._record(request, result, sources + [request.url] * (request.url not in sources))

    async def _record(self, request: DownloadRequest, result: dict, sources: list[str]) -> dict:
        """The file joins the manifest while this download still holds its lock (``manifest`` given), and the
        decisions waiting for it are resolved in the same write (``decide/downloaded.py``)."""
        if self.manifest is None:
            return result
        try:
            await asyncio.to_thread(settle_file, self.manifest, request.folder, request.relpath,
                                    size=result["size"], sha256=result.get("sha256"), sources=sources)
            result["recorded"] = True
        except Exception:  # a manifest problem must not fail a download that succeeded
            log.warning("mend: could not record %s/%s in the manifest", request.folder, request.relpath,
                        exc_info=True)
        return result

    # -- streaming (in the transfer thread: nothing here runs on the event loop) ---------------------
    def _fetch(self, request: DownloadRequest, part: Path, state: dict, ctx: TaskContext,
               control: Control) -> tuple[str | None, int]:
        """Bring ``part`` to the whole file; returns (sha256 of the part or None, its size). Blocking.

        A part is resumed only when its provenance matches (``part_provenance``); when the server's answer
        shows the file changed at its source, the part is discarded and the file fetched again from byte 0.
        """
        url = to_mirror(request.url, self.policy)
        for _ in range(2):
            offset = resume_offset(part, request.url)
            prov = Provenance.load(part) if offset else None
            if not offset:
                self._prefix_hashes.pop(str(part), None)
            headers: dict[str, str] = {}
            if offset and prov is not None:
                headers["Range"] = f"bytes={offset}-"
                if prov.if_range:
                    headers["If-Range"] = prov.if_range
            opened = open_download(url, self.policy, headers, control.on_socket)
            try:
                done = self._receive(request, part, state, ctx, control, opened, offset, prov)
            finally:
                opened.close()
            if done is not None:
                return done
        raise RetryableTaskError(f"{part.name[:-5]} changed at its source twice while resuming; trying again")

    def _receive(self, request: DownloadRequest, part: Path, state: dict, ctx: TaskContext, control: Control,
                 opened: Opened, offset: int, prov: Provenance | None) -> tuple[str | None, int] | None:
        """Store the response into the part; None when the part turned out to be another file's (discarded)."""
        resp = opened.response
        raise_for_status(opened)
        expected = request.sha256 or opened.linked_sha256 or state.get("expected_sha256")
        if resp.status == 416:
            total = (prov.size if prov else None) or state.get("total") or opened.linked_size or request.size
            if offset and total == offset:
                state["expected_sha256"] = expected
                return self._finish_hash(part, offset), offset
            discard(part)
            raise InconsistentServer(
                f"the server refused the range from byte {offset} of {part.name[:-5]} "
                f"(it promised {total} bytes): its sizes are inconsistent; the partial file was removed")
        if resp.status == 200 and offset:
            offset = 0  # the server ignored Range, or the file changed (If-Range): start over
        elif resp.status == 206 and not (resp.getheader("Content-Range") or "").startswith(f"bytes {offset}-"):
            raise RetryableTaskError("the server answered another range than asked; starting over")
        total = _total(resp, offset) or opened.linked_size or request.size
        etag, modified = resp.getheader("ETag"), resp.getheader("Last-Modified")
        changed = changed_at_source(prov, etag, opened.linked_sha256, modified, total) if offset and prov else None
        if changed:
            log.warning("mend: %s: %s since its part was written; starting over", part.name[:-5], changed)
            discard(part)
            return None
        state.update({"url": request.url, "etag": etag or state.get("etag"), "total": total,
                      "expected_sha256": expected})
        ctx.checkpoint(dict(state))
        if total is not None:
            self._check_space(part, total - offset)
        if not offset or prov is None:
            discard(part)  # whatever had the name goes first: a kill after the record never splices old bytes
            prov = Provenance(source=request.url, etag=etag, linked_etag=opened.linked_sha256,
                              last_modified=modified, size=total)
            prov.save(part)
        hasher = self._prefix_hash(part, offset) if self.hash_while_streaming or expected else None
        sink = control.open(lambda: Sink(part, offset, hasher))
        try:
            self._stream(resp, sink, total, state, ctx, control, prov)
        finally:
            try:
                sink.close(True)
            finally:
                # a retry in this process resumes the digest instead of reading the part again
                self._prefix_hashes[str(part)] = (sink.written, hasher if sink.hash_valid else None)
                control.release()
        if total is not None and sink.written != total:
            raise RetryableTaskError(f"the connection ended at byte {sink.written} of {total}")
        return (hasher.hexdigest() if hasher else None), sink.written

    def _stream(self, resp: http.client.HTTPResponse, sink: Sink, total: int | None, state: dict,
                ctx: TaskContext, control: Control, prov: Provenance) -> None:
        """Receive and store the body (``download_stream``); progress and checkpoints from the storing thread.

        At most ``BUFFERS`` units are received and not yet written, sized so that together they are half a
        chunk: a kill loses that plus what the kernel's socket buffers held, less than one chunk.
        """
        unit = max(16 * 1024, min(MAX_UNIT, self.chunk_size // (2 * BUFFERS)))
        last_checkpoint = [time.monotonic()]

        def on_stored(written: int) -> None:
            if prov.head_sha256 is None and written >= HEAD_BYTES:
                prov.record_head(sink.part)  # once: a resume later checks the part's first bytes against it
            ctx.progress(written, total)
            if time.monotonic() - last_checkpoint[0] >= CHECKPOINT_EVERY:
                last_checkpoint[0] = time.monotonic()
                ctx.checkpoint({**state, "offset": written})

        try:
            store_body(BodyReader(resp), sink, unit=unit, control=control, on_stored=on_stored)
        except ReceiveFailed as exc:
            raise RetryableTaskError(f"the connection dropped at byte {sink.written}: {exc}") from exc
        except StoreFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError):
                raise _disk_error(cause, sink.part) from cause
            raise cause or exc from None
        finally:
            if not control.stopped:  # a cancelled task's state is the manager's (or cleanup's) business
                ctx.progress(sink.written, total)
                ctx.checkpoint({**state, "offset": sink.written})

    def _prefix_hash(self, part: Path, offset: int) -> Any:
        """The sha256 state of the part's first ``offset`` bytes: kept from the last attempt, or read once."""
        known = self._prefix_hashes.get(str(part))
        if known and known[0] == offset and known[1] is not None:
            return known[1].copy()
        if not offset:
            return hashlib.sha256()
        return sha256_prefix(part, offset)

    def _finish_hash(self, part: Path, size: int) -> str | None:
        known = self._prefix_hashes.get(str(part))
        if known and known[0] == size and known[1] is not None:
            return known[1].hexdigest()
        return sha256_prefix(part, size).hexdigest()

    def _check_space(self, part: Path, needed: int) -> None:
        free = self.free_space(part.parent)
        if free < needed + DISK_RESERVE:
            raise DiskFull(
                f"not enough disk space for {part.name[:-5]}: {needed} bytes needed, {free} free in {part.parent}")

    @staticmethod
    def _verify(request: DownloadRequest, part: Path, sha: str | None, size: int, state: Mapping) -> None:
        expected = state.get("expected_sha256")
        if request.size is not None and size != request.size:
            raise InconsistentServer(f"{part.name[:-5]} is {size} bytes, but {request.size} were expected "
                                     "(the size recorded for it); it was removed")
        if expected and sha != expected:
            raise HashMismatch(f"{part.name[:-5]}: sha256 {sha} does not match the expected {expected}; "
                               "the file was removed")
        if part.name.lower().endswith((".safetensors.part", ".sft.part")):
            check_safetensors(part)


def _total(resp: http.client.HTTPResponse, offset: int) -> int | None:
    content_range = resp.getheader("Content-Range") or ""
    if resp.status == 206 and "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = resp.getheader("Content-Length") or ""
    if length.isdigit():
        return int(length) + (offset if resp.status == 206 else 0)
    return None


def _disk_error(exc: OSError, part: Path) -> PermanentTaskError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the disk is full while writing {part.name}; free space and retry: the "
                        "download resumes from where it stopped")
    return PermanentTaskError(f"cannot write {part}: {exc.strerror}")


def _place(part: Path, final: Path) -> os.stat_result:
    os.replace(part, final)
    fsync_dir(final.parent)  # make the rename itself durable
    sidecar(part).unlink(missing_ok=True)
    return final.stat()


def _move_aside(final: Path) -> Path | None:
    """The old file of a replace, once the new one is verified: ``<name>.replaced`` (``-2``...) beside it,
    a name ComfyUI does not list; the person deletes it when sure."""
    if not final.exists():
        return None
    aside = final.with_name(final.name + ".replaced")
    n = 2
    while aside.exists():
        aside, n = final.with_name(f"{final.name}.replaced-{n}"), n + 1
    os.replace(final, aside)
    return aside


def _lock_path(final: Path) -> Path:
    """Beside the part, hidden (ComfyUI lists only model extensions, Mend's index skips dot files)."""
    return final.with_name(f".{final.name}.mend-lock")


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
