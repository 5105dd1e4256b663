"""Environment-driven defaults, gathered in one place (as huggingface_hub does).

Every setting an operator can change through the environment is read here and
nowhere else, so the README's table of variables is this file.
"""

from __future__ import annotations

import os
from pathlib import Path


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


#: where the manifest lives; default ``<ComfyUI user dir>/mend/pyproject.toml``
MANIFEST_PATH = _env_path("MEND_MANIFEST")
#: Mend's own cache (catalogs, hash cache); default ``~/.cache/mend``
CACHE_DIR = _env_path("MEND_CACHE_DIR") or Path(
    os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
) / "mend"
#: ComfyUI-Manager's public channel the node map and model list come from
MANAGER_CHANNEL_URL = os.environ.get(
    "MEND_MANAGER_CHANNEL", "https://raw.githubusercontent.com/ltdrdata/ComfyUI-Manager/main"
)
#: Comfy Registry API; empty disables registry look-ups
REGISTRY_URL = os.environ.get("MEND_REGISTRY_URL", "https://api.comfy.org")
#: how old a cached catalog may be before it is fetched again (seconds)
CATALOG_MAX_AGE = _env_int("MEND_CATALOG_MAX_AGE", 24 * 3600)
#: never go to the network for catalogs (use caches or bundled copies only)
OFFLINE = _env_flag("MEND_OFFLINE") or _env_flag("HF_HUB_OFFLINE")
#: largest request body the routes accept (bytes)
MAX_BODY_BYTES = _env_int("MEND_MAX_BODY_BYTES", 32 * 1024 * 1024)
#: the operator allows installs and URL downloads even when ComfyUI listens on a non-loopback address
ALLOW_REMOTE_RISK = _env_flag("MEND_ALLOW_REMOTE_INSTALL")
