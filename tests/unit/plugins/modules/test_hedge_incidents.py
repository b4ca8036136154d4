# -*- coding: utf-8 -*-
"""hedge_incidents: the runbook's incident hooks and dashboard checklist over both contract shapes.

Payloads come from two sources: the unit-test payloads (hedge_test_support) and the simulated engine's
own builders (tests/box/engine/hedge: executor + sync_state), with its fault switches.
"""
from __future__ import annotations

import http.server
import json
import os
import socket
import sys
import threading

import pytest

from hedge_test_support import NOW, REPO_ROOT, tree_snapshot, v75_payloads, v76_payloads

SIM_DIR = REPO_ROOT / 'tests' / 'box' / 'engine' / 'hedge'
if str(SIM_DIR) not in sys.path:
    sys.path.insert(0, str(SIM_DIR))
import executor  # noqa: E402  (the simulator's pure builders)
import sync_state  # noqa: E402

HOOKS = ['nav_anomaly', 'router', 'exit_coverage', 'dd_transition', 'stale_surfaces']
PANELS = ['regime_strip', 'nav_risk_panel', 'router_health', 'exit_coverage', 'factor_diagnostics', 'system_health',
          'surface_freshness']
SUMMARY_KEYS = ['nav', 'nav_age_s', 'dd_state', 'dd_pct', 'risk_mode', 'router_quality', 'symbols_tracked',
                'avg_slippage_bps', 'avg_latency_ms', 'exit_coverage_pct', 'open_positions',
                'underwater_without_tp_sl', 'factor_weights', 'anomalies', 'engine_version']
FINDING_KEYS = ['hook', 'severity', 'title', 'seen', 'threshold', 'next_steps', 'details']
NO_ANOMALIES = 'risk_snapshot has no anomalies block (pre-v7.6 engine)'


def sim_payloads(version, faults=(), loop=3):
    """The simulated engine's surfaces (executor + sync_state) for ``version`` with ``faults`` active."""
    ctx = executor.Ctx(version, faults, now=NOW, started=NOW - 600, loop=loop, nav=10012.34)
    payloads = executor.build_surfaces(ctx)
    payloads['nav_state.json'] = sync_state.build_nav_state(version, ctx.nav, ctx.t - 1.5, faults, now=NOW,
                                                            loop=loop)
    return payloads


def run_incidents(run_module, state, check_mode=False, **args):
    args.setdefault('now', NOW)
    return run_module('hedge_incidents', dict(state_dir=str(state), **args), check_mode=check_mode)


def one_line(text):
    return isinstance(text, str) and text and '\n' not in text


def assert_well_formed(result):
    assert result.rc == 0, result
    assert result['changed'] is False
    assert list(result['hooks']) == HOOKS or sorted(result['hooks']) == sorted(HOOKS)
    for name, hook in result['hooks'].items():
        assert hook['status'] in ('ok', 'finding', 'unknown')
        assert hook['severity'] in ('warn', 'fail')
        assert one_line(hook['reason']), hook
    for finding in result['findings']:
        assert sorted(finding) == sorted(FINDING_KEYS)
        for key in ('title', 'seen', 'threshold'):
            assert one_line(finding[key]), (key, finding)
        assert 2 <= len(finding['next_steps']) <= 4
        assert all(one_line(step) for step in finding['next_steps'])
        assert isinstance(finding['details'], dict)
    # findings in hook order, one per hook with status finding
    assert [f['hook'] for f in result['findings']] == [h for h in HOOKS if result['hooks'][h]['status'] == 'finding']
    assert result['failed_hooks'] == [f for f in result['findings'] if f['severity'] == 'fail']
    assert result['warned_hooks'] == [f for f in result['findings'] if f['severity'] == 'warn']
    assert result['unknown_hooks'] == [h for h in HOOKS if result['hooks'][h]['status'] == 'unknown']
    assert [item['panel'] for item in result['dashboard']] == PANELS
    for item in result['dashboard']:
        assert item['ok'] in (True, False, None)
        assert one_line(item['detail']), item
    assert result['dashboard_ok'] is (not any(item['ok'] is False for item in result['dashboard']))
    assert sorted(result['summary']) == sorted(SUMMARY_KEYS)
    doc = result['document']
    assert sorted(doc) == ['findings', 'generated_at', 'hooks', 'ok', 'schema', 'state_dir', 'summary']
    assert doc['schema'] == 'gpt-hedge.incidents/v1'
    assert doc['ok'] is (not result['failed_hooks'])
    assert doc['findings'] == result['findings'] and doc['hooks'] == result['hooks']
    assert doc['summary'] == result['summary']
    json.dumps(doc)
    assert one_line(result['msg'])


