"""Fetch a node pack's registry zip (the version ``install_source`` chose) and unpack it safely.

The archive comes from that version's ``downloadUrl``; the ``/install`` endpoint is never called (it
counts an install and is not a look-up). The archive is unpacked member by member: absolute paths,
``..`` and links are refused (``unsafe_archive``), so nothing lands outside the staging folder. A
``.tracking`` file lists the unpacked files, as ComfyUI-Manager writes for registry installs.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp

from ..catalog.registry import is_unreachable, unreachable_message
from ..connection_words import why_failed
from ..tasks.task_api import PermanentTaskError, RetryableTaskError
from .policy import InstallPolicy

CHUNK = 1024 * 1024


class UnsafeArchive(PermanentTaskError):
    status = 400
    code = "unsafe_archive"


class ArchiveUnreachable(PermanentTaskError):
    status = 502
    code = "archive_unreachable"


async def fetch_registry_zip(
    url: str,
    dest: Path,
    *,
    policy: InstallPolicy,
    step: Callable[[str], None],
    progress: Callable[[float, float | None], None],
    run_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread,
) -> None:
    """Download the zip at ``url`` beside ``dest`` and unpack it into ``dest``."""
    url = policy.check_download_url(url)
    step("download")
    archive = dest.parent / f"{dest.name}.zip"
    try:
        async with aiohttp.ClientSession() as session:
            await _download(session, url, archive, progress)
        step("unpack")
        await run_thread(unpack_zip, archive, dest)  # the task's threads: a cancel waits for it to end
    finally:
        archive.unlink(missing_ok=True)


async def _download(session: aiohttp.ClientSession, url: str, target: Path,
                    progress: Callable[[float, float | None], None]) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)
    try:
        async with session.get(url, timeout=timeout) as resp:
            if resp.status >= 400:
                cls = RetryableTaskError if resp.status >= 500 or resp.status == 429 else PermanentTaskError
                raise cls(f"download of the pack archive: HTTP {resp.status}")
            total = resp.content_length
            done = 0
            with target.open("wb") as out:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    await asyncio.to_thread(out.write, chunk)  # never block the loop on a slow disk
                    done += len(chunk)
                    progress(done, total)
    except (aiohttp.ClientError, OSError) as exc:
        if is_unreachable(exc):
            raise ArchiveUnreachable(unreachable_message(url)) from exc
        raise RetryableTaskError(f"download of the pack archive: {why_failed(exc)}") from exc
    except asyncio.TimeoutError as exc:
        raise RetryableTaskError("download of the pack archive: no data for 60 s") from exc


def unpack_zip(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` into ``dest`` refusing escapes and links; write ``.tracking``; return the files."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchive(f"the pack archive is not a zip file: {exc}") from exc
    dest.mkdir(parents=True, exist_ok=False)
    root = dest.resolve()
    files: list[str] = []
    with zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                raise UnsafeArchive(f"the pack archive holds an unsafe path: {info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchive(f"the pack archive holds a link: {info.filename!r}")
            target = root.joinpath(*name.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            files.append(name.as_posix())
    (dest / ".tracking").write_text("\n".join(files) + "\n", encoding="utf-8")
    return files
