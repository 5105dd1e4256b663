"""Where an install comes from, decided when it runs: the registry's zip, or git; and why, in words.

For ``auto`` (a registry id and a repository), in this order:

1. the workflow pins a git commit: git at that commit (the registry serves versions, not commits);
2. the registry has the pack: its zip at the version asked for (``version_not_found`` when it has no
   such version), else its newest usable version;
3. the registry does not have the pack: git at the version's tag when the repository has one, else
   at its default branch;
4. the registry cannot be reached (DNS failure, refused connection: ``cannot reach api.comfy.org: are
   you offline?``), fails (5xx, timeout) or answers something that is not its API (HTML): git, saying so.

``registry`` alone turns 3 and 4 into named errors. Whatever the source, a version the registry marks
banned is never installed; flagged only while ComfyUI listens on loopback alone; one whose
compatibility fields (``install_compat``) exclude this machine only with ``confirm_incompatible``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..catalog.pack_compat import BANNED, MachineFacts, conflicts, describe
from ..catalog.registry import RegistryBadAnswer, RegistryClient, RegistryUnreachable
from ..errors import UpstreamError
from ..tasks.task_api import PermanentTaskError, RetryableTaskError
from .request import InstallRequest

DELETED = {"NodeVersionStatusDeleted", "NodeStatusDeleted"}
FLAGGED = "NodeVersionStatusFlagged"


class NotInRegistry(PermanentTaskError):
    status = 404
    code = "not_in_registry"


class VersionNotFound(PermanentTaskError):
    status = 404
    code = "version_not_found"


class NoDownloadUrl(PermanentTaskError):
    status = 409
    code = "no_download_url"


class PackBanned(PermanentTaskError):
    status = 403
    code = "pack_banned"


class FlaggedNeedsLoopback(PermanentTaskError):
    status = 403
    code = "flagged_remote"


class PackIncompatible(PermanentTaskError):
    """Refused until the user confirms (``confirm_incompatible: true``): the reasons are in the message."""

    status = 409
    code = "incompatible"


class RegistryUnreachableError(PermanentTaskError):
    status = 502
    code = "registry_unreachable"


class RegistryBadAnswerError(PermanentTaskError):
    status = 502
    code = "registry_bad_answer"


#: what refuses an install before it is queued (the route's pre-check): the user must see these at once
GATES = (NotInRegistry, VersionNotFound, NoDownloadUrl, PackBanned, FlaggedNeedsLoopback, PackIncompatible)


@dataclass
class SourceChoice:
    request: InstallRequest  # ``registry`` or ``git``, with the folder that source uses
    reason: str  # one sentence for the task and the manifest: which source and why
    version: dict | None = None  # the registry version record (with ``downloadUrl``) for a registry install
    fallback: bool = False  # the registry was wanted but could not be used
    conflicts: list[dict] = field(default_factory=list)  # compatibility conflicts the user confirmed


def _status_gate(status: str | None, what: str, *, loopback_only: bool) -> None:
    if status in BANNED:
        raise PackBanned(f"{what} is banned by the Comfy Registry; Mend does not install it")
    if status == FLAGGED and not loopback_only:
        raise FlaggedNeedsLoopback(f"{what} is flagged by the Comfy Registry; it installs only while ComfyUI "
                                   "listens on loopback addresses alone")


def pick_version(versions: list[dict], wanted: str | None) -> dict:
    """The version named ``wanted``, or the newest usable one (by ``createdAt``, then list order)."""
    if wanted:
        for v in versions:
            if str(v.get("version")) == wanted:
                if v.get("status") in DELETED:
                    raise VersionNotFound(f"version {wanted} was deleted from the registry")
                return v
        known = ", ".join(str(v.get("version")) for v in versions[:10]) or "none"
        raise VersionNotFound(f"the registry has no version {wanted} (it has: {known})")
    usable = [v for v in versions if v.get("status") not in BANNED | DELETED and not v.get("deprecated")]
    if not usable:
        raise NotInRegistry("the registry lists no usable version of this pack")
    dated = [v for v in usable if v.get("createdAt")]
    return max(dated, key=lambda v: str(v["createdAt"])) if dated else usable[0]


def check_version(pack: Mapping[str, Any] | None, version: Mapping[str, Any], request: InstallRequest,
                  facts: MachineFacts, *, loopback_only: bool) -> list[dict]:
    """Status and compatibility gates for one registry version; returns the conflicts the user confirmed."""
    name = f"{request.id} {version.get('version')}"
    _status_gate((pack or {}).get("status"), str(request.id), loopback_only=loopback_only)
    _status_gate(version.get("status"), name, loopback_only=loopback_only)
    merged = {**{k: v for k, v in (pack or {}).items() if k.startswith("supported_")}, **version}
    found = conflicts(merged, facts)
    if found and not request.confirm_incompatible:
        raise PackIncompatible(f"{name} does not fit this machine: {describe(found)}; "
                               "install it anyway with confirm_incompatible", conflicts=found)
    return found


async def choose_source(registry: RegistryClient, session: aiohttp.ClientSession, request: InstallRequest,
                        facts: MachineFacts, *, loopback_only: bool) -> SourceChoice:
    """Decide registry or git for ``request`` (look-ups only: nothing is downloaded here)."""
    if request.source == "git":
        return SourceChoice(request, _git_reason(request, "a git install was asked for"))
    wanted = request.as_registry()
    if not registry.enabled:
        return _fallback(request, "registry look-ups are off (MEND_OFFLINE or an empty MEND_REGISTRY_URL)")
    assert request.id is not None
    try:
        versions = await registry.versions(session, request.id)
        pack = await registry.pack(session, request.id) if versions else None
    except RegistryUnreachable as exc:
        return _fallback(request, exc.message, RegistryUnreachableError(exc.message))
    except RegistryBadAnswer as exc:
        return _fallback(request, exc.message, RegistryBadAnswerError(exc.message))
    except UpstreamError as exc:
        if exc.details.get("http_status") == 403:  # the registry's answer for a banned pack
            raise PackBanned(f"{request.id} is banned by the Comfy Registry; Mend does not install it") from exc
        error = (RetryableTaskError if exc.retryable else PermanentTaskError)(exc.message)
        return _fallback(request, exc.message, error)
    if not versions:
        return _fallback(request, f"the registry has no pack {request.id!r}",
                         NotInRegistry(f"the registry has no pack {request.id!r} (or no published version of it)"))
    chosen = pick_version(versions, request.version)
    found = check_version(pack, chosen, wanted, facts, loopback_only=loopback_only)
    if not chosen.get("downloadUrl"):
        raise NoDownloadUrl(f"the registry's answer for {request.id} {chosen.get('version')} has no downloadUrl")
    why = f"version {request.version}, as the workflow names it" if request.version else "its newest version"
    return SourceChoice(wanted, f"from the Comfy Registry: {request.id} {chosen.get('version')} ({why})",
                        version=chosen, conflicts=found)


def _fallback(request: InstallRequest, why: str, error: Exception | None = None) -> SourceChoice:
    """git instead of the registry (auto), or the registry's failure as a named error (registry only)."""
    if request.source != "auto":
        if error is None:
            raise PermanentTaskError(f"{why}; install from the repository instead")
        raise error
    return SourceChoice(request.as_git(), _git_reason(request.as_git(), why), fallback=True)


def _git_reason(request: InstallRequest, why: str) -> str:
    at = (f"commit {request.commit[:12]}" if request.commit else f"tag {request.version}" if request.version
          else "its default branch")
    return f"from git: {request.repository} at {at} ({why})"