def hook(result, name):
    return result['hooks'][name]


def finding(result, name):
    found = [f for f in result['findings'] if f['hook'] == name]
    assert len(found) == 1, result['findings']
    return found[0]


def item(result, panel):
    return [i for i in result['dashboard'] if i['panel'] == panel][0]


SHAPES = [
    pytest.param(v76_payloads, 'v7.6', id='support-v7.6'),
    pytest.param(v75_payloads, 'v7.5', id='support-v7.5'),
    pytest.param(lambda: sim_payloads('v7.6'), 'v7.6', id='sim-v7.6'),
    pytest.param(lambda: sim_payloads('v7.5'), 'v7.5', id='sim-v7.5'),
]


# ---------------------------------------------------------------- healthy boxes, both shapes

@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('make, version', SHAPES)
def test_healthy_box(run_module, state_dir, make, version, check_mode):
    result = run_incidents(run_module, state_dir(make()), check_mode=check_mode, expected_version=version,
                           healthz_status=200, router_quality_min=0.3)
    assert_well_formed(result)
    assert result['findings'] == [] and result['failed_hooks'] == [] and result['warned_hooks'] == []
    assert hook(result, 'router')['status'] == 'ok'
    assert hook(result, 'exit_coverage')['status'] == 'ok'
    assert result['document']['ok'] is True
    assert result['document']['generated_at'] == '2025-11-25T10:40:00Z'
    summary = result['summary']
    assert summary['engine_version'] == version
    assert summary['exit_coverage_pct'] == 100.0
    assert summary['underwater_without_tp_sl'] == 0
    assert summary['risk_mode'] == 'NORMAL'
    assert summary['factor_weights']
    if version == 'v7.6':
        assert result['unknown_hooks'] == []
        assert summary['anomalies'] == []
        assert result['msg'] == 'no incidents'
        assert result['dashboard_ok'] is True
        assert all(i['ok'] is True for i in result['dashboard'])
    else:
        # v7.5 lacks the anomalies block: the anomaly hooks are unknown, not findings
        assert result['unknown_hooks'] == ['nav_anomaly', 'dd_transition']
        for name in ('nav_anomaly', 'dd_transition'):
            assert hook(result, name)['reason'] == NO_ANOMALIES
        assert summary['anomalies'] is None
        assert result['msg'] == 'no incidents (unknown: nav_anomaly, dd_transition)'
        assert result['dashboard_ok'] is True


def test_sim_v75_router_shape_summary(run_module, state_dir):
    """Older router shape: symbol count from summary.symbols, per-symbol table not reported (null, not false)."""
    result = run_incidents(run_module, state_dir(sim_payloads('v7.5')))
    assert result['summary']['symbols_tracked'] == 3
    assert result['summary']['router_quality'] == 0.81
    assert result['summary']['avg_slippage_bps'] == 2.1
    router = item(result, 'router_health')
    assert router['ok'] is None
    assert 'pre-v7.6' in router['detail']


# ---------------------------------------------------------------- nav_anomaly

@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
def test_nav_jump_fault_from_simulator(run_module, state_dir, version):
    result = run_incidents(run_module, state_dir(sim_payloads(version, {'nav_jump'})))
    assert_well_formed(result)
    assert hook(result, 'nav_anomaly')['status'] == 'finding'
    f = finding(result, 'nav_anomaly')
    assert f['severity'] == 'fail'
    assert f['details']['nav_jump_pct'] == 12.5
    assert f['details']['nav'] == 10012.34
    assert '12.5 %' in f['title'] and '12.5 %' in f['seen']
    assert '10012.34' in f['seen']
    assert f['next_steps'][0] == 'Freeze new entries: set risk mode to DEFENSIVE'
    assert 'Compare nav.json with the exchange balance' in f['next_steps']
    assert result['failed_hooks'] == [f]
    assert result['summary']['anomalies'] == ['nav_jump']
    assert result['document']['ok'] is False
    assert result['msg'] == '1 finding: nav_anomaly (fail)'


