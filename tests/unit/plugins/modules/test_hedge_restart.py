"""hedge_restart against a real supervisord (from the controller venv) with a
group of three programs, in a temporary directory."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hedge_test_support import finish_module

BIN = Path(sys.executable).parent
PROGRAMS = ['executor', 'dashboard', 'sync_state']
# An engine program: logs its boot line, stays up, and logs an error line
# while it stops (as a broken release being rolled back does).
ENGINE = '''import signal, sys, time
def stop(*_args):
    print('ERROR stopping', sys.argv[1], flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print('boot', sys.argv[1], flush=True)
time.sleep(3600)
'''


def conf(root: Path, broken: str | None = None, flaky: str | None = None) -> Path:
    lines = ['[unix_http_server]', 'file=%s/s.sock' % root,
             '[supervisord]', 'logfile=%s/supervisord.log' % root, 'pidfile=%s/supervisord.pid' % root,
             'childlogdir=%s' % root,
             '[rpcinterface:supervisor]',
             'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
             '[supervisorctl]', 'serverurl=unix://%s/s.sock' % root,
             '[group:hedge]', 'programs=%s' % ','.join(PROGRAMS)]
    (root / 'engine.py').write_text(ENGINE)
    (root / 'broken.py').write_text('import sys\nsys.exit(3)\n')
    # Up past startsecs (1 s) with 3 s to spare (a loaded machine's supervisorctl is slow to see RUNNING), then gone.
    (root / 'flaky.py').write_text('import sys, time\ntime.sleep(4)\nsys.exit(1)\n')
    for name in PROGRAMS:
        script = 'broken.py' if name == broken else 'flaky.py' if name == flaky else 'engine.py'
        command = '%s %s/%s %s' % (sys.executable, root, script, name)
        lines += ['[program:%s]' % name, 'command=%s' % command, 'autostart=true', 'autorestart=false',
                  'startsecs=1', 'startretries=0', 'stopwaitsecs=5',
                  'stdout_logfile=%s/%s.out.log' % (root, name), 'stderr_logfile=%s/%s.err.log' % (root, name)]
    path = root / 'supervisord.conf'
    path.write_text('\n'.join(lines) + '\n')
    return path


class Box:
    def __init__(self, root: Path):
        self.root = root
        self.conf = conf(root)
        self.state = root / 'state'
        self.state.mkdir()
        self.ctl = [str(BIN / 'supervisorctl'), '-c', str(self.conf)]

    def start(self):
        subprocess.run([str(BIN / 'supervisord'), '-c', str(self.conf)], check=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.status().count('RUNNING') == len(PROGRAMS):
                return
            time.sleep(0.2)
        raise RuntimeError('supervisord did not start its programs: %s' % self.status())

    def status(self) -> str:
        return subprocess.run(self.ctl + ['status'], capture_output=True, text=True, check=False).stdout

    def pids(self) -> dict:
        out = {}
        for line in self.status().splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[1] == 'RUNNING':
                out[parts[0]] = parts[3].rstrip(',')
        return out

    def engine(self, version):
        (self.state / 'engine_metadata.json').write_text(json.dumps({'engine_version': version}))

    def args(self, **extra):
        args = dict(supervisorctl=self.ctl, group='hedge', programs=PROGRAMS, state_dir=str(self.state),
                    expected_version='v7.6', out_log=str(self.root / 'executor.out.log'), timeout=20,
                    poll_interval=0.2, deploy_changed=False)
        args.update(extra)
        return args


@pytest.fixture
def box(tmp_path):
    b = Box(tmp_path)
    b.start()
    yield b
    subprocess.run(b.ctl + ['shutdown'], capture_output=True, check=False)


@pytest.mark.parametrize('extra, engine, reason', [
    ({'deploy_changed': True}, 'v7.6', 'the deploy changed the release'),
    ({'force': True}, 'v7.6', 'forced'),
    ({}, 'v7.5', 'engine version v7.5 != expected v7.6'),
    ({}, None, 'engine_metadata.json has no engine_version'),
    ({'scope': 'programs', 'deploy_changed': True}, 'v7.6', 'the deploy changed the release'),
])
def test_restarts_when_needed_and_waits_for_running(run_module, box, extra, engine, reason):
    if engine:
        box.engine(engine)
    before = box.pids()
    result = run_module('hedge_restart', box.args(**extra))
    assert result['needed'] is True and result['performed'] is True and result['changed'] is True
    assert result['reason'].startswith(reason)
    assert result['not_running'] == [] and result['errors'] == []
    after = box.pids()
    assert sorted(after) == ['hedge:%s' % p for p in sorted(PROGRAMS)]
    assert all(after[name] != pid for name, pid in before.items())  # every program is a new process
    scope = extra.get('scope', 'group')
    if scope == 'group':
        assert [c['argv'] for c in result['commands']] == [['stop', 'hedge:'], ['start', 'hedge:']]
    else:
        names = ['hedge:%s' % p for p in PROGRAMS]
        assert [c['argv'] for c in result['commands']] == [['stop'] + names, ['start'] + names]
    assert set(result['marks']) == {'out_offset', 'err_offset', 'box_time'}


def test_no_restart_when_the_target_already_runs(run_module, box):
    box.engine('v7.6')
    before = box.pids()
    result = run_module('hedge_restart', box.args())
    assert result['needed'] is False and result['performed'] is False and result['changed'] is False
    assert result['reason'] == 'v7.6 already running'
    assert result['commands'] == []
    assert box.pids() == before


def test_check_mode_predicts_and_restarts_nothing(run_module, box):
    box.engine('v7.5')
    before = box.pids()
    result = run_module('hedge_restart', box.args(), check_mode=True)
    assert result['needed'] is True and result['changed'] is True and result['performed'] is False
    assert result['msg'].startswith('would restart')
    assert box.pids() == before


def test_log_marks_are_taken_after_the_stop(run_module, box, tmp_path):
    """Lines the old release writes while stopping are before the marks, the
    new boot line after them."""
    log = tmp_path / 'executor.out.log'
    result = run_module('hedge_restart', box.args(deploy_changed=True))
    text = log.read_bytes()
    offset = result['marks']['out_offset']
    assert text[:offset].decode().splitlines() == ['boot executor', 'ERROR stopping executor']
    assert text[offset:].decode().splitlines() == ['boot executor']
    assert time.time() - 60 < result['marks']['box_time'] < time.time()


def test_scope_programs_takes_the_marks_after_every_stop(run_module, box, tmp_path):
    """Program by program: each is stopped, then the marks, then each is
    started in order; the old executor's last lines are before the marks."""
    log = tmp_path / 'executor.out.log'
    result = run_module('hedge_restart', box.args(deploy_changed=True, scope='programs'))
    text = log.read_bytes()
    offset = result['marks']['out_offset']
    assert text[:offset].decode().splitlines() == ['boot executor', 'ERROR stopping executor']
    assert text[offset:].decode().splitlines() == ['boot executor']
    names = ['hedge:' + p for p in PROGRAMS]
    assert [c['argv'] for c in result['commands']] == [['stop'] + names, ['start'] + names]
    assert result['not_running'] == [] and result['performed'] is True


