"""A failed connection said in words, for every stage that talks to the network.

Users read these lines (a task's error, ``mend resolve``'s summary), so they never carry a bare exception
class name (``gaierror``, ``ClientConnectorError``). Being offline is told apart from a transient failure:
a name that does not resolve or a network with no route does not heal in a few seconds, so it is said once,
in one sentence, and not retried.

    >>> import socket
    >>> is_offline(socket.gaierror(-3, "Temporary failure in name resolution"))
    True
    >>> why_failed(ConnectionResetError(104, "Connection reset by peer"))
    'the connection was dropped'
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import re
import socket
import ssl
from urllib.parse import urlsplit

#: errnos of a network that is not there (not of a server that is restarting: that refuses and comes back)
OFFLINE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


def unreachable_message(url: str) -> str:
    """``cannot reach <host>: are you offline?`` — the one sentence every stage says when offline."""
    host = urlsplit(url).hostname or url
    return f"cannot reach {host}: are you offline?"


def is_offline(exc: BaseException | None) -> bool:
    """A DNS failure or no route to the host, however wrapped (aiohttp, http.client, httpx keep the cause)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, socket.gaierror) or (isinstance(exc, OSError) and exc.errno in OFFLINE_ERRNOS):
            return True
        os_error = getattr(exc, "os_error", None)  # aiohttp.ClientConnectorError
        if isinstance(os_error, OSError) and os_error is not exc and is_offline(os_error):
            return True
        if "name resolution" in str(exc) or "Name or service not known" in str(exc):
            return True  # httpx and requests keep only the text of the resolver's error
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def why_failed(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words."""
    if is_offline(exc):
        return "the host name does not resolve or there is no route to it (offline?)"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError) or isinstance(getattr(exc, "os_error", None), ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return "the connection was dropped"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate could not be verified ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or 'no reason given'})"
    if isinstance(exc, http.client.HTTPException):
        return "its answer was not valid HTTP"
    name = type(exc).__name__
    if "Disconnected" in name:  # aiohttp.ServerDisconnectedError and the like
        return "the server closed the connection"
    if "Payload" in name:  # aiohttp.ClientPayloadError: the body stopped short
        return "the answer was cut off"
    text = getattr(exc, "strerror", None) or str(exc)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text) or "the connection failed"
