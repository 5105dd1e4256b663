"""Ask a link what it would send before downloading from it: one small request, one named outcome.

Hugging Face links are confirmed through the hub's own API (``huggingface.py``). Every other link (a
workflow's own ``models`` URL, Manager's model list, a pasted URL, a manifest's source) is probed here
before it is stored as a decision and before its download starts, so a login page, a 404 or an HTML
page is said at the item instead of being found halfway through a download:

- ``HEAD``; when the server refuses it (405, 501, or a link signed for GET only answering 403), one
  ``GET`` with ``Range: bytes=0-0`` whose body is never read;
- redirects followed by hand, every hop checked by the download policy (https, an allowed host, no
  credentials) and connected only to the address its name resolved to, which must be public unless the
  operator allowed the host (``MEND_DOWNLOAD_HOSTS``, the ``HF_ENDPOINT`` mirror, the tests' loopback
  setting): a link never reaches a router's page or a cloud's metadata service;
- the token the download would send (``link_tokens.py``), to the host it belongs to only.

    probe = probe_link("https://files.example/x.safetensors", policy, folder="loras",
                       extensions=frozenset({".safetensors"}))
    probe.outcome, probe.size, probe.filename, probe.ranges   # ('usable', 1234, 'x.safetensors', True)
"""

from __future__ import annotations

import fnmatch
import http.client
import posixpath
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urljoin, urlsplit

from ..connection_words import why_failed
from ..errors import MendError
from ..url_safety import is_loopback, is_public_address, tls_context
from ..workflow.model_refs import MODEL_EXTENSIONS
from .link_tokens import token_for, token_setting
from .source_policy import DownloadPolicy

MAX_REDIRECTS = 10
TIMEOUT = 10.0  # seconds to connect, and for the answer's headers
USER_AGENT = "mend/0.1 (ComfyUI model download)"

# the named outcomes
USABLE = "usable"  # a file: size, name, ranges
UNCONFIRMED = "unconfirmed"  # a 5xx or 429: the download will try, and retry by itself
NEEDS_LOGIN = "needs_login"  # 401/403
NOT_FOUND = "not_found"  # 404/410
WEB_PAGE = "web_page"  # text/html: a login, download or model page, not the file
WRONG_KIND = "wrong_kind"  # a name or type ComfyUI does not list in that folder
UNREACHABLE = "unreachable"  # no answer at all (offline, the name does not resolve, refused, timed out)
REFUSED = "refused"  # a hop the download policy refuses (a host not allowed, a private address)
REJECTED = "rejected"  # another 4xx, or too many redirects
#: outcomes after which a download can start
DOWNLOADABLE = (USABLE, UNCONFIRMED)
_WEB_TYPES = ("text/html", "application/xhtml+xml")
_NOT_MODEL_TYPES = ("image/", "video/", "audio/", "text/")


@dataclass(frozen=True)
class LinkProbe:
    """What a link's server said it would send, and what that means for a download."""

    url: str
    outcome: str
    message: str
    host: str  # the host that answered (the last hop), or the one that could not be reached
    status: int | None = None
    size: int | None = None  # bytes, when the server said
    filename: str | None = None  # Content-Disposition's, else the last hop's path
    ranges: bool = False  # a cut download resumes (Accept-Ranges, or a 206)
    content_type: str | None = None
    token_setting: str | None = None  # needs_login: the setting that supplies the host's token

    @property
    def downloadable(self) -> bool:
        return self.outcome in DOWNLOADABLE

    def to_json(self) -> dict:
        body = {"outcome": self.outcome, "message": self.message, "host": self.host, "status": self.status,
                "size": self.size, "filename": self.filename, "ranges": self.ranges,
                "content_type": self.content_type, "token_setting": self.token_setting}
        return {k: v for k, v in body.items() if v is not None}


class _Stop(Exception):
    """A hop that ends the probe with an outcome (refused, unreachable)."""

    def __init__(self, outcome: str, message: str, host: str) -> None:
        super().__init__(message)
        self.outcome, self.message, self.host = outcome, message, host


