#!/usr/bin/env bash
# One command on a fresh machine: install the Python dependencies, (re)install
# the embedded default box under .box/ with v7.5 live, then activate v7.6 on it.
#   scripts/activate_local.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HEDGE_BOX_PREFIX="${HEDGE_BOX_PREFIX:-$PWD/.box}"
export HEDGE_BOX_PORT="${HEDGE_BOX_PORT:-8501}"
.venv/bin/python tests/box/install_box.py install --force \
  --prefix "$HEDGE_BOX_PREFIX" --port "$HEDGE_BOX_PORT"
PATH="$PWD/.venv/bin:$PATH" ansible-playbook activate.yml -e "version=${1:-v7.6}"
