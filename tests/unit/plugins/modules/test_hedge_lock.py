# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from hedge_test_support import finish_module

# 2026-11-25T11:09:00Z
T0 = 1795604940.0
T0_ISO = '2026-11-25T11:09:00Z'

ALICE = {'operator': 'alice', 'controller': 'ops-ctl-01', 'controller_pid': 4242,
         'playbook': 'activate.yml', 'version': 'v7.6.1'}
BOB = {'operator': 'bob', 'controller': 'ops-ctl-02', 'controller_pid': 77,
       'playbook': 'activate.yml', 'version': 'v7.6.0'}
RUN_A = '20261125T110900Z-alice-4242'
RUN_B = '20261125T110000Z-bob-77'


def run_lock(run_module, path, check_mode=False, popen=False, **args):
    args.setdefault('now', T0)
    return run_module('hedge_lock', dict(path=str(path), **args), check_mode=check_mode, popen=popen)


def bob_lock(acquired_ts=T0 - 540, heartbeat_ts=None, holder=None, run_id=RUN_B):
    """A lock as hedge_lock writes it, held by bob's run."""
    import time
    return {
        'run_id': run_id,
        'holder': dict(BOB if holder is None else holder),
        'acquired_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(acquired_ts)),
        'acquired_ts': acquired_ts,
        'heartbeat_ts': acquired_ts if heartbeat_ts is None else heartbeat_ts,
        'box_pid': None,
    }


@pytest.fixture
def lock_path(tmp_path):
    return tmp_path / 'var' / 'lib' / 'gpt-hedge' / 'activation' / 'lock'


def place(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    return path.read_bytes()


def test_acquire_on_free_box(run_module, lock_path, tmp_path):
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    assert result.rc == 0, result
    assert result['changed'] is True
    assert result['acquired'] is True
    assert result['held_by_other'] is False
    assert result['taken_over_from'] is None and result['stale_reason'] is None
    assert 'released' not in result
    expected = {'run_id': RUN_A, 'holder': ALICE, 'acquired_at': T0_ISO, 'acquired_ts': T0,
                'heartbeat_ts': T0, 'box_pid': None}
    assert result['lock'] == expected
    assert json.loads(lock_path.read_text()) == expected
    assert result['holder'] == ALICE
    assert result['age_s'] == 0.0 and result['heartbeat_age_s'] == 0.0
    # parents created 0750, lock 0640, only the lock and its guard in the dir (no temp files)
    for d in (lock_path.parent, lock_path.parent.parent, tmp_path / 'var'):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750, d
    assert stat.S_IMODE(lock_path.stat().st_mode) == 0o640
    assert sorted(os.listdir(lock_path.parent)) == ['lock', 'lock.guard']


def test_reentry_by_same_run_refreshes_heartbeat(run_module, lock_path):
    run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder={'operator': 'someone-else'}, now=T0 + 42.5)
    assert result['changed'] is False
    assert result['acquired'] is True
    assert result['held_by_other'] is False
    on_disk = json.loads(lock_path.read_text())
    assert on_disk == result['lock']
    assert on_disk['heartbeat_ts'] == T0 + 42.5
    assert on_disk['acquired_ts'] == T0 and on_disk['acquired_at'] == T0_ISO
    assert on_disk['holder'] == ALICE  # holder info is the one of the acquisition
    assert result['age_s'] == 42.5 and result['heartbeat_age_s'] == 0.0
    assert sorted(os.listdir(lock_path.parent)) == ['lock', 'lock.guard']


@pytest.mark.parametrize('holder, heartbeat_age, expected_msg', [
    pytest.param(BOB, 12, 'lock held by run %s (operator bob, controller ops-ctl-02 pid 77, '
                          'since 2026-11-25T11:00:00Z, heartbeat 12 s ago)' % RUN_B, id='full-holder'),
    pytest.param({'operator': 'bob'}, 899, 'lock held by run %s (operator bob, since 2026-11-25T11:00:00Z, '
                                           'heartbeat 899 s ago)' % RUN_B, id='at-ttl-edge'),
    pytest.param({}, 0, 'lock held by run %s (since 2026-11-25T11:00:00Z, heartbeat 0 s ago)' % RUN_B,
                 id='no-holder-info'),
])
def test_refused_while_held_by_other(run_module, lock_path, holder, heartbeat_age, expected_msg):
    before = place(lock_path, bob_lock(holder=holder, heartbeat_ts=T0 - heartbeat_age))
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    assert result.rc == 0, result
    assert not result.get('failed')
    assert result['changed'] is False
    assert result['acquired'] is False
    assert result['held_by_other'] is True
    assert result['holder'] == holder
    assert result['lock']['run_id'] == RUN_B
    assert result['msg'] == expected_msg
    assert result['age_s'] == 540.0 and result['heartbeat_age_s'] == float(heartbeat_age)
    assert result['taken_over_from'] is None and result['stale_reason'] is None
    assert lock_path.read_bytes() == before


