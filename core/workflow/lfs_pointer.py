"""A Git LFS pointer saved in place of the file it stands for: said as such, not as broken JSON or a bad image.

A repository that keeps its workflows or example images in Git LFS hands out a ~130-byte text file when it is
cloned without LFS or downloaded through a "raw" link: the pointer, not the file. It is worth its own message,
because the fix is to fetch the real file, not to repair it.

    >>> text = b"version https://git-lfs.github.com/spec/v1\\noid sha256:" + b"a" * 64 + b"\\nsize 2048\\n"
    >>> lfs_pointer_message(text, "ahri.png")[:66]
    'ahri.png is a Git LFS pointer (a 2048-byte file kept in Git LFS), '
"""

from __future__ import annotations

import re

#: the spec's first line; pointers are at most a few hundred bytes
_POINTER = re.compile(rb"^version https://git-lfs\.github\.com/spec/v1\r?\n(?:.*\r?\n)*?size (\d+)", re.M)
MAX_POINTER = 1024


def lfs_pointer_message(raw: bytes, name: str) -> str | None:
    """What to tell the user when ``raw`` is an LFS pointer, else ``None``."""
    if len(raw) > MAX_POINTER:
        return None
    found = _POINTER.match(raw)
    if found is None:
        return None
    return (f"{name} is a Git LFS pointer (a {int(found.group(1))}-byte file kept in Git LFS), not the file itself: "
            "fetch the real file (git lfs pull in the clone, or the download button on the repository page)")