def probe_link(url: str, policy: DownloadPolicy, *, folder: str | None = None,
               extensions: frozenset[str] = frozenset(), timeout: float = TIMEOUT) -> LinkProbe:
    """Probe ``url`` (blocking: call it in a thread). Never raises for what the server or network does."""
    origin = (urlsplit(url).hostname or "").lower()
    token = token_for(url, policy)
    hop, method = url, "HEAD"
    try:
        for hops in range(MAX_REDIRECTS + 1):
            try:
                policy.check_url(hop, "redirect" if hops else "url")
            except MendError as exc:
                raise _Stop(REFUSED, f"refused to follow {_safe(hop)}: {exc.message}", _host(hop)) from exc
            headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
            if method == "GET":
                headers["Range"] = "bytes=0-0"
            if token and _host(hop) == origin:
                headers["Authorization"] = f"Bearer {token}"
            status, answer = _ask(method, hop, headers, policy, timeout)
            location = answer.get("Location")
            if status in (301, 302, 303, 307, 308) and location:
                hop = urljoin(hop, location)
                continue
            if method == "HEAD" and status >= 400 and status not in (401, 404, 410, 429):
                method = "GET"  # HEAD refused (405, 501, a link signed for GET): ask for one byte instead
                status, answer = _ask(method, hop, {**headers, "Range": "bytes=0-0"}, policy, timeout)
                if status in (301, 302, 303, 307, 308) and answer.get("Location"):
                    hop = urljoin(hop, answer["Location"])
                    continue
            return _classify(url, hop, status, answer, token, policy, folder, extensions)
    except _Stop as stop:
        return LinkProbe(url, stop.outcome, stop.message, stop.host)
    return LinkProbe(url, REJECTED, f"more than {MAX_REDIRECTS} redirects from {_safe(url)}", _host(hop))


def _ask(method: str, url: str, headers: Mapping[str, str], policy: DownloadPolicy,
         timeout: float) -> tuple[int, Mapping[str, str]]:
    """One request on a new connection to a checked address; the status and headers, never the body."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = _connect(host, port, policy, timeout)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if parts.scheme == "https":
            sock = tls_context().wrap_socket(sock, server_hostname=host)
        conn.sock = sock  # already connected to the address that was checked: no second resolution
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     headers={"Host": parts.netloc.rsplit("@", 1)[-1], **headers})
        response = conn.getresponse()
        return response.status, {k.title(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        raise _Stop(UNREACHABLE, f"cannot reach {host}: {_why(exc)}; check the connection and try again",
                    host) from exc
    finally:
        conn.close()  # closes the socket too; a GET's body is never read


def _connect(host: str, port: int, policy: DownloadPolicy, timeout: float) -> socket.socket:
    """A socket to ``host``: every address its name resolves to must be public, unless the operator allowed it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Stop(UNREACHABLE, f"cannot reach {host}: are you offline? (the name does not resolve)",
                    host) from exc
    addresses = [info[4][0] for info in infos]
    if not _operator_allowed(host, policy):
        private = [a for a in addresses if not is_public_address(a)
                   and not (policy.allow_http_loopback and is_loopback(a))]
        if private:
            raise _Stop(REFUSED, f"{host} resolves to {private[0]}, an address inside the network; Mend "
                        "follows links there only when the operator lists the host in MEND_DOWNLOAD_HOSTS", host)
    failure: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    raise _Stop(UNREACHABLE, f"cannot reach {host}: {_why(failure)}; check the connection and try again", host)


def _operator_allowed(host: str, policy: DownloadPolicy) -> bool:
    """Hosts the operator named (``MEND_DOWNLOAD_HOSTS``, the ``HF_ENDPOINT`` mirror) may be internal."""
    own = (urlsplit(policy.hf_endpoint).hostname or "").lower()
    return host == own or any(fnmatch.fnmatchcase(host, p) for p in policy.extra_hosts)


