# -*- coding: utf-8 -*-
"""hedge_bake: the bake window's checks, their timeline and gates, over real-looking v7.6 surfaces and logs."""
from __future__ import annotations

import os
import threading
import time

import pytest

from hedge_test_support import v76_payloads, write_state
# healthz is a fixture (used by name)
from test_hedge_verify import free_port_url, healthz  # noqa: F401  pylint: disable=unused-import

PUBLISH_OK = '2025-11-25 10:51:0%d,500 INFO state_publish ok surfaces=12 ts=2025-11-25T10:51:0%dZ'
PUBLISH_ERR = '2025-11-25 10:51:05,001 state_publish ERROR write failed: [Errno 28] No space left on device'
ERROR_LINE = '2025-11-25 10:51:05,002 ERROR executor: order rejected by the exchange: -2019 margin is insufficient'
WARNING_LINE = '2025-11-25 10:51:05,003 WARNING executor: funding rate stale for ETHUSDT'
CHECKS = ['error_log', 'state_publish', 'surfaces_fresh', 'engine_version', 'dashboard_healthz', 'runtime_sanity',
          'incidents']


class Engine(object):
    """The engine's side of a bake: fresh surfaces rewritten and a state_publish line appended every 0.2 s."""

    def __init__(self, root, payloads=None, out_lines=(), err_lines=()):
        self.state = root / 'logs' / 'state'
        self.out = root / 'log' / 'hedge-executor.out.log'
        self.err = root / 'log' / 'hedge-executor.err.log'
        self.out.parent.mkdir(parents=True)
        self.payloads = payloads
        self.publish()
        self.out.write_text('2025-11-25 10:50:01,120 INFO executor: Engine version: v7.6 (commit 3f1c2a9)\n')
        self.err.write_text('')
        self.offset, self.err_offset = self.out.stat().st_size, 0
        self.append(self.out, out_lines)
        self.append(self.err, err_lines)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def publish(self):
        """Every surface written atomically (a reader never sees half a file), as the engine writes them."""
        payloads = self.payloads(time.time()) if self.payloads else v76_payloads(now=time.time())
        scratch = write_state(self.state.parent / 'scratch', payloads)
        self.state.mkdir(exist_ok=True)
        for name in payloads:
            os.replace(scratch / name, self.state / name)

    @staticmethod
    def append(path, lines):
        with path.open('a') as handle:
            handle.write(''.join(line + '\n' for line in lines))

    def run(self):
        n = 0
        while not self.stop.wait(0.2):
            n += 1
            self.publish()
            self.append(self.out, [PUBLISH_OK % (n % 10, n % 10)])

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_bake(run_module, engine, url, window=2, interval=1, **args):
    params = dict(
        state_dir=str(engine.state), expected_version='v7.6', window=window, interval=interval,
        logs=dict(path=str(engine.out), err_path=str(engine.err), offset=engine.offset, err_offset=engine.err_offset),
        healthz=dict(url=url, request_timeout=2),
    )
    params.update(args)
    return run_module('hedge_bake', params)


def test_clean_release_bakes_for_the_whole_window(run_module, tmp_path, healthz):
    dashboard = healthz(200)
    with Engine(tmp_path, err_lines=[WARNING_LINE]) as engine:
        result = run_bake(run_module, engine, dashboard.url, window=3, interval=1)
    assert result.get('failed', False) is False, result
    assert result['changed'] is False
    assert result['failed_check'] is None and result['first_failure'] is None
    assert result['checks_planned'] == 3
    timeline = result['timeline']
    assert [entry['n'] for entry in timeline] == [1, 2, 3]
    assert all(entry['ok'] and entry['failed'] == [] and entry['problems'] == {} for entry in timeline)
    # One check per interval, the last one at the end of the window, the window not overrun by an interval.
    assert [entry['offset_s'] >= n for n, entry in enumerate(timeline, 1)] == [True] * 3
    assert [entry['offset_s'] < n + 1 for n, entry in enumerate(timeline, 1)] == [True] * 3
    assert timeline[-1]['remaining_s'] == 0 and 3 <= result['duration_s'] < 4
    assert timeline[0]['line'].startswith('check 1/3 at +') and timeline[0]['line'].endswith('left): ok')
    gates = result['gates']
    assert sorted(gates) == sorted(CHECKS)
    assert all(gates[name]['ok'] is True and gates[name]['check'] == 3 for name in CHECKS)
    assert gates['error_log']['reason'].startswith('3 check(s) over 3 s, every 1 s; last: no new error lines')
    assert result['msg'] == 'bake of v7.6 passed: 3 check(s) over 3 s, every 1 s'
    assert dashboard.requests == 3
    # Read only: the module wrote nothing (the files are the engine's).
    assert set(p.name for p in engine.state.iterdir()) == set(v76_payloads())


