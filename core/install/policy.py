"""What an install may touch: the remote-risk rule, allowed git hosts, safe pack ids and folder names.

Everything here is a pure check that raises a named error (``Forbidden``, ``HostNotAllowed``,
``InvalidField``, ``UnsafePath``) before any work starts, so a refused install changes nothing.

    >>> InstallPolicy().check_git_url("https://github.com/a/b")
    'https://github.com/a/b'
    >>> InstallPolicy().check_git_url("-uhttps://github.com/a/b")
    Traceback (most recent call last):
    ...
    mend.core.errors.InvalidField: a git URL must not start with '-'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .. import constants
from ..errors import Forbidden, HostNotAllowed, InvalidField, UnsafePath
from ..url_safety import checked_host, listens_only_on_loopback

DEFAULT_GIT_HOSTS = ("github.com", "gitlab.com", "codeberg.org", "huggingface.co")

#: a pack folder or registry id: a plain name, no separators, no leading dot or dash
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+ -]{0,127}$")
#: a git commit, tag or branch as accepted from users (never an option, never a range)
_SAFE_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}$")


def check_safe_name(name: str, field_name: str) -> str:
    """A pack id or folder name must be one plain path component."""
    if not isinstance(name, str) or not name:
        raise InvalidField(f"{field_name} must be a non-empty string", field=field_name)
    if "/" in name or "\\" in name or ".." in name or "\0" in name or not _SAFE_NAME.match(name):
        raise UnsafePath(f"{field_name} {name!r} is not a plain folder name", field=field_name)
    return name


def check_git_ref(ref: str, field_name: str) -> str:
    if not isinstance(ref, str) or not _SAFE_REF.match(ref) or ".." in ref or ref.endswith((".lock", "/")):
        raise InvalidField(f"{field_name} {ref!r} is not a commit, tag or branch name", field=field_name)
    return ref


@dataclass(frozen=True)
class InstallPolicy:
    """The operator's rules for installs; ``from_env()`` reads them from ``constants``."""

    git_hosts: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_GIT_HOSTS))
    allow_remote_risk: bool = False
    allow_install_scripts: bool = False
    #: test-only: plain http on loopback addresses (the tests' git and registry servers)
    allow_http_loopback: bool = False

    @classmethod
    def from_env(cls) -> InstallPolicy:
        return cls(
            git_hosts=frozenset(DEFAULT_GIT_HOSTS) | frozenset(constants.GIT_EXTRA_HOSTS),
            allow_remote_risk=constants.ALLOW_REMOTE_RISK,
            allow_install_scripts=constants.ALLOW_INSTALL_SCRIPTS,
            allow_http_loopback=constants.TEST_ALLOW_HTTP_LOOPBACK,
        )

    def check_remote_risk(self, listen_addresses: Iterable[str]) -> None:
        """Installing runs code from the internet: refused on a server others can reach, unless allowed."""
        addresses = list(listen_addresses)
        if not self.allow_remote_risk and not listens_only_on_loopback(addresses):
            raise Forbidden(
                f"ComfyUI listens on {', '.join(addresses)}: installs are refused on a non-loopback address "
                "unless the operator sets MEND_ALLOW_REMOTE_INSTALL=1"
            )

    def check_git_url(self, url: str, field_name: str = "repository") -> str:
        """An https URL on an allowed host (http on loopback only when the test setting is on)."""
        if not isinstance(url, str) or not url.strip():
            raise InvalidField("a repository URL is required", field=field_name)
        url = url.strip()
        if url.startswith("-"):
            raise InvalidField("a git URL must not start with '-'", field=field_name)
        self._check_url(url, field_name, hosts=self.git_hosts)
        return url

    def check_download_url(self, url: str, field_name: str = "downloadUrl") -> str:
        """A registry archive URL: https on any host (the registry chose it), or http on loopback in tests."""
        self._check_url(url, field_name, hosts=None)
        return url

    def _check_url(self, url: str, field_name: str, hosts: frozenset[str] | None) -> None:
        host, loopback_http = checked_host(url, field_name, allow_http_loopback=self.allow_http_loopback)
        if hosts is not None and not loopback_http and host not in hosts:
            raise HostNotAllowed(
                f"{host} is not an allowed git host ({', '.join(sorted(hosts))}; add more with MEND_GIT_HOSTS)",
                field=field_name,
            )
