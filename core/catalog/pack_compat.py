"""Does a registry pack version fit this machine? The registry's compatibility fields and status, checked.

The fields are the ones the Comfy Registry publishes per version (and the ComfyUI frontend checks the
same way): ``supported_os`` (``Windows``, ``macOS``, ``Linux``; ``OS Independent`` or empty means all),
``supported_accelerators`` (``CUDA``, ``ROCm``, ``Metal``, ``DirectML``, ``CPU``; empty means all),
``supported_comfyui_version`` and ``supported_comfyui_frontend_version`` (version ranges such as
``>=0.3.40``, ``>=1.0 <2``, ``^1.2``, ``~1.2.3``, ``>=0.3,<1``). A field this machine's facts cannot
answer (an unknown accelerator, no frontend package) is not held against the pack.

    >>> facts = MachineFacts(os="Linux", accelerator="CPU", comfyui_version="0.8.0")
    >>> [c["type"] for c in conflicts({"supported_os": ["Windows"], "supported_comfyui_version": ">=0.9"}, facts)]
    ['comfyui_version', 'os']
"""

from __future__ import annotations

import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

_OS_NAMES = {"Linux": "Linux", "Darwin": "macOS", "Windows": "Windows"}

BANNED = {"NodeVersionStatusBanned", "NodeStatusBanned"}


@dataclass(frozen=True)
class MachineFacts:
    os: str | None = None  # registry spelling: Linux, macOS, Windows
    accelerator: str | None = None  # registry spelling: CUDA, ROCm, Metal, DirectML, CPU
    comfyui_version: str | None = None
    frontend_version: str | None = None

    def to_json(self) -> dict:
        return {"os": self.os, "accelerator": self.accelerator, "comfyui_version": self.comfyui_version,
                "frontend_version": self.frontend_version}


def machine_facts(comfyui_dir: Path | None) -> MachineFacts:
    """This machine as the registry names things (blocking: reads files and package metadata)."""
    return MachineFacts(os=_OS_NAMES.get(platform.system()), accelerator=_accelerator(),
                        comfyui_version=_comfyui_version(comfyui_dir), frontend_version=_frontend_version())


def _comfyui_version(comfyui_dir: Path | None) -> str | None:
    """The running ComfyUI's ``comfyui_version``, else that file in its code folder or in ``comfyui_dir``.

    With ``--base-directory`` the data folder is not the code folder: ``folder_paths``' own location is.
    """
    import sys

    loaded = getattr(sys.modules.get("comfyui_version"), "__version__", None)
    if isinstance(loaded, str):
        return loaded
    code = getattr(sys.modules.get("folder_paths"), "__file__", None)
    for folder in (Path(code).parent if code else None, comfyui_dir):
        if folder is None:
            continue
        try:
            text = (Path(folder) / "comfyui_version.py").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text)
        if found:
            return found.group(1)
    return None


def _frontend_version() -> str | None:
    try:
        return metadata.version("comfyui-frontend-package")
    except metadata.PackageNotFoundError:
        return None


def _accelerator() -> str | None:
    """ComfyUI's own device choice when it is loaded (never imports torch just to ask)."""
    import sys

    mm = sys.modules.get("comfy.model_management")
    if mm is None:
        return None
    try:
        kind = str(mm.get_torch_device().type)
    except Exception:  # a half-initialised ComfyUI: unknown, not a conflict
        return None
    if kind == "cuda":
        torch = sys.modules.get("torch")
        return "ROCm" if torch is not None and getattr(torch.version, "hip", None) else "CUDA"
    return {"mps": "Metal", "privateuseone": "DirectML", "cpu": "CPU"}.get(kind)


# -- version ranges ------------------------------------------------------------------------------------
def _parts(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", version.split("+", 1)[0].split("-", 1)[0])
    return tuple(int(n) for n in nums[:3]) + (0,) * (3 - min(3, len(nums)))


def _satisfies_one(version: tuple[int, ...], comparator: str) -> bool:
    m = re.match(r"^(>=|<=|==|!=|>|<|=|\^|~=|~)?\s*v?([0-9][0-9A-Za-z.+-]*|\*|x)$", comparator)
    if not m:
        raise ValueError(comparator)
    op, raw = m.group(1) or "=", m.group(2)
    if raw in ("*", "x"):
        return True
    given = len(re.findall(r"\d+", raw))
    want = _parts(raw)
    if op in ("^",):
        first = next((i for i, n in enumerate(want) if n), 2)
        upper = (*want[:first], want[first] + 1) + (0,) * (2 - first)
        return want <= version < upper
    if op in ("~", "~="):
        cut = max(1, given - 1) if op == "~=" else min(given, 2) or 1
        upper = (*want[: cut - 1], want[cut - 1] + 1) + (0,) * (3 - cut)
        return want <= version < upper
    if op in ("=", "=="):
        return version[:given] == want[:given]
    return {">=": version >= want, "<=": version <= want, ">": version > want, "<": version < want,
            "!=": version != want}[op]


def satisfies(version: str, spec: str) -> bool:
    """``version`` within ``spec`` (semver ranges with ``||`` alternatives, or PEP 440 comma lists)."""
    have = _parts(version)
    for alternative in spec.split("||"):
        comparators = [c for c in re.split(r"[\s,]+", re.sub(r"(>=|<=|==|!=|~=|>|<|\^|~)\s+", r"\1", alternative))
                       if c]
        if all(_satisfies_one(have, c) for c in comparators):
            return True
    return False


# -- the check -----------------------------------------------------------------------------------------
def _listed(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def conflicts(version: Mapping[str, Any], facts: MachineFacts) -> list[dict]:
    """Why ``version`` (a registry version record) does not fit ``facts``: ``[{type, required, current}]``."""
    found: list[dict] = []
    for kind, field, current in (("comfyui_version", "supported_comfyui_version", facts.comfyui_version),
                                 ("frontend_version", "supported_comfyui_frontend_version", facts.frontend_version)):
        spec = version.get(field)
        if isinstance(spec, str) and spec.strip() and current:
            try:
                ok = satisfies(current, spec.strip())
            except ValueError:
                ok = False  # a range nobody can read: say so rather than guess
            if not ok:
                found.append({"type": kind, "required": spec.strip(), "current": current})
    systems = _listed(version.get("supported_os"))
    if systems and not any(s.lower() == "os independent" for s in systems) and facts.os \
            and facts.os.lower() not in {s.lower() for s in systems}:
        found.append({"type": "os", "required": ", ".join(systems), "current": facts.os})
    accelerators = _listed(version.get("supported_accelerators"))
    if accelerators and facts.accelerator and facts.accelerator.lower() not in {a.lower() for a in accelerators}:
        found.append({"type": "accelerator", "required": ", ".join(accelerators), "current": facts.accelerator})
    return found


def describe(found: list[dict]) -> str:
    """``needs ComfyUI >=0.9 (this is 0.8.0); runs on Windows (this is Linux)``."""
    label = {"comfyui_version": "ComfyUI", "frontend_version": "ComfyUI frontend", "os": "runs on",
             "accelerator": "needs"}
    parts = []
    for c in found:
        if c["type"] in ("comfyui_version", "frontend_version"):
            parts.append(f"needs {label[c['type']]} {c['required']} (this is {c['current']})")
        else:
            parts.append(f"{label[c['type']]} {c['required']} (this is {c['current']})")
    return "; ".join(parts)
