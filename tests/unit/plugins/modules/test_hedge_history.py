# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

# 2026-11-25T11:09:12Z
T0 = 1795604952.0
T0_ISO = '2026-11-25T11:09:12Z'

START_FIELDS = {
    'kind': 'activation', 'version': 'v7.6.1', 'commit': '4f2c9e1', 'previous_version': 'v7.6.0',
    'previous_commit': '9ab03d2', 'method': 'git', 'operator': 'alice', 'controller': 'ops-ctl-01',
    'notes': {'ticket': 'OPS-1412', 'checks': ['preflight', 'state_fresh']},
}
RUN_ID = '20261125T110912Z-alice-4242'


def hist(run_module, directory, action, check_mode=False, **args):
    args.setdefault('now', T0)
    return run_module('hedge_history', dict(dir=str(directory), action=action, **args), check_mode=check_mode)


@pytest.fixture
def hdir(tmp_path):
    return tmp_path / 'var' / 'lib' / 'gpt-hedge' / 'activation' / 'history'


def rec(rid, started_at, kind='activation', outcome='success', **extra):
    data = {'id': rid, 'kind': kind, 'version': 'v7.6.1', 'commit': '4f2c9e1', 'method': 'git',
            'operator': 'alice', 'controller': 'ops-ctl-01', 'started_at': started_at, 'outcome': outcome}
    if outcome != 'in_progress':
        data['finished_at'] = started_at[:-3] + '59Z'
    data.update(extra)
    return data


def write_records(directory, records, names=None):
    directory.mkdir(parents=True, exist_ok=True)
    for i, record in enumerate(records):
        name = names[i] if names else record['id'] + '.json'
        (directory / name).write_text(json.dumps(record))


def test_start_writes_initial_record(run_module, hdir, tmp_path):
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    assert result.rc == 0, result
    assert result['changed'] is True
    path = hdir / (RUN_ID + '.json')
    assert result['path'] == str(path)
    expected = dict(START_FIELDS, id=RUN_ID, started_at=T0_ISO, outcome='in_progress')
    assert result['record'] == expected
    assert json.loads(path.read_text()) == expected
    assert os.listdir(str(hdir)) == [RUN_ID + '.json']  # no temp file left
    for d in (hdir, hdir.parent, tmp_path / 'var'):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750, d
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_start_keeps_given_started_at_and_outcome(run_module, hdir):
    fields = dict(START_FIELDS, kind='rollback', rollback_of='20261125T100000Z-bob-77',
                  started_at='2026-11-25T10:59:00Z', outcome='refused', reason='lock held')
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record=fields)
    assert result['record']['started_at'] == '2026-11-25T10:59:00Z'
    assert result['record']['outcome'] == 'refused'
    assert json.loads((hdir / (RUN_ID + '.json')).read_text()) == dict(fields, id=RUN_ID)


def test_duplicate_start_fails_and_keeps_record(run_module, hdir):
    hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    before = (hdir / (RUN_ID + '.json')).read_bytes()
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record={'kind': 'rollback'}, now=T0 + 10)
    assert result.get('failed') is True
    assert 'already exists' in result['msg'] and RUN_ID in result['msg']
    assert (hdir / (RUN_ID + '.json')).read_bytes() == before
    # check mode predicts the same failure
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record={}, check_mode=True)
    assert result.get('failed') is True


