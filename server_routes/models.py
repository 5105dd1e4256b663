"""Model sources and downloads over HTTP.

``POST /mend/models/search`` — remote look-ups, kept out of ``/mend/analyze`` so analysis stays fast:

    {"workflow": {...}, "all": false}       -> the analysis report, Hugging Face links confirmed and
                                               search hits added for models without a certain source
                                               ("all": true searches every missing model)
    {"filename": "x.safetensors", "folder": "loras", "repos": ["org/repo"]}
                                            -> {"candidates": [...]}   (Hugging Face search by name)
    {"url": "https://civitai.com/models/1?modelVersionId=2"}
                                            -> {"source": {"url", "filename", "sha256", "size", ...}}

``POST /mend/models/download`` — ``{"url", "folder", "filename"?, "sha256"?, "confirm_pickle"?, "on_existing"?,
"client_id"?}``: the URL is resolved (a Hugging Face ``blob`` link, a Civitai page), checked against the
policy (400/403 before anything is queued), probed when it is not the hub's (422 ``link_*`` for a link that
cannot work), its target name settled (another file there: ``409 file_exists`` unless ``on_existing`` says
keep, rename or replace) and becomes a ``download`` task; the answer (202) is the task.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from ..core.catalog.huggingface import HuggingFaceSource, LookupFailed, parse_hf_url
from ..core.catalog.link_check import link_checker
from ..core.catalog.source_policy import DownloadPolicy, check_relpath, target_path
from ..core.catalog.url_sources import UrlSource, resolve_url
from ..core.decide.existing_target import ON_EXISTING, judge_existing
from ..core.download.engine import DownloadRequest
from ..core.download.run import download_runner
from ..core.errors import InvalidField, UpstreamError
from ..core.resolve.model_search import search_report
from ..core.services import Mend
from .analyze import analysis_pool
from .http import handler, json_response, read_json


def hf_source(mend: Mend) -> HuggingFaceSource:
    """One cached source per Mend (its search cache is shared by every request)."""
    source = mend.extras.get("hf_source")
    if source is None:
        source = mend.extras["hf_source"] = HuggingFaceSource(policy(mend).hf_endpoint)
    return source


def policy(mend: Mend) -> DownloadPolicy:
    return mend.extras.get("download_policy") or DownloadPolicy.from_env()


def routes(mend: Mend) -> list[web.RouteDef]:
    download_runner(mend)  # registered before the task journal is replayed: interrupted downloads resume

    @handler
    async def search(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidField("send an object with workflow, filename or url", field="body")
        if "workflow" in body:
            force = body.get("all", False)
            if not isinstance(force, bool):
                raise InvalidField("all must be true or false", field="all")
            async with analysis_pool(mend).slot():  # counts against the analysis cap (429 beyond it)
                report = await mend.analyzer.analyze(body["workflow"], use_registry=False)
            summary = await search_report(report, hf_source(mend), force=force, links=link_checker(mend))
            out = report.to_json()
            for model, data in zip(report.missing_models, out["missing_models"], strict=True):
                if getattr(model, "search_errors", None):
                    data["search_errors"] = model.search_errors
            return json_response({**out, "search": summary})
        if "url" in body:
            source = await _resolve(mend, body["url"])
            probe = await link_checker(mend).aprobe(source.url, _folder(body.get("folder")))
            return json_response({"source": {**source.to_json(), **({"probe": probe.to_json()} if probe else {})}})
        filename = check_relpath(body.get("filename"), "filename").rsplit("/", 1)[-1]
        repos = check_repo_ids(body.get("repos", []))
        try:
            hits = await hf_source(mend).asearch(filename, repos=repos, authors=[r.split("/")[0] for r in repos])
        except LookupFailed as exc:
            raise UpstreamError(str(exc)) from exc
        return json_response({"candidates": [
            {"kind": "download", "reason": "huggingface", "source": "huggingface", "url": f.url,
             "folder": body.get("folder"), "relpath": filename, "size": f.size, "sha256": f.sha256,
             "repo_id": f.repo_id, "repo_path": f.path, "downloads": f.downloads, "likes": f.likes, **f.details}
            for f in hits]})

    @handler
    async def download(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidField("send an object with url and folder", field="body")
        folder = body.get("folder")
        if not isinstance(folder, str) or not folder:
            raise InvalidField("folder is required", field="folder")
        client_id = body.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise InvalidField("client_id must be a string", field="client_id")
        on_existing = body.get("on_existing")
        if on_existing is not None and on_existing not in ON_EXISTING:
            raise InvalidField(f"on_existing must be one of {', '.join(ON_EXISTING)}", field="on_existing")
        source = await _resolve(mend, body.get("url"))
        name = body.get("filename") or body.get("relpath") or source.filename
        sha = check_sha256(body.get("sha256")) or source.sha256
        wanted = DownloadRequest(
            url=source.url, folder=folder, relpath=check_relpath(name, "filename"),
            sha256=sha.lower() if isinstance(sha, str) else None, size=source.size,
            confirm_pickle=body.get("confirm_pickle") is True, catalogued=_catalogued(mend, source),
        )
        download_runner(mend).validate(wanted.to_params())  # the policy's refusals first, then the link's answer
        probe = await link_checker(mend).acheck(source.url, folder)  # cached: the task's own probe costs nothing
        params = await asyncio.to_thread(_settle_existing, mend, wanted, on_existing,
                                         probe.size if probe is not None else None)
        task = await mend.tasks.submit("download", params, client_id=client_id)
        return json_response(task.to_json(), status=202)

    return [web.post("/mend/models/search", search), web.post("/mend/models/download", download)]


def _folder(value: Any) -> str | None:
    """The folder a search names, for the probe's file-kind rule (anything else: no rule)."""
    return value if isinstance(value, str) and value else None


