"""What an install asks for, validated: a registry id or a repository URL, a version or commit, a folder.

One parser serves the route (``POST /mend/nodes/install``), the task runner (params are re-checked
when a task runs or resumes) and the CLI, so every entry point refuses the same bad input.

    >>> InstallRequest.parse({"repository": "https://github.com/alice/ComfyUI-Alpha.git", "commit": "v1.0"},
    ...                      InstallPolicy()).folder
    'ComfyUI-Alpha'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidField
from .install_policy import InstallPolicy, check_git_ref, check_safe_name
from .installed_packs import normalise_repo_url

SOURCES = ("registry", "git")


@dataclass(frozen=True)
class InstallRequest:
    source: str  # "registry" (zip of a published version) or "git" (clone at a commit or tag)
    folder: str  # the folder under custom_nodes (the registry id, or the repository's name)
    id: str | None = None  # Comfy Registry id
    repository: str | None = None  # git URL as given (checked against the policy)
    version: str | None = None  # registry version (or, for git, a tag when no commit is given)
    commit: str | None = None  # git commit, tag or branch

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
        pack_id, repository = fields["id"] or None, fields["repository"] or None
        version, commit, source = fields["version"] or None, fields["commit"] or None, fields["source"] or None
        if source is not None and source not in SOURCES:
            raise InvalidField(f"source must be one of {', '.join(SOURCES)}", field="source")
        if pack_id is not None:
            check_safe_name(pack_id, "id")
        if source is None:  # a commit only makes sense for git; otherwise the registry is preferred
            source = "git" if commit or not pack_id else "registry"
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
        return cls(source=source, folder=folder, id=pack_id, repository=repository, version=version, commit=commit)

    def to_params(self) -> dict[str, str]:
        return {k: v for k, v in {
            "source": self.source, "folder": self.folder, "id": self.id, "repository": self.repository,
            "version": self.version, "commit": self.commit,
        }.items() if v is not None}

    @property
    def normalised_repository(self) -> str | None:
        return normalise_repo_url(self.repository) if self.repository else None


def repo_folder_name(url: str) -> str:
    """The folder ``git clone`` would make (ComfyUI-Manager uses the same): the last path part, no ``.git``."""
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1].removesuffix(".git")
    return check_safe_name(name, "repository")