@pytest.mark.parametrize('finish, expected_changes', [
    pytest.param({'outcome': 'success'}, {'outcome': 'success', 'finished_at': '2026-11-25T11:14:31Z'}, id='success'),
    pytest.param({'outcome': 'failed', 'failed_gate': 'state_fresh',
                  'reason': 'nav.json: stale: age 3600.2 s > 120 s (key updated_ts)'},
                 {'outcome': 'failed', 'failed_gate': 'state_fresh',
                  'reason': 'nav.json: stale: age 3600.2 s > 120 s (key updated_ts)',
                  'finished_at': '2026-11-25T11:14:31Z'}, id='failed-gate'),
    pytest.param({'outcome': 'rolled_back', 'notes': {'auto_rollback': '20261125T111500Z-auto'}},
                 {'outcome': 'rolled_back', 'notes': {'auto_rollback': '20261125T111500Z-auto'},
                  'finished_at': '2026-11-25T11:14:31Z'}, id='nested-dict-replaced'),
    pytest.param({'outcome': 'success', 'finished_at': '2026-11-25T11:20:00Z'},
                 {'outcome': 'success', 'finished_at': '2026-11-25T11:20:00Z'}, id='given-finished-at'),
    pytest.param({'version': 'v7.6.2', 'outcome': 'success'},
                 {'version': 'v7.6.2', 'outcome': 'success', 'finished_at': '2026-11-25T11:14:31Z'},
                 id='top-level-overwritten'),
])
def test_finish_merges_shallowly(run_module, hdir, finish, expected_changes):
    started = hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)['record']
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record=finish, now=T0 + 319)
    assert result.rc == 0, result
    assert result['changed'] is True
    expected = dict(started, **expected_changes)
    assert result['record'] == expected
    assert result['previous'] == started
    assert json.loads((hdir / (RUN_ID + '.json')).read_text()) == expected
    assert expected['started_at'] == T0_ISO
    assert os.listdir(str(hdir)) == [RUN_ID + '.json']


def test_finish_unknown_record_fails(run_module, hdir):
    hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    result = hist(run_module, hdir, 'finish', record_id='20261125T120000Z-bob-77', record={'outcome': 'success'})
    assert result.get('failed') is True
    assert 'does not exist' in result['msg'] and '20261125T120000Z-bob-77' in result['msg']
    assert os.listdir(str(hdir)) == [RUN_ID + '.json']


def test_finish_in_missing_dir_fails_without_creating_it(run_module, hdir):
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'})
    assert result.get('failed') is True
    assert not hdir.exists()


def test_finish_of_malformed_record_fails(run_module, hdir):
    hdir.mkdir(parents=True)
    (hdir / (RUN_ID + '.json')).write_text('{"id": "%s", "outc' % RUN_ID)
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'})
    assert result.get('failed') is True
    assert 'malformed JSON' in result['msg']


def test_check_mode_writes_nothing(run_module, hdir, tmp_path):
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS, check_mode=True)
    assert result['changed'] is True
    assert result['record']['outcome'] == 'in_progress'
    assert not (tmp_path / 'var').exists()
    hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    before = (hdir / (RUN_ID + '.json')).read_bytes()
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'}, check_mode=True)
    assert result['changed'] is True
    assert result['record']['outcome'] == 'success'
    assert (hdir / (RUN_ID + '.json')).read_bytes() == before
    assert os.listdir(str(hdir)) == [RUN_ID + '.json']


@pytest.mark.parametrize('record_id', ['../evil', 'a/b', '.hidden', '', 'x' * 201, 'run id', '-rf'])
def test_bad_record_id_fails(run_module, hdir, tmp_path, record_id):
    result = hist(run_module, hdir, 'start', record_id=record_id, record=START_FIELDS)
    assert result.get('failed') is True
    assert not (tmp_path / 'var').exists()
    assert not (tmp_path / 'evil.json').exists()


def test_record_id_mismatch_fails(run_module, hdir):
    result = hist(run_module, hdir, 'start', record_id=RUN_ID, record=dict(START_FIELDS, id='other'))
    assert result.get('failed') is True
    assert 'does not match' in result['msg']


@pytest.mark.parametrize('action', ['start', 'finish'])
def test_record_id_required(run_module, hdir, action):
    result = hist(run_module, hdir, action, record=START_FIELDS)
    assert result.get('failed') is True
    assert 'record_id' in result['msg']


@pytest.mark.parametrize('rel', ['hedge-fund/logs/state', 'hedge-fund/logs/state/history'])
def test_refuses_engine_state_dir(run_module, tmp_path, rel):
    result = hist(run_module, tmp_path / rel, 'start', record_id=RUN_ID, record=START_FIELDS)
    assert result.get('failed') is True
    assert 'engine state dir' in result['msg']
    assert not (tmp_path / 'hedge-fund').exists()


# ------------------------------------------------------------------ query

