# -*- coding: utf-8 -*-
"""Hostile state-file payloads through every state reader (issue #16 items 1-5).

Each case builds a state dir in a tmp dir (a FIFO, a directory, an oversized
file, a 400-digit integer, NaN, Infinity, -Infinity, a timestamp written in the
future) and runs hedge_incidents and hedge_verify (whose surfaces and runtime
parts were the removed hedge_state and hedge_runtime modules) on it as Ansible
would (a separate process). Each reader must return (the FIFO cases block
forever on a reader that opens the pipe: run_module's subprocess timeout turns
that into a failure), answer without a traceback, and name the file, the key
and the problem.
"""
from __future__ import annotations

import json
import os

import pytest

from hedge_test_support import NOW, free_port_url, iso_z, v75_payloads, v76_payloads, write_state

READERS = ('hedge_incidents', 'hedge_verify')
# Readers that read the key in question (both do).
RUNTIME_READERS = READERS
BOOT = '2025-11-25 10:50:01,120 INFO executor: Engine version: v7.6 (commit 3f1c2a9)\n'
DIGITS_400 = int('9' * 400)
# Every reader must answer well within this (an answer, not a timing: a blocked reader never answers).
NO_HANG_S = 60


def run_reader(run_module, reader, state_path, tmp_path, **options):
    """Run ``reader`` on ``state_path`` with its role's shape of arguments and no waiting."""
    params = dict(state_dir=str(state_path), now=NOW, **options)
    if reader == 'hedge_verify':
        log = tmp_path / 'hedge-executor.out.log'
        log.write_text(BOOT)
        state_opts = params.pop('state', {})
        params.update(expected_version='v7.6', poll_interval=0.1,
                      logs=dict(path=str(log), timeout=0),
                      state=dict(dict(timeout=0), **state_opts),
                      healthz=dict(url=free_port_url(), timeout=0, request_timeout=1))
    if reader != 'hedge_verify' and 'state' in params:
        params.update(params.pop('state'))
    if reader == 'hedge_incidents':
        params.pop('newer_than', None)
    result = run_module(reader, params, timeout=NO_HANG_S)
    assert result.rc == 0 and not result.get('failed'), (result.get('msg'), result.stderr[-2000:])
    assert 'Traceback' not in result.stderr, result.stderr[-2000:]
    return result


def report_lines(reader, result):
    """What the reader reports about failing surfaces and invalid values, one line each."""
    lines = []
    state = result.get('state') if reader == 'hedge_verify' else None
    runtime = result.get('runtime') if reader == 'hedge_verify' else None
    if state:
        lines += [fact['reason'] for fact in state['surfaces'].values() if fact['status'] != 'ok']
    if runtime:
        lines += ['%s: %s' % item for item in runtime['runtime']['surface_errors'].items()]
        lines += runtime['runtime']['invalid_values']
    if reader == 'hedge_incidents':
        lines += [hook['reason'] for hook in result['hooks'].values()] + result['invalid_values']
    return lines


def fifo(path):
    path.unlink()
    os.mkfifo(str(path))


def directory(path):
    path.unlink()
    path.mkdir()


def padded(size):
    def write(path):
        data = json.loads(path.read_text())
        text = json.dumps(data)
        path.write_text(text[:-1] + ', "pad": "' + 'x' * (size - len(text) - 10) + '"}')
        assert path.stat().st_size > size - 20
    return write


def set_key(name, dotted, value):
    def change(payloads):
        doc = payloads[name]
        *parents, last = dotted.split('.')
        for key in parents:
            doc = doc[key]
        doc[last] = value
    return change


def future_nav_state(payloads):
    payloads['nav_state.json'].pop('nav_age_s')
    payloads['nav_state.json']['updated_ts'] = iso_z(NOW + 7200)
    payloads['nav.json']['updated_ts'] = NOW + 7200


