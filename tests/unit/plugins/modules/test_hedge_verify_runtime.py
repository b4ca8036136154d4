# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from hedge_test_support import NOW, run_verify_part, v75_payloads, v76_payloads

CHECKS = ['engine_version', 'exit_coverage', 'underwater_without_tp_sl', 'router_quality', 'router_idle',
          'nav_jump', 'dd_flap', 'valid_values']


def run_runtime(run_module, state, check_mode=False, **args):
    """hedge_verify's runtime facts and thresholds (its `runtime` part) of ``state``, read once."""
    return run_verify_part(run_module, 'runtime', state, check_mode=check_mode, **args)


@pytest.mark.parametrize('check_mode', [False, True])
def test_healthy_v76_runtime(run_module, state_dir, check_mode):
    result = run_runtime(run_module, state_dir(), check_mode=check_mode, expected_version='v7.6')
    assert result.rc == 0, result
    assert result['changed'] is False
    rt = result['runtime']
    assert rt['engine_version'] == 'v7.6'
    assert rt['engine_version_key'] == 'engine_version'
    assert rt['nav'] == 10234.56
    assert rt['nav_source'] == 'nav_state.json'
    assert rt['nav_age_s'] == 4.2
    assert rt['dd_state'] == 'NORMAL'
    assert rt['dd_pct'] == 1.8
    assert rt['risk_mode'] == 'NORMAL'
    assert rt['circuit_breaker'] == {'active': False}
    assert rt['router'] == {
        'quality': 0.82, 'symbols_tracked': 2, 'avg_slippage_bps': 2.4, 'avg_latency_ms': 140.0,
        'idle': False, 'degraded_symbols': ['ETHUSDT'],
    }
    assert rt['exit']['coverage'] == 1.0
    assert rt['exit']['coverage_pct'] == 100.0
    assert rt['exit']['open_positions'] == 2
    assert rt['exit']['tp_sl_registered'] == 2
    assert rt['exit']['tp_sl_missing'] == 0
    assert rt['exit']['underwater_without_tp_sl'] == 0
    assert rt['exit']['ledger_registry_mismatch'] is False
    assert rt['exit']['mismatch_breakdown']['ghost_ledger_entries'] == 0
    assert rt['anomalies'] == {'nav_jump': False, 'nav_jump_pct': None, 'dd_flap': False,
                               'var_limit_breach': False, 'cvar_limit_breach': False}
    assert rt['factor_weights'] == {'momentum': 0.4, 'carry': 0.35, 'value': 0.25}
    assert rt['missing_fields'] == []
    assert rt['surface_errors'] == {}
    assert sorted(result['checks']) == sorted(CHECKS)
    for name in CHECKS:
        assert result['checks'][name]['ok'] is True, result['checks'][name]
        assert '\n' not in result['checks'][name]['reason']
    assert result['failed_checks'] == []
    assert result['unchecked'] == []


def test_v75_runtime_lacks_v76_fields_without_failing(run_module, state_dir):
    result = run_runtime(run_module, state_dir(version='v7.5'), expected_version='v7.5')
    rt = result['runtime']
    assert rt['engine_version'] == 'v7.5'
    assert rt['engine_version_key'] == 'version'
    assert rt['anomalies'] is None
    assert rt['exit']['mismatch_breakdown'] is None
    assert rt['missing_fields'] == ['risk_snapshot.anomalies', 'diagnostics.exit_pipeline.mismatch_breakdown']
    assert rt['router']['quality'] == 0.77
    assert rt['factor_weights'] == {'momentum': 0.4, 'carry': 0.35, 'value': 0.25}
    assert result['checks']['nav_jump']['ok'] is None
    assert result['checks']['dd_flap']['ok'] is None
    assert result['checks']['nav_jump']['reason'] == 'risk_snapshot has no anomalies block'
    assert result['unchecked'] == ['nav_jump', 'dd_flap']
    assert result['failed_checks'] == []
    assert result['checks']['engine_version']['ok'] is True