def _settle_existing(mend: Mend, request: DownloadRequest, on_existing: str | None,
                     probed_size: int | None = None) -> dict[str, Any]:
    """The task's params once the target name is settled (blocking: may hash the file there).

    A file Mend cannot tell is this source's is a ``409 file_exists`` (with ``existing`` and ``choices``)
    unless ``on_existing`` says what to do: ``keep`` it, ``rename`` (the new file gets the suggested name),
    ``replace`` it once the new one is verified."""
    final = target_path(mend.host.model_folders(), request.folder, request.relpath)
    existing = judge_existing(final, folder=request.folder, relpath=request.relpath, url=request.url,
                              sha256=request.sha256, size=request.size or probed_size, models=mend.manifest.models(),
                              digest=mend.hashes.digest)
    params = request.to_params()
    if existing is None or existing.same:
        return params
    if on_existing is None:
        raise existing.error(request.url)
    if on_existing == "rename":
        return {**params, "relpath": existing.suggested}
    return {**params, "on_existing": on_existing}


def check_sha256(value: Any) -> str | None:
    """A given sha256 is 64 hex digits; anything else is refused, never dropped (the download would run unverified)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
        raise InvalidField("sha256 must be 64 hex digits", field="sha256")
    return value.strip().lower()


#: a Hugging Face repository id, ``owner/name`` (the hub's own rule: letters, digits, ``-_.``, 96 each)
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}")
MAX_REPOS = 20


def check_repo_ids(repos: Any) -> list[str]:
    """``repos`` as the hub can take them; anything else is the caller's mistake (400), not the hub's (502)."""
    if not isinstance(repos, list) or not all(isinstance(r, str) for r in repos):
        raise InvalidField("repos must be a list of repository ids", field="repos")
    if len(repos) > MAX_REPOS:
        raise InvalidField(f"at most {MAX_REPOS} repos", field="repos")
    for repo in repos:
        if not REPO_ID.fullmatch(repo) or ".." in repo or repo.endswith("."):
            raise InvalidField(f"{repo[:100]!r} is not a repository id (owner/name)", field="repos")
    return repos


async def _resolve(mend: Mend, url: Any) -> UrlSource:
    rules = policy(mend)
    rules.check_url(url)
    try:
        return await resolve_url(url, rules, hf=hf_source(mend))
    except UpstreamError:
        parsed = parse_hf_url(url, rules.hf_endpoint)
        if parsed is None:
            raise
        # the hub's API is down but its files may not be: the download still verifies X-Linked-Etag
        return UrlSource(url, parsed[2].rsplit("/", 1)[-1], "huggingface")


def _catalogued(mend: Mend, source: UrlSource) -> bool:
    """Hugging Face and Manager's model list are catalogs; anything else is a URL from the internet."""
    if policy(mend).is_catalogued(source.url):
        return True
    return any(k.url == source.url for k in mend.catalogs.model_list().find(source.filename))