def test_a_program_that_does_not_start_is_reported(run_module, box):
    box.engine('v7.6')
    box.conf = conf(box.root, broken='sync_state')
    subprocess.run(box.ctl + ['reread'], capture_output=True, check=True)
    subprocess.run(box.ctl + ['update'], capture_output=True, check=True)
    result = run_module('hedge_restart', box.args(force=True))
    assert result['performed'] is True
    assert result['not_running'] == ['sync_state']
    assert any('sync_state' in line and ('FATAL' in line or 'EXITED' in line or 'BACKOFF' in line)
               for line in result['status_lines'])
    assert result['errors']  # the start command's spawn error
    assert 'not RUNNING: sync_state' in result['msg']


def test_a_dead_supervisord_is_not_restarted_silently(run_module, tmp_path):
    dead = Box(tmp_path)  # never started
    result = run_module('hedge_restart', dead.args(deploy_changed=True, timeout=1))
    assert result['performed'] is True
    assert result['not_running'] == PROGRAMS
    assert result['errors']


@pytest.mark.parametrize('args, reason', [
    ({'programs': []}, 'programs must list'),
    ({'supervisorctl': []}, 'supervisorctl must name'),
    ({'poll_interval': 0}, 'poll_interval must be positive'),
    ({'stable_seconds': -1}, 'stable_seconds must not be negative'),
    ({'scope': 'all'}, 'value of scope must be one of'),
])
def test_bad_parameters_fail_with_one_reason(run_module, tmp_path, args, reason):
    result = run_module('hedge_restart', Box(tmp_path).args(**args))
    assert result['failed'] is True
    assert reason in result['msg']


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGHUP, signal.SIGTERM], ids=['INT', 'HUP', 'TERM'])
def test_an_interrupt_during_the_restart_still_starts_the_release(run_module, box, tmp_path, sig):
    """The signal arrives once the pid file says the restart is in flight (Ctrl-C on the controller reaches
    the module's process group): the module ignores it, starts the programs, waits for RUNNING and removes
    its pid file."""
    box.engine('v7.5')
    before = box.pids()
    pid_file = tmp_path / 'activation' / 'restart.pid'
    pid_file.parent.mkdir()
    proc = run_module('hedge_restart', box.args(pid_file=str(pid_file)), popen=True)
    deadline = time.monotonic() + 30
    while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(pid_file.read_text())['pid'] == proc.pid
    proc.send_signal(sig)
    result = finish_module(proc)
    assert result['performed'] is True and result['not_running'] == [], result
    after = box.pids()
    assert sorted(after) == ['hedge:%s' % p for p in sorted(PROGRAMS)]
    assert all(after[name] != pid for name, pid in before.items())
    assert not pid_file.exists()


