"""One model of a sync as a background task (kind ``"sync_model"``): present, linked from the cache, or downloaded.

Params: ``folder``, ``relpath``, ``sha256`` (pinned by the manifest), ``size``, ``sources`` (URLs tried in
order) and optional ``shared_cache`` (a directory, see ``core/environment/shared_cache.py``). The run:

1. a file already under the final name counts only if its sha256 matches (never overwritten);
2. with a shared cache: under the cache's per-file lock, a cached copy is verified (hash cached per
   machine) and linked, or the file is downloaded into the cache and then linked;
3. without one: downloaded straight into the model folder.

Downloads are the download runner's (``core/download/engine.py``): ``.part`` files, Range resumes, the
sha256 checked while streaming; this runner only chooses where and from which source. A source that
fails for good (4xx, a host the policy refuses, a wrong file) makes way for the next one; a
retryable failure goes back to the task manager, which retries with backoff. It shares the
``download`` concurrency pool, so ``MEND_MAX_DOWNLOADS`` bounds a sync too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..catalog.link_check import link_checker
from ..catalog.source_policy import DownloadPolicy, check_relpath, target_path
from ..download.engine import DownloadRunner
from ..download.part_provenance import discard
from ..errors import InvalidField, MendError
from ..tasks.task_api import PermanentTaskError, RetryableTaskError, TaskContext
from .shared_cache import FOLDER, CacheHost, SharedCache


class ModelConflict(PermanentTaskError):
    """A different file already has the model's name: Mend never overwrites it."""

    status = 409
    code = "model_conflict"


class NoSource(PermanentTaskError):
    code = "no_source"


def sync_model_runner(mend: Any) -> SyncModelRunner:
    """The ``Mend``'s one sync-model runner, registered on its task manager the first time it is asked for."""
    runner = mend.extras.get("sync_model_runner")
    if runner is None:
        runner = mend.extras["sync_model_runner"] = SyncModelRunner(mend)
    if runner.kind not in getattr(mend.tasks, "_runners", {}):
        mend.tasks.register(runner)
    return runner


def model_params(entry: Mapping[str, Any], shared_cache: Path | None) -> dict[str, Any]:
    """Task params for one ``[tool.mend.models]`` entry (validated when the task is submitted)."""
    params: dict[str, Any] = {"folder": entry.get("folder"), "relpath": entry.get("path"),
                              "sources": list(entry.get("sources") or [])}
    if entry.get("sha256"):
        params["sha256"] = str(entry["sha256"]).lower()
    if isinstance(entry.get("size"), int):
        params["size"] = entry["size"]
    if shared_cache is not None and params.get("sha256"):
        params["shared_cache"] = str(shared_cache)
    return params


