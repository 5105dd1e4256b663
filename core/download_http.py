"""One HTTP GET for a download: redirects followed by hand, tokens only to the host they belong to.

aiohttp would follow redirects itself and carry headers along; Mend follows them one hop at a
time so that every hop is checked against the download policy (a redirect to a host that is not
allowed is refused) and the ``Authorization`` header goes only to the host the token is for.
Hugging Face's resolve step answers with the file's sha256 (``X-Linked-Etag``) and size
(``X-Linked-Size``) before redirecting to its CDN; those are kept from whichever hop carried them.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from .errors import HostNotAllowed, InvalidField
from .policy import DEFAULT_HF_ENDPOINT, DownloadPolicy
from .task_api import PermanentTaskError, RetryableTaskError

MAX_REDIRECTS = 10
USER_AGENT = "mend/0.1 (ComfyUI model download)"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA store costs ~0.2 s, not to be paid per download."""
    return ssl.create_default_context()


def new_session() -> aiohttp.ClientSession:
    """A session for one download: no automatic decompression (bytes must hash as served), long reads allowed."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
    return aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                 connector=aiohttp.TCPConnector(ssl=ssl_context()))


def hf_token() -> str | None:
    """``HF_TOKEN`` or the token ``huggingface-cli login`` saved; never logged."""
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # an unreadable token file must not break downloads of public files
        return os.environ.get("HF_TOKEN") or None


def token_for(url: str, policy: DownloadPolicy) -> str | None:
    """The token that belongs to this URL's host: Hugging Face (or its mirror) or Civitai."""
    host = (urlsplit(url).hostname or "").lower()
    hf_hosts = {"huggingface.co", (urlsplit(policy.hf_endpoint).hostname or "").lower()}
    if host in hf_hosts:
        return hf_token()
    if host == "civitai.com" or host.endswith(".civitai.com"):
        return os.environ.get("CIVITAI_TOKEN") or None
    return None


def to_mirror(url: str, policy: DownloadPolicy) -> str:
    """``https://huggingface.co/...`` fetched from the ``HF_ENDPOINT`` mirror when one is set."""
    endpoint = policy.hf_endpoint.rstrip("/")
    if endpoint == DEFAULT_HF_ENDPOINT:
        return url
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in ("huggingface.co", "hf.co"):
        return endpoint + parts.path + (f"?{parts.query}" if parts.query else "")
    return url


def retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


@dataclass
class Opened:
    """A response whose body is ready to read, with what the hops before it said about the file."""

    response: aiohttp.ClientResponse
    url: str  # the last hop
    linked_sha256: str | None = None
    linked_size: int | None = None
    hops: list[str] = field(default_factory=list)


async def open_download(
    session: aiohttp.ClientSession,
    url: str,
    policy: DownloadPolicy,
    headers: Mapping[str, str],
) -> Opened:
    """GET ``url`` with ``headers``, following redirects by hand; the caller closes ``response``."""
    origin = (urlsplit(url).hostname or "").lower()
    token = token_for(url, policy)
    opened = Opened(response=None, url=url)  # type: ignore[arg-type]
    for _ in range(MAX_REDIRECTS + 1):
        try:
            policy.check_url(url, "redirect" if opened.hops else "url")
        except (HostNotAllowed, InvalidField) as exc:
            raise PermanentTaskError(f"refused to follow {_safe(url)}: {exc.message}", reason=exc.code) from exc
        hop_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        if token and (urlsplit(url).hostname or "").lower() == origin:
            hop_headers["Authorization"] = f"Bearer {token}"
        try:
            resp = await session.get(url, headers=hop_headers, allow_redirects=False)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableTaskError(f"cannot reach {urlsplit(url).hostname}: {exc.__class__.__name__}") from exc
        linked = resp.headers.get("X-Linked-Etag", "").strip('"').lower().removeprefix("w/").strip('"')
        if _SHA256.match(linked):
            opened.linked_sha256 = linked
        if resp.headers.get("X-Linked-Size", "").isdigit():
            opened.linked_size = int(resp.headers["X-Linked-Size"])
        if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
            opened.hops.append(url)
            url = urljoin(url, resp.headers["Location"])
            resp.release()
            continue
        opened.response, opened.url = resp, url
        return opened
    raise PermanentTaskError(f"more than {MAX_REDIRECTS} redirects from {_safe(opened.hops[0])}")


def raise_for_status(resp: aiohttp.ClientResponse) -> None:
    """Map an unusable status onto the task contract: 408/429/5xx retry by themselves, other 4xx fail."""
    status = resp.status
    if status in (200, 206, 416):
        return
    where = urlsplit(str(resp.url)).hostname
    if status in (408, 425, 429) or status >= 500:
        raise RetryableTaskError(f"{where} answered HTTP {status}", retry_after=retry_after(resp.headers),
                                 http_status=status)
    hint = ""
    if status in (401, 403):
        hint = " (a gated or private file: set HF_TOKEN or CIVITAI_TOKEN)"
    raise PermanentTaskError(f"{where} answered HTTP {status}{hint}", http_status=status)


def _safe(url: str) -> str:
    """A URL for messages: no query string (CDNs put signatures there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
