"""What an install asks for, validated: a registry id or a repository URL, a version or commit, a folder.

One parser serves the route (``POST /mend/nodes/install``), the task runner (params are re-checked
when a task runs or resumes) and the CLI, so every entry point refuses the same bad input.

``source`` is ``registry`` (zip of a published version), ``git`` (clone at a commit, tag or the default
branch) or ``auto``: the registry when it has the pack, else git (``install_source`` decides when the
task runs, and says which and why). Without ``source``: a registry id and a repository give ``auto``, a
commit or a repository alone ``git``, an id alone ``registry``. ``confirm_incompatible`` installs a pack
whose registry entry says it does not fit this machine (never a banned one).

    >>> InstallRequest.parse({"repository": "https://github.com/alice/ComfyUI-Alpha.git", "commit": "v1.0"},
    ...                      InstallPolicy()).folder
    'ComfyUI-Alpha'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..catalog.comfy_core import is_core_id, is_core_repository
from ..catalog.install_plan import GIT_COMMIT
from ..errors import InvalidField
from ..installed_packs import normalise_repo_url
from .policy import InstallPolicy, check_git_ref, check_safe_name

SOURCES = ("registry", "git", "auto")
#: a Comfy Registry id as the registry makes them (``comfyui-videohelpersuite``, ``ComfyUI-GGUF``, ``rgthree-comfy``)
REGISTRY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class InvalidRegistryId(InvalidField):
    code = "invalid_registry_id"


class CoreNotAPack(InvalidField):
    """ComfyUI itself named as a node pack (Manager's map lists core nodes under ComfyUI's repository)."""

    code = "core_not_a_pack"


def check_not_core(pack_id: str | None, repository: str | None) -> None:
    """Cloning ComfyUI into custom_nodes fixes no missing core node: update ComfyUI or mend its core modules."""
    field = "repository" if is_core_repository(repository) else "id" if is_core_id(pack_id) else None
    if field is not None:
        raise CoreNotAPack(
            "ComfyUI itself is not a node pack: a core node it lacks needs a newer ComfyUI, or a core module "
            "that failed to import (see ComfyUI's log)", field=field)


def check_registry_id(value: str) -> str:
    if not REGISTRY_ID.match(value) or ".." in value:
        raise InvalidRegistryId(f"{value!r} is not a Comfy Registry id (letters, digits, '-', '_', '.')", field="id")
    return value


@dataclass(frozen=True)
class InstallRequest:
    source: str  # "registry", "git" or "auto" (registry when it has the pack, else git)
    folder: str  # the folder under custom_nodes (the registry id, or the repository's name)
    id: str | None = None  # Comfy Registry id
    repository: str | None = None  # git URL as given (checked against the policy)
    version: str | None = None  # registry version (or, for git, a tag when no commit is given)
    commit: str | None = None  # git commit, tag or branch
    confirm_incompatible: bool = False  # the user saw why the pack does not fit this machine and wants it anyway
    git_folder: str | None = None  # auto: the folder a git install uses (the repository's name)

    @property
    def target(self) -> str:
        """Two live installs into one folder are refused (case-insensitive: macOS and Windows folders are)."""
        return f"pack:{self.folder.lower()}"

    @property
    def git_ref(self) -> str | None:
        return self.commit or self.version

    @classmethod
    def parse(cls, body: Any, policy: InstallPolicy) -> InstallRequest:
        if not isinstance(body, Mapping):
            raise InvalidField("the body must be an object naming a pack by id or repository")
        fields = {k: body.get(k) for k in ("id", "repository", "version", "commit", "source", "folder")}
        for key, value in fields.items():
            if value is not None and not isinstance(value, str):
                raise InvalidField(f"{key} must be a string", field=key)
        confirm = body.get("confirm_incompatible", False)
        if not isinstance(confirm, bool):
            raise InvalidField("confirm_incompatible must be true or false", field="confirm_incompatible")
        pack_id, repository = fields["id"] or None, fields["repository"] or None
        check_not_core(pack_id, repository)
        version, commit, source = fields["version"] or None, fields["commit"] or None, fields["source"] or None
        if source is not None and source not in SOURCES:
            raise InvalidField(f"source must be one of {', '.join(SOURCES)}", field="source")
        if version is not None and commit is None and GIT_COMMIT.match(version) and repository:
            commit, version = version, None  # a workflow's ``ver`` that is a commit: only git can fetch it
        if source is None:  # a commit only makes sense for git; otherwise the registry is preferred
            source = "git" if commit or not pack_id else "auto" if repository else "registry"
        if source == "auto" and (commit or not pack_id or not repository):
            source = "git" if repository else "registry"
        if pack_id is not None and source == "git":
            check_safe_name(pack_id, "id")  # a git install's id is only its manifest key
        elif pack_id is not None:
            check_registry_id(pack_id)  # sent to the registry
        if source == "auto":
            repository = policy.check_git_url(repository)
            if version is not None:
                check_git_ref(version, "version")
            folder = fields["folder"] or pack_id
            check_safe_name(folder, "folder")
            git_folder = fields["folder"] or repo_folder_name(repository)
            return cls(source=source, folder=folder, id=pack_id, repository=repository, version=version,
                       confirm_incompatible=confirm, git_folder=git_folder)
        if source == "registry":
            if not pack_id:
                raise InvalidField("a registry install needs the pack's id", field="id")
            if commit:
                raise InvalidField("a registry install takes a version, not a commit", field="commit")
            if version is not None:
                check_git_ref(version, "version")
            if repository:
                repository = policy.check_git_url(repository)
            folder = fields["folder"] or pack_id
        else:
            if not repository:
                raise InvalidField("a git install needs the repository URL", field="repository")
            repository = policy.check_git_url(repository)
            if commit is not None:
                check_git_ref(commit, "commit")
            if version is not None:
                check_git_ref(version, "version")
            folder = fields["folder"] or repo_folder_name(repository)
        check_safe_name(folder, "folder")
        return cls(source=source, folder=folder, id=pack_id, repository=repository, version=version, commit=commit,
                   confirm_incompatible=confirm)

    def to_params(self) -> dict[str, str | bool]:
        params: dict[str, str | bool] = {k: v for k, v in {
            "source": self.source, "id": self.id, "repository": self.repository,
            "version": self.version, "commit": self.commit,
        }.items() if v is not None}
        if self.source != "auto" or self.git_folder == self.folder:
            params["folder"] = self.folder  # auto picks its folder by source, unless one was asked for
        if self.confirm_incompatible:
            params["confirm_incompatible"] = True
        return params

    def as_git(self) -> InstallRequest:
        """The same install from the repository (auto's fallback): the repository's folder, a tag for ``version``."""
        return InstallRequest(source="git", folder=self.git_folder or self.folder, id=self.id,
                              repository=self.repository, version=self.version, commit=self.commit,
                              confirm_incompatible=self.confirm_incompatible)

    def as_registry(self) -> InstallRequest:
        return InstallRequest(source="registry", folder=self.folder, id=self.id, repository=self.repository,
                              version=self.version, confirm_incompatible=self.confirm_incompatible)

    @property
    def normalised_repository(self) -> str | None:
        return normalise_repo_url(self.repository) if self.repository else None


def repo_folder_name(url: str) -> str:
    """The folder ``git clone`` would make (ComfyUI-Manager uses the same): the last path part, no ``.git``."""
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1].removesuffix(".git")
    return check_safe_name(name, "repository")