def test_a_program_that_exits_after_startsecs_fails_the_stability_window(run_module, tmp_path):
    """RUNNING once startsecs passed, exited about 3 s later: seen within the window, named with its pid."""
    b = Box(tmp_path)
    b.conf = conf(tmp_path, flaky='dashboard')
    subprocess.run([str(BIN / 'supervisord'), '-c', str(b.conf)], check=True)
    try:
        result = run_module('hedge_restart', b.args(force=True, stable_seconds=8))
        assert result['performed'] is True
        unstable, = result['unstable']
        assert unstable['program'] == 'dashboard'
        assert unstable['before'].startswith('RUNNING pid ') and not unstable['after'].startswith('RUNNING')
        assert unstable['after_s'] < 8
        assert any('dashboard did not stay RUNNING for the 8.0 s stability window' in e for e in result['errors'])
    finally:
        subprocess.run(b.ctl + ['shutdown'], capture_output=True, check=False)


def test_stable_programs_pass_the_window(run_module, box):
    box.engine('v7.6')
    before = box.pids()
    result = run_module('hedge_restart', box.args(force=True, stable_seconds=1.5))
    assert result['performed'] is True and result['unstable'] == [] and result['errors'] == []
    assert result['not_running'] == []
    assert all(box.pids()[name] != pid for name, pid in before.items())


def lock_of(run_id, heartbeat_ts):
    """A lock file's content as hedge_lock writes it."""
    return {'run_id': run_id, 'holder': {'operator': 'alice'}, 'acquired_at': '2026-11-25T11:09:00Z',
            'acquired_ts': heartbeat_ts, 'heartbeat_ts': heartbeat_ts, 'box_pid': None}


@pytest.mark.parametrize(('holder', 'restart', 'acquired', 'msg'), [
    ('run-a', True, True, 'lock heartbeat of run run-a refreshed'),
    ('run-a', False, True, 'lock heartbeat of run run-a refreshed'),
    ('run-b', True, False, 'lock not held by run run-a; held by run run-b'),
    (None, True, False, 'lock not held by run run-a (no lock)'),
], ids=['restarted', 'no-restart-needed', 'taken-over', 'no-lock'])
def test_the_heartbeat_is_refreshed_after_the_restart(run_module, box, tmp_path, holder, restart, acquired, msg):
    """heartbeat: the run's heartbeat after the restart rides on the restart's own module run."""
    lock = tmp_path / 'activation' / 'lock'
    lock.parent.mkdir()
    if holder:
        lock.write_text(json.dumps(lock_of(holder, 1000.0)))
    box.engine('v7.5' if restart else 'v7.6')
    result = run_module('hedge_restart', box.args(heartbeat={'path': str(lock), 'run_id': 'run-a'}))
    assert result['performed'] is restart
    assert result['heartbeat']['acquired'] is acquired and result['heartbeat']['msg'].startswith(msg), result
    if holder == 'run-a':
        assert json.loads(lock.read_text())['heartbeat_ts'] > 1000.0
    elif holder:
        assert json.loads(lock.read_text()) == lock_of(holder, 1000.0)  # another run's lock is left alone
    else:
        assert not lock.exists()


def test_a_heartbeat_that_cannot_be_written_does_not_stop_the_restart(run_module, box, tmp_path):
    """The lock's dir is not writable (a full or read-only disk): the release is started all the same and the
    heartbeat says why it was not refreshed (acquired null): GATE lock fails on it, the run rolls back."""
    lock = tmp_path / 'file-not-dir' / 'lock'
    lock.parent.write_text('a file where the automation dir should be')
    box.engine('v7.5')
    result = run_module('hedge_restart', box.args(heartbeat={'path': str(lock), 'run_id': 'run-a'}))
    assert result['performed'] is True and result['not_running'] == []
    assert result['heartbeat']['acquired'] is None and str(lock.parent) in result['heartbeat']['msg'], result


def test_no_heartbeat_in_check_mode_or_without_the_option(run_module, box, tmp_path):
    lock = tmp_path / 'lock'
    lock.write_text(json.dumps(lock_of('run-a', 1000.0)))
    box.engine('v7.5')
    assert run_module('hedge_restart', box.args(heartbeat={'path': str(lock), 'run_id': 'run-a'}),
                      check_mode=True)['heartbeat'] is None
    assert run_module('hedge_restart', box.args())['heartbeat'] is None
    assert json.loads(lock.read_text())['heartbeat_ts'] == 1000.0