@pytest.mark.parametrize('nav_jump, extra, status, pct', [
    pytest.param(False, {}, 'ok', None, id='bool-false'),
    pytest.param(True, {'nav_jump_pct': 7.25}, 'finding', 7.25, id='bool-true-with-pct'),
    pytest.param(True, {}, 'finding', None, id='bool-true-no-pct'),
    pytest.param({'active': True, 'pct': 9.1}, {}, 'finding', 9.1, id='object-pct'),
    pytest.param({'triggered': True, 'jump_pct': 4.0}, {}, 'finding', 4.0, id='object-jump_pct'),
    pytest.param({'active': False, 'pct': 0.2}, {}, 'ok', None, id='object-inactive'),
    pytest.param({'pct': 3.0}, {}, 'unknown', None, id='object-without-flag'),
])
@pytest.mark.parametrize('base', [v76_payloads, v75_payloads], ids=['v7.6', 'v7.5'])
def test_nav_anomaly_shapes(run_module, state_dir, base, nav_jump, extra, status, pct):
    payloads = base()
    anomalies = {'nav_jump': nav_jump, 'var_limit_breach': False, 'cvar_limit_breach': False, 'dd_flap': False}
    anomalies.update(extra)
    payloads['risk_snapshot.json']['anomalies'] = anomalies
    result = run_incidents(run_module, state_dir(payloads))
    assert_well_formed(result)
    assert hook(result, 'nav_anomaly')['status'] == status
    if status == 'finding':
        f = finding(result, 'nav_anomaly')
        assert f['details']['nav_jump_pct'] == pct
        assert f['details']['nav'] == 10234.56
        assert ('n/a' if pct is None else '%s %%' % pct) in f['seen']
    else:
        assert 'nav_anomaly' not in [f['hook'] for f in result['findings']]


# ---------------------------------------------------------------- router

@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
def test_router_degraded_fault_names_symbols(run_module, state_dir, version):
    result = run_incidents(run_module, state_dir(sim_payloads(version, {'router_degraded'})))
    assert_well_formed(result)
    f = finding(result, 'router')
    assert f['details']['quality'] == 0.3
    assert f['details']['idle'] is False
    assert 'global quality 0.3' in f['seen']
    assert 'avg slippage 2.1 bps' in f['seen'] and 'avg latency 120.0 ms' in f['seen']
    if version == 'v7.6':
        assert f['details']['degraded_symbols'] == [{'symbol': 'BTCUSDT', 'quality': 0.35},
                                                    {'symbol': 'ETHUSDT', 'quality': 0.42}]
        assert 'BTCUSDT (0.35), ETHUSDT (0.42)' in f['seen']
        assert 'SOLUSDT' not in f['seen']
    else:
        assert f['details']['degraded_symbols'] == []
        assert 'per-symbol table not reported' in f['seen']
    assert f['title'].startswith('Router degraded')


@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
def test_router_idle_fault(run_module, state_dir, version):
    result = run_incidents(run_module, state_dir(sim_payloads(version, {'router_idle'})))
    f = finding(result, 'router')
    assert f['title'] == 'Router idle'
    assert f['details']['idle'] is True
    assert f['details']['router_idle_seconds'] == 1800.0


@pytest.mark.parametrize('liveness, global_idle, idle', [
    (True, None, True), (False, True, True), (None, True, True), (False, False, False), (None, None, None),
])
def test_router_idle_either_source(run_module, state_dir, liveness, global_idle, idle):
    payloads = v76_payloads()
    live = payloads['diagnostics.json']['runtime_diagnostics']['liveness']
    if liveness is None:
        del live['idle_router']
    else:
        live['idle_router'] = liveness
    if global_idle is not None:
        payloads['router_health.json']['router_health']['global']['idle'] = global_idle
    result = run_incidents(run_module, state_dir(payloads))
    assert_well_formed(result)
    if idle:
        assert finding(result, 'router')['details']['idle'] is True
    else:
        assert hook(result, 'router')['status'] == 'ok'
        assert ('not idle' in hook(result, 'router')['reason']) is (idle is False)