@pytest.mark.parametrize('router, quality, tracked, idle', [
    pytest.param({'router_health': {'global': {'quality_score': 0.64, 'idle': True},
                                    'per_symbol': {'A': {'quality_score': 0.7}}}}, 0.64, 1, True, id='v7.6-nested'),
    pytest.param({'global': {'quality_score': 0.55, 'slippage': {'avg_bps': 3.0}}, 'summary': {'symbols_tracked': 7}},
                 0.55, None, None, id='top-level-global'),
    pytest.param({'summary': {'symbols_tracked': 7}, 'router_health_score': 0.42}, 0.42, 7, None,
                 id='summary-and-score'),
    pytest.param({'router_health_score': {'score': 0.9}}, 0.9, None, None, id='score-object'),
])
def test_router_shapes(run_module, state_dir, router, quality, tracked, idle):
    payloads = v76_payloads()
    router['updated_ts'] = NOW - 3
    payloads['router_health.json'] = router
    del payloads['diagnostics.json']['runtime_diagnostics']['liveness']['idle_router']
    result = run_runtime(run_module, state_dir(payloads))
    rt = result['runtime']['router']
    assert rt['quality'] == quality
    assert rt['idle'] is idle
    if tracked is not None:
        assert rt['symbols_tracked'] == tracked
    check = result['checks']['router_quality']
    assert check['ok'] is (quality >= 0.5)
    assert check['threshold'] == 0.5
    assert ('router_quality' in result['failed_checks']) is (quality < 0.5)
    assert result['checks']['router_idle']['ok'] is (None if idle is None else not idle)


def test_older_router_slippage_object(run_module, state_dir):
    payloads = v76_payloads()
    payloads['router_health.json'] = {'updated_ts': NOW, 'global': {'quality_score': 0.55,
                                                                    'slippage': {'avg_bps': 3.0},
                                                                    'latency': {'avg_ms': 99}}}
    rt = run_runtime(run_module, state_dir(payloads))['runtime']['router']
    assert rt['avg_slippage_bps'] == 3.0
    assert rt['avg_latency_ms'] == 99.0


@pytest.mark.parametrize('nav_state_dd, risk_dd, expected', [
    ('DRAWDOWN', 'NORMAL', 'DRAWDOWN'),
    ({'state': 'RECOVERY', 'since_ts': 1}, 'NORMAL', 'RECOVERY'),
    (None, {'state': 'DRAWDOWN'}, 'DRAWDOWN'),
    (None, 'NORMAL', 'NORMAL'),
])
def test_dd_state_shapes(run_module, state_dir, nav_state_dd, risk_dd, expected):
    payloads = v76_payloads()
    if nav_state_dd is None:
        del payloads['nav_state.json']['dd_state']
    else:
        payloads['nav_state.json']['dd_state'] = nav_state_dd
    payloads['risk_snapshot.json']['dd_state'] = risk_dd
    assert run_runtime(run_module, state_dir(payloads))['runtime']['dd_state'] == expected


@pytest.mark.parametrize('meta, version, key', [
    ({'version': 'v7.6', 'started_ts': NOW - 60}, 'v7.6', 'version'),
    ({'engine_version': 'v7.6', 'updated_ts': NOW - 1}, 'v7.6', 'engine_version'),
    ({'engine_version': '7.6', 'updated_ts': NOW - 1}, '7.6', 'engine_version'),
])
def test_engine_metadata_shapes(run_module, state_dir, meta, version, key):
    payloads = v76_payloads()
    payloads['engine_metadata.json'] = meta
    result = run_runtime(run_module, state_dir(payloads), expected_version='v7.6')
    assert result['runtime']['engine_version'] == version
    assert result['runtime']['engine_version_key'] == key
    assert result['checks']['engine_version']['ok'] is True


@pytest.mark.parametrize('expected, ok', [('v7.6', False), ('v7.5', True), ('7.5', True)])
def test_engine_version_check(run_module, state_dir, expected, ok):
    result = run_runtime(run_module, state_dir(version='v7.5'), expected_version=expected)
    assert result['checks']['engine_version']['ok'] is ok
    assert ('engine_version' in result['failed_checks']) is (ok is False)
    assert ('engine_version' in result['unchecked']) is (ok is None)
    if ok is False:
        assert result['checks']['engine_version']['reason'] == 'engine version v7.5 != expected v7.6'


