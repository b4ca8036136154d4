# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_json
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import (
    fallback_get_path,
    first_present,
    get_path,
    load_json,
)

DOC = {
    'nav': 0, 'nav_usd': 12.5, 'empty': {}, 'none': None, 'flag': False, 'items': [],
    'router_health': {'global': {'quality_score': 0.8}},
    'runtime_diagnostics': {'exit_pipeline': {'last_exit_scan_ts': 5}},
    'factor_weights': {'weights': {'a': 1}},
    'odd key': {'x': 1},
}

EXPRS = [
    ('nav', 0),
    ('nav || nav_usd', 0),                 # 0 is true in JMESPath
    ('nav_total || nav_usd', 12.5),
    ('none || nav_usd', 12.5),
    ('flag || nav_usd', 12.5),             # false is false
    ('empty || nav_usd', 12.5),            # {} is false
    ('items || nav_usd', 12.5),            # [] is false
    ('items', []),
    ('missing', None),
    ('missing || also_missing', None),
    ('missing || items', []),              # last alternative's value
    ('router_health.global.quality_score', 0.8),
    ('router_health.global || global || router_health_score', {'quality_score': 0.8}),
    ('runtime_diagnostics.exit_pipeline.last_exit_scan_ts', 5),
    ('weights || factor_weights.weights', {'a': 1}),
    ('nav.deeper', None),                  # through a non-dict
    ('"odd key".x', 1),
    (' nav_usd ', 12.5),
]


@pytest.fixture(params=['jmespath', 'fallback'])
def resolver(request, monkeypatch):
    if request.param == 'jmespath':
        if not hedge_json.HAS_JMESPATH:
            pytest.skip('jmespath is not installed')
    else:
        monkeypatch.setattr(hedge_json, 'HAS_JMESPATH', False)
    return request.param


@pytest.mark.parametrize('expr, expected', EXPRS)
def test_get_path(resolver, expr, expected):
    assert get_path(DOC, expr) == expected


@pytest.mark.parametrize('expr, expected', EXPRS)
def test_fallback_matches_jmespath(expr, expected):
    assert fallback_get_path(DOC, expr) == expected
    if hedge_json.HAS_JMESPATH:
        import jmespath
        assert jmespath.search(expr, DOC) == expected


@pytest.mark.parametrize('expr', ['', 'a..b', 'a ||', '|| a', 'a b', 'a-b', '1abc', 'a.', None, 5])
def test_invalid_paths(resolver, expr):
    with pytest.raises(ValueError):
        get_path(DOC, expr)


def test_fallback_used_when_jmespath_missing(monkeypatch):
    calls = []

    def boom(*args):
        calls.append(args)
        raise AssertionError('jmespath must not be used')

    monkeypatch.setattr(hedge_json, 'HAS_JMESPATH', False)
    if hedge_json.jmespath is not None:
        monkeypatch.setattr(hedge_json.jmespath, 'search', boom)
    assert get_path(DOC, 'router_health.global.quality_score || nav') == 0.8
    assert calls == []


def test_first_present(resolver):
    assert first_present(DOC, ['updated_ts', 'nav_usd', 'nav']) == ('nav_usd', 12.5)
    assert first_present(DOC, ['none', 'flag']) == ('flag', False)
    assert first_present(DOC, ['x', 'y']) == (None, None)
    assert first_present(DOC, []) == (None, None)
    assert get_path(None, 'nav') is None


@pytest.mark.parametrize('content, error', [
    (None, 'missing'),
    (b'{"a": 1', 'malformed JSON: '),
    (b'', 'malformed JSON: '),
    (b'\xff\xfe{}', 'malformed JSON: '),
    (b'[1]', 'not a JSON object'),
    (b'null', 'not a JSON object'),
    (b'{"a": 1}', None),
])
def test_load_json(tmp_path, content, error):
    path = tmp_path / 'x.json'
    if content is not None:
        path.write_bytes(content)
    data, err = load_json(str(path))
    if error is None:
        assert err is None and data == {'a': 1}
    else:
        assert data is None
        assert err == error if error in ('missing', 'not a JSON object') else err.startswith(error)
        assert '\n' not in err
