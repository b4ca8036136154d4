# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_json
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import (
    active_anomalies,
    anomaly_facts,
    build_runtime,
    check_dd_flap,
    check_engine_version,
    check_exit_coverage,
    check_nav_jump,
    check_router_quality,
    dd_facts,
    engine_version_facts,
    fraction,
    router_facts,
    router_idle_flags,
    router_shape,
    router_symbol_facts,
    read_runtime_surfaces,
    run_checks,
    to_flag,
    to_number,
    vol_regime_facts,
)

from hedge_test_support import NOW, iso_z, v75_payloads, v76_payloads, write_state

LOGICAL = {
    'nav': 'nav.json', 'nav_state': 'nav_state.json', 'kpis': 'kpis_v7.json', 'diagnostics': 'diagnostics.json',
    'risk_snapshot': 'risk_snapshot.json', 'router_health': 'router_health.json',
    'engine_metadata': 'engine_metadata.json', 'factor_diagnostics': 'factor_diagnostics.json',
}


def docs_from(payloads):
    return dict((logical, payloads.get(name)) for logical, name in LOGICAL.items())


@pytest.mark.parametrize('value, expected', [
    (True, True), (False, False), (None, None), (1, True), (0, False), ('true', True), ('no', False),
    ({'active': True}, True), ({'triggered': False}, False), ({'pct': 3}, None), ([], False), (['x'], True),
])
def test_to_flag(value, expected):
    assert to_flag(value) is expected


@pytest.mark.parametrize('value, expected', [(0.9, 0.9), (90, 0.9), ('85%', 0.85), (1, 1.0), (None, None),
                                             ('x', None), (True, None)])
def test_fraction(value, expected):
    assert fraction(value) == (pytest.approx(expected) if expected is not None else None)


def test_engine_version_shapes():
    assert engine_version_facts({'version': 'v7.5', 'started_ts': 1}) == ('v7.5', 'version')
    assert engine_version_facts({'engine_version': 'v7.6', 'version': 'x'}) == ('v7.6', 'engine_version')
    assert engine_version_facts({}) == (None, None)
    assert engine_version_facts(None) == (None, None)


def test_dd_facts_prefers_nav_state():
    assert dd_facts({'dd_state': {'state': 'RECOVERY'}, 'drawdown': {'dd_pct': 2}}, {'dd_state': 'NORMAL'}) == \
        {'dd_state': 'RECOVERY', 'dd_pct': 2.0}
    assert dd_facts(None, None, {'portfolio': {'dd_pct': 4.5}}) == {'dd_state': None, 'dd_pct': 4.5}


def test_router_facts_averages_per_symbol_when_global_lacks_metrics():
    rh = {'router_health': {'global': {'quality_score': 0.7},
                            'per_symbol': {'A': {'quality_score': 0.3, 'avg_slippage_bps': 2, 'avg_latency_ms': 100},
                                           'B': {'quality_score': 0.9, 'avg_slippage_bps': 4, 'avg_latency_ms': 300}}}}
    facts = router_facts(rh, None, 0.5)
    assert facts == {'quality': 0.7, 'symbols_tracked': 2, 'avg_slippage_bps': 3.0, 'avg_latency_ms': 200.0,
                     'idle': None, 'degraded_symbols': ['A']}


def test_anomaly_facts_absent_block():
    assert anomaly_facts({'risk_mode': 'NORMAL'}) is None
    assert anomaly_facts(None) is None


@pytest.mark.parametrize('use_jmespath', [True, False])
def test_build_runtime_and_checks_both_resolvers(monkeypatch, use_jmespath):
    if not use_jmespath:
        monkeypatch.setattr(hedge_json, 'HAS_JMESPATH', False)
    elif not hedge_json.HAS_JMESPATH:
        pytest.skip('jmespath is not installed')
    rt76 = build_runtime(docs_from(v76_payloads()), now=NOW)
    rt75 = build_runtime(docs_from(v75_payloads()), now=NOW)
    assert rt76['nav'] == 10234.56 and rt76['engine_version'] == 'v7.6'
    assert rt75['engine_version_key'] == 'version'
    assert rt75['router']['quality'] == 0.77
    assert rt75['factor_weights'] == {'momentum': 0.4, 'carry': 0.35, 'value': 0.25}
    checks, failed, unchecked = run_checks(rt76, expected_version='v7.6')
    assert failed == [] and unchecked == []
    checks, failed, unchecked = run_checks(rt75, expected_version='v7.6')
    assert failed == ['engine_version']
    assert unchecked == ['nav_jump', 'dd_flap']


