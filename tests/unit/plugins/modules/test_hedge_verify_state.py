# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hedge_test_support import COLLECTIONS_DIR, NOW, run_verify_part, tree_snapshot, v75_payloads, v76_payloads

ALL_SURFACES = [
    'nav.json', 'nav_state.json', 'positions_state.json', 'positions_ledger.json', 'kpis_v7.json',
    'diagnostics.json', 'risk_snapshot.json', 'router_health.json', 'engine_metadata.json',
    'symbol_scores_v6.json', 'factor_diagnostics.json', 'rv_momentum.json',
]


def run_state(run_module, state, check_mode=False, extra_pythonpath=(), **args):
    """hedge_verify's surfaces check (its `state` part) of ``state``, read once."""
    return run_verify_part(run_module, 'state', state, check_mode=check_mode, extra_pythonpath=extra_pythonpath,
                           **args)


def test_fresh_v76_box_is_ok(run_module, state_dir):
    result = run_state(run_module, state_dir())
    assert result.rc == 0, result
    assert result['changed'] is False
    assert 'failed' not in result or result['failed'] is False
    assert result['ok'] is True
    assert result['failed_surfaces'] == []
    assert result['warned_surfaces'] == []
    assert sorted(result['surfaces']) == sorted(ALL_SURFACES)
    for name, fact in result['surfaces'].items():
        assert fact['status'] == 'ok', fact['reason']
        assert fact['present'] and fact['valid'] and fact['fresh'], name
    nav = result['surfaces']['nav.json']
    assert nav['timestamp'] == pytest.approx(NOW - 5)
    assert nav['age_s'] == 5.0
    assert nav['max_age'] == 120
    assert nav['reason'] == 'nav.json: ok: age 5.0 s <= 120 s (key updated_ts)'
    assert result['surfaces']['factor_diagnostics.json']['max_age'] == 900
    assert result['surfaces']['factor_diagnostics.json']['cadence'] == 'intel'
    assert result['oldest_age_s'] == 300.0
    assert result['now'] == NOW


def test_v75_shaped_box_is_ok(run_module, state_dir):
    result = run_state(run_module, state_dir(version='v7.5'))
    assert result['ok'] is True, result['msg']
    assert result['surfaces']['nav_state.json']['timestamp_key'] == 'updated_at'
    assert result['surfaces']['engine_metadata.json']['timestamp_key'] == 'started_ts'
    assert result['surfaces']['router_health.json']['status'] == 'ok'


@pytest.mark.parametrize('value, expected', [
    pytest.param(NOW - 7, NOW - 7, id='epoch-int'),
    pytest.param(NOW - 7.25, NOW - 7.25, id='epoch-float'),
    pytest.param(int((NOW - 7) * 1000), NOW - 7, id='epoch-ms-int'),
    pytest.param((NOW - 7.5) * 1000.0, NOW - 7.5, id='epoch-ms-float'),
    pytest.param('%d' % (NOW - 7), NOW - 7, id='digit-string'),
    pytest.param('%.3f' % (NOW - 7.5), NOW - 7.5, id='decimal-string'),
    pytest.param('%d' % ((NOW - 7) * 1000), NOW - 7, id='digit-string-ms'),
    pytest.param('2025-11-25T10:39:53Z', NOW - 7, id='iso-z'),
    pytest.param('2025-11-25T10:39:53.500Z', NOW - 6.5, id='iso-z-fraction'),
    pytest.param('2025-11-25T12:39:53+02:00', NOW - 7, id='iso-offset-plus'),
    pytest.param('2025-11-25T05:39:53-0500', NOW - 7, id='iso-offset-minus-compact'),
    pytest.param('2025-11-25T10:39:53.123456+00:00', NOW - 6.876544, id='iso-micro-offset'),
    pytest.param('2025-11-25T10:39:53', NOW - 7, id='iso-naive-is-utc'),
    pytest.param('2025-11-25 10:39:53', NOW - 7, id='iso-space'),
])
def test_every_timestamp_form_is_read(run_module, state_dir, value, expected):
    payloads = v76_payloads()
    payloads['nav.json']['updated_ts'] = value
    result = run_state(run_module, state_dir(payloads))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == 'ok', fact['reason']
    assert fact['timestamp'] == pytest.approx(expected, abs=0.001)
    assert fact['age_s'] == round(NOW - expected, 1)


