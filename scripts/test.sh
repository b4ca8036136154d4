#!/usr/bin/env bash
# The test command (README "Quick start"; .ci/run calls it). From a machine with
# nothing installed: Python deps (.venv), lint, ansible-test sanity (in the background),
# unit + simulator + integration
# tests (local boxes through ansible-runner, in parallel workers), then every
# molecule scenario on a Docker engine and the runtime-box image, several
# scenarios at a time. The engine and images are prepared in the background
# while pytest runs. Prints per-stage and per-scenario durations at the end.
#
#   PYTEST_WORKERS  pytest-xdist workers (default 4: the integration tests
#                   mostly wait on the simulated engines' loops)
#   MOLECULE_JOBS   molecule scenarios run at once (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
PYTEST_WORKERS="${PYTEST_WORKERS:-4}"
MOLECULE_JOBS="${MOLECULE_JOBS:-3}"
LOGS="$(mktemp -d /tmp/hedge-test.XXXXXX)"
declare -a timings=()
record() {  # record NAME SECONDS RC
  timings+=("$(printf '%-32s %5ss  %s' "$1" "$2" "$([ "$3" -eq 0 ] && echo ok || echo FAILED)")")
}
report() {
  echo; echo "== durations (total ${SECONDS}s)"
  printf '%s\n' "${timings[@]}"
}
stage() {  # stage NAME COMMAND...: run, time, remember; stop on failure
  local name="$1" start=$SECONDS rc=0
  shift
  echo "== $name"
  "$@" || rc=$?
  record "$name" "$((SECONDS - start))" "$rc"
  if [ $rc -ne 0 ]; then report; echo "== $name FAILED (rc $rc)"; exit $rc; fi
}

docker_ready() {  # engine, runtime-box image, registry + engine images
  local start=$SECONDS
  scripts/docker_engine.sh && echo "docker engine $((SECONDS - start))s" \
    && scripts/build_box_image.sh && echo "runtime-box image $((SECONDS - start))s" \
    && scripts/docker_registry.sh && echo "registry + engine images $((SECONDS - start))s"
}

molecule_all() {  # every scenario, MOLECULE_JOBS at once, longest first; one log each
  local -a scenarios=() pids=() names=() starts=()
  local scenario rc=0 failed=0
  # Longest first (durations of the clean-clone run), then any new scenario.
  for scenario in auto_rollback docker fleet incidents preflight_fails default \
                  $(for f in molecule/*/molecule.yml; do basename "$(dirname "$f")"; done); do
    [ -f "molecule/$scenario/molecule.yml" ] || continue
    [[ " ${scenarios[*]} " == *" $scenario "* ]] || scenarios+=("$scenario")
  done
  finish() {  # finish INDEX RC
    local name="${names[$1]}"
    record "molecule $name" "$((SECONDS - ${starts[$1]}))" "$2"
    echo "== molecule $name: $([ "$2" -eq 0 ] && echo ok || echo "FAILED (rc $2)") in $((SECONDS - ${starts[$1]}))s"
    if [ "$2" -ne 0 ]; then failed=1; echo "---- molecule $name log"; cat "$LOGS/molecule-$name.log"; fi
    pids[$1]=""
  }
  reap() {  # wait for one scenario to end and record it
    local done_pid="" j
    rc=0
    wait -n -p done_pid || rc=$?
    if [ -z "${done_pid:-}" ]; then echo "molecule jobs lost (wait rc $rc)"; failed=1; pids=(); return; fi
    for j in "${!pids[@]}"; do
      if [ "${pids[$j]}" = "$done_pid" ]; then finish "$j" "$rc"; fi
    done
  }
  for scenario in "${scenarios[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$MOLECULE_JOBS" ]; do reap; done
    echo "== molecule $scenario (started)"
    molecule test -s "$scenario" >"$LOGS/molecule-$scenario.log" 2>&1 &
    pids+=("$!"); names+=("$scenario"); starts+=("$SECONDS")
  done
  outstanding() { local p; for p in "${pids[@]}"; do [ -z "$p" ] || return 0; done; return 1; }
  while outstanding; do reap; done
  return $failed
}

stage "setup (.venv)" scripts/setup.sh
# Before the background Docker setup: both use apt.
stage "system packages (sshd, sudo, acl)" scripts/system_packages.sh
# Tools must resolve gpt_hedge.activation to this tree, never to an installed copy.
rm -rf "$HOME/.ansible/collections/ansible_collections/gpt_hedge"
docker_start=$SECONDS
docker_ready >"$LOGS/docker.log" 2>&1 &
docker_pid=$!
# ansible-test sanity (scripts/sanity.sh) in the background during the lint and pytest stages;
# its failure is fatal, with its log.
sanity_start=$SECONDS
scripts/sanity.sh >"$LOGS/sanity.log" 2>&1 &
sanity_pid=$!
stage "yamllint" yamllint --strict .
stage "ansible-lint (production)" ansible-lint --profile production -q
stage "pytest unit+box+integration" pytest -q -p no:cacheprovider -n "$PYTEST_WORKERS" --dist load --maxschedchunk 2 \
  --durations=25 tests/unit tests/box tests/integration
sanity_rc=0
wait "$sanity_pid" || sanity_rc=$?
record "ansible-test sanity (bg)" "$((SECONDS - sanity_start))" "$sanity_rc"
if [ $sanity_rc -ne 0 ]; then
  grep -v '^WARNING: Location' "$LOGS/sanity.log"
  report; echo "== ansible-test sanity FAILED (rc $sanity_rc)"; exit $sanity_rc
fi
docker_rc=0
wait "$docker_pid" || docker_rc=$?
record "docker engine + images (bg)" "$((SECONDS - docker_start))" "$docker_rc"
cat "$LOGS/docker.log"
if [ $docker_rc -ne 0 ]; then report; echo "== docker engine + images FAILED (rc $docker_rc)"; exit $docker_rc; fi
stage "molecule ($MOLECULE_JOBS at once)" molecule_all
report
