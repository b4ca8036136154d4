"""roles/rollback, GATE rollback.target: the target may never be the release
being rolled back from (issue #16 item 10: the automatic rollback of a run
whose record was damaged targeted the failed release and "returned" to it).

The automatic rollback (tasks/auto.yml) sets rollback_from to the live tag when
the release it would return to has the live commit. Runs the role's target.yml
through ansible-playbook on localhost with an explicit target (no history is
read), then reads the gate's line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
ROLLBACK = REPO / 'roles' / 'rollback'
BOX_DEFAULTS = REPO / 'roles' / 'box' / 'defaults' / 'main.yml'


def gate(tmp_path, target, rollback_from):
    """Run GATE rollback.target for `target` rolled back from `rollback_from`; return (rc, output)."""
    playbook = tmp_path / 'play.yml'
    playbook.write_text(json.dumps([{
        'name': 'Choose the rollback target', 'hosts': 'localhost', 'gather_facts': False,
        # The box role's version pattern; the two variables the automatic rollback sets (the role's
        # defaults, which read -e version, are left out: vars_files would win over the play's vars).
        'vars_files': [str(BOX_DEFAULTS)],
        'vars': {'rollback_version': target, 'rollback_from': rollback_from},
        'tasks': [{'name': 'Choose the target', 'ansible.builtin.import_tasks': str(ROLLBACK / 'tasks' / 'target.yml')}]}]))
    env = {**os.environ, 'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg'), 'ANSIBLE_NOCOLOR': '1'}
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, str(playbook)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    return proc.returncode, ' '.join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize('target, rollback_from, rc, line', [
    pytest.param('v7.5', 'v7.6', 0, 'GATE rollback.target passed: v7.5', id='automatic-to-the-previous-release'),
    pytest.param('v7.5', '', 0, 'GATE rollback.target passed: v7.5', id='rollback-playbook'),
    pytest.param('v7.6', 'v7.6', 2, 'GATE rollback.target FAILED: v7.6 is the release being rolled back from: '
                 'no earlier release is known to return to', id='automatic-to-the-failed-release'),
])
def test_the_target_is_never_the_release_rolled_back_from(tmp_path, target, rollback_from, rc, line):
    got_rc, output = gate(tmp_path, target, rollback_from)
    assert got_rc == rc, output[-3000:]
    assert line in output, output[-3000:]
    assert output.count('GATE rollback.target ') == 1, output[-3000:]
