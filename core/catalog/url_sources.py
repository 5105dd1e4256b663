"""A URL the user pastes, turned into something downloadable: the file URL, its name, sha256 and size.

- Hugging Face ``blob``/``resolve`` URLs: confirmed on the hub (``paths-info``), which gives sha256 and size.
- Civitai model pages (``/models/{id}``, ``?modelVersionId=``) and download links
  (``/api/download/models/{versionId}``): looked up through Civitai's API (``CIVITAI_TOKEN`` sent only
  to Civitai), which names the file and its SHA256.
- GitHub ``blob`` URLs become ``raw.githubusercontent.com`` URLs; release assets stay as they are.
- Any other https URL on an allowed host: the file name is the URL path's last part.

Every URL is checked against the download policy first (https, allowed host, no credentials).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp

from .. import constants
from ..connection_words import is_offline, unreachable_message, why_failed
from ..errors import GatedModel, InvalidField, NotFound, UpstreamError
from .huggingface import GatedFile, HuggingFaceSource, LookupFailed, parse_hf_url
from .source_policy import DownloadPolicy, check_relpath

_CIVITAI_MODEL = re.compile(r"^/models/(?P<id>\d+)")
_CIVITAI_DOWNLOAD = re.compile(r"^/api/download/models/(?P<version>\d+)")
_GITHUB_BLOB = re.compile(r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?:blob|raw)/(?P<rest>.+)$")


@dataclass
class UrlSource:
    url: str  # what the download fetches
    filename: str
    source: str  # huggingface | civitai | github | url
    sha256: str | None = None
    size: int | None = None  # exact bytes only (Civitai's sizes are rounded: not given)
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"url": self.url, "filename": self.filename, "source": self.source, "sha256": self.sha256,
                "size": self.size, **self.details}


async def resolve_url(
    url: object,
    policy: DownloadPolicy,
    *,
    hf: HuggingFaceSource | None = None,
    civitai_api: str | None = None,
    session: aiohttp.ClientSession | None = None,
) -> UrlSource:
    """What a pasted URL downloads; raises ``InvalidField``, ``HostNotAllowed``, ``NotFound``, ``UpstreamError``."""
    url = policy.check_url(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    hf_parts = parse_hf_url(url, policy.hf_endpoint)
    if hf_parts is not None:
        return await _huggingface(*hf_parts, hf or HuggingFaceSource(policy.hf_endpoint))
    if host in ("civitai.com", "www.civitai.com"):
        return await _civitai(url, policy, civitai_api or constants.CIVITAI_API_URL, session)
    if host == "github.com" and _GITHUB_BLOB.match(parts.path):
        raw = github_raw(url)
        return UrlSource(raw, _filename(raw), "github")
    return UrlSource(url, _filename(url), "github" if "github" in host else "url")


def github_raw(url: str) -> str:
    """A GitHub ``blob``/``raw`` page's file on ``raw.githubusercontent.com``; any other URL as it is."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() == "github.com" and (m := _GITHUB_BLOB.match(parts.path)):
        return f"https://raw.githubusercontent.com/{m['owner']}/{m['repo']}/{m['rest']}"
    return url


def fetched_url(url: str) -> str | None:
    """The URL a download of ``url`` fetches, when it is known without a look-up; None for a Civitai model
    or version page (its file is named by Civitai's API, asked when the download is set up)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = (parts.hostname or "").lower()
    if host in ("civitai.com", "www.civitai.com") and not _CIVITAI_DOWNLOAD.match(parts.path) and (
            _CIVITAI_MODEL.match(parts.path) or "modelVersionId" in parts.query):
        return None
    return github_raw(url)


def _filename(url: str) -> str:
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    try:
        return check_relpath(name, "url")
    except (InvalidField, Exception) as exc:
        raise InvalidField(f"cannot tell a file name from {url!r}; give one with filename", field="filename") from exc


async def _huggingface(repo_id: str, revision: str, path: str, hf: HuggingFaceSource) -> UrlSource:
    try:
        info = await hf.afile_info(repo_id, path, revision)
    except GatedFile as exc:  # asked before any byte is fetched, so the user learns it now
        raise GatedModel(f"{repo_id} is gated on Hugging Face: accept its licence at https://huggingface.co/{repo_id}"
                         " and set HF_TOKEN (or run `hf auth login`), then try again", field="url",
                         repo_id=repo_id) from exc
    except LookupFailed as exc:
        raise UpstreamError(str(exc)) from exc
    if info is None:
        raise NotFound(f"{repo_id} has no file {path} at {revision} (or it is gated: set HF_TOKEN)", field="url")
    return UrlSource(info.url, info.name, "huggingface", info.sha256, info.size,
                     {"repo_id": repo_id, "path": path, "revision": revision})


async def _civitai(url: str, policy: DownloadPolicy, api: str, session: aiohttp.ClientSession | None) -> UrlSource:
    parts = urlsplit(url)
    version = parse_qs(parts.query).get("modelVersionId", [None])[0]
    if m := _CIVITAI_DOWNLOAD.match(parts.path):
        version = m["version"]
    model = _CIVITAI_MODEL.match(parts.path)
    if version is None and model is None:
        return UrlSource(url, _filename(url), "civitai")
    policy.check_url(api, "MEND_CIVITAI_API")
    token = os.environ.get("CIVITAI_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    endpoint = f"{api}/model-versions/{version}" if version else f"{api}/models/{model['id']}"
    own = session is None
    session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        async with session.get(endpoint, headers=headers, allow_redirects=False) as resp:
            if resp.status == 404:
                raise NotFound(f"Civitai has no {'model version ' + version if version else 'model'} for {url}",
                               field="url")
            if resp.status != 200:
                raise UpstreamError(f"Civitai answered HTTP {resp.status}", retryable=resp.status >= 500)
            data = await resp.json(content_type=None)
    except aiohttp.ClientError as exc:
        if is_offline(exc):
            raise UpstreamError(unreachable_message(endpoint), retryable=False) from exc
        raise UpstreamError(f"cannot reach Civitai: {why_failed(exc)}") from exc
    finally:
        if own:
            await session.close()
    if not version:  # a model page: its newest version
        versions = data.get("modelVersions") or []
        if not versions:
            raise NotFound(f"Civitai model {model['id']} has no versions", field="url")
        data = versions[0]
    files = data.get("files") or []
    chosen = next((f for f in files if f.get("primary")), None) or (files[0] if files else None)
    if chosen is None or not chosen.get("downloadUrl"):
        raise NotFound(f"Civitai lists no file for {url}", field="url")
    sha = ((chosen.get("hashes") or {}).get("SHA256") or "").lower() or None
    return UrlSource(
        policy.check_url(chosen["downloadUrl"], "downloadUrl"),
        check_relpath(chosen.get("name") or _filename(chosen["downloadUrl"]), "filename"),
        "civitai",
        sha if sha and len(sha) == 64 else None,
        None,
        {"model_version_id": data.get("id"), "title": data.get("name"), "base": data.get("baseModel"),
         "type": (chosen.get("type") or None), "pickle_scan": (chosen.get("pickleScanResult") or None)},
    )
