"""One HTTP GET for a download, blocking (``http.client``), for the transfer thread: redirects followed
by hand, every hop checked, tokens only to the host they belong to.

The byte stream never runs on the event loop (``download_stream``), so the request is made with the
standard library in the same worker thread that reads the body. Mend follows redirects one hop at
a time so that every hop is checked against the download policy (a redirect to a host that is not
allowed is refused) and the ``Authorization`` header goes only to the host the token is for.
Hugging Face's resolve step answers with the file's sha256 (``X-Linked-Etag``) and size
(``X-Linked-Size``) before redirecting to its CDN; those are kept from whichever hop carried them.
Every socket is handed to ``on_socket`` as soon as it is connected, so the controlling side can shut
it down to unblock a read (cancellation).
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from ..catalog.link_tokens import token_for
from ..catalog.source_policy import DEFAULT_HF_ENDPOINT, DownloadPolicy
from ..connection_words import is_offline, unreachable_message, why_failed
from ..errors import HostNotAllowed, InvalidField
from ..tasks.task_api import PermanentTaskError, RetryableTaskError
from ..url_safety import tls_context as ssl_context

MAX_REDIRECTS = 10
CONNECT_TIMEOUT = 30.0  # seconds to connect (and finish the TLS handshake)
READ_TIMEOUT = 120.0  # seconds a stalled server may stay silent before the attempt fails (and retries)
USER_AGENT = "mend/0.1 (ComfyUI model download)"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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

    response: http.client.HTTPResponse
    connection: http.client.HTTPConnection  # closed by ``close``, with the response
    url: str  # the last hop
    linked_sha256: str | None = None
    linked_size: int | None = None
    hops: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.response.close()
        self.connection.close()


def open_download(
    url: str,
    policy: DownloadPolicy,
    headers: Mapping[str, str],
    on_socket: Callable[[socket.socket], None] = lambda sock: None,
    max_hops: int = MAX_REDIRECTS + 1,
) -> Opened:
    """GET ``url`` with ``headers``, following redirects by hand (blocking); the caller closes the result.

    ``max_hops=1`` stops at the first answer (a redirect is returned as it is, unfollowed)."""
    origin = (urlsplit(url).hostname or "").lower()
    token = token_for(url, policy)
    hops: list[str] = []
    linked_sha256: str | None = None
    linked_size: int | None = None
    for _ in range(MAX_REDIRECTS + 1):
        try:
            policy.check_url(url, "redirect" if hops else "url")
        except (HostNotAllowed, InvalidField) as exc:
            raise PermanentTaskError(f"refused to follow {_safe(url)}: {exc.message}", reason=exc.code) from exc
        hop_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        if token and (urlsplit(url).hostname or "").lower() == origin:
            hop_headers["Authorization"] = f"Bearer {token}"
        conn, resp = _get(url, hop_headers, on_socket)
        linked = (resp.getheader("X-Linked-Etag") or "").strip('"').lower().removeprefix("w/").strip('"')
        if _SHA256.match(linked):
            linked_sha256 = linked
        if (resp.getheader("X-Linked-Size") or "").isdigit():
            linked_size = int(resp.getheader("X-Linked-Size") or 0)
        location = resp.getheader("Location")
        if resp.status in (301, 302, 303, 307, 308) and location and len(hops) + 1 < max_hops:
            hops.append(url)
            url = urljoin(url, location)
            resp.close()  # a new connection per hop: the next one is usually another host (the CDN)
            conn.close()
            continue
        return Opened(resp, conn, url, linked_sha256, linked_size, hops)
    raise PermanentTaskError(f"more than {MAX_REDIRECTS} redirects from {_safe(hops[0])}")


def linked_file(url: str, policy: DownloadPolicy) -> tuple[str | None, int | None]:
    """What a Hugging Face ``resolve`` link says of its LFS file (sha256, size) in its first answer, before
    any body: the redirect to the CDN carries ``X-Linked-Etag``/``X-Linked-Size`` (blocking)."""
    opened = open_download(to_mirror(url, policy), policy, {}, max_hops=1)
    try:
        return opened.linked_sha256, opened.linked_size
    finally:
        opened.close()


def _get(url: str, headers: Mapping[str, str],
         on_socket: Callable[[socket.socket], None]) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """One request on a new connection; network failures become ``RetryableTaskError``."""
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT,
                                           context=ssl_context())
    else:  # the policy allows plain http only for the loopback test setting
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT)
    try:
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(READ_TIMEOUT)
        on_socket(conn.sock)
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), headers=dict(headers))
        return conn, conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        if is_offline(exc):  # trying again in a few seconds does not bring the network back
            raise HostUnreachable(unreachable_message(url)) from exc
        raise RetryableTaskError(f"cannot reach {parts.hostname}: {why_failed(exc)}") from exc


class HostUnreachable(PermanentTaskError):
    """The name does not resolve or no route leads there: offline, or a wrong host name."""

    code = "host_unreachable"


def raise_for_status(opened: Opened) -> None:
    """Map an unusable status onto the task contract: 408/429/5xx retry by themselves, other 4xx fail."""
    status = opened.response.status
    if status in (200, 206, 416):
        return
    where = urlsplit(opened.url).hostname
    if status in (408, 425, 429) or status >= 500:
        raise RetryableTaskError(f"{where} answered HTTP {status}", retry_after=retry_after(opened.response.headers),
                                 http_status=status)
    hint = ""
    if status in (401, 403):
        hint = " (a gated or private file: set HF_TOKEN or CIVITAI_TOKEN)"
    raise PermanentTaskError(f"{where} answered HTTP {status}{hint}", http_status=status)


def _safe(url: str) -> str:
    """A URL for messages: no query string (CDNs put signatures there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