def test_incident_hooks_are_separately_usable():
    runtime = {'anomalies': {'nav_jump': True, 'nav_jump_pct': 14.2, 'dd_flap': False}, 'dd_state': 'DRAWDOWN',
               'router': {'quality': 0.31, 'degraded_symbols': ['ETHUSDT']},
               'exit': {'coverage': 0.5, 'open_positions': 4}}
    assert check_nav_jump(runtime) == {'ok': False, 'value': True, 'threshold': False,
                                       'reason': 'nav_jump anomaly active (14.2 %)'}
    assert check_dd_flap(runtime)['ok'] is True
    router = check_router_quality(runtime, 0.5)
    assert router['ok'] is False and router['reason'] == 'router quality 0.31 < 0.5 (degraded: ETHUSDT)'
    cov = check_exit_coverage(runtime, 90)
    assert cov['ok'] is False and cov['reason'] == 'exit coverage 50.0 % < 90.0 %'


# ---------------------------------------------------------------- helpers added for hedge_incidents

def test_router_facts_older_shape_reads_summary():
    rh = {'global': {'quality_score': 0.81, 'idle': False},
          'summary': {'symbols': 3, 'avg_slippage_bps': 2.1, 'avg_latency_ms': 120.0}, 'router_health_score': 0.81}
    facts = router_facts(rh, None, 0.5)
    assert (facts['symbols_tracked'], facts['avg_slippage_bps'], facts['avg_latency_ms']) == (3, 2.1, 120.0)
    assert router_facts({'summary': {'symbols_tracked': 7}}, None)['symbols_tracked'] == 7
    assert router_facts({'global': {'quality_score': 0.5}, 'summary': {'symbols': ['A', 'B']}})['symbols_tracked'] == 2


@pytest.mark.parametrize('rh, shape', [
    ({'router_health': {'global': {}}}, 'nested'), ({'global': {}}, 'top-level'),
    ({'router_health_score': 0.4}, 'top-level'), ({'updated_ts': 1}, None), (None, None),
])
def test_router_shape(rh, shape):
    assert router_shape(rh) == shape


def test_router_symbol_facts_both_shapes():
    rows = router_symbol_facts(v76_payloads()['router_health.json'])
    assert rows == [{'symbol': 'BTCUSDT', 'quality': 0.91, 'avg_slippage_bps': 1.9, 'avg_latency_ms': 120.0},
                    {'symbol': 'ETHUSDT', 'quality': 0.41, 'avg_slippage_bps': 6.3, 'avg_latency_ms': 210.0}]
    assert router_symbol_facts(v75_payloads()['router_health.json']) == []
    assert router_symbol_facts({'per_symbol': {'X': 0.2}}) == [{'symbol': 'X', 'quality': 0.2,
                                                                'avg_slippage_bps': None, 'avg_latency_ms': None}]
    assert router_symbol_facts('garbage') == []


def test_router_idle_flags_reads_both_sources():
    diag = {'runtime_diagnostics': {'liveness': {'idle_router': False}}}
    assert router_idle_flags({'router_health': {'global': {'idle': True}}}, diag) == {'liveness': False,
                                                                                      'router_global': True}
    assert router_idle_flags({'global': {'quality_score': 1}}, None) == {'liveness': None, 'router_global': None}
    assert router_idle_flags(None, None) == {'liveness': None, 'router_global': None}


