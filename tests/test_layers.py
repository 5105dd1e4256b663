"""core/ follows the flow: every module imports, and no stage imports a later one.

The stages, lowest first, are the order of ``STAGES``; modules at the top of ``core/`` are the
foundation (errors, constants, files, the host boundary) except the composition root (``services``,
``act``), which may use every stage. An import needed only for a type hint sits under
``TYPE_CHECKING`` and does not count.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import mend

CORE = Path(__file__).resolve().parents[1] / "core"
STAGES = ["workflow", "catalog", "resolve", "decide", "tasks", "download", "install", "environment"]
COMPOSITION = {"services", "act"}


def layer(module: str) -> int:
    """0 for the foundation, 1.. for each stage in order, above all for the composition root."""
    head = module.split(".")[0]
    if head in STAGES:
        return STAGES.index(head) + 1
    return len(STAGES) + 1 if head in COMPOSITION else 0


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(mend.__path__, "mend.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", core_modules())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def runtime_imports(path: Path) -> list[str]:
    """Modules under core/ that ``path`` imports at run time (relative imports, resolved)."""
    rel = path.relative_to(CORE).with_suffix("").parts
    package = list(rel[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0 or id(node) in typing_only:
            continue
        if node.level - 1 > len(package):
            continue  # leaves core/ (the package root): not a stage
        base = package[: len(package) - (node.level - 1)]
        if node.module:
            found.append(".".join([*base, node.module]))
        else:
            found.extend(".".join([*base, a.name]) for a in node.names)
    return found


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(CORE).with_suffix("").parts
        me = ".".join(p for p in rel if p != "__init__")
        wrong += [f"{me} -> {t}" for t in runtime_imports(path) if layer(t) > layer(me)]
    assert not wrong, "lower stages import higher ones: " + ", ".join(wrong)


def test_each_stage_says_what_it_owns() -> None:
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((CORE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"core/{stage}/__init__.py must say what it owns and may import"
