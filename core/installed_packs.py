"""The node packs present in ``custom_nodes`` folders: name, repository, commit or version, enabled.

Read from disk without importing anything (no git subprocess either: ``.git/config`` and
``HEAD`` are plain files), so it is cheap enough to run on every analysis.

A pack ComfyUI-Manager disabled is still an installed pack (``enabled: false``), in either of
Manager's layouts: ``custom_nodes/.disabled/<name>`` (registry packs as ``<name>@<version>``) and,
from older Managers, ``custom_nodes/<name>.disabled``. ComfyUI loads neither.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError


@dataclass(frozen=True)
class InstalledPack:
    name: str  # folder name
    path: Path
    repository: str | None = None  # git remote "origin", normalised
    commit: str | None = None
    cnr_id: str | None = None  # Comfy Registry id from pyproject [project].name
    version: str | None = None
    enabled: bool = True

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "repository": self.repository,
            "commit": self.commit,
            "cnr_id": self.cnr_id,
            "version": self.version,
            "enabled": self.enabled,
        }


def normalise_repo_url(url: str) -> str:
    """``git@github.com:A/B.git`` and ``https://github.com/A/B/`` both become ``https://github.com/a/b``."""
    url = url.strip().lower()
    if "://" not in url:
        m = _SCP_LIKE.match(url)
        if m:
            url = f"https://{m.group(1)}/{m.group(2)}"
    url = url.rstrip("/").removesuffix(".git").rstrip("/")
    if url.startswith("http://"):
        url = "https://" + url[7:]
    return url


_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")


DISABLED_DIR = ".disabled"


def scan_custom_nodes(directory: Path) -> list[InstalledPack]:
    """Every pack folder in ``directory``, enabled or disabled (both of Manager's layouts)."""
    if not directory.is_dir():
        return []
    packs = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "__")) or not entry.is_dir():
            continue
        packs.append(read_pack(entry))
    disabled = directory / DISABLED_DIR
    if disabled.is_dir():
        for entry in sorted(disabled.iterdir()):
            if entry.is_dir() and not entry.name.startswith((".", "__")):
                packs.append(read_pack(entry, enabled=False))
    return packs


def disabled_name(folder: str) -> str:
    """``ComfyUI-Foo.disabled`` and ``comfyui-foo@1_0_2`` (Manager's ``.disabled/`` names) -> the pack's folder."""
    return folder.removesuffix(".disabled").split("@", 1)[0]


def read_pack(path: Path, *, enabled: bool | None = None) -> InstalledPack:
    name = path.name
    enabled = not name.endswith(".disabled") if enabled is None else enabled
    repository, commit = _git_origin_and_head(path / ".git")
    cnr_id, version = _pyproject_identity(path / "pyproject.toml")
    return InstalledPack(
        name=disabled_name(name) if not enabled else name,
        path=path,
        repository=repository,
        commit=commit,
        cnr_id=cnr_id,
        version=version,
        enabled=enabled,
    )


def _git_origin_and_head(git_dir: Path) -> tuple[str | None, str | None]:
    if git_dir.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = git_dir.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            git_dir = (git_dir.parent / text[7:].strip()).resolve()
    if not git_dir.is_dir():
        return None, None
    origin = None
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(git_dir / "config", encoding="utf-8")
        origin = config.get('remote "origin"', "url", fallback=None)
    except configparser.Error:
        pass
    return (normalise_repo_url(origin) if origin else None), _head_commit(git_dir)


def _head_commit(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head[4:].strip()
    ref_file = git_dir / ref
    if ref_file.is_file():
        return ref_file.read_text().strip() or None
    packed = git_dir / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    return None


def _pyproject_identity(path: Path) -> tuple[str | None, str | None]:
    if not path.is_file():
        return None, None
    try:
        project = tomlkit.parse(path.read_text(encoding="utf-8")).get("project", {})
    except (TOMLKitError, UnicodeDecodeError, OSError):
        return None, None
    name, version = project.get("name"), project.get("version")
    return (str(name) if isinstance(name, str) else None), (str(version) if isinstance(version, str) else None)