HISTORY = [
    rec('20261120T090000Z-alice-1001', '2026-11-20T09:00:00Z', version='v7.5.9'),
    rec('20261121T140000Z-bob-2002', '2026-11-21T14:00:00Z', outcome='failed', failed_gate='state_fresh',
        reason='nav.json: stale', version='v7.6.0'),
    rec('20261121T141500Z-auto', '2026-11-21T14:15:00Z', kind='auto_rollback', outcome='success',
        rollback_of='20261121T140000Z-bob-2002', version='v7.5.9'),
    rec('20261122T100000Z-alice-3003', '2026-11-22T10:00:00Z', outcome='in_progress', version='v7.6.0'),
    rec('20261123T080000Z-carol-4004', '2026-11-23T08:00:00Z', kind='rollback', outcome='success',
        rollback_of='20261122T100000Z-alice-3003', version='v7.5.9'),
    rec('20261124T120000Z-alice-5005', '2026-11-24T12:00:00Z', outcome='refused', failed_gate='activation_lock',
        version='v7.6.1'),
    # same started_at as the next one: ordered by id
    rec('20261125T110000Z-bob-6006', '2026-11-25T11:00:00Z', outcome='rollback_failed', version='v7.6.1'),
    rec('20261125T110000Z-alice-6007', '2026-11-25T11:00:00Z', kind='rollback', outcome='in_progress',
        version='v7.6.0'),
]
ORDER = [
    '20261120T090000Z-alice-1001', '20261121T140000Z-bob-2002', '20261121T141500Z-auto',
    '20261122T100000Z-alice-3003', '20261123T080000Z-carol-4004', '20261124T120000Z-alice-5005',
    '20261125T110000Z-alice-6007', '20261125T110000Z-bob-6006',
]


def test_query_missing_dir_is_empty_history(run_module, hdir):
    result = hist(run_module, hdir, 'query')
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result['records'] == [] and result['count'] == 0
    assert result['last'] is None and result['last_activation'] is None and result['last_good'] is None
    assert result['interrupted'] == [] and result['unreadable'] == []
    assert not hdir.exists()


def test_query_empty_dir(run_module, hdir):
    hdir.mkdir(parents=True)
    result = hist(run_module, hdir, 'query')
    assert result['count'] == 0 and result['last'] is None


def test_query_orders_and_summarises(run_module, hdir):
    # file names deliberately unrelated to the order
    names = ['r%02d.json' % n for n in (5, 3, 8, 1, 7, 2, 6, 4)]
    write_records(hdir, HISTORY, names=names)
    result = hist(run_module, hdir, 'query')
    assert result['changed'] is False
    assert result['count'] == 8
    assert [r['id'] for r in result['records']] == ORDER
    assert result['last']['id'] == '20261125T110000Z-bob-6006'
    # newest record of kind activation: bob's (its outcome does not matter), not alice-6007 (a rollback)
    assert result['last_activation']['id'] == '20261125T110000Z-bob-6006'
    # newest success of any kind is carol's rollback
    assert result['last_good']['id'] == '20261123T080000Z-carol-4004'
    assert result['last_good']['kind'] == 'rollback'
    assert [r['id'] for r in result['interrupted']] == ['20261122T100000Z-alice-3003', '20261125T110000Z-alice-6007']
    assert result['unreadable'] == []
    assert 'interrupted' in result['msg']


@pytest.mark.parametrize('limit, expected', [
    (20, ORDER), (8, ORDER), (3, ORDER[-3:]), (1, ORDER[-1:]), (0, []),
])
def test_query_limit_keeps_newest(run_module, hdir, limit, expected):
    write_records(hdir, HISTORY)
    result = hist(run_module, hdir, 'query', limit=limit)
    assert [r['id'] for r in result['records']] == expected
    assert result['count'] == 8
    assert result['last']['id'] == ORDER[-1]
    assert result['last_good']['id'] == '20261123T080000Z-carol-4004'