# id: (change of the payloads, change of a written file (name, fn), reader options, readers, expected line parts)
CASES = {
    'fifo': (None, ('risk_snapshot.json', fifo), {}, READERS,
             ('risk_snapshot.json', 'not a regular file (a named pipe (FIFO))')),
    'fifo-nav': (None, ('nav.json', fifo), {}, ('hedge_verify',),
                 ('nav.json', 'not a regular file (a named pipe (FIFO))')),
    'directory': (None, ('risk_snapshot.json', directory), {}, READERS,
                  ('risk_snapshot.json', 'not a regular file (a directory)')),
    'oversized': (None, ('risk_snapshot.json', padded(5000)), {'max_bytes': 4096}, READERS,
                  ('risk_snapshot.json', 'too large: ', 'bytes, more than max_bytes 4096')),
    'oversized-default-cap': (None, ('risk_snapshot.json', padded(8 * 1024 * 1024 + 100)), {}, READERS,
                              ('risk_snapshot.json', 'too large: ', 'more than max_bytes 8388608')),
    'timestamp-400-digits': (set_key('risk_snapshot.json', 'updated_ts', DIGITS_400), None, {}, READERS,
                             ('risk_snapshot.json', 'updated_ts: a 400-digit integer is out of range')),
    'nav-400-digits': (set_key('nav_state.json', 'nav_total', DIGITS_400), None, {}, READERS,
                       ('nav_state.json', 'nav_total: a 400-digit integer is out of range')),
    'nav-nan': (set_key('nav_state.json', 'nav_total', float('nan')), None, {}, READERS,
                ('nav_state.json', 'nav_total: NaN is not a finite number')),
    'nav-json-nan': (set_key('nav.json', 'nav', float('nan')), None, {}, ('hedge_verify',),
                     ('nav.json', 'nav: NaN is not a finite number')),
    'coverage-infinity': (set_key('diagnostics.json', 'runtime_diagnostics.exit_pipeline.tp_sl_coverage_pct',
                                  float('inf')), None, {}, READERS,
                          ('diagnostics.json',
                           'runtime_diagnostics.exit_pipeline.tp_sl_coverage_pct: Infinity is not a finite number')),
    'dd-minus-infinity': (set_key('nav_state.json', 'drawdown.dd_pct', float('-inf')), None, {}, RUNTIME_READERS,
                          ('nav_state.json', 'drawdown.dd_pct: -Infinity is not a finite number')),
    'quality-nan': (set_key('router_health.json', 'router_health.global.quality_score', float('nan')), None, {},
                    READERS, ('router_health.json', 'router_health.global.quality_score: NaN is not a finite number')),
    'open-positions-nan': (set_key('diagnostics.json', 'runtime_diagnostics.exit_pipeline.open_positions_count',
                                   float('nan')), None, {}, READERS,
                           ('diagnostics.json', 'open_positions_count: NaN is not a finite number')),
    'future-timestamp': (future_nav_state, None, {}, READERS,
                         ('nav_state.json', 'written in the future: 7200.0 s ahead of the box clock',
                          '(skew allowance 30 s')),
}


def case_params():
    for case_id, (change, file_change, options, readers, parts) in CASES.items():
        for reader in readers:
            yield pytest.param(case_id, reader, id='%s-%s' % (case_id, reader))


@pytest.mark.parametrize('case_id, reader', list(case_params()))
def test_hostile_payload_is_named_by_every_reader(run_module, tmp_path, case_id, reader):
    change, file_change, options, _readers, parts = CASES[case_id]
    payloads = v76_payloads()
    if change:
        change(payloads)
    state = write_state(tmp_path / 'logs' / 'state', payloads)
    if file_change:
        name, how = file_change
        how(state / name)
    result = run_reader(run_module, reader, state, tmp_path, **options)
    lines = report_lines(reader, result)
    assert [line for line in lines if all(part in line for part in parts)], (parts, lines)
    assert all('\n' not in line for line in lines)
    if reader == 'hedge_verify':
        runtime = result['runtime']
        if any(all(part in line for part in parts) for line in runtime['runtime']['invalid_values']):
            assert 'valid_values' in runtime['failed_checks']
            assert all(part in runtime['checks']['valid_values']['reason'] for part in parts)
    if reader == 'hedge_incidents' and result['invalid_values']:
        assert 'invalid values: ' in result['msg']
    # no unusable number leaks into an answer (the incidents document is written as JSON for alerting tools)
    json.dumps(dict(result), allow_nan=False)


@pytest.mark.parametrize('reader', ('hedge_verify',))
@pytest.mark.parametrize('ahead, max_skew, status', [
    pytest.param(7200, None, 'future', id='two-hours-ahead'),
    pytest.param(20, None, 'ok', id='within-default-allowance'),
    pytest.param(20, 10, 'future', id='beyond-a-smaller-allowance'),
])
def test_future_timestamp_fails_the_surface(run_module, tmp_path, reader, ahead, max_skew, status):
    payloads = v76_payloads()
    payloads['nav.json']['updated_ts'] = NOW + ahead
    state = write_state(tmp_path / 'logs' / 'state', payloads)
    options = {} if max_skew is None else {'max_skew': max_skew}
    result = run_reader(run_module, reader, state, tmp_path, **options)
    fact = result['state']['surfaces']['nav.json']
    assert fact['status'] == status, fact['reason']
    assert fact['fresh'] is (status == 'ok')
    if status == 'future':
        assert fact['reason'] == ('nav.json: future: written in the future: %.1f s ahead of the box clock '
                                  '(skew allowance %g s) (key updated_ts)' % (ahead, max_skew or 30))