def _classify(url: str, last: str, status: int, answer: Mapping[str, str], token: str | None,
              policy: DownloadPolicy, folder: str | None, extensions: frozenset[str]) -> LinkProbe:
    host = _host(last)
    content_type = (answer.get("Content-Type") or "").split(";", 1)[0].strip().lower() or None
    if status in (401, 403):
        setting = token_setting(url, policy)
        return LinkProbe(url, NEEDS_LOGIN, _login_message(host, status, setting, token is not None), host, status,
                         token_setting=setting)
    if status in (404, 410):
        return LinkProbe(url, NOT_FOUND, f"{host} has no file at {_safe(last)} (HTTP {status}); the link is "
                         "wrong or the file was removed: find another source", host, status)
    if status in (408, 425, 429) or status >= 500 or 300 <= status < 400:
        return LinkProbe(url, UNCONFIRMED, f"{host} answered HTTP {status}; the download will try and retry",
                         host, status)
    if status not in (200, 206, 416):
        return LinkProbe(url, REJECTED, f"{host} refused the request (HTTP {status})", host, status)
    size = _size(status, answer)
    filename = _filename(answer, last)
    ranges = status in (206, 416) or answer.get("Accept-Ranges", "").lower() == "bytes"
    found = dict(host=host, status=status, size=size, filename=filename, ranges=ranges, content_type=content_type)
    if content_type in _WEB_TYPES:
        return LinkProbe(url, WEB_PAGE, f"{host} answers with a web page, not a file (a login, download or model "
                         "page?): open the link in a browser and copy the file's own download link", **found)
    if wrong := _wrong_kind(filename, content_type, folder, extensions):
        return LinkProbe(url, WRONG_KIND, f"{host} sends {wrong}, not a model file for {folder or 'this folder'}",
                         **found)
    return LinkProbe(url, USABLE, f"{filename or 'a file'}{f', {size} bytes' if size is not None else ''} "
                     f"from {host}", **found)


def _login_message(host: str, status: int, setting: str | None, sent: bool) -> str:
    if setting and sent:
        return f"{host} refused the {setting} Mend sent (HTTP {status}): check that the token has access to this file"
    if setting:
        return f"{host} needs a login (HTTP {status}): set {setting} where ComfyUI runs and try again"
    return (f"{host} needs a login (HTTP {status}) and Mend has no token for it: download the file in a browser "
            "where you are logged in and put it in the model folder, or use another link")


def _wrong_kind(filename: str | None, content_type: str | None, folder: str | None,
                extensions: frozenset[str]) -> str | None:
    """What is wrong about the file's kind, or None: a type that is no model, a name the folder does not list."""
    if content_type and content_type.startswith(_NOT_MODEL_TYPES) and content_type != "text/plain":
        return f"{content_type}"
    suffix = posixpath.splitext(filename or "")[1].lower()
    if not suffix or not extensions or suffix in extensions:
        return None
    if suffix in MODEL_EXTENSIONS and extensions & set(MODEL_EXTENSIONS):
        return None  # a model format a pack's loader may list (.gguf): not Mend's to refuse
    return f"{filename} ({folder} lists {', '.join(sorted(extensions))})"


def _size(status: int, answer: Mapping[str, str]) -> int | None:
    content_range = answer.get("Content-Range") or ""
    if status in (206, 416) and "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    length = answer.get("Content-Length") or ""
    return int(length) if status == 200 and length.isdigit() else None


def _filename(answer: Mapping[str, str], last: str) -> str | None:
    """Content-Disposition's ``filename*``/``filename``, else the last hop's path; only a base name."""
    disposition = answer.get("Content-Disposition")
    if disposition:
        message = Message()
        message["Content-Disposition"] = disposition
        name = message.get_filename()
        if name:
            return posixpath.basename(name.replace("\\", "/")) or None
    name = unquote(urlsplit(last).path.rstrip("/").rsplit("/", 1)[-1])
    return name or None


def _why(exc: BaseException | None) -> str:
    """In words, never an exception class name (``core/connection_words.py``)."""
    return why_failed(exc) if exc else "no address"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _safe(url: str) -> str:
    """A URL for messages: no query string (CDNs put signatures there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