@pytest.mark.parametrize('coverage, minimum, open_count, frac, ok', [
    (0.95, 0.9, 4, 0.95, True),
    (0.85, 0.9, 4, 0.85, False),
    (85, 0.9, 4, 0.85, False),        # the engine printing a percentage
    (95.0, 90, 4, 0.95, True),        # threshold given as percent
    (0.9, 90, 4, 0.9, True),          # boundary is inclusive
    (0.0, 0.9, 0, 0.0, True),         # no open positions
])
def test_exit_coverage(run_module, state_dir, coverage, minimum, open_count, frac, ok):
    payloads = v76_payloads()
    pipeline = payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline']
    pipeline['tp_sl_coverage_pct'] = coverage
    pipeline['open_positions_count'] = open_count
    result = run_runtime(run_module, state_dir(payloads), exit_coverage_min=minimum)
    assert result['runtime']['exit']['coverage'] == pytest.approx(frac)
    assert result['runtime']['exit']['coverage_pct'] == round(frac * 100, 1)
    check = result['checks']['exit_coverage']
    assert check['threshold'] == pytest.approx(0.9)
    assert check['ok'] is ok
    assert ('exit_coverage' in result['failed_checks']) is (not ok)


def test_exit_coverage_computed_from_counts(run_module, state_dir):
    payloads = v76_payloads()
    pipeline = payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline']
    del pipeline['tp_sl_coverage_pct']
    pipeline.update(open_positions_count=4, tp_sl_registered_count=3)
    result = run_runtime(run_module, state_dir(payloads))
    assert result['runtime']['exit']['coverage'] == 0.75
    assert result['checks']['exit_coverage']['ok'] is False


@pytest.mark.parametrize('count, maximum, ok', [(0, 0, True), (1, 0, False), (2, 2, True)])
def test_underwater_without_tp_sl(run_module, state_dir, count, maximum, ok):
    payloads = v76_payloads()
    payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline']['underwater_without_tp_sl_count'] = count
    result = run_runtime(run_module, state_dir(payloads), max_underwater_without_tp_sl=maximum)
    assert result['checks']['underwater_without_tp_sl'] == {
        'ok': ok, 'value': count, 'threshold': maximum,
        'reason': '%d underwater position(s) without TP/SL %s %d' % (count, '<=' if ok else '>', maximum)}


@pytest.mark.parametrize('anomalies, nav_jump, pct, dd_flap', [
    ({'nav_jump': True, 'dd_flap': False}, True, None, False),
    ({'nav_jump': {'triggered': True, 'jump_pct': 12.5}, 'dd_flap': {'active': True}}, True, 12.5, True),
    ({'nav_jump': {'active': False, 'pct': 0.3}, 'dd_flap': {'triggered': False}}, False, 0.3, False),
    ({'var_limit_breach': True}, None, None, None),
])
def test_anomaly_shapes(run_module, state_dir, anomalies, nav_jump, pct, dd_flap):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['anomalies'] = anomalies
    result = run_runtime(run_module, state_dir(payloads))
    an = result['runtime']['anomalies']
    assert an['nav_jump'] is nav_jump
    assert an['nav_jump_pct'] == pct
    assert an['dd_flap'] is dd_flap
    assert result['checks']['nav_jump']['ok'] is (None if nav_jump is None else not nav_jump)
    assert result['checks']['dd_flap']['ok'] is (None if dd_flap is None else not dd_flap)
    if nav_jump:
        assert 'nav_jump' in result['failed_checks']
    if 'var_limit_breach' in anomalies:
        assert an['var_limit_breach'] is True


def test_disabled_checks_are_null(run_module, state_dir):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['anomalies'].update(nav_jump=True, dd_flap=True)
    payloads['diagnostics.json']['runtime_diagnostics']['liveness']['idle_router'] = True
    result = run_runtime(run_module, state_dir(payloads), check_nav_jump=False, check_dd_flap=False,
                         check_router_idle=False)
    assert result['failed_checks'] == []
    assert set(result['unchecked']) == {'nav_jump', 'dd_flap', 'router_idle'}
    assert result['runtime']['router']['idle'] is True
    assert result['runtime']['anomalies']['nav_jump'] is True


