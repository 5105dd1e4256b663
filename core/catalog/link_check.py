"""The link probe as the rest of Mend uses it: which links are probed, a short cache, named errors.

Hugging Face links are not probed (the hub's API confirms them, ``huggingface.py``); every other link is
probed once (``link_probe.py``) and the answer is kept for a minute (a few seconds when the network or the
server failed), so a panel that renders again, a decision and the download that follows it cost one
request. A probe that says a download cannot work becomes the outcome's named error
(``link_needs_login``, ``link_not_found``, ...; a hop the policy refuses is ``host_not_allowed``).

    checker = link_checker(mend)
    probe = checker.check(url, "loras")   # blocking; raises UnusableLink / HostNotAllowed, None for Hugging Face
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..errors import (
    HostNotAllowed,
    LinkIsWebPage,
    LinkNeedsLogin,
    LinkNotFound,
    LinkRejected,
    LinkUnreachable,
    LinkWrongKind,
    MendError,
)
from . import link_probe
from .link_probe import LinkProbe, probe_link
from .source_policy import DownloadPolicy
from .url_sources import fetched_url

TTL = 60.0  # seconds an answer is reused
SHORT_TTL = 5.0  # ... when the network or the server failed: it may be back soon
MAX_ENTRIES = 1024
_ERRORS: dict[str, type[MendError]] = {
    link_probe.NEEDS_LOGIN: LinkNeedsLogin, link_probe.NOT_FOUND: LinkNotFound, link_probe.WEB_PAGE: LinkIsWebPage,
    link_probe.WRONG_KIND: LinkWrongKind, link_probe.UNREACHABLE: LinkUnreachable, link_probe.REJECTED: LinkRejected,
    link_probe.REFUSED: HostNotAllowed,
}


def is_hugging_face(url: str, policy: DownloadPolicy) -> bool:
    """A link the hub's API confirms: huggingface.co, hf.co (and subdomains), the ``HF_ENDPOINT`` mirror."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.lower()
    except ValueError:
        return False
    if host in ("huggingface.co", "hf.co") or host.endswith((".huggingface.co", ".hf.co")):
        return True
    return netloc == urlsplit(policy.hf_endpoint).netloc.lower()


def error_for(probe: LinkProbe) -> MendError | None:
    """The named error of a probe that says a download cannot work; None when it can start."""
    if probe.downloadable:
        return None
    return _ERRORS.get(probe.outcome, LinkRejected)(probe.message, field="url", probe=probe.to_json())


class LinkChecker:
    """Probes links off the event loop and remembers the answers briefly (thread-safe)."""

    def __init__(self, policy: DownloadPolicy, folder_extensions: Callable[[str], frozenset[str]] | None = None,
                 *, probe: Callable[..., LinkProbe] = probe_link, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.folder_extensions = folder_extensions or (lambda folder: frozenset())
        self._probe = probe
        self._clock = clock
        self._answers: dict[tuple[str, str | None], tuple[float, LinkProbe]] = {}
        self._lock = threading.Lock()

    def target(self, url: str) -> str | None:
        """The URL a probe of ``url`` asks: the one a download fetches (a GitHub ``blob`` page's raw file);
        None for a Hugging Face link (the hub confirms it) or a Civitai model page (Civitai's API names its
        file when the download is set up, and that file is probed then)."""
        fetched = fetched_url(url)
        return None if fetched is None or is_hugging_face(fetched, self.policy) else fetched

    def cached(self, url: str, folder: str | None = None) -> LinkProbe | None:
        """A fresh answer about ``url``, without asking (None when there is none)."""
        with self._lock:
            known = self._answers.get((url, folder))
            return known[1] if known and known[0] > self._clock() else None

    def probe(self, url: str, folder: str | None = None) -> LinkProbe | None:
        """What the link's server says (cached); None when the link is not probed (``target``). Blocking."""
        asked = self.target(url)
        if asked is None:
            return None
        if (known := self.cached(asked, folder)) is not None:
            return known
        extensions = frozenset(self.folder_extensions(folder)) if folder else frozenset()
        answer = self._probe(asked, self.policy, folder=folder, extensions=extensions)
        ttl = SHORT_TTL if answer.outcome in (link_probe.UNREACHABLE, link_probe.UNCONFIRMED) else TTL
        now = self._clock()
        with self._lock:
            if len(self._answers) >= MAX_ENTRIES:
                self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
                if len(self._answers) >= MAX_ENTRIES:
                    self._answers.pop(next(iter(self._answers)))
            self._answers[(asked, folder)] = (now + ttl, answer)
        return answer

    def check(self, url: str, folder: str | None = None) -> LinkProbe | None:
        """``probe``, raising the outcome's named error when a download cannot work. Blocking."""
        answer = self.probe(url, folder)
        if answer is not None and (error := error_for(answer)) is not None:
            raise error
        return answer

    async def aprobe(self, url: str, folder: str | None = None) -> LinkProbe | None:
        """``probe`` off the event loop; a link not probed, or answered recently, costs no thread."""
        asked = self.target(url)
        if asked is None:
            return None
        return self.cached(asked, folder) or await asyncio.to_thread(self.probe, url, folder)

    async def acheck(self, url: str, folder: str | None = None) -> LinkProbe | None:
        answer = await self.aprobe(url, folder)
        if answer is not None and (error := error_for(answer)) is not None:
            raise error
        return answer


def link_checker(mend: Any) -> LinkChecker:
    """The ``Mend``'s one checker (its cache is shared by decisions, searches and downloads)."""
    checker = mend.extras.get("link_checker")
    if checker is None:
        policy = mend.extras.get("download_policy") or DownloadPolicy.from_env()
        checker = mend.extras["link_checker"] = LinkChecker(policy, mend.host.folder_extensions)
    return checker
