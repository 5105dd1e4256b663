"""Install a node pack's Python requirements into ComfyUI's own Python without moving the protected set.

The requirements are the pack's ``requirements.txt`` (or, without one, its pyproject
``[project].dependencies``). They go into the target interpreter (``sys.executable`` by default,
``MEND_PACK_PYTHON`` or a test venv otherwise) with ``python -m pip`` (or ``uv pip`` when present)
under a constraints file that pins every installed protected package to its current version:
torch, torchvision, torchaudio, numpy, ComfyUI's frontend/templates/docs packages and
``MEND_PROTECTED_PACKAGES``. A pack that needs another torch therefore fails at resolution, before
pip changes anything. After any later failure ``rollback`` uninstalls what the install added and
puts back what it changed, as far as pip can (a version no longer downloadable stays changed, and
the failure report says so).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from .. import constants
from .proc import StepFailed, run_step

log = logging.getLogger(__name__)

PROTECTED_DEFAULT = (
    "torch", "torchvision", "torchaudio", "numpy",
    "comfyui-frontend-package", "comfyui-workflow-templates", "comfyui-embedded-docs",
)

# Runs inside the target interpreter: every installed distribution and its version, as JSON. The first
# one on sys.path wins, as for imports (a venv's own package shadows the system's with --system-site-packages).
_LIST_SCRIPT = (
    "import json, sys, importlib.metadata as m\n"
    "out = {}\n"
    "for d in m.distributions():\n"
    "    if d.metadata['Name']: out.setdefault(d.metadata['Name'], d.version)\n"
    "json.dump(out, open(sys.argv[1], 'w'))\n"
)


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def diff(before: dict[str, str], after: dict[str, str]) -> dict:
    """What an install did to the environment: ``{"added": [names], "changed": {name: version before}}``."""
    return {"added": sorted(set(after) - set(before)),
            "changed": {n: v for n, v in sorted(before.items()) if after.get(n) != v}}


def requirements_of(pack_dir: Path) -> list[str]:
    """The pack's requirement lines (comments and blanks dropped); empty when it declares none."""
    req = pack_dir / "requirements.txt"
    if req.is_file():
        lines = req.read_text(encoding="utf-8", errors="replace").splitlines()
        return [s for line in lines if (s := line.split(" #", 1)[0].strip()) and not s.startswith("#")]
    pyproject = pack_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            deps = tomlkit.parse(pyproject.read_text(encoding="utf-8")).get("project", {}).get("dependencies", [])
        except (TOMLKitError, UnicodeDecodeError, AttributeError):
            return []
        return [str(d).strip() for d in deps if isinstance(d, str) and d.strip()]
    return []


@dataclass
class PipDeps:
    """How requirements are installed: which Python, which installer, which packages never move."""

    python: str = field(default_factory=lambda: constants.PACK_PYTHON or sys.executable)
    protected: tuple[str, ...] = PROTECTED_DEFAULT + constants.PROTECTED_PACKAGES_EXTRA
    use_uv: bool | None = None  # None: use uv when it is on PATH
    extra_args: tuple[str, ...] = ()  # e.g. ("--no-index", "--find-links", wheelhouse) in tests
    timeout: float = constants.INSTALL_STEP_TIMEOUT

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONUTF8": "1"})
        return env

    def _installer(self) -> list[str]:
        uv = shutil.which("uv") if self.use_uv in (None, True) else None
        if uv:
            return [uv, "pip", "install", "--python", self.python]
        return [self.python, "-m", "pip", "install"]

    async def installed(self) -> dict[str, str]:
        """Every distribution installed in the target Python: canonical name -> version."""
        with tempfile.TemporaryDirectory(prefix="mend-pip-") as tmp:
            out = Path(tmp) / "dists.json"
            await run_step([self.python, "-c", _LIST_SCRIPT, str(out)], step="pip", timeout=120, env=self._env())
            data = json.loads(out.read_text(encoding="utf-8"))
        found: dict[str, str] = {}
        for name, version in data.items():
            found.setdefault(canonical(name), version)
        return found

    def pins(self, installed: dict[str, str]) -> list[str]:
        wanted = {canonical(p) for p in self.protected}
        return sorted(f"{name}=={version}" for name, version in installed.items() if name in wanted)

    async def install(self, pack_dir: Path, work_dir: Path, *, step: Callable[[str], None],
                      on_line: Callable[[str], None] | None = None) -> dict[str, str] | None:
        """Install the pack's requirements; return the snapshot taken before (for ``rollback``), None if none."""
        requirements = requirements_of(pack_dir)
        if not requirements:
            return None
        step("pip")
        before = await self.installed()
        req_file, constraints = pack_dir / "requirements.txt", work_dir / "mend-constraints.txt"
        if not req_file.is_file():  # pyproject dependencies: a file pip can read
            req_file = work_dir / "mend-requirements.txt"
            req_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        constraints.write_text("\n".join(self.pins(before)) + "\n", encoding="utf-8")
        argv = [*self._installer(), *self.extra_args, "-r", str(req_file), "-c", str(constraints)]
        try:
            await run_step(argv, step="pip", timeout=self.timeout, cwd=work_dir, env=self._env(), on_line=on_line)
            after = await self.installed()
        except BaseException:
            await self.rollback(before)
            raise
        moved = [p for p in self.pins(before) if p not in self.pins(after)]
        if moved:  # cannot happen under the constraints; checked anyway because it matters
            await self.rollback(before)
            raise StepFailed("pip", f"the install changed protected packages: {', '.join(moved)}")
        return before

    async def rollback(self, before: dict[str, str]) -> list[str]:
        """Undo an install: uninstall what is new, reinstall what changed. Returns what could not be restored."""
        try:
            after = await self.installed()
        except StepFailed as exc:
            log.warning("mend: cannot list packages to roll back: %s", exc)
            return ["<unknown>"]
        return await self.undo(diff(before, after))

    async def undo(self, changes: dict) -> list[str]:
        """Undo ``diff(before, after)``: uninstall ``added``, reinstall ``changed`` at its old version."""
        added, changed = list(changes.get("added", [])), dict(changes.get("changed", {}))
        left: list[str] = []
        if added:
            left += await self._quiet([self.python, "-m", "pip", "uninstall", "-y", *added], added)
        if changed:
            restore = [f"{n}=={v}" for n, v in sorted(changed.items())]
            left += await self._quiet([*self._installer(), *self.extra_args, "--no-deps", *restore], restore)
        return left

    async def _quiet(self, argv: list[str], names: Iterable[str]) -> list[str]:
        try:
            await run_step(argv, step="rollback", timeout=self.timeout, env=self._env())
        except StepFailed as exc:
            log.warning("mend: rollback step failed (%s); left as is: %s", exc, ", ".join(names))
            return list(names)
        return []