def long_up_v75():
    """The runbook shape: engine_metadata {version, started_ts}, the engine started 180 s ago; writes fresh."""
    payloads = v75_payloads()
    payloads['engine_metadata.json'] = {'version': 'v7.6', 'started_ts': int(NOW - 180)}
    return payloads


@pytest.mark.parametrize('reader', ('hedge_verify',))
@pytest.mark.parametrize('state_opts, status, detail', [
    pytest.param({}, 'ok', 'started 180.0 s ago, no restart in this run (key started_ts: a start time, not aged)',
                 id='no-restart'),
    pytest.param({'newer_than': NOW - 2}, 'ok',
                 'started 180.0 s ago, no restart in this run (key started_ts: a start time, not aged)',
                 id='no-restart-writes-since-the-run-began'),
    pytest.param({'started_after': NOW - 200}, 'ok',
                 'started 180.0 s ago, after the restart (key started_ts: a start time, not aged)',
                 id='restarted-before-the-start'),
    pytest.param({'started_after': NOW - 60}, 'not_updated', 'timestamp %d started before the restart at %d '
                 '(key started_ts)' % (NOW - 180, NOW - 60), id='started-before-the-restart'),
])
def test_start_time_is_not_a_write_time(run_module, tmp_path, reader, state_opts, status, detail):
    state = write_state(tmp_path / 'logs' / 'state', long_up_v75())
    if 'newer_than' in state_opts:  # every write time after the run began
        for name, payload in long_up_v75().items():
            if 'updated_ts' in payload or 'updated_at' in payload:
                payload['updated_ts' if 'updated_ts' in payload else 'updated_at'] = NOW - 1
            write_state(state, {name: payload})
        diag = long_up_v75()['diagnostics.json']
        diag['runtime_diagnostics']['exit_pipeline']['last_exit_scan_ts'] = NOW - 1
        write_state(state, {'diagnostics.json': diag})
    result = run_reader(run_module, reader, state, tmp_path, state=state_opts)
    surfaces = result['state']
    fact = surfaces['surfaces']['engine_metadata.json']
    assert fact['reason'] == 'engine_metadata.json: %s: %s' % (status, detail)
    assert fact['timestamp_kind'] == 'start'
    assert fact['fresh'] is (status == 'ok')
    if status == 'ok':
        assert surfaces['ok'] is True, [surfaces['surfaces'][n]['reason'] for n in surfaces['failed_surfaces']]


@pytest.mark.parametrize('reader', ('hedge_verify',))
def test_write_time_wins_over_start_time(run_module, tmp_path, reader):
    """An engine_metadata with both: freshness comes from updated_ts (here stale), never from started_ts."""
    payloads = v76_payloads()
    payloads['engine_metadata.json'] = {'engine_version': 'v7.6', 'updated_ts': NOW - 600, 'started_ts': NOW - 5}
    state = write_state(tmp_path / 'logs' / 'state', payloads)
    result = run_reader(run_module, reader, state, tmp_path)
    fact = result['state']['surfaces']['engine_metadata.json']
    assert (fact['status'], fact['timestamp_key'], fact['timestamp_kind']) == ('stale', 'updated_ts', 'write')


@pytest.mark.parametrize('reader', READERS)
@pytest.mark.parametrize('options, message', [
    ({'max_skew': -1}, 'max_skew must be a number of seconds >= 0'),
    ({'max_bytes': 0}, 'max_bytes must be a positive number of bytes'),
])
def test_bad_read_options_are_refused(run_module, tmp_path, reader, options, message):
    state = write_state(tmp_path / 'logs' / 'state', v76_payloads())
    params = dict(state_dir=str(state), now=NOW, **options)
    if reader == 'hedge_verify':
        params.update(expected_version='v7.6', logs=dict(path=str(tmp_path / 'none.log'), timeout=0),
                      healthz=dict(url=free_port_url(), timeout=0))
    result = run_module(reader, params, timeout=NO_HANG_S)
    assert result.get('failed') is True
    assert result['msg'] == message