@pytest.mark.parametrize('ttl, heartbeat_age, taken_over', [
    pytest.param(900, 901, True, id='default-ttl-expired'),
    pytest.param(900, 900, False, id='default-ttl-exactly-at-ttl'),
    pytest.param(900, 3600, True, id='hour-old'),
    pytest.param(60, 61, True, id='short-ttl-expired'),
    pytest.param(60, 30, False, id='short-ttl-fresh'),
    pytest.param(7200, 3600, False, id='long-ttl-fresh'),
])
def test_expired_lock_is_taken_over(run_module, lock_path, ttl, heartbeat_age, taken_over):
    old = bob_lock(acquired_ts=T0 - 4000, heartbeat_ts=T0 - heartbeat_age)
    before = place(lock_path, old)
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE, ttl=ttl)
    assert result['acquired'] is taken_over
    assert result['changed'] is taken_over
    if taken_over:
        assert result['stale_reason'] == 'expired: last heartbeat %d s ago' % heartbeat_age
        assert result['taken_over_from'] == old
        assert result['held_by_other'] is False
        new = json.loads(lock_path.read_text())
        assert new == result['lock']
        assert new['run_id'] == RUN_A and new['holder'] == ALICE and new['acquired_ts'] == T0
        assert RUN_B in result['msg'] and 'expired' in result['msg']
        assert sorted(os.listdir(lock_path.parent)) == ['lock', 'lock.guard']
    else:
        assert result['stale_reason'] is None and result['taken_over_from'] is None
        assert result['held_by_other'] is True
        assert lock_path.read_bytes() == before


@pytest.mark.parametrize('steal_from, taken_over', [
    pytest.param(RUN_B, True, id='matches-holder'),
    pytest.param('20261125T100000Z-bob-66', False, id='other-run'),
    pytest.param(RUN_B.upper(), False, id='case-differs'),
    pytest.param(RUN_B[:-1], False, id='prefix-only'),
])
def test_steal_from(run_module, lock_path, steal_from, taken_over):
    old = bob_lock(heartbeat_ts=T0 - 5)  # fresh: only steal_from can take it
    before = place(lock_path, old)
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE, steal_from=steal_from)
    assert result['acquired'] is taken_over
    if taken_over:
        assert result['changed'] is True
        assert result['stale_reason'] == 'holder gone (steal_from)'
        assert result['taken_over_from'] == old
        assert json.loads(lock_path.read_text())['run_id'] == RUN_A
    else:
        assert result['changed'] is False
        assert result['stale_reason'] is None
        assert lock_path.read_bytes() == before
        assert 'steal_from %s does not match holder run %s' % (steal_from, RUN_B) in result['msg']


@pytest.mark.parametrize('raw, error_start', [
    pytest.param(b'', 'malformed JSON', id='empty-file'),
    pytest.param(b'{"run_id": "20261125T110000Z-bob-77", "holder": {"oper', 'malformed JSON', id='truncated'),
    pytest.param(b'\xff\xfe\x00garbage', 'malformed JSON', id='binary'),
    pytest.param(b'null', 'not a JSON object', id='null'),
    pytest.param(b'["20261125T110000Z-bob-77"]', 'not a JSON object', id='list'),
    pytest.param(b'{"holder": {"operator": "bob"}, "heartbeat_ts": 1795604935}', 'no run_id', id='no-run-id'),
    pytest.param(b'{"run_id": "20261125T110000Z-bob-77", "heartbeat_ts": "soon"}', 'no heartbeat_ts',
                 id='no-heartbeat'),
])
def test_unreadable_lock_is_refused(run_module, lock_path, raw, error_start):
    before = place(lock_path, raw)
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    assert result['acquired'] is False
    assert result['changed'] is False
    assert result['unreadable'].startswith(error_start)
    assert result['stale_reason'] is None and result['taken_over_from'] is None
    assert 'whether another run holds the box is unknown' in result['msg']
    assert lock_path.read_bytes() == before