@pytest.mark.parametrize('records, last_activation, last_good', [
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', kind='rollback')], None, 'a1', id='only-rollback'),
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', outcome='failed'),
                  rec('a2', '2026-11-21T09:00:00Z', kind='auto_rollback', outcome='rollback_failed')],
                 'a1', None, id='nothing-good'),
    pytest.param([rec('a2', '2026-11-21T09:00:00Z'), rec('a1', '2026-11-20T09:00:00Z')], 'a2', 'a2',
                 id='name-order-not-time-order'),
    pytest.param([rec('b', '2026-11-21T09:00:00Z'), rec('a', '2026-11-21T09:00:00Z', outcome='failed')],
                 'b', 'b', id='same-start-by-id'),
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', version='v7.6', previous_version='v7.5'),
                  rec('a2', '2026-11-21T09:00:00Z', version='v7.6', previous_version='v7.6')],
                 'a1', 'a2', id='re-activation-of-the-live-release-skipped'),
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', version='v7.6', previous_version='v7.6'),
                  rec('a2', '2026-11-21T09:00:00Z', version='v7.6', previous_version='v7.6')],
                 'a2', 'a2', id='only-re-activations-newest'),
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', version='v7.6', previous_version='v7.5'),
                  rec('a2', '2026-11-21T09:00:00Z', version='v7.6', previous_version='v7.6'),
                  rec('a3', '2026-11-22T09:00:00Z', version='v7.7', previous_version='v7.6', outcome='rolled_back'),
                  rec('a4', '2026-11-23T09:00:00Z', version='v7.7', previous_version='v7.6', outcome='refused')],
                 'a1', 'a2', id='rolled-back-and-refused-runs-skipped'),
    pytest.param([rec('a1', '2026-11-20T09:00:00Z', version='v7.6', previous_version='v7.5'),
                  rec('a2', '2026-11-21T09:00:00Z', version='v7.7', previous_version='v7.6', outcome='failed')],
                 'a2', 'a1', id='failed-without-rollback-left-the-box-changed'),
])
def test_query_last_activation_and_last_good(run_module, hdir, records, last_activation, last_good):
    write_records(hdir, records)
    result = hist(run_module, hdir, 'query')
    assert (result['last_activation'] or {}).get('id') == last_activation
    assert (result['last_good'] or {}).get('id') == last_good


@pytest.mark.parametrize('name, content, error', [
    pytest.param('broken.json', '{"id": "x", "outcome": ', 'malformed JSON', id='truncated'),
    pytest.param('empty.json', '', 'malformed JSON', id='empty'),
    pytest.param('list.json', '[{"id": "x"}]', 'not a JSON object', id='list'),
    pytest.param('latin1.json', b'{"operator": "J\xf6rg"}', 'malformed JSON', id='not-utf8'),
])
def test_query_skips_and_lists_unreadable(run_module, hdir, name, content, error):
    write_records(hdir, HISTORY[:3])
    if isinstance(content, bytes):
        (hdir / name).write_bytes(content)
    else:
        (hdir / name).write_text(content)
    # not records at all: ignored silently
    (hdir / ('.%s.x1y2.tmp' % ORDER[0])).write_text('{"id": "temp"')
    (hdir / 'README.txt').write_text('activation history')
    (hdir / 'sub.json').mkdir()
    result = hist(run_module, hdir, 'query')
    assert result.rc == 0, result
    assert result['count'] == 3
    assert [r['id'] for r in result['records']] == ORDER[:3]
    assert len(result['unreadable']) == 1
    assert result['unreadable'][0]['path'] == str(hdir / name)
    assert result['unreadable'][0]['error'].startswith(error)
    assert '1 unreadable' in result['msg']


def test_record_without_id_gets_file_name(run_module, hdir):
    hdir.mkdir(parents=True)
    record = rec('x', '2026-11-20T09:00:00Z')
    del record['id']
    (hdir / 'legacy-1.json').write_text(json.dumps(record))
    result = hist(run_module, hdir, 'query')
    assert result['last']['id'] == 'legacy-1'


