"""Mend's command line: the same engine as the editor panel, for headless servers.

    mend check WORKFLOW [--comfyui DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from ..core.errors import MendError
from . import check, freeze, resolve, sync
from .common import add_verbose

EXIT_CODES = """exit codes:
  0  nothing to do: nothing blocking is missing (check, resolve), everything pinned (freeze), in sync (sync)
  1  the command worked and found something missing, unresolved or not reproducible (the output names it)
  2  bad input: a wrong path, invalid JSON, a corrupt manifest (the message names it)
  130 interrupted (Ctrl+C); every answer given so far is saved
"""

COMMANDS = {"check": check, "resolve": resolve, "freeze": freeze, "sync": sync}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mend", description="Make ComfyUI workflows runnable.",
                                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_verbose(parser)
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
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    try:
        return asyncio.run(COMMANDS[args.command].run(args))
    except MendError as exc:
        # an option's name helps (--manifest); a JSON path ($) or a file already in the message does not
        option = exc.field if exc.field and exc.field.startswith("--") and exc.field not in exc.message else None
        print(f"mend: error: {exc.message}" + (f" ({option})" if option else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """``mend check … | head``: the reader closed the pipe. Stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
