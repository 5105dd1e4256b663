"""Environment-driven defaults, gathered in one place (as huggingface_hub does).

Every setting an operator can change through the environment is read here and
nowhere else, so docs/configuration.md's table of variables is this file.
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

# -- who may call the routes (server_routes/guard.py) ----------------------------------------------
#: origins (``https://app.example:8443``) whose pages may call every Mend route, installs included
TRUSTED_ORIGINS = tuple(o.strip().rstrip("/").lower() for o in os.environ.get("MEND_TRUSTED_ORIGINS", "").split(",")
                        if o.strip())
#: more ``Host`` names the server answers to (a reverse proxy's name); when set, checked on any listen address
ALLOWED_HOSTS = tuple(h.strip().lower() for h in os.environ.get("MEND_ALLOWED_HOSTS", "").split(",") if h.strip())
#: analyses running at once, and how many more may wait; beyond that a request gets 429 with Retry-After
MAX_ANALYSES = max(1, _env_int("MEND_MAX_ANALYSES", 2))
MAX_ANALYSES_WAITING = max(0, _env_int("MEND_MAX_ANALYSES_WAITING", 8))
#: helper processes that analyse workflows for a running ComfyUI (0: threads in ComfyUI's process)
ANALYSIS_PROCESSES = max(0, _env_int("MEND_ANALYSIS_PROCESSES", 2))
#: seconds one analysis in a helper process may take before the helper is stopped (413 analysis_too_long)
ANALYSIS_TIMEOUT = max(1, _env_int("MEND_ANALYSIS_TIMEOUT", 120))

# -- node pack installs (core/install*.py, core/install/pip_deps.py) --------------------------------------
#: more hosts git installs may clone from (comma-separated), besides github.com, gitlab.com, codeberg.org,
#: huggingface.co
GIT_EXTRA_HOSTS = tuple(h.strip().lower() for h in os.environ.get("MEND_GIT_HOSTS", "").split(",") if h.strip())
#: run a pack's ``install.py`` after its requirements (arbitrary code: off unless the operator allows it)
ALLOW_INSTALL_SCRIPTS = _env_flag("MEND_ALLOW_INSTALL_SCRIPTS")
#: more installed packages pip must never upgrade or downgrade for a pack (comma-separated)
PROTECTED_PACKAGES_EXTRA = tuple(
    p.strip() for p in os.environ.get("MEND_PROTECTED_PACKAGES", "").split(",") if p.strip()
)
#: the Python whose site-packages receive a pack's requirements; default: the one running ComfyUI
PACK_PYTHON = os.environ.get("MEND_PACK_PYTHON") or None
#: seconds one install step (clone, download, pip, install.py) may take
INSTALL_STEP_TIMEOUT = _env_int("MEND_INSTALL_TIMEOUT", 1800)
#: test-only: allow plain http:// git and registry URLs on loopback addresses
TEST_ALLOW_HTTP_LOOPBACK = _env_flag("MEND_TEST_ALLOW_HTTP_LOOPBACK")

# -- model downloads (core/catalog/source_policy.py, core/download/engine.py, core/catalog/huggingface.py) --
#: more hosts model downloads may come from (comma-separated; ``*.example.com`` covers subdomains), besides
#: Hugging Face and the ``HF_ENDPOINT`` host, Civitai, GitHub and their download CDNs
DOWNLOAD_EXTRA_HOSTS = tuple(
    h.strip().lower() for h in os.environ.get("MEND_DOWNLOAD_HOSTS", "").split(",") if h.strip()
)
#: Civitai's API (model and model-version look-ups for pasted Civitai URLs)
CIVITAI_API_URL = os.environ.get("MEND_CIVITAI_API", "https://civitai.com/api/v1").rstrip("/")
#: seconds a Hugging Face search result is reused (a miss: at most a minute)
HF_SEARCH_TTL = _env_int("MEND_HF_SEARCH_TTL", 600)
#: a model cache shared by many machines (``mend sync --shared-cache``): files stored once by sha256, linked
#: into the model folders (core/environment/shared_cache.py)
SHARED_MODEL_CACHE = _env_path("MEND_SHARED_MODEL_CACHE")

# -- background tasks (core/tasks/manager.py) -------------------------------------------------------------
#: how many tasks of each kind run at once; other kinds share ``default``
TASK_LIMITS = {
    "download": max(1, _env_int("MEND_MAX_DOWNLOADS", 3)),
    "install": max(1, _env_int("MEND_MAX_INSTALLS", 1)),
    "default": max(1, _env_int("MEND_MAX_TASKS", 2)),
}
#: attempts a task gets before a retryable failure becomes final (the first attempt included)
TASK_MAX_ATTEMPTS = max(1, _env_int("MEND_TASK_ATTEMPTS", 5))
#: retry backoff: first delay and cap (seconds), doubled per attempt, ±20% jitter; ``Retry-After`` wins
TASK_BACKOFF_BASE = 2.0
TASK_BACKOFF_MAX = 120.0
#: how long finished tasks stay listed (and in the journal) before they are forgotten (seconds)
TASK_RETENTION = _env_int("MEND_TASK_RETENTION", 7 * 24 * 3600)