def test_start_finish_query_round_trip(run_module, hdir):
    ids = ['20261125T1000%02dZ-alice-%d' % (i, i) for i in range(3)]
    outcomes = ['success', 'failed', None]
    for i, (rid, outcome) in enumerate(zip(ids, outcomes)):
        hist(run_module, hdir, 'start', record_id=rid, record=dict(START_FIELDS, version='v7.6.%d' % i),
             now=T0 + 600 * i)
        if outcome:
            hist(run_module, hdir, 'finish', record_id=rid, record={'outcome': outcome}, now=T0 + 600 * i + 60)
    result = hist(run_module, hdir, 'query', now=T0 + 3600)
    assert [r['id'] for r in result['records']] == ids
    assert result['last_good']['id'] == ids[0]
    assert result['last_activation']['id'] == ids[2]
    assert [r['id'] for r in result['interrupted']] == [ids[2]]
    assert result['records'][1]['finished_at'] == '2026-11-25T11:20:12Z'
    assert sorted(os.listdir(str(hdir))) == sorted(i + '.json' for i in ids)


# ---------------------------------------------------------------- begin: one module run opens a run

LIVE_V75 = {'version': 'v7.5', 'commit': '9ab03d2e1f', 'tag': 'v7.5'}
BEGIN_FIELDS = {'kind': 'activation', 'version': 'v7.6', 'method': 'git', 'operator': 'alice'}