def test_router_quality_min_and_v75_score(run_module, state_dir):
    result = run_incidents(run_module, state_dir(v75_payloads()), router_quality_min=0.8)
    f = finding(result, 'router')
    assert f['details']['quality'] == 0.77 and f['details']['quality_min'] == 0.8
    assert f['threshold'] == 'router global quality >= 0.8 and router not idle'
    # support v7.6: ETHUSDT per-symbol 0.41 is below the default 0.5, global 0.82 is fine -> ok
    assert hook(run_incidents(run_module, state_dir(v76_payloads())), 'router')['status'] == 'ok'


@pytest.mark.parametrize('drop, raw, fragment', [
    (('router_health.json',), None, 'router_health.json: missing'),
    ((), {'router_health.json': '{"router_health": {"glob'}, 'router_health.json: malformed JSON'),
    ((), {'router_health.json': '{"updated_ts": 1}'}, 'router_health has no global quality score'),
])
def test_router_unknown(run_module, state_dir, drop, raw, fragment):
    payloads = v76_payloads()
    payloads['diagnostics.json']['runtime_diagnostics']['liveness']['idle_router'] = False
    result = run_incidents(run_module, state_dir(payloads, drop=drop, raw=raw))
    assert_well_formed(result)
    assert hook(result, 'router')['status'] == 'unknown'
    assert fragment in hook(result, 'router')['reason']
    assert item(result, 'router_health')['ok'] is False


# ---------------------------------------------------------------- exit_coverage

@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
def test_exit_coverage_low_fault_breakdown_present_vs_absent(run_module, state_dir, version):
    result = run_incidents(run_module, state_dir(sim_payloads(version, {'exit_coverage_low'})))
    assert_well_formed(result)
    f = finding(result, 'exit_coverage')
    d = f['details']
    assert (d['coverage_pct'], d['open_positions'], d['tp_sl_registered'], d['tp_sl_missing'],
            d['underwater_without_tp_sl']) == (60.0, 5, 3, 2, 2)
    assert 'exit coverage 60.0 %' in f['seen'] and '2 underwater without TP/SL' in f['seen']
    assert f['threshold'] == 'exit coverage >= 90.0 %; underwater positions without TP/SL <= 0'
    if version == 'v7.6':
        assert d['mismatch_breakdown'] == {'missing_ledger_positions': 0, 'ghost_ledger_entries': 0,
                                           'missing_tp_sl_entries': 3, 'stale_tp_sl_entries': 0}
        assert 'missing_tp_sl_entries=3' in f['seen']
    else:
        assert d['mismatch_breakdown'] == 'not reported (pre-v7.6 engine)'
        assert 'not reported (pre-v7.6 engine)' in f['seen']
    assert result['summary']['exit_coverage_pct'] == 60.0


@pytest.mark.parametrize('coverage, underwater, minimum, maximum, status', [
    (0.95, 0, 0.9, 0, 'ok'),
    (0.85, 0, 0.9, 0, 'finding'),
    (0.85, 0, 80, 0, 'ok'),            # >1 means percent
    (92, 0, 90, 0, 'ok'),              # coverage written as a percentage
    (1.0, 1, 0.9, 0, 'finding'),       # underwater without TP/SL alone fires
    (1.0, 1, 0.9, 1, 'ok'),
])
@pytest.mark.parametrize('base', [v76_payloads, v75_payloads], ids=['v7.6', 'v7.5'])
def test_exit_coverage_thresholds(run_module, state_dir, base, coverage, underwater, minimum, maximum, status):
    payloads = base()
    pipeline = payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline']
    pipeline.update(tp_sl_coverage_pct=coverage, underwater_without_tp_sl_count=underwater)
    result = run_incidents(run_module, state_dir(payloads), exit_coverage_min=minimum,
                           max_underwater_without_tp_sl=maximum)
    assert_well_formed(result)
    assert hook(result, 'exit_coverage')['status'] == status


def test_exit_coverage_no_open_positions_is_ok(run_module, state_dir):
    payloads = v76_payloads()
    payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline'].update(
        open_positions_count=0, tp_sl_registered_count=0, tp_sl_coverage_pct=0.0)
    assert hook(run_incidents(run_module, state_dir(payloads)), 'exit_coverage')['status'] == 'ok'


