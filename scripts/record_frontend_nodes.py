"""Add to ``core/data/frontend_nodes.json`` the editor-only node types packs register in their JavaScript.

A pack's web code can register a LiteGraph node type that has no Python class (Easy Use's
``easy setNode``, KJNodes' ``SetNode``, LG Tools' ``LG_Note``): the server never lists it, and
ComfyUI-Manager's map, built from Python, does not know it. This reads each pack's JavaScript from a
fetched snapshot (a bare git directory at its ``HEAD``) and keeps the type names a file registers with
``LiteGraph.registerNodeType``: a string literal passed to it, or, in a file that registers
``this.type`` / ``X.type``, a class's ``static type = "…"`` or ``X.type = "…"`` of a class the file
declares. Names the catalogs' map lists for the pack (its Python nodes) or ComfyUI's own are left out,
and so are names built at run time and placeholders (``__NEED_CLASS_TYPE__``).
Entries already in the file (written by hand, or recorded before) are kept; each
pack scanned is recorded with its commit under ``recorded_from``.

    python scripts/record_frontend_nodes.py --catalog-dir ../shared/catalog \\
        /work/.mirror/yolain+ComfyUI-Easy-Use/repo /work/.mirror/kijai+ComfyUI-KJNodes/repo ...

A snapshot's folder is ``owner+name/repo`` (as ``fetch`` lays them out): that names the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

from mend.core.catalog.store import CatalogStore

OUT = Path(__file__).resolve().parent.parent / "core" / "data" / "frontend_nodes.json"
_LITERAL = r"""(?P<q>["'`])(?P<name>[^"'`\n$]{1,80})(?P=q)"""
_REGISTER_LITERAL = re.compile(r"registerNodeType\(\s*" + _LITERAL)
_REGISTERS_A_TYPE = re.compile(r"registerNodeType\(\s*(?:this|[A-Za-z_$][\w$]*)\.type\b")
_STATIC_TYPE = re.compile(r"\bstatic\s+type\s*=\s*" + _LITERAL)
_ASSIGNED_TYPE = re.compile(r"\b(?P<cls>[A-Za-z_$][\w$]*)\.type\s*=\s*" + _LITERAL)
_CLASS = re.compile(r"\bclass\s+([A-Za-z_$][\w$]*)")


def registered_types(source: str) -> set[str]:
    """The node type names one JavaScript file registers with LiteGraph (see the module docstring).

        >>> sorted(registered_types('LiteGraph.registerNodeType("easy setNode", Object.assign(SetNode, {}))'))
        ['easy setNode']
        >>> sorted(registered_types('class N {} N.type = "LG_Note"; w.type = "range"; '
        ...                         'LiteGraph.registerNodeType(this.type, this)'))
        ['LG_Note']
    """
    found = {m["name"] for m in _REGISTER_LITERAL.finditer(source)}
    if _REGISTERS_A_TYPE.search(source):
        classes = set(_CLASS.findall(source))
        found |= {m["name"] for m in _STATIC_TYPE.finditer(source)}
        found |= {m["name"] for m in _ASSIGNED_TYPE.finditer(source) if m["cls"] in classes}
    return {name for name in found if not (name.startswith("__") and name.endswith("__"))}  # a placeholder


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def scan(repo: Path) -> tuple[str, str, set[str]]:
    """(repository URL, commit, types its JavaScript registers) of one fetched snapshot."""
    owner, name = repo.parent.name.split("+", 1) if repo.name == "repo" else repo.name.split("+", 1)
    commit = _git(repo, "rev-parse", "HEAD").strip()
    types: set[str] = set()
    for path in _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
        if path.endswith((".js", ".mjs", ".ts")) and "node_modules/" not in path:
            try:
                types |= registered_types(_git(repo, "show", f"HEAD:{path}"))
            except (subprocess.CalledProcessError, UnicodeDecodeError):
                continue  # a file git cannot show here (LFS, absent blob): nothing to read
    return f"https://github.com/{owner}/{name}", commit, types


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog-dir", type=Path, required=True, help="ComfyUI-Manager's catalog files")
    ap.add_argument("snapshots", type=Path, nargs="+", help="fetched packs (bare git directories)")
    args = ap.parse_args()
    node_map = CatalogStore(catalog_dir=args.catalog_dir).node_map()
    core = node_map.core_types()
    data = json.loads(OUT.read_text(encoding="utf-8"))
    nodes: dict[str, str] = data["nodes"]
    recorded: dict[str, str] = data.setdefault("recorded_from", {})
    for snapshot in args.snapshots:
        url, commit, types = scan(snapshot)
        pack = node_map.pack_by_url(url)
        python_types = pack.node_types if pack is not None else set()
        added = sorted(t for t in types - python_types - core if t not in nodes)
        for node_type in added:
            nodes[node_type] = url
        recorded[url] = commit
        print(f"{url} @ {commit[:12]}: {len(types)} registered, {len(added)} editor-only added: {added}")
    OUT.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