@pytest.mark.parametrize('raw, error_start', [
    pytest.param(b'', 'malformed JSON', id='empty-file'),
    pytest.param(b'{}', 'no run_id', id='empty-object'),
    pytest.param(b'\xff\xfe\x00garbage', 'malformed JSON', id='binary'),
])
def test_unreadable_lock_is_broken_deliberately(run_module, lock_path, raw, error_start):
    place(lock_path, raw)
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE, break_lock=True)
    assert result['acquired'] is True
    assert result['changed'] is True
    assert result['stale_reason'] == 'broken deliberately (break_lock)'
    assert result['taken_over_from']['unreadable'] is True
    assert result['taken_over_from']['error'].startswith(error_start)
    assert result['unreadable'].startswith(error_start)
    assert json.loads(lock_path.read_text())['run_id'] == RUN_A


def test_break_lock_takes_over_a_live_holder(run_module, lock_path):
    place(lock_path, bob_lock(heartbeat_ts=T0 - 5))
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE, break_lock=True)
    assert result['acquired'] is True
    assert result['stale_reason'] == 'broken deliberately (break_lock)'
    assert result['taken_over_from']['run_id'] == RUN_B
    assert result['unreadable'] is None
    assert json.loads(lock_path.read_text())['run_id'] == RUN_A


def test_release_by_owner(run_module, lock_path):
    run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='absent', now=T0 + 300)
    assert result['changed'] is True
    assert result['released'] is True
    assert result['acquired'] is False
    assert result['lock'] is None and result['holder'] is None
    assert result['held_by_other'] is False
    assert not lock_path.exists()
    assert sorted(os.listdir(lock_path.parent)) == ['lock.guard']
    # a second release is a no-op
    again = run_lock(run_module, lock_path, run_id=RUN_A, state='absent')
    assert again['changed'] is False and again['released'] is False
    # and the lock can be taken again
    assert run_lock(run_module, lock_path, run_id=RUN_B, holder=BOB)['acquired'] is True


@pytest.mark.parametrize('heartbeat_age', [5, 100000], ids=['fresh', 'expired'])
def test_release_by_other_never_removes(run_module, lock_path, heartbeat_age):
    before = place(lock_path, bob_lock(heartbeat_ts=T0 - heartbeat_age))
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='absent')
    assert result['changed'] is False
    assert result['released'] is False
    assert result['held_by_other'] is True
    assert result['holder'] == BOB
    assert 'not released' in result['msg'] and RUN_B in result['msg']
    assert lock_path.read_bytes() == before


def test_release_of_unreadable_lock_leaves_it(run_module, lock_path):
    before = place(lock_path, b'{"run_id": ')
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='absent')
    assert result['released'] is False and result['changed'] is False
    assert lock_path.read_bytes() == before


def test_release_when_free(run_module, lock_path):
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='absent')
    assert result['released'] is False and result['changed'] is False
    assert result['lock'] is None


def test_refreshed_by_owner(run_module, lock_path):
    run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE)
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='refreshed', now=T0 + 120)
    assert result['acquired'] is True and result['changed'] is False
    on_disk = json.loads(lock_path.read_text())
    assert on_disk['heartbeat_ts'] == T0 + 120 and on_disk['acquired_ts'] == T0
    assert result['heartbeat_age_s'] == 0.0 and result['age_s'] == 120.0


@pytest.mark.parametrize('content', [None, 'bob', 'expired-bob'])
def test_refreshed_never_acquires(run_module, lock_path, content):
    before = None
    if content == 'bob':
        before = place(lock_path, bob_lock(heartbeat_ts=T0 - 5))
    elif content == 'expired-bob':
        before = place(lock_path, bob_lock(heartbeat_ts=T0 - 5000))
    result = run_lock(run_module, lock_path, run_id=RUN_A, state='refreshed')
    assert result['acquired'] is False and result['changed'] is False
    assert 'not held by run %s' % RUN_A in result['msg']
    if before is None:
        assert not lock_path.exists()
    else:
        assert lock_path.read_bytes() == before
        assert result['held_by_other'] is True


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[full] = (os.path.isdir(full), None if os.path.isdir(full) else open(full, 'rb').read())
    return out


