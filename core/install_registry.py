"""Fetch a node pack from the Comfy Registry: pick a version, download its zip, unpack it safely.

The version list comes from ``GET /nodes/{id}/versions`` (``RegistryClient.versions``); the
archive from that version's ``downloadUrl``. The ``/install`` endpoint is never called (it
counts an install and is not a look-up). The archive is unpacked member by member: absolute
paths, ``..`` and links are refused, so nothing lands outside the staging folder. A
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

from .catalog.registry import RegistryClient
from .errors import UpstreamError
from .install_policy import InstallPolicy
from .task_api import PermanentTaskError, RetryableTaskError

_UNUSABLE = {"NodeVersionStatusBanned", "NodeVersionStatusDeleted"}
CHUNK = 1024 * 1024


def pick_version(versions: list[dict], wanted: str | None) -> dict:
    """The version named ``wanted``, or the newest usable one (by ``createdAt``, then list order)."""
    if wanted:
        for v in versions:
            if str(v.get("version")) == wanted:
                if v.get("status") in _UNUSABLE:
                    raise PermanentTaskError(f"version {wanted} is {v['status'].removeprefix('NodeVersionStatus')}")
                return v
        known = ", ".join(str(v.get("version")) for v in versions[:10]) or "none"
        raise PermanentTaskError(f"the registry has no version {wanted} (known: {known})")
    usable = [v for v in versions if v.get("status") not in _UNUSABLE and not v.get("deprecated")]
    if not usable:
        raise PermanentTaskError("the registry lists no usable version of this pack")
    dated = [v for v in usable if v.get("createdAt")]
    return max(dated, key=lambda v: str(v["createdAt"])) if dated else usable[0]


async def fetch_registry_pack(
    registry: RegistryClient,
    pack_id: str,
    version: str | None,
    dest: Path,
    *,
    policy: InstallPolicy,
    step: Callable[[str], None],
    progress: Callable[[float, float | None], None],
    run_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread,
) -> str:
    """Unpack ``pack_id`` at ``version`` (latest when None) into ``dest``; return the version fetched."""
    step("registry")
    if not registry.enabled:
        raise PermanentTaskError("registry installs are off (MEND_REGISTRY_URL is empty or MEND_OFFLINE is set); "
                                 "install from the repository instead")
    async with aiohttp.ClientSession() as session:
        try:
            versions = await registry.versions(session, pack_id)
        except UpstreamError as exc:
            raise (RetryableTaskError if exc.retryable else PermanentTaskError)(exc.message) from exc
        if not versions:
            raise PermanentTaskError(f"the registry has no pack {pack_id!r} (or it has no published version)")
        chosen = pick_version(versions, version)
        url = policy.check_download_url(str(chosen.get("downloadUrl") or ""))
        step("download")
        archive = dest.parent / f"{dest.name}.zip"
        await _download(session, url, archive, progress)
    step("unpack")
    try:
        await run_thread(unpack_zip, archive, dest)  # the task's threads: a cancel waits for it to end
    finally:
        archive.unlink(missing_ok=True)
    return str(chosen.get("version"))


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
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise RetryableTaskError(f"download of the pack archive: {exc.__class__.__name__}: {exc}") from exc


def unpack_zip(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` into ``dest`` refusing escapes and links; write ``.tracking``; return the files."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise PermanentTaskError(f"the pack archive is not a zip file: {exc}") from exc
    dest.mkdir(parents=True, exist_ok=False)
    root = dest.resolve()
    files: list[str] = []
    with zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                raise PermanentTaskError(f"the pack archive holds an unsafe path: {info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PermanentTaskError(f"the pack archive holds a link: {info.filename!r}")
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
