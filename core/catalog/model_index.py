"""An index of every file in every model folder, rescanned incrementally.

A cold scan stats each file once (``os.scandir``); a rescan stats each directory and re-lists only
those whose mtime changed, so an unchanged 50,000-file tree costs one ``stat`` per directory and
no rebuilding at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelFile:
    folder: str  # model folder name (checkpoints, loras, ...)
    relpath: str  # posix path relative to the folder root, as the loader's widget shows it
    abspath: str
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.abspath)

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass
class _DirState:
    mtime_ns: int
    files: list[ModelFile]
    subdirs: list[str]


class ModelIndex:
    """Model files by folder and by lower-case file name."""

    def __init__(self, folders: Mapping[str, Iterable[Path]], extensions: Mapping[str, frozenset[str]]) -> None:
        self._folders = {name: [str(p) for p in paths] for name, paths in folders.items()}
        self._extensions = extensions
        self._dirs: dict[tuple[str, str], _DirState] = {}  # (folder, directory) -> what it held
        self.files: list[ModelFile] = []
        self._by_name: dict[str, list[ModelFile]] = {}
        self._by_folder: dict[str, dict[str, ModelFile]] = {}
        self.dirs_listed = 0  # how many directories the last scan had to list (for tests and bench)

    def scan(self) -> ModelIndex:
        self.dirs_listed = 0
        visited: set[tuple[str, str]] = set()
        real_seen: set[tuple[str, str]] = set()
        for folder, roots in self._folders.items():
            exts = self._extensions.get(folder, frozenset())
            for root in roots:
                self._walk(folder, root, "", exts, visited, real_seen)
        if self.dirs_listed == 0 and visited == set(self._dirs) and self.files:
            return self  # nothing changed: keep every list and look-up table as it is
        self._dirs = {k: v for k, v in self._dirs.items() if k in visited}
        self._rebuild(visited)
        return self

    def _rebuild(self, visited: set[tuple[str, str]]) -> None:
        files: list[ModelFile] = []
        for folder, roots in self._folders.items():
            for root in roots:
                self._collect(folder, root, files, visited, set())
        self.files = files
        self._by_name = {}
        self._by_folder = {}
        for f in files:
            self._by_name.setdefault(f.name.lower(), []).append(f)
            self._by_folder.setdefault(f.folder, {}).setdefault(f.relpath, f)

    def _collect(self, folder: str, directory: str, out: list[ModelFile], visited: set, done: set) -> None:
        key = (folder, directory)
        state = self._dirs.get(key)
        if state is None or key in done:
            return
        done.add(key)
        out.extend(state.files)
        for sub in state.subdirs:
            self._collect(folder, os.path.join(directory, sub), out, visited, done)

    def _walk(self, folder: str, directory: str, rel: str, exts: frozenset[str], visited: set, real_seen: set) -> None:
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return
        real = (folder, os.path.realpath(directory))
        if real in real_seen:
            return  # the same directory reached twice in one folder (a symlink loop, say)
        real_seen.add(real)
        key = (folder, directory)
        visited.add(key)
        state = self._dirs.get(key)
        if state is None or state.mtime_ns != mtime:
            state = self._list(folder, directory, rel, exts, mtime)
            self._dirs[key] = state
        for sub in state.subdirs:
            self._walk(folder, os.path.join(directory, sub), f"{rel}/{sub}" if rel else sub, exts, visited, real_seen)

    def _list(self, folder: str, directory: str, rel: str, exts: frozenset[str], mtime: int) -> _DirState:
        self.dirs_listed += 1
        files, subdirs = [], []
        prefix = f"{rel}/" if rel else ""
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    name = entry.name
                    if name.startswith(".") or name.endswith(".part"):
                        continue
                    try:
                        if entry.is_dir():
                            subdirs.append(name)
                        elif (not exts or _extension(name) in exts) and entry.is_file():
                            st = entry.stat()
                            files.append(ModelFile(folder, prefix + name, entry.path, st.st_size, st.st_mtime_ns))
                    except OSError:
                        continue
        except OSError:
            pass
        files.sort(key=lambda f: f.relpath)
        subdirs.sort()
        return _DirState(mtime, files, subdirs)

    # -- look-ups ---------------------------------------------------------------------------
    def get(self, folder: str, relpath: str) -> ModelFile | None:
        return self._by_folder.get(folder, {}).get(relpath.replace("\\", "/"))

    def by_name(self, name: str) -> list[ModelFile]:
        return self._by_name.get(name.replace("\\", "/").rsplit("/", 1)[-1].lower(), [])

    def in_folder(self, folder: str) -> Mapping[str, ModelFile]:
        return self._by_folder.get(folder, {})


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
