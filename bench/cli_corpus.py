"""Run ``mend check`` (and ``mend resolve --yes --no-fetch`` on a copy) over every workflow of the corpus.

Prints how many runs ended with each exit code and every run that ended in a traceback (there must be
none: bad input is exit 2 with a message). Offline: the shared catalog, no registry.

    python bench/cli_corpus.py [CORPUS_DIR] [--catalog DIR] [--resolve]
    python bench/cli_corpus.py /work/eval/wf --resolve        # a flat folder of workflows
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from mend.cli import main

HERE = Path(__file__).resolve().parent.parent


def workflows(corpus: Path) -> list[Path]:
    """The shared corpus's templates and user workflows; another folder: every ``*.json`` in it (``/work/eval/wf``)."""
    found = sorted((corpus / "templates").glob("*.json")) + sorted((corpus / "user-workflows" / "wf").glob("*.json"))
    if not (corpus / "templates").is_dir():
        found = sorted(corpus.glob("*.json"))
    return [p for p in found if not p.name.startswith(("index", "fuse_options"))]


def run_quietly(argv: list[str]) -> tuple[int | str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: int | str = main(argv)
    except BaseException:  # what a user would see as a traceback
        code = "traceback"
        err.write(traceback.format_exc())
    return code, err.getvalue()


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=HERE.parent / "shared" / "corpus")
    parser.add_argument("--catalog", type=Path, default=HERE.parent / "shared" / "catalog")
    parser.add_argument("--resolve", action="store_true", help="also resolve --yes --no-fetch a copy of each")
    args = parser.parse_args()
    files = workflows(args.corpus)
    scratch = Path(tempfile.mkdtemp(prefix="mend-cli-corpus-"))
    comfy = scratch / "ComfyUI"
    for sub in ("models/checkpoints", "custom_nodes", "user"):
        (comfy / sub).mkdir(parents=True)
    common = ["--comfyui", str(comfy), "--catalog-dir", str(args.catalog), "--no-registry"]
    state = ["--manifest", str(scratch / "state" / "pyproject.toml")]  # resolve's decisions, apart from ComfyUI
    commands = ["check"] + (["resolve"] if args.resolve else [])
    codes: dict[str, Counter] = {c: Counter() for c in commands}
    failures, refused = [], []
    started = time.perf_counter()
    for path in files:
        for command in commands:
            target = path
            extra = ["--json"] if command == "check" else ["--yes", "--no-fetch", *state]
            if command == "resolve":
                target = scratch / path.name
                shutil.copy(path, target)
            code, err = run_quietly([command, str(target), *common, *extra])
            codes[command][code] += 1
            if code == "traceback":
                failures.append((command, path.name, err.strip().splitlines()[-1]))
            elif code == 2:
                refused.append((command, path.name, err.strip().splitlines()[-1] if err.strip() else ""))
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(files)} workflows, {elapsed:.1f} s")
    for command in commands:
        print(f"  mend {command}: " + ", ".join(f"exit {k}: {v}" for k, v in sorted(codes[command].items(), key=str)))
    print(f"refused as bad input (exit 2, the message): {len(refused)}")
    for command, name, last in refused:
        print(f"  {command} {name}: {last[:200]}")
    print(f"tracebacks: {len(failures)}")
    for command, name, last in failures:
        print(f"  {command} {name}: {last}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main_bench()
