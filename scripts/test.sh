#!/usr/bin/env bash
# The test command (README "Tests"; .ci/run calls it). From a machine with
# nothing installed: Python deps (.venv), lint, unit + simulator + integration
# tests (local boxes through ansible-runner), then a Docker engine, the
# runtime-box image and every molecule scenario. Prints per-stage and
# per-scenario durations at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
declare -a timings=()
stage() {  # stage NAME COMMAND...: run, time, remember
  local name="$1" start=$SECONDS rc=0
  shift
  echo "== $name"
  "$@" || rc=$?
  timings+=("$(printf '%-32s %5ss  %s' "$name" "$((SECONDS - start))" "$([ $rc -eq 0 ] && echo ok || echo FAILED)")")
  if [ $rc -ne 0 ]; then report; echo "== $name FAILED (rc $rc)"; exit $rc; fi
}
report() {
  echo; echo "== durations"
  printf '%s\n' "${timings[@]}"
}

stage "setup (.venv)" scripts/setup.sh
# Tools must resolve gpt_hedge.activation to this tree, never to an installed copy.
rm -rf "$HOME/.ansible/collections/ansible_collections/gpt_hedge"
stage "yamllint" yamllint --strict .
stage "ansible-lint (production)" ansible-lint --profile production -q
stage "pytest unit+box+integration" pytest -q -p no:cacheprovider --durations=25 tests/unit tests/box tests/integration
stage "docker engine" scripts/docker_engine.sh
stage "runtime-box image" scripts/build_box_image.sh
stage "registry + engine images" scripts/docker_registry.sh
# Equivalent of `molecule test --all`, one scenario at a time so each is timed.
for scenario in $(ls molecule/*/molecule.yml | xargs -n1 dirname | xargs -n1 basename); do
  stage "molecule $scenario" molecule test -s "$scenario"
done
report