@pytest.mark.parametrize('value', [True, False, 'garbage', '', '2025-13-01T00:00:00Z', {'ts': NOW}, [NOW], 0, -5])
def test_unreadable_timestamp_is_no_timestamp(run_module, state_dir, value):
    payloads = v76_payloads()
    payloads['nav.json']['updated_ts'] = value
    result = run_state(run_module, state_dir(payloads))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == 'no_timestamp'
    assert fact['timestamp'] is None and fact['fresh'] is False
    assert fact['timestamp_key'] == 'updated_ts'
    assert 'nav.json' in result['failed_surfaces']
    assert result['ok'] is False


def test_absent_freshness_key_is_no_timestamp(run_module, state_dir):
    payloads = v76_payloads()
    payloads['nav_state.json'].pop('updated_ts')
    result = run_state(run_module, state_dir(payloads))
    fact = result['surfaces']['nav_state.json']
    assert fact['status'] == 'no_timestamp'
    assert fact['reason'] == 'nav_state.json: no_timestamp: none of updated_ts, updated_at present'


def test_stale_surface_fails_with_reason(run_module, state_dir):
    payloads = v76_payloads()
    payloads['nav.json']['updated_ts'] = NOW - 3600.2
    result = run_state(run_module, state_dir(payloads))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == 'stale'
    assert fact['fresh'] is False
    assert fact['reason'] == 'nav.json: stale: age 3600.2 s > 120 s (key updated_ts)'
    assert result['failed_surfaces'] == ['nav.json']
    assert result['ok'] is False
    assert result['oldest_age_s'] == 3600.2
    assert result.rc == 0
    assert result.get('failed', False) is False


@pytest.mark.parametrize('age, max_age, status', [
    (119.9, 120, 'ok'), (120.4, 120, 'stale'), (100, 60, 'stale'), (100, 300, 'ok'),
])
def test_max_age_limit(run_module, state_dir, age, max_age, status):
    payloads = v76_payloads()
    payloads['risk_snapshot.json']['updated_ts'] = NOW - age
    result = run_state(run_module, state_dir(payloads), max_age=max_age)
    assert result['surfaces']['risk_snapshot.json']['status'] == status


@pytest.mark.parametrize('age, intel_max_age, status', [(600, 900, 'ok'), (1000, 900, 'stale'), (1000, 1800, 'ok')])
def test_intel_surfaces_use_their_own_limit(run_module, state_dir, age, intel_max_age, status):
    result = run_state(run_module, state_dir(intel_age=age), intel_max_age=intel_max_age)
    assert result['surfaces']['symbol_scores_v6.json']['status'] == status
    assert result['surfaces']['factor_diagnostics.json']['status'] == status
    assert result['surfaces']['nav.json']['status'] == 'ok'


def test_newer_than_marks_loop_surfaces_not_updated(run_module, state_dir):
    payloads = v76_payloads()
    restart = NOW - 30
    payloads['nav.json']['updated_ts'] = restart - 10            # written before the restart
    payloads['risk_snapshot.json']['updated_ts'] = restart - 0.5  # within the 1 s tolerance
    payloads['engine_metadata.json']['updated_ts'] = restart + 20
    result = run_state(run_module, state_dir(payloads), newer_than=restart)
    nav = result['surfaces']['nav.json']
    assert nav['status'] == 'not_updated'
    assert nav['fresh'] is False
    assert nav['reason'].startswith('nav.json: not_updated: ')
    assert result['surfaces']['risk_snapshot.json']['status'] == 'ok'
    assert result['surfaces']['engine_metadata.json']['status'] == 'ok'
    # intel surfaces are not held to newer_than
    assert result['surfaces']['symbol_scores_v6.json']['status'] == 'ok'
    assert result['failed_surfaces'] == ['nav.json']