@pytest.mark.parametrize('setup, args, expected', [
    pytest.param(None, dict(run_id=RUN_A), dict(acquired=True, changed=True), id='acquire-free-missing-dir'),
    pytest.param('expired', dict(run_id=RUN_A), dict(acquired=True, changed=True,
                                                     stale_reason='expired: last heartbeat 5000 s ago'),
                 id='takeover-expired'),
    pytest.param('fresh', dict(run_id=RUN_A, steal_from=RUN_B),
                 dict(acquired=True, changed=True, stale_reason='holder gone (steal_from)'), id='steal'),
    pytest.param('fresh', dict(run_id=RUN_A), dict(acquired=False, changed=False), id='refused'),
    pytest.param('fresh', dict(run_id=RUN_B, state='absent'), dict(released=True, changed=True), id='release'),
    pytest.param('fresh', dict(run_id=RUN_B, state='refreshed', now=T0 + 60), dict(acquired=True, changed=False),
                 id='refresh'),
    pytest.param('guard-only', dict(run_id=RUN_A), dict(acquired=True, changed=True), id='acquire-with-guard'),
])
def test_check_mode_writes_nothing(run_module, lock_path, tmp_path, setup, args, expected):
    if setup == 'expired':
        place(lock_path, bob_lock(heartbeat_ts=T0 - 5000))
    elif setup == 'fresh':
        place(lock_path, bob_lock(heartbeat_ts=T0 - 5))
    elif setup == 'guard-only':
        place(lock_path.parent / 'lock.guard', b'')
    before = snapshot(tmp_path)
    result = run_lock(run_module, lock_path, check_mode=True, **args)
    assert result.rc == 0, result
    for key, value in expected.items():
        assert result[key] == value, key
    if result.get('acquired'):
        assert result['lock']['run_id'] == RUN_A or args.get('state') == 'refreshed'
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('rel', ['hedge-fund/logs/state/lock', 'hedge-fund/logs/state/activation/lock'])
def test_refuses_engine_state_dir(run_module, tmp_path, rel):
    path = tmp_path / rel
    result = run_lock(run_module, path, run_id=RUN_A)
    assert result.get('failed') is True
    assert 'engine state dir' in result['msg']
    assert not (tmp_path / 'hedge-fund').exists()


def test_refuses_engine_state_dir_through_symlink(run_module, tmp_path):
    state = tmp_path / 'hedge-fund' / 'logs' / 'state'
    state.mkdir(parents=True)
    (tmp_path / 'activation').symlink_to(state)
    result = run_lock(run_module, tmp_path / 'activation' / 'lock', run_id=RUN_A)
    assert result.get('failed') is True
    assert os.listdir(str(state)) == []


@pytest.mark.parametrize('args, msg', [
    (dict(run_id=RUN_A, ttl=0), 'ttl must be positive'),
    (dict(run_id=' '), 'run_id must not be empty'),
    (dict(run_id=RUN_A, steal_from=RUN_A), 'steal_from must name another run'),
])
def test_bad_arguments(run_module, lock_path, args, msg):
    result = run_lock(run_module, lock_path, **args)
    assert result.get('failed') is True
    assert msg in result['msg']
    assert not lock_path.exists()


# Put first on PYTHONPATH of the racers: reading the lock file takes READ_DELAY seconds longer, so that
# without the guard flock every racer would read the (free, expired or unreadable) lock before any of them
# writes it, and more than one would win.
SLOW_READ_SITECUSTOMIZE = """
import time
from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_records
_read_json = hedge_records.read_json
def read_json(path):
    result = _read_json(path)
    time.sleep(%r)
    return result
hedge_records.read_json = read_json
"""
READ_DELAY = 0.3


@pytest.fixture
def slow_read_path(tmp_path_factory):
    root = tmp_path_factory.mktemp('slow-read')
    (root / 'sitecustomize.py').write_text(SLOW_READ_SITECUSTOMIZE % READ_DELAY)
    return root


