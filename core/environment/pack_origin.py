"""Whether a pack's git origin is one that ``sync`` on another machine can install from.

Mend clones over https only (http to loopback in tests). A checkout whose ``origin`` is an SSH URL
(``git@github.com:a/b.git``, ``ssh://…``), a local path or ``file://`` can be frozen at its commit, but
nothing can rebuild it elsewhere; ``freeze`` says so (and exits 1) and ``sync`` plans it ``unavailable``
instead of promising an install that would fail::

    >>> origin_problem("https://github.com/a/b")
    >>> origin_problem("git@github.com:a/b.git")[:60]
    'its origin git@github.com:a/b.git is an SSH URL; Mend instal'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .. import constants
from ..errors import MendError
from ..url_safety import checked_host

_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


def origin_problem(url: str | None, check: Callable[[str], object] | None = None) -> str | None:
    """None when ``url`` can be cloned by Mend anywhere; else the reason, for people.

    ``check`` is the installer's own URL check (``InstallPolicy.check_git_url``: scheme and allowed
    hosts); without it, the scheme alone is checked.
    """
    if not url or not url.strip():
        return "it has no origin URL"
    url = url.strip()
    scp = _SCP_LIKE.match(url) if "://" not in url else None
    if scp or url.lower().startswith(("ssh://", "git+ssh://", "ssh+git://")):
        hint = f" (https://{scp.group(1)}/{scp.group(2).removesuffix('.git')} if the repository is public)" \
            if scp else ""
        return f"its origin {url} is an SSH URL; Mend installs over https only{hint}"
    if url.lower().startswith("file:") or "://" not in url or _WINDOWS_PATH.match(url):
        return f"its origin {url} is a local path: another machine cannot clone it"
    try:
        if check is not None:
            check(url)
        else:
            checked_host(url, "repository", allow_http_loopback=constants.TEST_ALLOW_HTTP_LOOPBACK)
    except MendError as exc:
        return f"its origin {url}: {exc.message}"
    return None
