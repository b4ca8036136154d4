"""roles/verify, docker boxes: GATE verify.sanity when the sanity script could
not be run in the engine container at all (container or Docker engine gone).

The exec then returns no exit code; the gate must fail naming itself, not pass
as if the script had run. Only check mode (the exec is skipped) passes it unrun.
Runs the role's runtime.yml tasks through ansible-playbook on localhost, with
the facts the earlier verify tasks would have set, against a Docker socket
that does not exist."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
RUNTIME_TASKS = REPO / 'roles' / 'verify' / 'tasks' / 'runtime.yml'


def play(tmp_path, check=False):
    """Run the verify runtime gates for a docker box; return (rc, output)."""
    facts = {
        'box_deploy_method': 'docker',
        'box_docker_host': 'unix://%s' % (tmp_path / 'no-docker.sock'),
        'box_docker_app_dir': '/app',
        'box_healthz_url': 'http://127.0.0.1:8501/healthz',
        'restart_container': 'hedge-engine-gone',
        'verify_version': 'v7.6',
        'verify_run_sanity': True,
        'verify_sanity_required': True,
        'verify_sanity_script': 'scripts/runtime_sanity_check_v7_6.py',
        'verify_runtime_sanity_fatal': True,
        '__verify_runtime': {'checks': {'engine_version': {'ok': True, 'reason': 'v7.6'}},
                             'runtime': {'engine_version': 'v7.6'}, 'failed_checks': []},
        '__verify_healthz': {'status': 200, 'msg': 'OK', 'content': 'ok'},
        '__verify_facts': {},
    }
    playbook = tmp_path / 'play.yml'
    playbook.write_text(json.dumps([{
        'name': 'Verify a docker box', 'hosts': 'localhost', 'gather_facts': False, 'vars': facts,
        'tasks': [{'name': 'Run the runtime gates', 'ansible.builtin.import_tasks': str(RUNTIME_TASKS)}]}]))
    env = {**os.environ, 'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg')}
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, str(playbook)] + (['--check'] if check else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_an_exec_without_exit_code_fails_the_gate(tmp_path):
    rc, output = play(tmp_path)
    assert rc != 0, output
    assert 'GATE verify.sanity FAILED: exit -1' in output, output
    assert 'GATE verify.sanity passed' not in output
    # The gates before it passed; the one after it never ran.
    assert 'GATE verify.engine_version passed' in output and 'GATE verify.dashboard_healthz passed' in output
    assert 'GATE verify.runtime_sanity' not in output


def test_check_mode_skips_the_exec_and_passes_unrun(tmp_path):
    rc, output = play(tmp_path, check=True)
    assert rc == 0, output
    assert 'GATE verify.sanity passed: scripts/runtime_sanity_check_v7_6.py' in output
    assert 'GATE verify.runtime_sanity passed' in output
