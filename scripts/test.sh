#!/usr/bin/env bash
# The test command (README "Tests"; .ci/run calls it): lint, unit tests,
# simulator tests and integration tests against local boxes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
start=$SECONDS

echo "== yamllint"
yamllint --strict .
echo "== ansible-lint (production profile)"
ansible-lint --profile production
echo "== pytest: unit, simulator, integration"
pytest -q -p no:cacheprovider tests/unit tests/box tests/integration
echo "== done in $((SECONDS - start)) s"
