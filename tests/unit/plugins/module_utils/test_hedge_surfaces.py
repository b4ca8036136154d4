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
