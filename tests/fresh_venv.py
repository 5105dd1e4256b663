"""A fresh clone of this repository with Mend installed the README's way, offline, with exactly Mend's
declared dependencies (no numpy, no torch, no safetensors).

The wheels come from this test interpreter's own installed distributions: each distribution in the
closure of ``[project] dependencies`` (plus setuptools, the build backend) is packed back into a wheel
from its ``RECORD``, so ``pip install --no-index --find-links`` needs no network. The clone is the
work tree's tracked and new files (``git ls-files``), so uncommitted changes are tested too. The
README's first command block then runs as written, with ``python3`` being this interpreter's Python::

    clone = build_fresh_clone(tmp / "clone", tmp / "wheels")      # runs the README's first command
    subprocess.run([clone / ".venv/bin/mend", "check", ...])
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import tomlkit
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("numpy", "torch", "safetensors")


def declared_dependencies() -> list[str]:
    return list(tomlkit.parse((REPO / "pyproject.toml").read_text()).unwrap()["project"]["dependencies"])


def closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements pull in on this interpreter (markers evaluated, no extras)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = metadata.distribution(req.name).metadata["Name"]
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        todo += [Requirement(r) for r in metadata.distribution(name).requires or []]
    return seen


def repack(name: str, house: Path) -> Path:
    """An installed distribution as a wheel again: its files (scripts left out: pip writes them)."""
    dist = metadata.distribution(name)
    info = next(p for p in dist.files if p.parts[0].endswith(".dist-info") and p.name == "WHEEL")
    tag = re.search(r"^Tag: (\S+)$", info.read_text(), re.M).group(1)
    stem = f"{re.sub(r'[-.]+', '_', dist.metadata['Name'])}-{dist.version}"
    target = house / f"{stem}-{tag}.whl"
    record_name = f"{info.parts[0]}/RECORD"
    rows = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in dist.files:
            if path.parts[0] == ".." or "__pycache__" in path.parts or str(path) == record_name \
                    or path.name in ("INSTALLER", "direct_url.json", "REQUESTED"):
                continue
            data = Path(path.locate()).read_bytes()
            zf.writestr(str(path), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{path},sha256={digest},{len(data)}\n")
        zf.writestr(record_name, "".join(rows) + f"{record_name},,\n")
    return target


def build_wheelhouse(house: Path) -> Path:
    house.mkdir(parents=True, exist_ok=True)
    for name in sorted(closure(declared_dependencies()) | {"setuptools"}):
        repack(name, house)
    return house


def copy_work_tree(dst: Path) -> Path:
    """What a fresh clone holds: the tracked files (and new ones not ignored), as they are now."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    return dst


def offline_env(house: Path, **extra: str) -> dict[str, str]:
    """pip finds only the wheelhouse (no machine config, no index); ``python3`` is this interpreter's Python."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    shims = house.parent / "bin"
    shims.mkdir(exist_ok=True)
    if not (shims / "python3").exists():
        (shims / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(house), PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1", PATH=f"{shims}{os.pathsep}{env.get('PATH', '')}", **extra)
    return env


def readme_first_command() -> str:
    """The first ``bash`` block under "The two commands" in the README."""
    text = (REPO / "README.md").read_text()
    section = text.split("## The two commands", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, re.S).group(1)
