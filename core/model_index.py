"""An index of every file in every model folder, rescanned incrementally.

A cold scan stats each file once (``os.scandir``); a rescan stats each directory and re-lists only
those whose mtime changed, so an unchanged 50,000-file tree costs one ``stat`` per directory.
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
    path: Path
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass
class _DirState:
    mtime_ns: int
    files: list[tuple[str, int, int]]  # name, size, mtime_ns
    subdirs: list[str]


class ModelIndex:
    """Model files by folder and by lower-case file name."""

    def __init__(self, folders: Mapping[str, Iterable[Path]], extensions: Mapping[str, frozenset[str]]) -> None:
        self._folders = {name: [Path(p) for p in paths] for name, paths in folders.items()}
        self._extensions = extensions
        self._dirs: dict[str, _DirState] = {}
        self.files: list[ModelFile] = []
        self._by_name: dict[str, list[ModelFile]] = {}
        self._by_folder: dict[str, dict[str, ModelFile]] = {}
        self.dirs_listed = 0  # how many directories the last scan had to list (for tests and bench)

    def scan(self) -> ModelIndex:
        self.dirs_listed = 0
        self._visited: set[str] = set()
        seen_dirs: set[str] = set()
        files: list[ModelFile] = []
        for folder, roots in self._folders.items():
            exts = self._extensions.get(folder, frozenset())
            for root in roots:
                self._walk(folder, root, "", exts, files, seen_dirs)
        self._dirs = {k: v for k, v in self._dirs.items() if k in self._visited}
        self.files = files
        self._by_name = {}
        self._by_folder = {}
        for f in files:
            self._by_name.setdefault(f.name.lower(), []).append(f)
            self._by_folder.setdefault(f.folder, {}).setdefault(f.relpath, f)
        return self

    def _walk(
        self, folder: str, root: Path, rel: str, exts: frozenset[str], out: list[ModelFile], seen: set[str]
    ) -> None:
        directory = root / rel if rel else root
        key = str(directory)
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return
        real = f"{folder}\0{os.path.realpath(directory)}"
        if real in seen:
            return  # the same directory reached twice in one folder (a symlink loop, say)
        seen.add(real)
        self._visited.add(key)
        state = self._dirs.get(key)
        if state is None or state.mtime_ns != mtime:
            state = self._list(directory, mtime)
            self._dirs[key] = state
        for name, size, file_mtime in state.files:
            if not exts or os.path.splitext(name)[1].lower() in exts:
                relpath = f"{rel}/{name}" if rel else name
                out.append(ModelFile(folder, relpath, directory / name, size, file_mtime))
        for sub in state.subdirs:
            self._walk(folder, root, f"{rel}/{sub}" if rel else sub, exts, out, seen)

    def _list(self, directory: Path, mtime: int) -> _DirState:
        self.dirs_listed += 1
        files, subdirs = [], []
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    if entry.name.startswith(".") or entry.name.endswith(".part"):
                        continue
                    try:
                        if entry.is_dir():
                            subdirs.append(entry.name)
                        elif entry.is_file():
                            st = entry.stat()
                            files.append((entry.name, st.st_size, st.st_mtime_ns))
                    except OSError:
                        continue
        except OSError:
            pass
        files.sort()
        subdirs.sort()
        return _DirState(mtime, files, subdirs)

    # -- look-ups ---------------------------------------------------------------------------
    def get(self, folder: str, relpath: str) -> ModelFile | None:
        return self._by_folder.get(folder, {}).get(relpath.replace("\\", "/"))

    def by_name(self, name: str) -> list[ModelFile]:
        return self._by_name.get(name.replace("\\", "/").rsplit("/", 1)[-1].lower(), [])

    def in_folder(self, folder: str) -> Mapping[str, ModelFile]:
        return self._by_folder.get(folder, {})
