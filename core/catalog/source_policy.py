"""What a model download may do: allowed hosts, https only, pickle confirmation, remote risk, safe targets.

Every check is pure and raises a named error before any byte moves, so a refused download changes
nothing. Hosts: Hugging Face (and the ``HF_ENDPOINT`` mirror), Civitai, GitHub and their download
CDNs, plus what the operator adds with ``MEND_DOWNLOAD_HOSTS`` (comma-separated; ``*.example.com``
covers subdomains). Redirects are checked hop by hop with the same rule.

    >>> p = DownloadPolicy(hf_endpoint="https://huggingface.co")
    >>> p.check_url("https://huggingface.co/a/b/resolve/main/x.safetensors")
    'https://huggingface.co/a/b/resolve/main/x.safetensors'
    >>> p.check_url("http://huggingface.co/x")
    Traceback (most recent call last):
    ...
    mend.core.errors.InvalidField: 'http://huggingface.co/x': only https URLs are accepted
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .. import constants
from ..errors import ConfirmationRequired, Forbidden, HostNotAllowed, InvalidField, UnknownFolder, UnsafePath
from ..url_safety import checked_host, listens_only_on_loopback
from ..workflow.model_refs import PICKLE_EXTENSIONS

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
#: where model files come from, and the CDNs those hosts redirect downloads to
DEFAULT_DOWNLOAD_HOSTS = (
    "huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co",  # cdn-lfs*.hf.co, cas-bridge.xethub.hf.co
    "civitai.com", "*.civitai.com", "civitai-delivery-worker-prod.*.r2.cloudflarestorage.com",
    "github.com", "raw.githubusercontent.com", "objects.githubusercontent.com",
    "release-assets.githubusercontent.com", "codeload.github.com",
)


def hf_endpoint() -> str:
    """The Hugging Face endpoint (``HF_ENDPOINT`` mirror or the hub), read now, not at import."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class DownloadPolicy:
    """The operator's rules for downloads; ``from_env()`` reads them from the environment."""

    hf_endpoint: str = DEFAULT_HF_ENDPOINT
    extra_hosts: tuple[str, ...] = ()
    allow_remote_risk: bool = False
    #: test-only: plain http to loopback addresses (the tests' Hugging Face and file servers)
    allow_http_loopback: bool = False
    hosts: tuple[str, ...] = field(default=DEFAULT_DOWNLOAD_HOSTS)

    @classmethod
    def from_env(cls) -> DownloadPolicy:
        return cls(
            hf_endpoint=hf_endpoint(),
            extra_hosts=constants.DOWNLOAD_EXTRA_HOSTS,
            allow_remote_risk=constants.ALLOW_REMOTE_RISK,
            allow_http_loopback=constants.TEST_ALLOW_HTTP_LOOPBACK,
        )

    # -- hosts and URLs ---------------------------------------------------------------------
    def allowed_patterns(self) -> tuple[str, ...]:
        own = (urlsplit(self.hf_endpoint).hostname or "").lower()
        return (*self.hosts, *self.extra_hosts, *((own,) if own else ()))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.allowed_patterns())

    def check_url(self, url: object, field_name: str = "url") -> str:
        """An https URL (http only to loopback with the test setting) on an allowed host, without credentials."""
        if not isinstance(url, str) or not url.strip():
            raise InvalidField("a URL is required", field=field_name)
        url = url.strip()
        host, _loopback_http = checked_host(url, field_name, allow_http_loopback=self.allow_http_loopback)
        if not self.host_allowed(host):
            raise HostNotAllowed(
                f"{host} is not an allowed download host; the operator can add it with MEND_DOWNLOAD_HOSTS",
                field=field_name,
            )
        return url

    def check_source(self, folders: Mapping[str, list[Path]], folder: object, relpath: object, url: object) -> Path:
        """The one rule for a model source, whether a decision stores it or a download fetches it.

        The URL as ``check_url`` wants it (https, allowed host, no credentials) and the target inside its
        model folder (``target_path``: no ``..``, no symlinked subfolder leading out). Returns the target.
        """
        self.check_url(url)
        return target_path(folders, folder, relpath)

    def is_catalogued(self, url: str) -> bool:
        """Hugging Face is a catalog; any other host is "a URL from the internet" for the remote-risk rule."""
        host = (urlsplit(url).hostname or "").lower()
        own = (urlsplit(self.hf_endpoint).hostname or "").lower()
        return host in {"huggingface.co", "hf.co", own}

    # -- the risky parts --------------------------------------------------------------------
    def check_remote_risk(self, url: str, listen_addresses: Iterable[str], *, catalogued: bool = False) -> None:
        """A URL not from a catalog is refused on a server others can reach, unless the operator allows it."""
        addresses = list(listen_addresses)
        if catalogued or self.is_catalogued(url) or self.allow_remote_risk or listens_only_on_loopback(addresses):
            return
        raise Forbidden(
            f"ComfyUI listens on {', '.join(addresses)}: downloads from URLs outside the catalogs are refused "
            "on a non-loopback address unless the operator sets MEND_ALLOW_REMOTE_INSTALL=1"
        )

    @staticmethod
    def check_pickle(relpath: str, confirmed: bool) -> None:
        """Pickle formats can run code when loaded: the user must say yes explicitly."""
        # "x.ckpt." and "x.ckpt " are x.ckpt to Windows and to careless readers: judged by the same suffix
        if relpath.lower().rstrip(". ").endswith(PICKLE_EXTENSIONS) and not confirmed:
            raise ConfirmationRequired(
                f"{relpath.rsplit('/', 1)[-1]} is a pickle format that can run code when loaded; "
                "send confirm_pickle: true to download it anyway",
                field="confirm_pickle",
            )


def check_relpath(relpath: object, field_name: str = "filename") -> str:
    """A file path inside a model folder: relative, forward slashes, no ``..``, no empty or hidden parts."""
    if not isinstance(relpath, str) or not relpath.strip():
        raise InvalidField(f"{field_name} must be a non-empty string", field=field_name)
    value = relpath.strip()
    if "\0" in value or "\\" in value or value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        raise UnsafePath(f"{field_name} {relpath!r} must be a relative path with forward slashes", field=field_name)
    parts = value.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or posixpath.normpath(value) != value:
        raise UnsafePath(f"{field_name} {relpath!r} must stay inside its model folder", field=field_name)
    if value.endswith(".part"):
        raise UnsafePath(f"{field_name} {relpath!r} must not end in .part", field=field_name)
    return value


def target_path(folders: Mapping[str, list[Path]], folder: object, relpath: object) -> Path:
    """The final path of a download: ``relpath`` under the folder's default directory, never outside it."""
    if not isinstance(folder, str) or folder not in folders or not folders[folder]:
        raise UnknownFolder(f"{folder!r} is not a model folder of this ComfyUI", field="folder")
    rel = check_relpath(relpath)
    root = Path(folders[folder][0]).resolve()
    final = (root / rel).resolve()
    if root not in final.parents:
        raise UnsafePath(f"{rel!r} would leave the {folder} folder", field="filename")  # a symlinked subfolder
    return root / rel