def nav_jump(now):
    payloads = v76_payloads(now=now)
    payloads['risk_snapshot.json']['anomalies'].update(nav_jump=True, nav_jump_pct=12.5)
    return payloads


def wrong_version(now):
    payloads = v76_payloads(now=now)
    payloads['engine_metadata.json']['engine_version'] = 'v7.4'
    return payloads


def stale(now):
    return v76_payloads(now=now, loop_age=600)


@pytest.mark.parametrize(('engine_args', 'dashboard', 'args', 'failed', 'reason'), [
    (dict(err_lines=[WARNING_LINE, ERROR_LINE]), 200, {}, ['error_log'],
     '1 new error line(s) in {err}, first: ' + ERROR_LINE),
    (dict(out_lines=[PUBLISH_ERR, PUBLISH_ERR]), 200, {}, ['state_publish'],
     'state_publish line(s), 2 error(s) (limit 1): ' + PUBLISH_ERR),
    (dict(payloads=stale), 200, {}, ['surfaces_fresh', 'incidents'], 'stale'),
    (dict(payloads=wrong_version), 200, {}, ['engine_version'], 'v7.4'),
    (dict(), 503, {}, ['dashboard_healthz'], '-> 503'),
    (dict(), None, {}, ['dashboard_healthz'], '-> -1'),
    (dict(payloads=nav_jump), 200, {}, ['runtime_sanity', 'incidents'], 'nav_jump'),
    # The thresholds only reported: the incident hook of severity fail still fails the check.
    (dict(payloads=nav_jump), 200, {'runtime': {'fatal': False}}, ['incidents'], 'NAV anomaly'),
], ids=['error_line', 'publish_errors', 'stale_surfaces', 'wrong_engine_version', 'dashboard_503', 'dashboard_down',
        'nav_jump', 'nav_jump_hook_only'])
def test_first_failed_check_ends_the_bake(run_module, tmp_path, healthz, engine_args, dashboard, args, failed, reason):
    url = healthz(dashboard).url if dashboard else free_port_url()
    with Engine(tmp_path, **engine_args) as engine:
        result = run_bake(run_module, engine, url, window=20, interval=1, **args)
    assert result.get('failed', False) is False, result
    # Stopped at the first check, not waiting out the 20 s window.
    assert len(result['timeline']) == 1 and result['checks_planned'] == 20
    entry = result['failed_check']
    assert (entry['n'], entry['failed'], result['first_failure']) == (1, failed, failed[0])
    assert entry['checks'][failed[0]]['ok'] is False
    assert reason.format(err=engine.err) in entry['checks'][failed[0]]['reason']
    assert result['timeline'][0]['problems'][failed[0]] == entry['checks'][failed[0]]['reason']
    gates = result['gates']
    assert [name for name in CHECKS if gates[name]['ok'] is False] == failed
    assert (gates[failed[0]]['check'], gates[failed[0]]['at']) == (1, entry['at'])
    assert result['msg'].startswith('bake of v7.6 failed at check 1 of 20 (+')


def test_incidents_can_be_left_out(run_module, tmp_path, healthz):
    with Engine(tmp_path, payloads=nav_jump) as engine:
        result = run_bake(run_module, engine, healthz(200).url, window=1, interval=1,
                          runtime={'fatal': False}, incidents={'enabled': False})
    assert result['failed_check'] is None, result
    assert result['gates']['incidents']['ok'] is None
    assert result['gates']['runtime_sanity']['reason'].endswith('(1 check(s) with a WARNING)')
    assert result['timeline'][0]['problems'].keys() == {'runtime_sanity'}


@pytest.mark.parametrize(('args', 'msg'), [
    ({'window': 0}, 'window must be at least 1 second, got 0'),
    ({'window': 10, 'interval': 0}, 'interval must be positive and at most the window (10 s), got 0'),
    ({'window': 10, 'interval': 15}, 'interval must be positive and at most the window (10 s), got 15'),
    ({'incidents': {'severity': {'nav_anomaly': 'page'}}}, 'incidents.severity: invalid value(s) nav_anomaly=page'),
    ({'healthz': {'url': 'localhost:8050/healthz'}}, 'healthz.url must be an http:// or https:// URL'),
])
def test_bad_parameters_fail_with_one_line(run_module, tmp_path, args, msg):
    engine = Engine(tmp_path)
    result = run_bake(run_module, engine, 'http://127.0.0.1:1/healthz', **args)
    assert result['failed'] is True
    assert msg in result['msg'] and '\n' not in result['msg']
