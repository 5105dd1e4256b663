#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them: ruff, pytest, node --test.
# Usage: bash scripts/test.sh [pytest args...]   (e2e: COMFYUI_PATH=/path/to/ComfyUI bash scripts/test.sh -m e2e)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e '.[test]'
# The CPU torch wheel, only from a local wheel folder (pip's find-links): never a multi-GB download.
# Without it the few torch tests skip with a reason.
if .venv/bin/python -m pip install --quiet --no-index --no-deps torch==2.13.0 >/dev/null 2>&1; then
  .venv/bin/python -m pip install --quiet torch==2.13.0  # its small dependencies, from the index
else
  echo "torch 2.13.0 CPU wheel not found locally: torch tests will skip"
fi
.venv/bin/python -m ruff check .
bash scripts/js_tests.sh
.venv/bin/python -m pytest "$@"