def test_router_idle_from_liveness(run_module, state_dir):
    payloads = v76_payloads()
    payloads['diagnostics.json']['runtime_diagnostics']['liveness']['idle_router'] = True
    result = run_runtime(run_module, state_dir(payloads))
    assert result['checks']['router_idle'] == {'ok': False, 'value': True, 'threshold': False,
                                               'reason': 'router is idle'}
    assert result['failed_checks'] == ['router_idle']


def test_nav_falls_back_to_nav_json(run_module, state_dir):
    result = run_runtime(run_module, state_dir(drop=('nav_state.json',)))
    rt = result['runtime']
    assert rt['nav'] == 10234.56
    assert rt['nav_source'] == 'nav.json'
    assert rt['nav_age_s'] == 5.0
    assert rt['dd_state'] == 'NORMAL'  # from risk_snapshot
    assert rt['surface_errors'] == {'nav_state.json': 'missing'}


@pytest.mark.parametrize('nav_state', [
    {'nav': 99.5, 'updated_ts': NOW}, {'nav_usd': '99.5', 'updated_ts': NOW}, {'total_equity': 99.5},
])
def test_nav_keys(run_module, state_dir, nav_state):
    payloads = v76_payloads()
    payloads['nav_state.json'] = nav_state
    assert run_runtime(run_module, state_dir(payloads))['runtime']['nav'] == 99.5


def test_malformed_and_missing_surfaces_make_checks_unchecked(run_module, state_dir):
    state = state_dir(drop=('router_health.json', 'risk_snapshot.json'),
                      raw={'diagnostics.json': '{"runtime_diagnostics": '})
    result = run_runtime(run_module, state, expected_version='v7.6')
    assert result.rc == 0
    errors = result['runtime']['surface_errors']
    assert errors['router_health.json'] == 'missing'
    assert errors['risk_snapshot.json'] == 'missing'
    assert errors['diagnostics.json'].startswith('malformed JSON: ')
    assert result['runtime']['anomalies'] is None
    assert result['runtime']['exit']['coverage'] is None
    assert result['failed_checks'] == []
    assert set(result['unchecked']) == {'exit_coverage', 'underwater_without_tp_sl', 'router_quality',
                                        'router_idle', 'nav_jump', 'dd_flap'}
    assert result['checks']['engine_version']['ok'] is True


def test_factor_weights_mirror(run_module, state_dir):
    payloads = v76_payloads()
    del payloads['factor_diagnostics.json']['weights']
    payloads['factor_diagnostics.json']['factor_weights'] = {'weights': {'momentum': 1.0}}
    assert run_runtime(run_module, state_dir(payloads))['runtime']['factor_weights'] == {'momentum': 1.0}


def test_router_quality_min_and_degraded_symbols(run_module, state_dir):
    result = run_runtime(run_module, state_dir(), router_quality_min=0.95)
    assert result['runtime']['router']['degraded_symbols'] == ['BTCUSDT', 'ETHUSDT']
    assert result['checks']['router_quality']['ok'] is False
    assert result['failed_checks'] == ['router_quality']


def test_files_override(run_module, state_dir, tmp_path):
    state = state_dir()
    (state / 'engine_metadata.json').rename(state / 'meta.json')
    result = run_runtime(run_module, state, files={'engine_metadata': 'meta.json'})
    assert result['runtime']['engine_version'] == 'v7.6'
    assert result['runtime']['surface_errors'] == {}


@pytest.mark.parametrize('args, fragment', [
    ({'files': {'bogus': 'x.json'}}, 'unknown surface name'),
    ({'exit_coverage_min': -1}, 'exit_coverage_min'),
    ({'max_underwater_without_tp_sl': -1}, 'max_underwater_without_tp_sl'),
])
def test_invalid_parameters(run_module, state_dir, args, fragment):
    result = run_runtime(run_module, state_dir(), **args)
    assert result['failed'] is True
    assert fragment in result['msg']


def test_v75_payload_helper_really_lacks_fields():
    data = v75_payloads()
    assert 'anomalies' not in data['risk_snapshot.json']
    assert 'mismatch_breakdown' not in data['diagnostics.json']['runtime_diagnostics']['exit_pipeline']
