"""What every Mend handler shares: JSON bodies with a size limit, JSON errors, one decorator.

POST bodies must be ``application/json``: a browser cannot send that cross-site without a CORS
pre-flight, which blocks form-post CSRF against a ComfyUI on the local network.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..core import constants
from ..core.errors import InsufficientStorage, MendError, PayloadTooLarge, TooManyRequests, UnsupportedMediaType
from ..core.json_input import loads_checked

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


#: bodies up to this size are parsed on the loop; larger ones in a thread (a 25 MB parse takes ~0.3 s)
PARSE_INLINE_BYTES = 256 * 1024
#: errno values that mean "the disk or the quota is full": 507, nothing written
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def error_response(error: MendError) -> web.Response:
    response = json_response(error.to_json(), status=error.status)
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handler(fn: Handler) -> Handler:
    """Turn any ``MendError`` into its JSON error; log and hide anything unexpected."""

    @functools.wraps(fn)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except MendError as exc:
            return error_response(exc)
        except web.HTTPException:
            raise
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                log.exception("mend: %s %s failed", request.method, request.path)
                return error_response(MendError("internal error; see the server log"))
            log.warning("mend: %s %s: the disk is full (%s)", request.method, request.path, exc)
            return error_response(InsufficientStorage(
                f"the disk is full ({exc.strerror}); nothing was changed: free some space and try again"))
        except Exception:
            log.exception("mend: %s %s failed", request.method, request.path)
            return error_response(MendError("internal error; see the server log"))

    return wrapped


async def read_body(request: web.Request, max_bytes: int | None = None) -> bytes:
    """The raw body of an ``application/json`` request, within the size limit (nothing parsed here)."""
    limit = constants.MAX_BODY_BYTES if max_bytes is None else max_bytes
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json", field="Content-Type")
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
    return bytes(body)


async def read_json(request: web.Request, max_bytes: int | None = None) -> Any:
    body = await read_body(request, max_bytes)
    if len(body) <= PARSE_INLINE_BYTES:
        return loads_checked(body)
    return await asyncio.to_thread(loads_checked, body)