@pytest.mark.parametrize('history, live, previous, closed', [
    pytest.param([], LIVE_V75, {'version': 'v7.5', 'commit': '9ab03d2e1f'}, [], id='empty-history'),
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.5')], {'version': 'v7.5', 'commit': 'c75'},
                 {'version': 'v7.5', 'commit': 'c75'}, [], id='live-without-tag-uses-version'),
    # an interrupted run that had already checked out v7.6: come back to what was live before it
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.6', outcome='in_progress',
                      previous_version='v7.5', previous_commit='c75')],
                 {'version': 'v7.6', 'commit': 'c76', 'tag': 'v7.6'}, {'version': 'v7.5', 'commit': 'c75'}, ['r1'],
                 id='interrupted-after-checkout'),
    # an interrupted run that never got to its checkout: what is live is the release to keep
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.6', outcome='in_progress',
                      previous_version='v7.5', previous_commit='c75')],
                 LIVE_V75, {'version': 'v7.5', 'commit': '9ab03d2e1f'}, ['r1'], id='interrupted-before-checkout'),
    pytest.param([rec('r1', '2026-11-23T10:00:00Z', outcome='in_progress'),
                  rec('r2', '2026-11-24T10:00:00Z', version='v7.5', outcome='success')],
                 LIVE_V75, {'version': 'v7.5', 'commit': '9ab03d2e1f'}, ['r1'], id='old-interrupted-closed'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_begin_closes_interrupted_and_opens_the_record(run_module, hdir, history, live, previous, closed, check_mode):
    write_records(hdir, history)
    before = {p.name: p.read_text() for p in hdir.iterdir()}
    result = hist(run_module, hdir, 'begin', check_mode=check_mode, record_id=RUN_ID, record=BEGIN_FIELDS, live=live)
    assert result['changed'] is True
    assert result['previous'] == previous
    assert result['closed'] == closed
    assert result['history']['count'] == len(history)
    assert [r['id'] for r in result['history']['interrupted']] == closed
    expected = dict(BEGIN_FIELDS, id=RUN_ID, started_at=T0_ISO, outcome='in_progress',
                    previous_version=previous['version'], previous_commit=previous['commit'])
    assert result['record'] == expected
    path = hdir / (RUN_ID + '.json')
    if check_mode:
        assert not path.exists()
        assert {p.name: p.read_text() for p in hdir.iterdir()} == before
        return
    assert json.loads(path.read_text()) == expected
    for rid in closed:
        old = json.loads((hdir / (rid + '.json')).read_text())
        assert old['outcome'] == 'interrupted'
        assert old['reason'] == 'run ended without closing its record; found by run %s' % RUN_ID
        assert old['finished_at'] == T0_ISO


def test_begin_refuses_a_run_id_started_twice(run_module, hdir):
    write_records(hdir, [rec(RUN_ID, '2026-11-24T10:00:00Z', outcome='in_progress')])
    before = (hdir / (RUN_ID + '.json')).read_text()
    result = hist(run_module, hdir, 'begin', record_id=RUN_ID, record=BEGIN_FIELDS, live=LIVE_V75)
    assert result['failed'] is True
    assert 'already exists' in result['msg'] and '\n' not in result['msg']
    assert (hdir / (RUN_ID + '.json')).read_text() == before  # its own record is not closed as interrupted


@pytest.mark.parametrize('args, fragment', [
    ({'record_id': RUN_ID}, 'live'),
    ({'live': LIVE_V75}, 'record_id'),
    ({'record_id': '../x', 'live': LIVE_V75}, 'not a valid record id'),
])
def test_begin_bad_parameters(run_module, hdir, args, fragment):
    result = hist(run_module, hdir, 'begin', record=BEGIN_FIELDS, **args)
    assert result['failed'] is True and fragment in result['msg']
    assert not hdir.exists()


def test_begin_refuses_the_engine_state_dir(run_module, tmp_path):
    state = tmp_path / 'hedge-fund' / 'logs' / 'state' / 'history'
    result = hist(run_module, state, 'begin', record_id=RUN_ID, record=BEGIN_FIELDS, live=LIVE_V75)
    assert result['failed'] is True
    assert not state.exists()


# ---------------------------------------------------------------- begin: unreadable records

LIVE_V76 = {'version': 'v7.6', 'commit': 'c76', 'tag': 'v7.6'}
TRUNCATED = '{\n  "id": "20261125T110000Z-0badc0de",\n  "kind": "activation",\n  "outc'


def write_unreadable(directory, name, mtime):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(TRUNCATED)
    os.utime(str(path), (mtime, mtime))
    return path


def age_records(directory, mtime):
    for path in directory.glob('*.json'):
        os.utime(str(path), (mtime, mtime))


@pytest.mark.parametrize('history, unreadable_age, live, established', [
    # the case: the killed run's record is truncated, nothing readable says v7.6 was live before
    pytest.param([], 0, LIVE_V76, False, id='only-record-truncated'),
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.5')], 0, LIVE_V76, False,
                 id='truncated-after-a-v7.5-success'),
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.6', outcome='in_progress',
                      previous_version='v7.5', previous_commit='c75')], 0, LIVE_V76, False,
                 id='truncated-after-an-interrupted-run'),
    # the newest readable record is a success of what is live: the unreadable run left it as it was
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.5')], 0, LIVE_V75, True,
                 id='truncated-live-as-last-success'),
    # an unreadable record older than the readable history is only reported
    pytest.param([rec('r1', '2026-11-24T10:00:00Z', version='v7.5')], 3600, LIVE_V76, True,
                 id='old-unreadable-record'),
])
def test_begin_with_an_unreadable_record(run_module, hdir, history, unreadable_age, live, established):
    write_records(hdir, history)
    age_records(hdir, T0 - 600)
    broken = write_unreadable(hdir, '20261125T110000Z-0badc0de.json', T0 - 600 - unreadable_age)
    before = {p.name: p.read_text() for p in hdir.iterdir()}
    result = hist(run_module, hdir, 'begin', record_id=RUN_ID, record=BEGIN_FIELDS, live=live,
                  require_previous=True)
    assert 'history record %s cannot be read' % broken in json.dumps(result.get('warnings')), result
    if established:
        assert result.rc == 0, result
        assert result['previous'] == {'version': live['tag'], 'commit': live['commit']}
        assert (hdir / (RUN_ID + '.json')).exists()
        return
    assert result['failed'] is True
    assert result['msg'].startswith('GATE rollback.target FAILED: the release to come back to cannot be established')
    assert str(broken) in result['msg'] and '\n' not in result['msg']
    # refused before writing anything: no record opened, no interrupted record closed
    assert {p.name: p.read_text() for p in hdir.iterdir()} == before


def test_begin_without_require_previous_opens_the_record_on_the_live_release(run_module, hdir):
    broken = write_unreadable(hdir, '20261125T110000Z-0badc0de.json', T0 - 60)
    result = hist(run_module, hdir, 'begin', record_id=RUN_ID, record=dict(BEGIN_FIELDS, kind='rollback'),
                  live=LIVE_V76)
    assert result.rc == 0, result
    assert result['previous'] == {'version': 'v7.6', 'commit': 'c76'}
    assert [u['path'] for u in result['history']['unreadable_newest']] == [str(broken)]