@pytest.mark.parametrize('drop, raw, mutate, fragment', [
    (('diagnostics.json',), None, None, 'diagnostics.json: missing'),
    ((), {'diagnostics.json': '{"runtime_diagnostics": '}, None, 'diagnostics.json: malformed JSON'),
    ((), None, lambda p: p['diagnostics.json']['runtime_diagnostics'].pop('exit_pipeline'), 'has no runtime_'),
    ((), None, lambda p: p['diagnostics.json']['runtime_diagnostics']['exit_pipeline'].clear(),
     'no tp_sl_coverage_pct'),
])
def test_exit_coverage_unknown(run_module, state_dir, drop, raw, mutate, fragment):
    payloads = v76_payloads()
    if mutate:
        mutate(payloads)
    result = run_incidents(run_module, state_dir(payloads, drop=drop, raw=raw))
    assert_well_formed(result)
    assert hook(result, 'exit_coverage')['status'] == 'unknown'
    assert fragment in hook(result, 'exit_coverage')['reason']


# ---------------------------------------------------------------- dd_transition

@pytest.mark.parametrize('version, loop, state', [('v7.6', 2, 'DRAWDOWN'), ('v7.6', 3, 'RECOVERY'),
                                                  ('v7.5', 2, 'DRAWDOWN'), ('v7.5', 3, 'RECOVERY')])
def test_dd_flap_fault(run_module, state_dir, version, loop, state):
    result = run_incidents(run_module, state_dir(sim_payloads(version, {'dd_flap'}, loop=loop)))
    assert_well_formed(result)
    f = finding(result, 'dd_transition')
    assert f['severity'] == 'warn'
    assert f['details']['dd_state'] == state
    assert f['details']['dd_pct'] == 6.4
    assert state in f['title'] and '6.4 %' in f['seen']
    assert result['warned_hooks'] == [f] and result['failed_hooks'] == []
    assert result['document']['ok'] is True  # a warning does not make the document not-ok
    assert result['msg'] == '1 finding: dd_transition (warn)'


@pytest.mark.parametrize('dd_state', ['RECOVERY', {'state': 'RECOVERY'}], ids=['string', 'object'])
def test_dd_state_shapes(run_module, state_dir, dd_state):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['anomalies']['dd_flap'] = True
    payloads['risk_snapshot.json']['dd_state'] = dd_state
    payloads['risk_snapshot.json']['drawdown'] = {'dd_pct': 5.5}
    f = finding(run_incidents(run_module, state_dir(payloads)), 'dd_transition')
    assert (f['details']['dd_state'], f['details']['dd_pct']) == ('RECOVERY', 5.5)


def test_dd_flap_missing_key_is_unknown(run_module, state_dir):
    payloads = v76_payloads()
    del payloads['risk_snapshot.json']['anomalies']['dd_flap']
    result = run_incidents(run_module, state_dir(payloads))
    assert hook(result, 'dd_transition') == {'status': 'unknown', 'severity': 'warn',
                                             'reason': 'risk_snapshot.anomalies has no dd_flap flag'}
    assert hook(result, 'nav_anomaly')['status'] == 'ok'


# ---------------------------------------------------------------- all faults, severity routing

ALL = {'nav_jump', 'dd_flap', 'router_degraded', 'router_idle', 'exit_coverage_low'}


@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
def test_all_faults_default_routing(run_module, state_dir, version):
    result = run_incidents(run_module, state_dir(sim_payloads(version, ALL)))
    assert_well_formed(result)
    assert [f['hook'] for f in result['findings']] == ['nav_anomaly', 'router', 'exit_coverage', 'dd_transition']
    assert hook(result, 'stale_surfaces')['status'] == 'ok'
    assert [f['hook'] for f in result['failed_hooks']] == ['nav_anomaly', 'router', 'exit_coverage']
    assert [f['hook'] for f in result['warned_hooks']] == ['dd_transition']
    assert result['msg'] == ('4 findings: nav_anomaly (fail), router (fail), exit_coverage (fail), '
                             'dd_transition (warn)')
    assert result['summary']['anomalies'] == ['nav_jump', 'dd_flap']
    assert finding(result, 'router')['title'] == 'Router degraded (global quality 0.3 < 0.5) and idle'