@pytest.mark.parametrize('text, detail', [
    ('{"nav": 1, "updated_ts": ', 'malformed JSON: '),
    ('', 'malformed JSON: '),
    ('[1, 2, 3]', 'not a JSON object'),
    ('"just a string"', 'not a JSON object'),
])
def test_malformed_surface(run_module, state_dir, text, detail):
    result = run_state(run_module, state_dir(raw={'nav.json': text}))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == 'malformed'
    assert fact['present'] is True and fact['valid'] is False
    assert fact['reason'].startswith('nav.json: malformed: ' + detail)
    assert '\n' not in fact['reason']
    assert result['failed_surfaces'] == ['nav.json']


def test_missing_required_surface_fails(run_module, state_dir):
    result = run_state(run_module, state_dir(drop=('router_health.json',)))
    fact = result['surfaces']['router_health.json']
    assert fact['status'] == 'missing' and fact['present'] is False
    assert result['failed_surfaces'] == ['router_health.json']
    assert result['ok'] is False


def test_missing_optional_surface_only_warns(run_module, state_dir):
    result = run_state(run_module, state_dir(drop=('rv_momentum.json',)))
    assert result['surfaces']['rv_momentum.json']['status'] == 'missing'
    assert result['surfaces']['rv_momentum.json']['required'] is False
    assert result['warned_surfaces'] == ['rv_momentum.json']
    assert result['failed_surfaces'] == []
    assert result['ok'] is True


@pytest.mark.parametrize('nav_payload, status', [
    ({'nav_usd': 1000.0, 'updated_ts': NOW - 1}, 'ok'),
    ({'nav': 0, 'updated_ts': NOW - 1}, 'ok'),
    ({'updated_ts': NOW - 1}, 'missing_keys'),
    ({'nav': None, 'updated_ts': NOW - 1}, 'missing_keys'),
])
def test_required_keys(run_module, state_dir, nav_payload, status):
    payloads = v76_payloads()
    payloads['nav.json'] = nav_payload
    result = run_state(run_module, state_dir(payloads))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == status, fact['reason']
    if status == 'missing_keys':
        assert fact['missing_keys'] == ['nav || nav_usd']
        assert fact['fresh'] is True  # the timestamp itself is fine


def test_v75_factor_weights_mirror_satisfies_required_key(run_module, state_dir):
    payloads = v76_payloads()
    del payloads['factor_diagnostics.json']['weights']
    result = run_state(run_module, state_dir(payloads))
    assert result['surfaces']['factor_diagnostics.json']['status'] == 'ok'
    del payloads['factor_diagnostics.json']['factor_weights']
    result = run_state(run_module, state_dir(payloads))
    assert result['surfaces']['factor_diagnostics.json']['status'] == 'missing_keys'


def test_partial_surface_override(run_module, state_dir):
    payloads = v76_payloads()
    payloads['nav_state.json']['updated_ts'] = NOW - 200
    result = run_state(run_module, state_dir(payloads, drop=('symbol_scores_v6.json',)), surfaces=[
        {'name': 'nav_state.json', 'max_age': 300},
        {'name': 'symbol_scores_v6.json', 'required': False},
        {'name': 'rv_momentum.json', 'enabled': False},
        {'name': 'extra.json', 'keys': ['meta.ts'], 'cadence': 'intel', 'required': False},
    ])
    assert result.rc == 0, result
    surfaces = result['surfaces']
    assert surfaces['nav_state.json']['status'] == 'ok'
    assert surfaces['nav_state.json']['max_age'] == 300
    # the rest of the default entry is kept
    assert surfaces['nav_state.json']['cadence'] == 'loop'
    assert surfaces['symbol_scores_v6.json']['required'] is False
    assert 'rv_momentum.json' not in surfaces
    assert surfaces['extra.json']['status'] == 'missing'
    assert len(surfaces) == len(ALL_SURFACES)  # -1 removed, +1 added
    assert result['warned_surfaces'] == ['symbol_scores_v6.json', 'extra.json']
    assert result['ok'] is True


