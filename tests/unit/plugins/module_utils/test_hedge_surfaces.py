# -*- coding: utf-8 -*-
from __future__ import annotations

import json

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_json
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import (
    DEFAULT_SURFACES,
    evaluate_surfaces,
    merge_surfaces,
)

from hedge_test_support import NOW, v75_payloads, v76_payloads, write_state


def test_default_table_matches_contract():
    table = dict((s['name'], s) for s in DEFAULT_SURFACES)
    assert len(table) == 12
    assert table['nav_state.json']['keys'] == ['updated_ts', 'updated_at']
    assert table['engine_metadata.json']['keys'] == ['updated_ts']
    assert table['engine_metadata.json']['start_keys'] == ['started_ts']
    assert table['diagnostics.json']['keys'] == ['runtime_diagnostics.exit_pipeline.last_exit_scan_ts']
    assert [n for n, s in table.items() if s['cadence'] == 'intel'] == \
        ['symbol_scores_v6.json', 'factor_diagnostics.json', 'rv_momentum.json']
    assert [n for n, s in table.items() if not s['required']] == ['rv_momentum.json']
    assert table['router_health.json']['required_keys'] == ['router_health.global || global || router_health_score']


def test_merge_does_not_mutate_defaults():
    before = json.dumps(DEFAULT_SURFACES, sort_keys=True)
    merged = merge_surfaces([{'name': 'nav.json', 'keys': ['ts'], 'required': None}])
    assert json.dumps(DEFAULT_SURFACES, sort_keys=True) == before
    nav = [s for s in merged if s['name'] == 'nav.json'][0]
    assert nav['keys'] == ['ts'] and nav['required'] is True and nav['path'] == 'nav.json'


@pytest.mark.parametrize('entry, fragment', [
    ({'name': 'a.json', 'bogus': 1}, 'unknown field'),
    ({'name': 'a.json', 'cadence': 'daily'}, 'cadence'),
    ({'name': 'a.json', 'keys': 'a..b'}, 'invalid key path'),
    ({'name': 'a.json', 'max_age': 'soon'}, 'max_age'),
    ('nav.json', 'must be a dict'),
])
def test_merge_rejects_invalid(entry, fragment):
    with pytest.raises(ValueError, match=fragment):
        merge_surfaces([entry])


@pytest.mark.parametrize('use_jmespath', [True, False])
@pytest.mark.parametrize('make', [v76_payloads, v75_payloads])
def test_evaluate_in_process_with_and_without_jmespath(tmp_path, monkeypatch, use_jmespath, make):
    if not use_jmespath:
        monkeypatch.setattr(hedge_json, 'HAS_JMESPATH', False)
    elif not hedge_json.HAS_JMESPATH:
        pytest.skip('jmespath is not installed')
    payloads = make()
    payloads['nav.json']['updated_ts'] = NOW - 500
    write_state(tmp_path, payloads, drop=('rv_momentum.json',))
    result = evaluate_surfaces(str(tmp_path), merge_surfaces(None), 120, 900, now=NOW)
    assert result['failed_surfaces'] == ['nav.json']
    assert result['warned_surfaces'] == ['rv_momentum.json']
    assert result['surfaces']['nav.json']['reason'] == 'nav.json: stale: age 500.0 s > 120 s (key updated_ts)'
    assert result['ok'] is False
    assert result['oldest_age_s'] == 500.0


# ------------------------------------------------------------------ start time, future, invalid values (issue #16)

def _engine_metadata_fact(tmp_path, meta, started_after=None, newer_than=None):
    payloads = v76_payloads()
    payloads['engine_metadata.json'] = meta
    result = evaluate_surfaces(str(write_state(tmp_path, payloads)), merge_surfaces(None), 120, 900,
                               newer_than=newer_than, started_after=started_after, now=NOW)
    return result['surfaces']['engine_metadata.json']


@pytest.mark.parametrize('meta, started_after, status, kind', [
    pytest.param({'version': 'v7.5', 'started_ts': NOW - 180}, None, 'ok', 'start', id='up-3-min'),
    pytest.param({'version': 'v7.5', 'started_ts': NOW - 86400}, None, 'ok', 'start', id='up-a-day'),
    pytest.param({'version': 'v7.5', 'started_ts': NOW - 180}, NOW - 60, 'not_updated', 'start',
                 id='started-before-the-restart'),
    pytest.param({'version': 'v7.5', 'started_ts': NOW - 30}, NOW - 60, 'ok', 'start', id='started-after-the-restart'),
    pytest.param({'version': 'v7.5', 'started_ts': NOW + 3600}, None, 'future', 'start', id='start-in-the-future'),
    pytest.param({'engine_version': 'v7.6', 'updated_ts': NOW - 180, 'started_ts': NOW - 5}, None, 'stale', 'write',
                 id='write-time-wins'),
])
def test_engine_metadata_start_time(tmp_path, meta, started_after, status, kind):
    fact = _engine_metadata_fact(tmp_path, meta, started_after)
    assert (fact['status'], fact['timestamp_kind']) == (status, kind), fact['reason']


def test_newer_than_does_not_apply_to_a_start_time(tmp_path):
    """newer_than (writes since the run began) is for write times; a start time is bounded by started_after only."""
    fact = _engine_metadata_fact(tmp_path, {'version': 'v7.5', 'started_ts': NOW - 180}, newer_than=NOW - 10)
    assert fact['status'] == 'ok', fact['reason']


@pytest.mark.parametrize('key, value, status, reason', [
    ('updated_ts', NOW + 7198.3, 'future', 'nav.json: future: written in the future: 7198.3 s ahead of the box '
                                           'clock (skew allowance 30 s) (key updated_ts)'),
    ('updated_ts', float('nan'), 'invalid_value', 'nav.json: invalid_value: updated_ts: NaN is not a finite number'),
    ('nav', float('-inf'), 'invalid_value', 'nav.json: invalid_value: nav: -Infinity is not a finite number'),
    ('updated_ts', int('9' * 400), 'invalid_value',
     'nav.json: invalid_value: updated_ts: a 400-digit integer is out of range'),
    ('comment', float('nan'), 'ok', None),
])
def test_nav_json_hostile_values(tmp_path, key, value, status, reason):
    payloads = v76_payloads()
    payloads['nav.json'][key] = value
    result = evaluate_surfaces(str(write_state(tmp_path, payloads)), merge_surfaces(None), 120, 900, now=NOW)
    fact = result['surfaces']['nav.json']
    assert fact['status'] == status, fact['reason']
    if reason:
        assert fact['reason'] == reason
    else:
        assert fact['invalid_values'] == ['comment: NaN is not a finite number']


def test_start_keys_option_is_validated():
    with pytest.raises(ValueError, match='start_keys'):
        merge_surfaces([{'name': 'engine_metadata.json', 'start_keys': ['a..b']}])
