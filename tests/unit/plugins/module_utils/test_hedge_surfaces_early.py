# -*- coding: utf-8 -*-
"""The early verdict of the surfaces check (issue #20 item 4): a failure whose evidence is conclusive
ends the poll without waiting out its timeout; anything the engine may still fix is waited for."""
from __future__ import annotations

import os

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import (
    evaluate_surfaces,
    merge_surfaces,
)

from hedge_test_support import NOW, v76_payloads, write_state

RESTART = NOW - 20  # the restart mark (newer_than)
SETTLE = 0.5  # one poll interval of the role (verify_poll_interval)
TRUNCATED = '{"nav": 10234.56, "nav_usd": 1023'  # a nav.json cut short


def _stale_nav(payloads):
    payloads['nav.json']['updated_ts'] = NOW - 3600
    return payloads


def _state(tmp_path, mutate, raw, drop, nav_mtime):
    """A v7.6 state dir written after the restart (NOW - 5), nav.json last written at ``nav_mtime``."""
    state = write_state(tmp_path / 'state', mutate(v76_payloads()), drop=drop, raw=raw)
    for path in state.iterdir():
        os.utime(path, (NOW - 5, NOW - 5))
    if nav_mtime is not None:
        os.utime(state / 'nav.json', (nav_mtime, nav_mtime))
    return state


def _evaluate(state, newer_than=RESTART, settle=SETTLE, now=NOW):
    return evaluate_surfaces(str(state), merge_surfaces(None), 120, 900, newer_than=newer_than, now=now,
                             settle=settle)


def _keep(payloads):
    return payloads


@pytest.mark.parametrize('mutate, raw, drop, nav_mtime, status, conclusive, why', [
    pytest.param(_stale_nav, None, (), NOW - 3, 'stale', True,
                 'nav.json: stale: age 3600.0 s > 120 s (key updated_ts), rewritten after the restart with this '
                 'timestamp: not waiting out the timeout', id='stale-rewritten-after-the-restart'),
    pytest.param(_keep, {'nav.json': TRUNCATED}, (), NOW - 3, 'malformed', True,
                 'rewritten after the restart and unchanged for 3.0 s: not waiting out the timeout',
                 id='malformed-rewritten-after-the-restart'),
    pytest.param(_keep, {'nav.json': '[1, 2]'}, (), NOW - 1, 'malformed', True,
                 'nav.json: malformed: not a JSON object, rewritten after the restart and unchanged for 1.0 s',
                 id='not-an-object-rewritten-after-the-restart'),
    pytest.param(_stale_nav, None, (), RESTART - 30, 'stale', False, 'nav.json: stale: age 3600.0 s > 120 s',
                 id='stale-written-before-the-restart'),
    pytest.param(_keep, {'nav.json': TRUNCATED}, (), RESTART - 30, 'malformed', False, 'nav.json: malformed: ',
                 id='malformed-written-before-the-restart'),
    pytest.param(_keep, {'nav.json': TRUNCATED}, (), NOW - 0.2, 'malformed', False, 'nav.json: malformed: ',
                 id='malformed-while-being-written'),
    pytest.param(_keep, None, ('nav.json',), None, 'missing', False, 'nav.json: missing: ', id='missing'),
])
def test_early_verdict(tmp_path, mutate, raw, drop, nav_mtime, status, conclusive, why):
    result = _evaluate(_state(tmp_path, mutate, raw, drop, nav_mtime))
    fact = result['surfaces']['nav.json']
    assert fact['status'] == status, fact['reason']
    assert fact['conclusive'] is conclusive
    assert result['failed_surfaces'] == ['nav.json']
    assert result['conclusive_surfaces'] == (['nav.json'] if conclusive else [])
    assert why in fact['reason']
    assert ('not waiting out the timeout' in fact['reason']) is conclusive


def test_no_restart_in_this_run_is_never_judged_early(tmp_path):
    """Without newer_than (no restart mark) a stale write may be the old release's: waited for."""
    result = _evaluate(_state(tmp_path, _stale_nav, None, (), NOW - 3), newer_than=None)
    assert result['surfaces']['nav.json']['status'] == 'stale'
    assert result['conclusive_surfaces'] == []


def test_a_partial_write_that_completes_passes(tmp_path):
    """A non-atomic writer caught mid-write: malformed but still changing (not judged), then valid and fresh."""
    state = _state(tmp_path, _keep, {'nav.json': TRUNCATED}, (), NOW - 0.1)
    first = _evaluate(state)
    assert first['surfaces']['nav.json']['status'] == 'malformed'
    assert first['conclusive_surfaces'] == []
    # the writer finishes its write: the next poll (one interval later) reads it valid
    write_state(state, {'nav.json': v76_payloads()['nav.json']})
    os.utime(state / 'nav.json', (NOW + 0.4, NOW + 0.4))
    second = _evaluate(state, now=NOW + SETTLE)
    assert second['ok'] is True, second['failed_surfaces']
    assert second['conclusive_surfaces'] == []


def test_an_optional_surface_is_not_a_conclusive_failure(tmp_path):
    """rv_momentum.json is optional: even rewritten stale after the restart it only warns."""
    def stale_rv(payloads):
        payloads['rv_momentum.json']['updated_ts'] = NOW - 3600
        return payloads

    result = _evaluate(_state(tmp_path, stale_rv, None, (), None))
    assert result['ok'] is True
    assert result['warned_surfaces'] == ['rv_momentum.json']
    assert result['surfaces']['rv_momentum.json']['conclusive'] is True
    assert result['conclusive_surfaces'] == []