def test_replace_surfaces_checks_only_the_listed_ones(run_module, state_dir):
    result = run_state(run_module, state_dir(), replace_surfaces=True,
                       surfaces=[{'name': 'nav.json'}, {'name': 'diagnostics.json'}])
    assert sorted(result['surfaces']) == ['diagnostics.json', 'nav.json']
    assert result['surfaces']['diagnostics.json']['timestamp_key'] == \
        'runtime_diagnostics.exit_pipeline.last_exit_scan_ts'


@pytest.mark.parametrize('args, fragment', [
    ({'surfaces': [{'name': 'nav.json', 'keys': ['updated ts']}]}, 'invalid key path'),
    ({'surfaces': [{'name': 'nav.json', 'cadence': 'hourly'}]}, 'cadence'),
    ({'surfaces': [{'keys': ['a']}]}, 'name'),
    ({'max_age': 0}, 'max_age'),
    ({'replace_surfaces': True}, 'replace_surfaces'),
])
def test_invalid_parameters_fail(run_module, state_dir, args, fragment):
    result = run_state(run_module, state_dir(), **args)
    assert result.get('failed') is True
    assert fragment in result['msg']
    assert '\n' not in result['msg']


def test_missing_state_dir_reports_every_surface_missing(run_module, tmp_path):
    result = run_state(run_module, tmp_path / 'nope')
    assert result.rc == 0
    assert result.get('failed', False) is False
    assert set(result['failed_surfaces']) == set(ALL_SURFACES) - {'rv_momentum.json'}
    assert result['warned_surfaces'] == ['rv_momentum.json']
    assert 'does not exist' in json.dumps(result.get('warnings'))


@pytest.mark.parametrize('check_mode', [False, True])
def test_state_dir_is_not_modified(run_module, state_dir, check_mode):
    state = state_dir(raw={'broken.json': '{'})
    os.utime(state / 'nav.json', ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    before = tree_snapshot(state)
    result = run_state(run_module, state, check_mode=check_mode,
                       surfaces=[{'name': 'broken.json', 'keys': ['updated_ts']}], newer_than=NOW - 60)
    assert result.rc == 0
    assert result['surfaces']['broken.json']['status'] == 'malformed'
    assert tree_snapshot(state) == before


def test_stdlib_only_target_without_jmespath(run_module, state_dir, no_jmespath_path):
    # the hidden-jmespath dir really makes the module_utils use the fallback resolver
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(no_jmespath_path), str(COLLECTIONS_DIR)]))
    probe = subprocess.run(
        [sys.executable, '-c', 'from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_json;'
                               'print(hedge_json.HAS_JMESPATH)'], env=env, capture_output=True, text=True, check=False)
    assert probe.stdout.strip() == 'False', probe.stderr
    payloads = v76_payloads()
    payloads['nav.json'] = {'nav_usd': 5.0, 'updated_ts': NOW - 3600.2}
    payloads['router_health.json'] = v75_payloads()['router_health.json']
    state = state_dir(payloads)
    with_lib = run_state(run_module, state)
    without_lib = run_state(run_module, state, extra_pythonpath=[no_jmespath_path])
    assert without_lib.rc == 0, without_lib.stderr
    assert without_lib['surfaces'] == with_lib['surfaces']
    assert without_lib['surfaces']['nav.json']['status'] == 'stale'
    assert without_lib['surfaces']['router_health.json']['status'] == 'ok'


def test_result_is_json_serializable_summary(run_module, state_dir):
    result = run_state(run_module, state_dir(drop=('nav.json',)))
    assert result['msg'] == 'nav.json: missing: %s does not exist' % result['surfaces']['nav.json']['path']
    json.dumps(dict(result))
