# -*- coding: utf-8 -*-
"""hedge_verify's surfaces poll ends at a conclusive failure (the early verdict, issue #20 item 4) and still
waits out its timeout for what the engine may fix. Counted in poll attempts; the module's real clock."""
from __future__ import annotations

import os
import re
import time

import pytest

from hedge_test_support import finish_module, run_verify_part, v76_payloads, wait_until_polling, write_state


def poll_state(run_module, state, **options):
    """The surfaces part, polled on the real clock (fail_fast off: the missing executor log does not cut it short)."""
    return run_verify_part(run_module, 'state', state, now=None, fail_fast=False, **options)


TRUNCATED = '{"nav": 10234.56, "nav_usd": 1023'  # a nav.json cut short


def _state(state_dir, now, nav=None, raw=None, drop=(), nav_mtime=None):
    """Fresh v7.6 surfaces written now (after the restart mark), nav.json replaced / dropped / re-dated."""
    payloads = v76_payloads(now=now)
    if nav:
        payloads['nav.json'].update(nav)
    state = write_state(state_dir(payloads=payloads, drop=drop), {}, raw=raw)
    if nav_mtime is not None:
        os.utime(state / 'nav.json', (nav_mtime, nav_mtime))
    return state


@pytest.mark.parametrize('nav, raw, mtime_after_restart, status', [
    pytest.param({'updated_ts': -3600}, None, 5, 'stale', id='stale-rewritten-after-the-restart'),
    pytest.param(None, {'nav.json': TRUNCATED}, 5, 'malformed', id='malformed-rewritten-after-the-restart'),
])
def test_a_conclusive_failure_ends_the_poll_at_once(run_module, state_dir, nav, raw, mtime_after_restart, status):
    now = time.time()
    restart = now - 10
    if nav:
        nav = {'updated_ts': now + nav['updated_ts']}
    state = _state(state_dir, now, nav=nav, raw=raw, nav_mtime=restart + mtime_after_restart)
    result = poll_state(run_module, state, timeout=60, newer_than=restart)
    fact = result['surfaces']['nav.json']
    assert fact['status'] == status, fact['reason']
    assert result['attempts'] == 1, result['msg']
    assert result['conclusive_surfaces'] == ['nav.json']
    assert result['failed_surfaces'] == ['nav.json']
    assert re.search(r', rewritten after the restart (with this timestamp|and unchanged for \d+\.\d s): not waiting '
                     r'out the timeout$', fact['reason']), fact['reason']
    assert result['msg'] == fact['reason']


def test_a_malformed_write_during_the_poll_is_judged_once_it_settles(run_module, state_dir):
    """nav.json missing at first (waited for), then written malformed while the module polls: judged once that
    write has stayed unchanged for the settle time, long before the timeout (60 s at 0.1 s: 600 attempts)."""
    now = time.time()
    state = _state(state_dir, now, drop=('nav.json',))
    proc = poll_state(run_module, state, timeout=60, newer_than=now - 10, popen=True)
    wait_until_polling(proc)  # nav.json was seen missing once
    write_state(state, {}, raw={'nav.json': TRUNCATED})
    result = finish_module(proc)['state']
    assert result['conclusive_surfaces'] == ['nav.json'], result['msg']
    assert 2 <= result['attempts'] < 100
    assert 'rewritten after the restart and unchanged for' in result['msg']


@pytest.mark.parametrize('nav, raw, drop, mtime_before_restart, status', [
    pytest.param({'updated_ts': -3600}, None, (), 30, 'stale', id='stale-written-before-the-restart'),
    pytest.param(None, {'nav.json': TRUNCATED}, (), 30, 'malformed', id='malformed-written-before-the-restart'),
    pytest.param(None, None, ('nav.json',), None, 'missing', id='missing'),
])
def test_what_the_engine_may_still_fix_is_waited_for(run_module, state_dir, nav, raw, drop, mtime_before_restart,
                                                     status):
    now = time.time()
    restart = now - 10
    if nav:
        nav = {'updated_ts': now + nav['updated_ts']}
    state = _state(state_dir, now, nav=nav, raw=raw, drop=drop,
                   nav_mtime=None if mtime_before_restart is None else restart - mtime_before_restart)
    result = poll_state(run_module, state, timeout=2, newer_than=restart)
    assert result['surfaces']['nav.json']['status'] == status
    assert result['conclusive_surfaces'] == []
    assert result['attempts'] > 2 and result['waited_s'] >= 2.0
    assert 'not waiting out the timeout' not in result['msg']
