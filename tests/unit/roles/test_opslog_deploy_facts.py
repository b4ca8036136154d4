"""roles/opslog with either deploy method: the ops log (JSON and Markdown) and
the fleet summary row read the one set of facts both deploy roles set
(deploy_current, and ledger_live from their entry point live), so a docker
activation logs the image id it runs as its commit, and the version, as a git
activation logs the checked-out commit.

Runs the role's tasks through ansible-playbook on localhost with the facts the
earlier roles of a run set (real-looking values), then reads the files the role
wrote. The second half checks that both deploy method roles set those facts,
each under its own prefix with the same keys, and that the role deploy names
them once for the rest of the run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
OPSLOG = REPO / 'roles' / 'opslog'

V75_COMMIT = '9ab03d2c41e07f5b8d6a3c2e1f0a9b8c7d6e5f43'
V76_COMMIT = '4f2c9e1d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d'
V75_IMAGE_ID = 'sha256:0c1d7a3f5e9b2d4c6a8e0f1b3d5c7e9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e'
V76_IMAGE_ID = 'sha256:7e3b9f1c5a2d8e4b6c0f9a1d3e5b7c9f0a2d4e6b8c1f3a5d7e9b0c2d4f6a8b1c'
REGISTRY = '127.0.0.1:5000/gpt-hedge'

# What each deploy role records (deploy_current) and the ledger read before the run (ledger_previous),
# for a verified activation of v7.6 and for one rolled back to v7.5 (the rollback's deploy ran last).
DOCKER_V76 = {'version': 'v7.6', 'commit': V76_IMAGE_ID, 'tag': 'v7.6', 'image': REGISTRY + ':v7.6',
              'method': 'docker', 'finished_at': '2026-12-03T09:14:21Z'}
DOCKER_V75 = {'version': 'v7.5', 'commit': V75_IMAGE_ID, 'tag': 'v7.5', 'image': REGISTRY + ':v7.5',
              'method': 'docker', 'finished_at': '2026-12-03T09:15:02Z'}
GIT_V76 = {'version': 'v7.6', 'commit': V76_COMMIT, 'tag': 'v7.6', 'method': 'git', 'finished_at': '2026-12-03T09:14:19Z'}
FAILURE = {'failed_gate': 'verify.engine_version', 'reason': 'engine reports v7.5, expected v7.6',
           'detail': [], 'next': 'read the executor log, fix the release, activate again', 'rollback': 'verified'}


def run_opslog(tmp_path, method, outcome, deploy_current, previous, failure=None):
    """Run the opslog role's tasks as activate.yml's always section does; return (ops log JSON, Markdown, fleet row)."""
    facts = {
        'box_deploy_method': method,
        'box_version': 'v7.6',
        'ledger_version': 'v7.6',
        'ledger_run_id': '20261203T091400Z-localbox',
        'ledger_operator': 'alice',
        'ledger_previous': previous,
        'ledger_live': {'version': previous['version'], 'commit': previous['commit']},
        'preflight_results': {'version': 'v7.6', 'ci_status': 'not checked', 'pretag': 'passed', 'sanity': 'passed',
                              'finished_at': '2026-12-03T09:14:10Z'},
        '__preflight_ci_state': 'not checked',
        'deploy_changed': True,
        'deploy_current': deploy_current,
        'restart_performed': True,
        'restart_marks': {'finished_at': '2026-12-03T09:14:40Z'},
        'verify_report': {'finished_at': '2026-12-03T09:14:55Z'},
        'opslog_kind': 'activation',
        'opslog_outcome': outcome,
    }
    if failure:
        facts['hedge_failure'] = failure
    playbook = tmp_path / 'play.yml'
    # The role's tasks, imported without the role (its dependency, the box role, reads a real box): its
    # templates are found next to the playbook, as they would be in the role.
    (tmp_path / 'templates').symlink_to(OPSLOG / 'templates')
    playbook.write_text(json.dumps([{
        'name': 'Write the ops log', 'hosts': 'localhost', 'gather_facts': False,
        'vars_files': [str(OPSLOG / 'defaults' / 'main.yml')],
        'tasks': [{'name': 'Set the facts of the run so far', 'ansible.builtin.set_fact': facts},
                  {'name': 'Write the ops log', 'ansible.builtin.import_tasks': str(OPSLOG / 'tasks' / 'main.yml')}]}]))
    env = {**os.environ, 'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg'),
           'HEDGE_OPSLOG_DIR': str(tmp_path / 'opslog'), 'HEDGE_REPORT_DIR': str(tmp_path / 'reports')}
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, str(playbook)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (entry_file,) = (tmp_path / 'opslog').glob('localhost-*.json')
    (summary_file,) = (tmp_path / 'reports').glob('fleet-summary-*.json')
    (row,) = json.loads(summary_file.read_text())['rows']
    return json.loads(entry_file.read_text()), entry_file.with_suffix('.md').read_text(), row


@pytest.mark.parametrize('method, outcome, deploy_current, previous, failure', [
    ('docker', 'success', DOCKER_V76, {'version': 'v7.5', 'commit': V75_IMAGE_ID}, None),
    ('docker', 'rolled_back', DOCKER_V75, {'version': 'v7.5', 'commit': V75_IMAGE_ID}, FAILURE),
    ('git', 'success', GIT_V76, {'version': 'v7.5', 'commit': V75_COMMIT, 'tag': 'v7.5'}, None),
], ids=['docker-success', 'docker-rolled_back', 'git-success'])
def test_ops_log_names_the_deployed_release(tmp_path, method, outcome, deploy_current, previous, failure):
    entry, markdown, row = run_opslog(tmp_path, method, outcome, deploy_current, previous, failure)
    assert (entry['kind'], entry['outcome']) == ('activation', outcome)
    # What runs now: the image id (docker) or the checked-out commit (git), and its version.
    assert entry['commit'] == deploy_current['commit'] and entry['commit']
    assert entry['live_version'] == deploy_current['version']
    assert (entry['version'], entry['previous_version']) == ('v7.6', 'v7.5')
    assert entry['steps']['code_pulled'] == deploy_current['finished_at']
    assert f"| Commit hash | `{deploy_current['commit']}` |" in markdown
    assert f"live now {deploy_current['version']})" in markdown
    assert (row['outcome'], row['version_before'], row['version_after']) == (outcome, 'v7.5', deploy_current['version'])
    assert entry['failed_gate'] == (failure or {}).get('failed_gate', '')


def set_facts(tasks_file: Path) -> dict:
    """Every fact the set_fact tasks of a tasks file set (blocks included), by name -> its value as written."""
    facts = {}
    tasks = list(yaml.safe_load(tasks_file.read_text()))
    while tasks:
        task = tasks.pop(0)
        tasks[:0] = task.get('block', []) + task.get('rescue', []) + task.get('always', [])
        facts.update(task.get('ansible.builtin.set_fact') or {})
    return facts


@pytest.mark.parametrize('method, deploy_file', [('git', 'checkout.yml'), ('docker', 'env.yml')])
def test_both_deploy_methods_set_the_facts_the_run_reads(method, deploy_file):
    """The role deploy includes deploy_<box_deploy_method> and names its facts deploy_changed, deploy_current
    and (entry point live) deploy_live, which the playbooks, the rollback, the ledger and the ops log read:
    each method role sets them under its own prefix, with the keys the ops log and the ledger read."""
    role = REPO / 'roles' / ('deploy_' + method)
    deployed = set_facts(role / 'tasks' / deploy_file)
    assert f'deploy_{method}_changed' in deployed
    assert {'version', 'commit', 'tag', 'method', 'finished_at'} <= set(deployed[f'deploy_{method}_current'])
    assert deployed[f'deploy_{method}_current']['method'] == method
    assert {'version', 'commit'} <= set(set_facts(role / 'tasks' / 'live.yml')[f'deploy_{method}_live'])
    front = REPO / 'roles' / 'deploy' / 'tasks'
    assert set(set_facts(front / 'main.yml')) == {'deploy_changed', 'deploy_current'}
    assert set(set_facts(front / 'live.yml')) == {'deploy_live'}