class SyncModelRunner:
    kind = "sync_model"
    resumable = True  # the download inside resumes its .part
    limit_group = "download"

    def __init__(self, mend: Any, *, policy: DownloadPolicy | None = None) -> None:
        self.mend = mend
        self.policy = policy or mend.extras.get("download_policy") or DownloadPolicy.from_env()
        self._direct = DownloadRunner(mend.host, hashes=mend.hashes, policy=self.policy, links=link_checker(mend))
        self._cached: dict[str, DownloadRunner] = {}

    # -- TaskRunner ------------------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any]) -> None:
        self.target(params)
        sha = params.get("sha256")
        if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
            raise InvalidField("sha256 must be 64 hex digits", field="sha256")
        sources = params.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise InvalidField("sources must be a list of URLs", field="sources")

    def target(self, params: Mapping[str, Any]) -> str:
        """The model file itself: a panel download of the same file conflicts with this task (409)."""
        return str(target_path(self.mend.host.model_folders(), params.get("folder"),
                               check_relpath(params.get("relpath"), "path")))

    async def cleanup(self, params: Mapping[str, Any], checkpoint_state: Mapping[str, Any]) -> None:
        """Cancelled by the user: the partial download goes (in the folder or in the cache)."""
        final = Path(self.target(params))
        await asyncio.to_thread(discard, final.with_name(final.name + ".part"))  # with its provenance record
        if params.get("shared_cache") and params.get("sha256"):
            cache = SharedCache(Path(params["shared_cache"]))
            part = cache.root / (cache.blob_relpath(params["sha256"], str(params["relpath"])) + ".part")
            await asyncio.to_thread(discard, part)

    async def run(self, params: Mapping[str, Any], ctx: TaskContext) -> Mapping[str, Any]:
        final = Path(self.target(params))
        folder, relpath, sha = params["folder"], params["relpath"], params.get("sha256")
        if final.exists():
            return await self._present(final, params)
        cache_dir = params.get("shared_cache")
        if cache_dir and sha:
            cache = SharedCache(Path(cache_dir))
            async with cache.locked(sha, ctx.cancel_event):
                blob = await asyncio.to_thread(cache.find, sha)
                if blob is not None and await asyncio.to_thread(self.mend.hashes.digest, blob) != sha:
                    if blob.parent.parent.name == "sha256":  # a damaged copy in Mend's layout: fetch it again
                        await asyncio.to_thread(blob.unlink)
                    blob = None
                fetched = blob is None
                if fetched:
                    ctx.step("download")
                    result = await self._from_sources(self._cache_runner(cache), FOLDER,
                                                      cache.blob_relpath(sha, relpath), params, ctx)
                    blob = Path(result["path"])
                    await asyncio.to_thread(cache.seal, blob)
                ctx.step("link")
                how = await asyncio.to_thread(cache.link, blob, final)
            status = "downloaded" if fetched else "linked"
            source = result.get("url") if fetched else str(blob)
        else:
            ctx.step("download")
            result = await self._from_sources(self._direct, folder, relpath, params, ctx)
            how, status, source = "file", "downloaded", result.get("url")
        st = await asyncio.to_thread(final.stat)
        if sha:
            await asyncio.to_thread(self.mend.hashes.remember, final, st.st_size, st.st_mtime_ns, sha)
        self.mend.host.models_changed(folder)
        await asyncio.to_thread(self.mend.manifest.record_model, folder, relpath, size=st.st_size, sha256=sha,
                                sources=params.get("sources") or [])
        return {"path": str(final), "folder": folder, "relpath": relpath, "size": st.st_size, "sha256": sha,
                "status": status, "link": how, "source": source}

    # -- parts -----------------------------------------------------------------------------------
    def _cache_runner(self, cache: SharedCache) -> DownloadRunner:
        runner = self._cached.get(str(cache.root))
        if runner is None:
            runner = self._cached[str(cache.root)] = DownloadRunner(
                CacheHost(cache, self.mend.host), hashes=self.mend.hashes, policy=self.policy,
                links=link_checker(self.mend))
        return runner

    async def _present(self, final: Path, params: Mapping[str, Any]) -> Mapping[str, Any]:
        sha = params.get("sha256")
        if sha:
            actual = await asyncio.to_thread(self.mend.hashes.digest, final)
            if actual != sha:
                raise ModelConflict(f"{final} exists with sha256 {actual[:12]}…, the manifest pins {sha[:12]}…; "
                                    "Mend never overwrites a file: move it away and sync again")
        elif params.get("size") != (have := final.stat().st_size):
            raise ModelConflict(f"{final} holds {have} bytes, the manifest records {params.get('size')} and no "
                                "sha256: Mend cannot tell it is the same file; move it away and sync again")
        return {"path": str(final), "folder": params["folder"], "relpath": params["relpath"],
                "size": final.stat().st_size, "sha256": sha, "status": "present", "link": None, "source": None}

    async def _from_sources(self, runner: DownloadRunner, folder: str, relpath: str, params: Mapping[str, Any],
                            ctx: TaskContext) -> dict[str, Any]:
        sources = list(params.get("sources") or [])
        if not sources:
            raise NoSource(f"no source is known for {params['folder']}/{params['relpath']}; "
                           "add one to its sources in the manifest")
        failures = []
        for url in sources:
            request = {"url": url, "folder": folder, "relpath": relpath, "sha256": params.get("sha256"),
                       "size": params.get("size"),
                       # the manifest pins the file's digest: the pickle file verified is the one frozen
                       "confirm_pickle": bool(params.get("sha256"))}
            try:
                result = dict(await runner.run({k: v for k, v in request.items() if v is not None}, ctx))
                return {**result, "url": url}
            except RetryableTaskError:
                raise  # the manager retries this task with backoff; the .part stays for the resume
            except MendError as exc:  # this source is wrong for good (4xx, refused host, another file)
                if exc.code == "disk_full" or len(sources) == 1:
                    raise
                failures.append(f"{url}: {exc.message}")
        raise PermanentTaskError("every source failed: " + "; ".join(failures))