@pytest.mark.parametrize('severity, failed, warned', [
    ({'nav_anomaly': 'warn', 'dd_transition': 'fail'}, ['router', 'exit_coverage', 'dd_transition'],
     ['nav_anomaly']),
    ({'nav_anomaly': 'warn', 'router': 'warn', 'exit_coverage': 'warn'}, [],
     ['nav_anomaly', 'router', 'exit_coverage', 'dd_transition']),
    ({'router': 'FAIL ', 'dd_transition': 'Fail'}, ['nav_anomaly', 'router', 'exit_coverage', 'dd_transition'], []),
])
def test_severity_overrides(run_module, state_dir, severity, failed, warned):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6', ALL)), severity=severity)
    assert_well_formed(result)
    assert [f['hook'] for f in result['failed_hooks']] == failed
    assert [f['hook'] for f in result['warned_hooks']] == warned
    assert result['document']['ok'] is (not failed)
    for f in result['findings']:
        assert result['hooks'][f['hook']]['severity'] == f['severity']


def test_severity_applies_to_unknown_hooks(run_module, state_dir):
    result = run_incidents(run_module, state_dir(v75_payloads()), severity={'dd_transition': 'fail'})
    assert hook(result, 'dd_transition') == {'status': 'unknown', 'severity': 'fail', 'reason': NO_ANOMALIES}
    assert result['failed_hooks'] == []


@pytest.mark.parametrize('severity, fragment', [
    ({'nav_jump': 'fail'}, 'severity: unknown hook name(s) nav_jump'),
    ({'router': 'critical'}, 'severity: invalid value(s) router=critical'),
    ({'router': None}, 'severity: invalid value(s) router=None'),
    ({'dd_transition': 'warn', 'bogus': 'warn'}, 'unknown hook name(s) bogus'),
])
def test_invalid_severity_fails(run_module, state_dir, severity, fragment):
    result = run_incidents(run_module, state_dir(), severity=severity)
    assert result.get('failed') is True, result
    assert fragment in result['msg']
    assert '\n' not in result['msg']
    assert 'hooks' not in result


@pytest.mark.parametrize('args, fragment', [
    ({'exit_coverage_min': 101}, 'exit_coverage_min'),
    ({'max_underwater_without_tp_sl': -1}, 'max_underwater_without_tp_sl'),
    ({'router_quality_min': -0.1}, 'router_quality_min'),
])
def test_invalid_parameters(run_module, state_dir, args, fragment):
    result = run_incidents(run_module, state_dir(), **args)
    assert result['failed'] is True
    assert fragment in result['msg']


# ---------------------------------------------------------------- malformed / missing risk_snapshot

@pytest.mark.parametrize('drop, raw, anomalies, fragment', [
    pytest.param(('risk_snapshot.json',), None, None, 'risk_snapshot.json: missing', id='missing'),
    pytest.param((), {'risk_snapshot.json': '{"updated_ts": "1764067195", "anoma'}, None,
                 'risk_snapshot.json: malformed JSON', id='truncated-json'),
    pytest.param((), {'risk_snapshot.json': '[1, 2]'}, None, 'risk_snapshot.json: not a JSON object', id='array'),
    pytest.param((), None, ['nav_jump'], 'risk_snapshot.anomalies is malformed (list', id='anomalies-list'),
    pytest.param((), None, 'nav_jump', 'risk_snapshot.anomalies is malformed (str', id='anomalies-string'),
])
def test_malformed_risk_snapshot_gives_unknown_hooks(run_module, state_dir, drop, raw, anomalies, fragment):
    payloads = v76_payloads()
    if anomalies is not None:
        payloads['risk_snapshot.json']['anomalies'] = anomalies
    result = run_incidents(run_module, state_dir(payloads, drop=drop, raw=raw), expected_version='v7.6')
    assert_well_formed(result)
    for name in ('nav_anomaly', 'dd_transition'):
        assert hook(result, name)['status'] == 'unknown'
        assert hook(result, name)['reason'].startswith(fragment)
    assert hook(result, 'router')['status'] == 'ok'
    assert hook(result, 'exit_coverage')['status'] == 'ok'
    assert result['summary']['anomalies'] is None
    if anomalies is None:
        assert item(result, 'regime_strip')['ok'] is False
        assert fragment in item(result, 'regime_strip')['detail']