def race(run_module, lock_path, n, extra_pythonpath=()):
    run_ids = ['20261125T1109%02dZ-op%d-%d' % (i, i, 1000 + i) for i in range(n)]
    procs = [run_module('hedge_lock', dict(path=str(lock_path), run_id=rid, now=T0,
                                           holder={'operator': 'op%d' % i, 'controller_pid': 1000 + i}),
                        popen=True, extra_pythonpath=extra_pythonpath)
             for i, rid in enumerate(run_ids)]
    results = {}
    for rid, proc in zip(run_ids, procs):
        results[rid] = finish_module(proc, timeout=120)
    return results


@pytest.mark.parametrize('initial', [None, 'expired', 'unreadable'])
@pytest.mark.parametrize('slow_read', [False, True], ids=['plain', 'slow-read'])
def test_concurrent_acquirers_exactly_one_wins(run_module, lock_path, slow_read_path, initial, slow_read):
    if initial == 'expired':
        place(lock_path, bob_lock(heartbeat_ts=T0 - 5000))
    elif initial == 'unreadable':
        place(lock_path, b'{"run_id": "20261125T110000Z-bob-77", "hol')
    results = race(run_module, lock_path, 8, extra_pythonpath=[slow_read_path] if slow_read else [])
    for rid, result in results.items():
        assert result.rc == 0 and not result.get('failed'), (rid, result)
    if initial == 'unreadable':
        # nobody takes over a lock whose holder is unknown
        assert [r['acquired'] for r in results.values()] == [False] * 8
        assert lock_path.read_bytes() == b'{"run_id": "20261125T110000Z-bob-77", "hol'
        return
    winners = [rid for rid, result in results.items() if result['acquired']]
    assert len(winners) == 1, {rid: r['msg'] for rid, r in results.items()}
    winner = winners[0]
    assert json.loads(lock_path.read_text())['run_id'] == winner
    for rid, result in results.items():
        if rid != winner:
            assert result['changed'] is False
            assert result['held_by_other'] is True
            assert result['msg'].startswith('lock held by run %s (operator op' % winner), result['msg']
    if initial is not None:
        assert results[winner]['stale_reason'] is not None
    assert sorted(os.listdir(lock_path.parent)) == ['lock', 'lock.guard']


@pytest.fixture
def restart_in_flight(tmp_path):
    """A live process whose command line names hedge_restart (as the module's does)."""
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', 'hedge_restart'])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def other_program():
    """A live process whose command line does not name hedge_restart (a pid reused by another program).
    Not pytest's own pid: its command line names hedge_restart whenever test_hedge_restart.py or a -k
    expression with that word is among pytest's arguments."""
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.mark.parametrize('case, args, taken_over', [
    pytest.param('live', dict(steal_from=RUN_B), False, id='live-restart-steal'),
    pytest.param('live', dict(now=T0 + 5000), False, id='live-restart-expired'),
    pytest.param('live', dict(steal_from=RUN_B, break_lock=True), True, id='live-restart-break-lock'),
    pytest.param('dead', dict(steal_from=RUN_B), True, id='dead-pid'),
    pytest.param('reused', dict(steal_from=RUN_B), True, id='pid-of-another-program'),
])
def test_a_restart_in_flight_keeps_the_lock(run_module, lock_path, restart_in_flight, other_program, case, args,
                                            taken_over):
    before = place(lock_path, bob_lock(heartbeat_ts=T0 - 5))
    busy = lock_path.parent / 'restart.pid'
    if case == 'live':
        pid = restart_in_flight
    elif case == 'dead':
        dead = subprocess.Popen(['true'])
        dead.wait()
        pid = dead.pid
    else:
        pid = other_program  # alive, but not a restart
    busy.write_text(json.dumps({'pid': pid, 'group': 'hedge'}))
    result = run_lock(run_module, lock_path, run_id=RUN_A, holder=ALICE, busy_pid_file=str(busy), **args)
    assert result.rc == 0, result
    assert result['acquired'] is taken_over
    if taken_over:
        assert json.loads(lock_path.read_text())['run_id'] == RUN_A
    else:
        assert result['busy'] == {'pid': pid, 'path': str(busy)}
        assert 'whose restart is still running on the box (pid %d' % pid in result['msg']
        assert lock_path.read_bytes() == before
