"""The release artifact holds the collection only: `ansible-galaxy collection
build` from a working tree that was used (ops logs, reports, a local box, a
venv, bench results), and the file list is checked against galaxy.yml's
allow-list."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GALAXY = Path(sys.executable).parent / "ansible-galaxy"
MARK = "OPERATOR-alice-7f3c"  # an operator name planted in a used tree's outputs

# What a used working tree holds besides the tracked files (where the tools
# write: the ops log, reports, the embedded box, the venv, pytest, molecule).
PLANTED = {
    "opslog/localbox-20261203T101500Z.md": f"operator: {MARK}\nNAV 1041233.12\n",
    "opslog/localbox-20261203T101500Z.json": f'{{"operator": "{MARK}", "run_id": "r1"}}\n',
    "reports/incidents-localbox.json": f'{{"operator": "{MARK}"}}\n',
    "reports/hedge_run/artifacts/r1/stdout": f"{MARK}\n",
    ".box/box.json": f'{{"operator": "{MARK}"}}\n',
    ".venv/bin/activate": "# venv\n",
    "tests/output/junit.xml": f"<x>{MARK}</x>\n",
    "bench/run-local.json": f'{{"operator": "{MARK}"}}\n',
    "plugins/modules/__pycache__/hedge_lock.cpython-311.pyc": "pyc",
}
TOP = {"README.md", "LICENSE", "activate.yml", "rollback.yml", "requirements.yml", "MANIFEST.json", "FILES.json"}
DIRS = ("plugins/", "roles/", "playbooks/", "meta/", "docs/", "changelogs/")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tarfile.TarFile:
    tree = tmp_path_factory.mktemp("tree")
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True,
                             capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_symlink() or not source.is_file():
            continue  # the collections/ self-link; files deleted in the work tree
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, tree / name)
    for name, text in PLANTED.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(GALAXY), "collection", "build", "--output-path", str(out), str(tree)],
                   check=True, capture_output=True, text=True)
    (built,) = out.glob("gpt_hedge-activation-*.tar.gz")
    with tarfile.open(built) as tar:
        yield tar


def files(tar: tarfile.TarFile) -> list[str]:
    return sorted(m.name for m in tar.getmembers() if m.isfile())


def test_only_the_collection_is_shipped(artifact):
    outside = [n for n in files(artifact) if n not in TOP and not n.startswith(DIRS)]
    assert outside == []


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_outputs_of_a_used_tree_stay_out(artifact, name):
    assert name not in files(artifact)


def test_no_operator_name_in_any_shipped_file(artifact):
    carrying = [n for n in files(artifact) if MARK.encode() in artifact.extractfile(n).read()]
    assert carrying == []


@pytest.mark.parametrize("name", [
    "README.md", "LICENSE", "activate.yml", "rollback.yml", "meta/runtime.yml",
    "meta/execution-environment.yml", "meta/ee-requirements.txt", "requirements.yml",
    "playbooks/activate.yml", "plugins/modules/hedge_verify.py",
    "plugins/module_utils/hedge_surfaces.py", "plugins/callback/fleet_summary.py",
    "plugins/filter/gates.py", "plugins/filter/one_line.yml", "roles/verify/tasks/main.yml", "roles/verify/meta/argument_specs.yml",
    "roles/opslog/templates/opslog.md.j2", "docs/gates.md", "changelogs/changelog.yaml",
])
def test_the_collection_is_complete(artifact, name):
    assert name in files(artifact)


@pytest.mark.parametrize("prefix", ["tests/", "bench/", "scripts/", "docker/", "hedge_run/", "molecule/",
                                    "inventories/", "collections/", ".ci/", ".config/"])
def test_project_tooling_is_not_shipped(artifact, prefix):
    assert [n for n in files(artifact) if n.startswith(prefix)] == []
