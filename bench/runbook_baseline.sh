#!/usr/bin/env bash
# The bare runbook, no checks: what an operator types for option A.
# Env: CHECKOUT, SUPERVISORCTL, SUPERVISOR_CONF, VERSION.
set -euo pipefail
cd "$CHECKOUT"
git fetch -q --tags origin
git -c advice.detachedHead=false checkout -q "$VERSION"
"$SUPERVISORCTL" -c "$SUPERVISOR_CONF" restart hedge:
