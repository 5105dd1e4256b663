"""Checks every URL and address Mend acts on shares: loopback detection and a URL's safe shape.

Download and install policies differ in which hosts they allow; what a URL must look like before
any host is considered (https, or http to loopback in tests; no credentials; a host) is the same.

    >>> is_loopback("127.0.0.2"), is_loopback("0.0.0.0")
    (True, False)
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

from .errors import InvalidField


def is_loopback(address: str) -> bool:
    """``127.0.0.0/8``, ``::1`` and ``localhost`` are loopback; ``0.0.0.0``, ``::`` and names are not."""
    address = address.strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_public_address(address: str) -> bool:
    """An address of the public internet: not private, loopback, link-local, reserved, shared or multicast.

    A name that resolves to one of those is how a link reaches a machine inside the network (a router's
    admin page, a cloud's metadata service), so links are only followed there when the operator allowed it.

    >>> is_public_address("93.184.215.14"), is_public_address("10.0.0.5"), is_public_address("::ffff:127.0.0.1")
    (True, False, False)
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA store costs ~0.2 s, not to be paid per request."""
    return ssl.create_default_context()


def listens_only_on_loopback(addresses: Iterable[str]) -> bool:
    """True when every address is loopback (an empty list is the CLI: nothing listens)."""
    return all(is_loopback(a) for a in addresses)


def checked_host(url: str, field_name: str, *, allow_http_loopback: bool) -> tuple[str, bool]:
    """The URL's lower-case host, and whether it is the test-only http-to-loopback case.

    Refuses a malformed URL, credentials in it, any scheme but https (http only to loopback when the
    test setting allows it) and a URL without a host.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise InvalidField(f"{url!r} is not a valid URL", field=field_name) from exc
    if parts.username or parts.password:
        raise InvalidField("credentials in a URL are refused", field=field_name)
    loopback_http = parts.scheme == "http" and allow_http_loopback and is_loopback(host)
    if parts.scheme != "https" and not loopback_http:
        raise InvalidField(f"{url!r}: only https URLs are accepted", field=field_name)
    if not host:
        raise InvalidField(f"{url!r} has no host", field=field_name)
    return host, loopback_http
