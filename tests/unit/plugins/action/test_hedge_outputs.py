"""gpt_hedge.activation.hedge_outputs: the run's output files, written on the
controller by the action plugin (run through ansible-playbook, as the roles do)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / 'collections'))
# pylint: disable=wrong-import-position
from ansible_collections.gpt_hedge.activation.plugins.action.hedge_outputs import write_atomically  # noqa: E402


def play(tmp_path, task_args, check=False):
    """Run one hedge_outputs task on localhost; return (rc, output, registered result)."""
    result_file = tmp_path / 'result.json'
    playbook = tmp_path / 'play.yml'
    playbook.write_text(json.dumps([{
        'name': 'Write outputs', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'Write the files', 'gpt_hedge.activation.hedge_outputs': task_args, 'register': 'out'},
            {'name': 'Keep the result', 'ansible.builtin.copy': {'content': '{{ out | to_json }}', 'dest': str(result_file)},
             'check_mode': False},
        ]}]))
    env = {**os.environ, 'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg')}
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, str(playbook)] + (['--check'] if check else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    registered = json.loads(result_file.read_text()) if result_file.exists() else None
    return proc.returncode, proc.stdout + proc.stderr, registered


def test_writes_each_file_atomically_with_its_mode(tmp_path):
    out = tmp_path / 'nested' / 'opslog'
    rc, output, result = play(tmp_path, {'dir': str(out), 'files': {
        'box1-run.json': '{"outcome": "success"}', 'box1-run.md': '# Ops log\n\n- outcome: success\n'}})
    assert rc == 0, output
    assert (out / 'box1-run.json').read_text() == '{"outcome": "success"}\n'  # a newline is added
    assert (out / 'box1-run.md').read_text() == '# Ops log\n\n- outcome: success\n'
    assert stat.S_IMODE((out / 'box1-run.json').stat().st_mode) == 0o640
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert result['changed'] is False
    assert sorted(result['written']) == sorted(str(out / n) for n in ('box1-run.json', 'box1-run.md'))
    assert sorted(os.listdir(out)) == ['box1-run.json', 'box1-run.md']  # no temporary file left


def test_check_mode_writes_nothing(tmp_path):
    out = tmp_path / 'reports'
    rc, output, result = play(tmp_path, {'dir': str(out), 'files': {'a.json': '{}'}}, check=True)
    assert rc == 0, output
    assert not out.exists()
    assert result['written'] == [] and result['paths'] == {'a.json': str(out / 'a.json')}


@pytest.mark.parametrize('args, reason', [
    ({'files': {'a.json': '{}'}}, 'dir is required'),
    ({'dir': '/tmp/x'}, 'files is required'),
    ({'dir': '/tmp/x', 'files': {'../escape.json': '{}'}}, 'plain names inside dir'),
    ({'dir': '/tmp/x', 'files': {'a.json': '{}'}, 'mode': 'rw'}, 'octal mode'),
    ({'dir': '/tmp/x', 'files': {'a.json': '{}'}, 'owner': 'root'}, 'Invalid options'),
])
def test_bad_arguments_fail_with_one_reason_and_write_nothing(tmp_path, args, reason):
    rc, output, result = play(tmp_path, args)
    assert rc != 0
    assert reason in output
    assert result is None
    assert not Path('/tmp/x').exists() or not any(Path('/tmp/x').iterdir())


def test_unwritable_dir_fails_naming_the_dir(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    rc, output, _result = play(tmp_path, {'dir': str(blocker / 'sub'), 'files': {'a.json': '{}'}})
    assert rc != 0
    assert 'cannot write the run outputs in %s' % (blocker / 'sub') in output


def test_write_atomically_replaces_and_leaves_no_temporary_on_failure(tmp_path, monkeypatch):
    target = tmp_path / 'a.json'
    target.write_text('old')
    write_atomically(str(target), 'new', 0o600)
    assert target.read_text() == 'new' and stat.S_IMODE(target.stat().st_mode) == 0o600

    def refuse(_src, _dst):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', refuse)
    with pytest.raises(OSError, match='disk full'):
        write_atomically(str(target), 'newer', 0o600)
    assert target.read_text() == 'new'
    assert os.listdir(tmp_path) == ['a.json']
