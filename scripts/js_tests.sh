#!/usr/bin/env bash
# The editor's JS logic tests (node --test tests/js/); said, never silently skipped, when Node.js is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "node not found: the JS tests (tests/js/) are SKIPPED; install Node.js 18 or newer to run them" >&2
  exit 0
fi
node --test tests/js/
