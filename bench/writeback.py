"""Early writeback: how long the final fsync of a 1 GiB part takes with and without it.

Writes ``--size-mb`` through the download's ``Sink`` (1 MiB writes, as the download does) into
``--dir`` (default: the temp folder; use a real disk, tmpfs has no writeback), then fsyncs, and
prints the write time, the fsync time and the total, best of ``--runs``.
Usage: ``python bench/writeback.py [--size-mb 1024] [--dir /tmp] [--runs 3]``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from file_args import file_bench_args

from mend.core.download import writeback
from mend.core.download.stream import Sink
from mend.core.page_buffers import page_buffer


def once(path: Path, size_mb: int, early: bool) -> tuple[float, float]:
    every = writeback.EVERY
    writeback.EVERY = every if early else 1 << 62
    try:
        block = page_buffer(1 << 20)
        block.write(os.urandom(1 << 20))
        sink = Sink(path, 0, None)
        started = time.perf_counter()
        for _ in range(size_mb):
            sink.write(memoryview(block))
        written = time.perf_counter()
        sink.close(True)
        return written - started, time.perf_counter() - written
    finally:
        writeback.EVERY = every
        path.unlink(missing_ok=True)


def main() -> None:
    args = file_bench_args(__doc__)
    path = Path(args.dir) / "mend-writeback-bench.part"
    print(f"{args.size_mb} MiB written through the download's Sink into {args.dir}, then fsync (best of {args.runs})")
    for early in (False, True):
        runs = [once(path, args.size_mb, early) for _ in range(args.runs)]
        write, sync = min(runs, key=sum)
        label = "with early writeback" if early else "without"
        print(f"  {label:22s} write {write:5.2f} s   final fsync {sync * 1000:6.0f} ms   total {write + sync:5.2f} s")


if __name__ == "__main__":
    main()
