"""Start writing a download's bytes to disk while it streams, so the final ``fsync`` has little left to do.

Without it the kernel keeps up to ``dirty_background_ratio`` of memory (gigabytes) dirty, and the
``fsync`` before the rename then waits for all of it: a 1 GiB download here stalled 0.5 s at 100%,
a 20 GB one on a slow disk stalls far longer, and that much dirty memory can slow the whole machine.
``sync_file_range(SYNC_FILE_RANGE_WRITE)`` queues the range for writeback and returns without waiting,
keeping the pages cached (ComfyUI loads the model right after). Linux only; elsewhere a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

SYNC_FILE_RANGE_WRITE = 2
EVERY = 32 * 1024 * 1024  # bytes between two writeback requests


def _load() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Queue ``length`` bytes from ``offset`` for writing to disk; False where that is not supported."""
    if _sync_file_range is None or length <= 0:
        return False
    return _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) == 0
