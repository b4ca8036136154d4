# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import (
    age_seconds,
    future_problem,
    parse_timestamp,
)

T = 1764067193.0  # 2025-11-25T10:39:53Z


@pytest.mark.parametrize('value, expected', [
    (T, T),
    (int(T), T),
    (T * 1000, T),
    (int(T * 1000), T),
    (T + 0.25, T + 0.25),
    ('%d' % T, T),
    (' %d ' % T, T),
    ('%.2f' % (T + 0.5), T + 0.5),
    ('%d' % (T * 1000), T),
    ('%d.5' % (T * 1000), T + 0.0005),
    (b'%d' % T, T),
    ('2025-11-25T10:39:53Z', T),
    ('2025-11-25T10:39:53z', T),
    ('2025-11-25T10:39:53.25Z', T + 0.25),
    ('2025-11-25T10:39:53.123456789Z', T + 0.123456789),
    ('2025-11-25T10:39:53+00:00', T),
    ('2025-11-25T11:39:53+01:00', T),
    ('2025-11-25T16:09:53+05:30', T),
    ('2025-11-25T05:39:53-05:00', T),
    ('2025-11-25T05:39:53-0500', T),
    ('2025-11-25T05:39:53-05', T),
    ('2025-11-25T10:39:53', T),
    ('2025-11-25 10:39:53', T),
    ('2025-11-25T10:39:53 UTC', T),
    ('2025-11-25T10:39', T - 53),
    ('2025-11-25', T - (10 * 3600 + 39 * 60 + 53)),
    (1e12 + 1, (1e12 + 1) / 1000.0),
    (1e12, 1e12),  # exactly 1e12 is not "above", read as seconds
])
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize('value', [
    None, True, False, '', '   ', 'garbage', 'now', '12abc', '2025-13-01T00:00:00Z', '2025-02-30T00:00:00Z',
    '2025-11-25T25:00:00Z', '2025-11-25T10:39:53+25:00', float('nan'), float('inf'), 0, -1, '-5', {}, [],
    {'ts': T}, [T], object(), b'\xff\xfe',
])
def test_parse_timestamp_garbage(value):
    assert parse_timestamp(value) is None


def test_age_seconds():
    assert age_seconds(T, T + 12.5) == 12.5
    assert age_seconds(T + 3, T) == -3.0
    assert age_seconds(None, T) is None
    assert age_seconds(T, None) is None


@pytest.mark.parametrize('value', [int('9' * 400), '9' * 400, float('nan'), float('inf')])
def test_unusable_numbers_are_no_timestamp(value):
    assert parse_timestamp(value) is None


@pytest.mark.parametrize('ts, now, max_skew, problem', [
    (T + 7198.3, T, 30, 'written in the future: 7198.3 s ahead of the box clock (skew allowance 30 s)'),
    (T + 30, T, 30, None),
    (T + 30.5, T, 30, 'written in the future: 30.5 s ahead of the box clock (skew allowance 30 s)'),
    (T + 5, T, 0, 'written in the future: 5.0 s ahead of the box clock (skew allowance 0 s)'),
    (T - 3600, T, 30, None),
    (None, T, 30, None),
])
def test_future_problem(ts, now, max_skew, problem):
    assert future_problem(ts, now, max_skew) == problem