# ---------------------------------------------------------------- begin: the write proof (reserve)

def test_begin_keeps_room_for_closing_the_record_and_finish_frees_it(run_module, hdir):
    result = hist(run_module, hdir, 'begin', record_id=RUN_ID, record=BEGIN_FIELDS, live=LIVE_V75,
                  reserve_bytes=65536)
    assert result.rc == 0, result
    reserve = hdir / ('.%s.reserve' % RUN_ID)
    assert reserve.stat().st_size == 65536
    assert hist(run_module, hdir, 'query')['count'] == 1  # the reserve is never read as a record
    done = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'})
    assert done.rc == 0, done
    assert not reserve.exists()
    assert json.loads((hdir / (RUN_ID + '.json')).read_text())['outcome'] == 'success'


@pytest.fixture
def small_hdir(tmp_path):
    """A history dir on its own 64 KiB tmpfs (root only; unmounted in teardown)."""
    if os.geteuid() != 0:
        pytest.skip('mounting a tmpfs needs root')
    directory = tmp_path / 'history'
    directory.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(directory)], check=True)
    yield directory
    subprocess.run(['umount', '-l', str(directory)], check=False)


def test_begin_that_cannot_keep_its_room_leaves_nothing(run_module, small_hdir):
    """A filesystem that takes the record but not the room for closing it: GATE ledger.write names the file;
    no record, no reserve, no interrupted record closed."""
    hdir = small_hdir
    write_records(hdir, [rec('r1', '2026-11-24T10:00:00Z', version='v7.6', outcome='in_progress',
                             previous_version='v7.5', previous_commit='c75')])
    before = {p.name: p.read_text() for p in hdir.iterdir()}
    result = hist(run_module, hdir, 'begin', record_id=RUN_ID, record=BEGIN_FIELDS, live=LIVE_V75,
                  reserve_bytes=65536)
    assert result['failed'] is True
    assert result['msg'].startswith('GATE ledger.write FAILED: history dir %s cannot hold' % hdir), result['msg']
    assert '.%s.reserve' % RUN_ID in result['msg'] and 'nothing was changed' in result['msg']
    assert {p.name: p.read_text() for p in hdir.iterdir()} == before


@pytest.mark.parametrize(('holder', 'released', 'msg'), [
    (RUN_ID, True, 'lock of run %s released' % RUN_ID),
    ('20261125T100000Z-bob-77', False, 'lock held by run 20261125T100000Z-bob-77'),
    (None, False, 'lock not held; nothing to release'),
], ids=['own-lock', 'another-runs-lock', 'no-lock'])
def test_finish_releases_the_lock_in_the_same_run(run_module, hdir, holder, released, msg):
    """release_lock: the record is closed, then the run's own lock released (never another run's)."""
    lock = hdir.parent / 'lock'
    hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    content = {'run_id': holder, 'holder': {'operator': 'alice'}, 'acquired_at': '2026-11-25T11:09:00Z',
               'acquired_ts': T0, 'heartbeat_ts': T0, 'box_pid': None}
    if holder:
        lock.write_text(json.dumps(content))
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'},
                  release_lock={'path': str(lock), 'run_id': RUN_ID})
    assert result['record']['outcome'] == 'success'
    assert json.loads((hdir / (RUN_ID + '.json')).read_text())['outcome'] == 'success'
    assert result['lock_released'] is released and result['lock_msg'].startswith(msg), result
    assert lock.exists() is (holder is not None and not released)
    if lock.exists():
        assert json.loads(lock.read_text()) == content


def test_finish_without_release_lock_leaves_the_lock(run_module, hdir):
    lock = hdir.parent / 'lock'
    hist(run_module, hdir, 'start', record_id=RUN_ID, record=START_FIELDS)
    lock.write_text(json.dumps({'run_id': RUN_ID, 'acquired_ts': T0, 'heartbeat_ts': T0}))
    result = hist(run_module, hdir, 'finish', record_id=RUN_ID, record={'outcome': 'success'})
    assert 'lock_released' not in result and lock.exists()