@pytest.mark.parametrize('risk, kpis, expected', [
    ({'vol_regime': 'ELEVATED'}, None, 'ELEVATED'), ({'regime': {'vol': 'HIGH'}}, None, 'HIGH'),
    ({'vol_regime': {'regime': 'LOW'}}, None, 'LOW'), ({}, {'portfolio': {'vol_regime': 'NORMAL'}}, 'NORMAL'),
    ({'risk_mode': 'NORMAL'}, None, None), (None, None, None),
])
def test_vol_regime_facts(risk, kpis, expected):
    assert vol_regime_facts(risk, kpis) == expected


def test_active_anomalies():
    assert active_anomalies(anomaly_facts(v76_payloads()['risk_snapshot.json'])) == []
    assert active_anomalies(anomaly_facts({'anomalies': {'dd_flap': True, 'nav_jump': {'active': True, 'pct': 3},
                                                         'var_limit_breach': 'breach'}})) == \
        ['nav_jump', 'var_limit_breach', 'dd_flap']
    assert active_anomalies(anomaly_facts(v75_payloads()['risk_snapshot.json'])) is None


# ------------------------------------------------------------------ unusable values (issue #16)

@pytest.mark.parametrize('value, expected', [
    (float('nan'), None), (float('inf'), None), (float('-inf'), None), ('NaN', None), ('-inf', None),
    ('1e999', None), (int('9' * 400), None), (12.5, 12.5), ('90%', 90.0), (True, None),
])
def test_to_number_rejects_unusable_numbers(value, expected):
    assert to_number(value) == expected


@pytest.mark.parametrize('name, key, value, invalid', [
    pytest.param('nav_state.json', 'nav_total', float('nan'), 'nav_state.json: nav_total: NaN is not a finite number',
                 id='nav-nan'),
    pytest.param('nav.json', 'nav', int('9' * 400), 'nav.json: nav: a 400-digit integer is out of range',
                 id='nav-json-huge'),
    pytest.param('router_health.json', 'updated_ts', float('inf'),
                 'router_health.json: updated_ts: Infinity is not a finite number', id='router-ts-inf'),
    pytest.param('factor_diagnostics.json', 'factor_ir', float('nan'), None, id='unread-key-ignored'),
])
def test_invalid_values_name_file_and_key(tmp_path, name, key, value, invalid):
    payloads = v76_payloads()
    payloads[name][key] = value
    docs, errors, found = read_runtime_surfaces(str(write_state(tmp_path, payloads)))
    assert errors == {}
    assert found == ([] if invalid is None else [invalid])
    runtime = build_runtime(docs, errors, now=NOW, invalid=found)
    checks, failed, _unchecked = run_checks(runtime, expected_version='v7.6')
    assert ('valid_values' in failed) is (invalid is not None)
    if invalid:
        assert checks['valid_values']['reason'] == 'invalid value(s): %s' % invalid


@pytest.mark.parametrize('ahead, max_skew, age, invalid', [
    (7200, 30, None, 'nav_state.json: updated_ts: written in the future: 7200.0 s ahead of the box clock '
                     '(skew allowance 30 s)'),
    (10, 30, -10.0, None),
    (-5, 30, 5.0, None),
])
def test_nav_timestamp_in_the_future(ahead, max_skew, age, invalid):
    nav_state = {'nav_total': 10000.0, 'updated_ts': iso_z(NOW + ahead)}
    runtime = build_runtime({'nav_state': nav_state}, now=NOW, max_skew=max_skew)
    assert runtime['nav_age_s'] == age
    assert runtime['invalid_values'] == ([] if invalid is None else [invalid])


@pytest.mark.parametrize('engine_version, expected, ok, reason', [
    ('v7.6', 'v7.6', True, 'engine version v7.6 == expected v7.6'),
    ('7.6', 'v7.6', True, 'engine version 7.6 == expected v7.6'),
    ('v7.5', 'v7.6', False, 'engine version v7.5 != expected v7.6'),
    ('v7.6', None, None, 'no expected_version given'),
    (None, 'v7.6', None, 'engine_metadata.json has no engine_version/version'),
])
def test_check_engine_version(engine_version, expected, ok, reason):
    check = check_engine_version({'engine_version': engine_version}, expected)
    assert (check['ok'], check['reason']) == (ok, reason)
