"""Fetch a node pack with git: clone into a staging folder, check out the wanted commit or tag.

git runs as a subprocess with no terminal prompts (``GIT_TERMINAL_PROMPT=0``), no hooks
(``-c core.hooksPath=/dev/null``), only the https protocol (plus http in the test-only loopback
mode), and the URL after ``--`` so it can never be read as an option. The URL has been checked by
``InstallPolicy.check_git_url`` before it reaches here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ..tasks.task_api import PermanentTaskError
from .proc import StepFailed, run_step

#: git's words for "this host cannot be reached at all" (DNS, refused, no route): not worth a retry
_UNREACHABLE = re.compile(r"Could not resolve host|Couldn't resolve host|Connection refused|Failed to connect|"
                          r"Network is unreachable|No route to host|Temporary failure in name resolution")


class GitHostUnreachable(PermanentTaskError):
    status = 502
    code = "git_unreachable"


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a private or missing repository
        "GIT_ASKPASS": "true",
        "SSH_ASKPASS": "true",
        "GCM_INTERACTIVE": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",  # stable messages in failure reports
    })
    return env


def git_argv(*args: str, allow_http: bool = False) -> list[str]:
    """``git`` with hooks off and only the transports an install may use (submodules included)."""
    protocols = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always"]
    if allow_http:
        protocols += ["-c", "protocol.http.allow=always"]
    return ["git", "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false", *protocols, *args]


async def clone_at(
    url: str,
    dest: Path,
    ref: str | None,
    *,
    timeout: float,
    step: Callable[[str], None],
    on_line: Callable[[str], None] | None = None,
    allow_http: bool = False,
    ref_optional: bool = False,
) -> str:
    """Clone ``url`` into ``dest`` (which must not exist) and check out ``ref``; return the commit.

    ``ref_optional``: a version tag the repository lacks means its default branch (said through ``on_line``).
    """
    env = git_env()
    step("clone")
    try:
        await run_step(
            git_argv("clone", "--progress", "--no-checkout", "--", url, str(dest), allow_http=allow_http),
            step="clone", timeout=timeout, env=env, on_line=on_line,
        )
    except StepFailed as exc:
        if exc.output_tail and _UNREACHABLE.search(exc.output_tail):
            host = urlsplit(url).hostname or url
            raise GitHostUnreachable(f"cannot reach {host}: are you offline?", output_tail=exc.output_tail) from exc
        raise
    step("checkout")
    try:
        commit = await _resolve(dest, ref, env, timeout)
    except StepFailed:
        if not (ref and ref_optional):
            raise
        if on_line is not None:
            on_line(f"the repository has no tag {ref}; installing its default branch")
        commit = await _resolve(dest, None, env, timeout)
    await run_step(git_argv("checkout", "--detach", commit, allow_http=allow_http),
                   step="checkout", timeout=timeout, cwd=dest, env=env)
    if (dest / ".gitmodules").is_file():
        step("submodules")
        await run_step(git_argv("submodule", "update", "--init", "--recursive", allow_http=allow_http),
                       step="submodules", timeout=timeout, cwd=dest, env=env, on_line=on_line)
    return commit


async def _resolve(repo: Path, ref: str | None, env: dict[str, str], timeout: float) -> str:
    """The commit ``ref`` names (a sha, a tag, a branch of origin); the default branch when None."""
    candidates = [ref, f"refs/tags/{ref}", f"refs/tags/v{ref}", f"origin/{ref}"] if ref else ["HEAD"]
    for candidate in candidates:
        try:
            out = await run_step(
                ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"],
                step="checkout", timeout=timeout, cwd=repo, env=env,
            )
        except StepFailed:
            continue
        commit = out.strip().splitlines()[-1].strip() if out.strip() else ""
        if len(commit) >= 40:
            return commit
    raise StepFailed("checkout", f"{ref or 'HEAD'!r} is not a commit, tag or branch of this repository")
