"""Who may call Mend's routes: the server's own pages, not other web sites (CSRF, CORS, DNS rebinding).

Every Mend route goes through ``Guard.wrap`` (``route_defs`` applies it, so no route can forget it):

- **Host** — while ComfyUI listens on loopback only, a request whose ``Host`` is not a loopback name or
  address (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``) or one of ``MEND_ALLOWED_HOSTS`` is
  refused: a page on ``evil.example`` whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends
  ``Host: evil.example``. With ``MEND_ALLOWED_HOSTS`` set the check applies on any listen address.
- **Origin** — a browser names the page that sent a request in ``Origin``. A state-changing route
  (every POST) refuses an ``Origin`` that is not the server's own (same host and port as ``Host``) and
  not in ``MEND_TRUSTED_ORIGINS``, whatever CORS ComfyUI was started with: ``--enable-cors-header``
  lets pages *read* ComfyUI, it never lets them install, download or restart through Mend. A read
  (GET) also accepts the origin ComfyUI's CORS setting names (``*`` included). Requests without
  ``Origin`` (curl, the CLI, scripts) are not browsers' cross-site requests and pass.

High-risk routes (installs, restarts, URL downloads, syncs) additionally stay under the remote-risk
rule of the engine (refused on a non-loopback listen address unless ``MEND_ALLOW_REMOTE_INSTALL``).

    >>> same_origin("http://localhost:8188", "localhost:8188"), same_origin("https://evil.example", "localhost:8188")
    (True, False)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from ..core import constants
from ..core.errors import CrossOrigin, UntrustedHost
from ..core.url_safety import is_loopback, listens_only_on_loopback
from .http import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: methods that change nothing (everything else is state-changing)
READS = frozenset({"GET", "HEAD"})


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    """``(hostname, port)`` of a ``Host`` header or an origin's netloc; None when it does not parse."""
    try:
        parts = urlsplit(f"//{netloc}")
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host, port if port is not None else _DEFAULT_PORTS.get(scheme)


def same_origin(origin: str, host_header: str) -> bool:
    """The page's origin is this server as the browser addressed it (same host name and port)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.username:
        return False
    page = _host_port(parts.netloc, parts.scheme)
    server = _host_port(host_header, parts.scheme)
    return page is not None and page == server


def is_loopback_name(hostname: str) -> bool:
    """``localhost`` and its subdomains (browsers resolve them to loopback themselves), loopback addresses."""
    name = hostname.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost") or is_loopback(name)


class Guard:
    """The Host and Origin rules for one server; ``cors_origin`` is ComfyUI's ``--enable-cors-header`` value."""

    def __init__(self, listen_addresses: Callable[[], Iterable[str]], cors_origin: Callable[[], str | None]) -> None:
        self.listen_addresses = listen_addresses
        self.cors_origin = cors_origin

    def check(self, request: web.Request) -> None:
        """Raise ``UntrustedHost`` or ``CrossOrigin`` when this request must not reach a Mend route."""
        host = request.headers.get("Host")
        if host is not None:
            self._check_host(host)
        origin = request.headers.get("Origin")
        if origin is not None:
            self._check_origin(origin.strip(), host or "", request.method)

    def _check_host(self, host: str) -> None:
        allowed = constants.ALLOWED_HOSTS
        if not allowed and not listens_only_on_loopback(self.listen_addresses()):
            return  # reachable by any name (--listen 0.0.0.0): the names are unknown
        parsed = _host_port(host, "http")
        name = parsed[0].lower() if parsed else ""
        if parsed and (is_loopback_name(name) or name in allowed or host.lower() in allowed):
            return
        raise UntrustedHost(
            f"this server listens on loopback and does not answer to Host {host[:100]!r} (DNS rebinding "
            "protection); the operator can add the name to MEND_ALLOWED_HOSTS", field="Host")

    def _check_origin(self, origin: str, host: str, method: str) -> None:
        if same_origin(origin, host) or origin.rstrip("/").lower() in constants.TRUSTED_ORIGINS:
            return
        if method in READS:
            cors = (self.cors_origin() or "").strip()
            if cors == "*" or (cors and cors.rstrip("/").lower() == origin.rstrip("/").lower()):
                return
        raise CrossOrigin(
            f"a page from {origin[:100]!r} may not call this Mend route; only the server's own pages may "
            "(the operator can trust an origin with MEND_TRUSTED_ORIGINS)", field="Origin")

    def wrap(self, fn: Handler) -> Handler:
        """``fn`` behind the Host and Origin checks (refusals are JSON errors like every Mend error)."""

        @functools.wraps(fn)
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                self.check(request)
            except (CrossOrigin, UntrustedHost) as exc:
                return error_response(exc)
            return await fn(request)

        guarded.mend_guard = self  # type: ignore[attr-defined]
        return guarded


def comfy_cors_origin() -> str | None:
    """ComfyUI's ``--enable-cors-header`` value (``*`` when given without one), None when off or not ComfyUI."""
    try:
        from comfy.cli_args import args
    except ImportError:
        return None
    value = getattr(args, "enable_cors_header", None)
    return str(value) if value else None