def test_simulator_malformed_json_fault(run_module, state_dir):
    """The simulator's malformed_json fault truncates nav.json and risk_snapshot.json."""
    payloads = sim_payloads('v7.6')
    raw = {}
    for name in ('nav.json', 'risk_snapshot.json'):
        text = json.dumps(payloads.pop(name))
        raw[name] = text[: len(text) // 2]
    result = run_incidents(run_module, state_dir(payloads, raw=raw))
    assert_well_formed(result)
    assert result['unknown_hooks'] == ['nav_anomaly', 'dd_transition']
    assert result['summary']['nav'] == 10012.34  # nav_state.json still readable
    assert result['summary']['risk_mode'] is None


def test_empty_state_dir(run_module, tmp_path):
    """Nothing published at all: the runbook's hooks cannot tell, and that is an incident in itself."""
    result = run_incidents(run_module, tmp_path / 'nothing')
    assert_well_formed(result)
    assert result['unknown_hooks'] == ['nav_anomaly', 'router', 'exit_coverage', 'dd_transition']
    assert [f['hook'] for f in result['failed_hooks']] == ['stale_surfaces']
    assert finding(result, 'stale_surfaces')['title'] == (
        'Engine not publishing: all 9 per-loop surfaces stale or missing (newest none readable)')
    assert result['msg'] == ('1 finding: stale_surfaces (fail) '
                             '(unknown: nav_anomaly, router, exit_coverage, dd_transition)')
    assert all(i['ok'] is False for i in result['dashboard'])
    assert result['dashboard_ok'] is False
    assert result['summary']['anomalies'] is None


# ---------------------------------------------------------------- dashboard checklist

@pytest.mark.parametrize('version', ['v7.6', 'v7.5'])
@pytest.mark.parametrize('expected, healthz, ok, fragment', [
    (None, None, True, 'healthz not measured'),
    ('same', 200, True, '== expected'),
    ('v7.4', 200, False, '!= expected v7.4'),
    ('same', 503, False, 'healthz 503'),
    ('same', -1, False, 'healthz no answer'),
])
def test_dashboard_system_health(run_module, state_dir, version, expected, healthz, ok, fragment):
    args = {}
    if expected is not None:
        args['expected_version'] = version if expected == 'same' else expected
    if healthz is not None:
        args['healthz_status'] = healthz
    result = run_incidents(run_module, state_dir(sim_payloads(version)), **args)
    assert_well_formed(result)
    system = item(result, 'system_health')
    assert system['ok'] is ok
    assert fragment in system['detail']
    assert ('engine %s' % version) in system['detail']
    assert result['dashboard_ok'] is ok


def test_dashboard_wrong_engine_version_fault(run_module, state_dir):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6', {'wrong_engine_version'})),
                           expected_version='7.6', healthz_status=200)
    assert item(result, 'system_health') == {'panel': 'system_health', 'ok': False,
                                             'detail': 'engine v7.4 != expected 7.6; healthz 200'}
    assert result['summary']['engine_version'] == 'v7.4'


def test_dashboard_items_detail_v76(run_module, state_dir):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6')), expected_version='v7.6', healthz_status=200)
    assert item(result, 'regime_strip')['detail'] == 'vol regime NORMAL; dd state NORMAL; risk mode NORMAL'
    assert item(result, 'router_health')['detail'] == 'global quality 0.81; per-symbol table 3 symbols'
    assert 'orthogonalization on' in item(result, 'factor_diagnostics')['detail']
    assert 'mismatch_breakdown present' in item(result, 'exit_coverage')['detail']


