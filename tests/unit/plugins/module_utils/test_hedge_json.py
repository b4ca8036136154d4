# -*- coding: utf-8 -*-
from __future__ import annotations

import json

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


# ------------------------------------------------------------------ hostile files and numbers (issue #16)

def _fifo(path):
    import os
    os.mkfifo(str(path))


def _socket(path):
    import socket
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


@pytest.mark.parametrize('make, error', [
    pytest.param(_fifo, 'not a regular file (a named pipe (FIFO))', id='fifo'),
    pytest.param(lambda p: p.mkdir(), 'not a regular file (a directory)', id='directory'),
    pytest.param(_socket, 'not a regular file (a socket)', id='socket'),
    pytest.param(lambda p: p.symlink_to('/dev/null'), 'not a regular file (a character device)', id='device-symlink'),
])
def test_only_regular_files_are_opened(tmp_path, make, error):
    """Refused from the stat, without opening (opening a FIFO with no writer blocks forever)."""
    path = tmp_path / 'nav.json'
    keep = make(path)
    try:
        assert load_json(str(path)) == (None, error)
        assert hedge_json.load_json_checked(str(path)) == (None, error, [])
    finally:
        if keep is not None:
            keep.close()


@pytest.mark.parametrize('size, max_bytes, error', [
    pytest.param(100, 100, None, id='at-the-cap'),
    pytest.param(101, 100, 'too large: 101 bytes, more than max_bytes 100', id='one-byte-over'),
    pytest.param(hedge_json.DEFAULT_MAX_BYTES + 1, hedge_json.DEFAULT_MAX_BYTES,
                 'too large: 8388609 bytes, more than max_bytes 8388608', id='default-cap'),
])
def test_size_cap(tmp_path, size, max_bytes, error):
    path = tmp_path / 'nav.json'
    body = b'{"nav": 1, "pad": "'
    path.write_bytes(body + b'x' * (size - len(body) - 2) + b'"}')
    assert path.stat().st_size == size
    data, err = load_json(str(path), max_bytes=max_bytes)
    assert err == error
    assert (data is None) is (error is not None)


@pytest.mark.parametrize('value, problem', [
    (float('nan'), 'NaN is not a finite number'),
    (float('inf'), 'Infinity is not a finite number'),
    (float('-inf'), '-Infinity is not a finite number'),
    (int('9' * 400), 'a 400-digit integer is out of range'),
    (-int('9' * 309), 'a 309-digit integer is out of range'),
    (int('9' * 300), None),
    (1e308, None),
    (0, None),
    (True, None),
    ('NaN', None),
    (None, None),
])
def test_number_problem(value, problem):
    assert hedge_json.number_problem(value) == problem


@pytest.mark.parametrize('text, invalid', [
    pytest.param('{"nav": NaN, "updated_ts": 1}', [(('nav',), 'NaN is not a finite number')], id='nan'),
    pytest.param('{"a": {"b": [1, Infinity]}}', [(('a', 'b', 1), 'Infinity is not a finite number')], id='nested'),
    pytest.param('{"ts": %s}' % ('9' * 400), [(('ts',), 'a 400-digit integer is out of range')], id='huge-int'),
    pytest.param('{"x": [{"y": -Infinity}]}', [(('x', 0, 'y'), '-Infinity is not a finite number')], id='list'),
    pytest.param('{"nav": 1.5}', [], id='clean'),
])
def test_unusable_numbers_are_scrubbed_and_named(tmp_path, text, invalid):
    path = tmp_path / 's.json'
    path.write_text(text)
    data, error, found = hedge_json.load_json_checked(str(path))
    assert error is None
    assert found == invalid
    for segments, _problem in found:
        value = data
        for key in segments:
            value = value[key]
        assert value is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize('segments, text', [
    (('a', 'b', 1, 'c'), 'a.b[1].c'),
    (('nav',), 'nav'),
])
def test_format_path(segments, text):
    assert hedge_json.format_path(segments) == text


def test_too_many_digits_is_malformed(tmp_path):
    """Beyond Python's digit limit for int() the parser refuses the text: malformed, not a crash."""
    path = tmp_path / 's.json'
    path.write_text('{"ts": %s}' % ('9' * 5000))
    data, error = load_json(str(path))
    assert data is None and error.startswith('malformed JSON: ')
