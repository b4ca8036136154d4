#!/usr/bin/env bash
# Create .venv with the controller's Python dependencies (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
# The controller's requirements and the sanity stage's tools (tests/sanity/requirements.txt).
want="$(cat requirements.txt tests/sanity/requirements.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r tests/sanity/requirements.txt
  echo "$want" >"$stamp"
fi