@pytest.mark.parametrize('mutate, panel, ok, fragment', [
    pytest.param(lambda p: p['risk_snapshot.json'].pop('vol_regime'), 'regime_strip', True,
                 'vol regime not reported', id='no-vol-regime'),
    pytest.param(lambda p: p['risk_snapshot.json'].pop('risk_mode'), 'regime_strip', False, 'risk mode missing',
                 id='no-risk-mode'),
    pytest.param(lambda p: (p['risk_snapshot.json'].pop('var'), p['kpis_v7.json']['portfolio'].pop('var_nav_pct')),
                 'nav_risk_panel', False, 'missing: var', id='no-var'),
    pytest.param(lambda p: p['risk_snapshot.json'].pop('cvar'), 'nav_risk_panel', True, 'cvar 3.4',
                 id='cvar-from-kpis'),
    pytest.param(lambda p: p['router_health.json']['router_health'].pop('per_symbol'), 'router_health', False,
                 'per-symbol table missing', id='v7.6-no-per-symbol'),
    pytest.param(lambda p: p['diagnostics.json']['runtime_diagnostics'].pop('exit_pipeline'), 'exit_coverage',
                 False, 'no runtime_diagnostics.exit_pipeline', id='no-exit-pipeline'),
    pytest.param(lambda p: p['factor_diagnostics.json'].pop('orthogonalization_enabled'), 'factor_diagnostics',
                 True, 'orthogonalization not reported', id='no-ortho-flag'),
    pytest.param(lambda p: (p['factor_diagnostics.json'].pop('weights'), p['factor_diagnostics.json'].pop(
        'factor_weights')), 'factor_diagnostics', False, 'has no weights', id='no-weights'),
])
def test_dashboard_items(run_module, state_dir, mutate, panel, ok, fragment):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['vol_regime'] = 'ELEVATED'
    mutate(payloads)
    result = run_incidents(run_module, state_dir(payloads))
    assert_well_formed(result)
    got = item(result, panel)
    assert got['ok'] is ok, got
    assert fragment in got['detail']
    assert result['dashboard_ok'] is all(i['ok'] is not False for i in result['dashboard'])


def test_dashboard_vol_regime_reported(run_module, state_dir):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['vol_regime'] = 'HIGH'
    assert 'vol regime HIGH' in item(run_incidents(run_module, state_dir(payloads)), 'regime_strip')['detail']


# ---------------------------------------------------------------- read-only

@pytest.mark.parametrize('check_mode', [False, True])
def test_module_writes_nothing(run_module, state_dir, check_mode):
    state = state_dir(sim_payloads('v7.6', ALL))
    os.utime(state, (1_700_000_000, 1_700_000_000))
    for child in state.iterdir():
        os.utime(child, (1_700_000_000, 1_700_000_000))
    box = state.parent.parent
    before = tree_snapshot(box)
    result = run_incidents(run_module, state, check_mode=check_mode, expected_version='v7.6', healthz_status=200)
    assert len(result['findings']) == 4
    assert result['changed'] is False
    assert tree_snapshot(box) == before


# ---------------------------------------------------------------- healthz asked by the module itself

class _Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(self.server.answer)
        self.end_headers()
        self.wfile.write(b'ok' if self.server.answer == 200 else b'down')

    def log_message(self, *args):
        pass


@pytest.fixture
def healthz_server():
    servers = []

    def start(answer):
        server = http.server.HTTPServer(('127.0.0.1', 0), _Healthz)
        server.answer = answer
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return 'http://127.0.0.1:%d/healthz' % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port_url():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return 'http://127.0.0.1:%d/healthz' % sock.getsockname()[1]


@pytest.mark.parametrize('answer, ok, fragment, msg', [
    (200, True, 'healthz 200', 'OK'),
    (503, False, 'healthz 503', 'Status code was 503 and not [200]: HTTP Error 503'),
    (None, False, 'healthz no answer', 'Status code was -1 and not [200]: Request failed'),
])
def test_dashboard_healthz_url_asked_by_the_module(run_module, state_dir, healthz_server, answer, ok, fragment, msg):
    url = healthz_server(answer) if answer else _closed_port_url()
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6')), expected_version='v7.6',
                           healthz_url=url, healthz_timeout=2)
    assert_well_formed(result)
    assert result['healthz']['url'] == url
    assert result['healthz']['status'] == (answer or -1)
    assert result['healthz']['msg'].startswith(msg)
    system = item(result, 'system_health')
    assert system['ok'] is ok
    assert fragment in system['detail']


def test_measured_healthz_status_wins_over_the_url(run_module, state_dir):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6')), expected_version='v7.6',
                           healthz_status=200, healthz_url=_closed_port_url())
    assert 'healthz' not in result
    assert item(result, 'system_health')['ok'] is True
