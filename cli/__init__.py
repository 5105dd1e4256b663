"""Mend's command line: the same engine as the editor panel, for headless servers.

    mend check WORKFLOW --comfyui DIR [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from ..core.errors import MendError
from . import check, freeze, resolve, sync

COMMANDS = {"check": check, "resolve": resolve, "freeze": freeze, "sync": sync}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mend", description="Make ComfyUI workflows runnable.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what Mend does")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return asyncio.run(COMMANDS[args.command].run(args))
    except MendError as exc:
        field = f" ({exc.field})" if exc.field else ""
        print(f"mend: error: {exc.message}{field}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
