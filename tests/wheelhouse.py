"""Tiny real wheels written by hand into a local wheelhouse, for ``pip --no-index --find-links``.

A wheel is a zip with the package, ``METADATA``, ``WHEEL`` and a ``RECORD`` with sha256 digests;
writing it directly is faster than building one and needs no build backend.

    write_wheel(house, "torch", "1.0")            # a fake "torch" that imports as torch_fake_1_0
    write_wheel(house, "mend-dep", "2.0", requires=["torch==2.0"])
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(house: Path, name: str, version: str, *, requires: list[str] | None = None) -> Path:
    house.mkdir(parents=True, exist_ok=True)
    dist = re.sub(r"[-.]+", "_", name)
    module = f"{dist}_fake"
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            + "".join(f"Requires-Dist: {r}\n" for r in requires or [])
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: mend-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    target = house / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return target
