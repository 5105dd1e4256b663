"""The options of the benches that move one big file: its size, the folder it lives in, how many runs."""

from __future__ import annotations

import argparse
import tempfile


def file_bench_args(description: str | None = None) -> argparse.Namespace:
    """``--size-mb`` (1024), ``--dir`` (the temp folder; ``/dev/shm`` takes the disk out), ``--runs`` (3)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()
