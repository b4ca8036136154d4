# -*- coding: utf-8 -*-
from __future__ import annotations

import time

import pytest

from hedge_test_support import finish_module, wait_until_polling

BOOT_76 = '2025-11-25 10:50:01,120 INFO executor: Engine version: v7.6 (commit 3f1c2a9)'
BOOT_75 = '2025-11-25 09:00:00,001 INFO executor: Engine version: v7.5 (commit 1a2b3c4)'
PUBLISH = '2025-11-25 10:50:03,500 INFO state_publish: wrote 12 surfaces in 41 ms'
PUBLISH_ERR = '2025-11-25 10:50:05,001 ERROR state_publish: failed to write nav_state.json: [Errno 28] No space left'
OLD_RUN = [BOOT_75, PUBLISH, PUBLISH, '2025-11-25 09:10:00,000 INFO executor: loop 1200 done']


def write_log(path, lines):
    path.write_text(''.join(line + '\n' for line in lines))
    return path


def run_scan(run_module, path, **args):
    args.setdefault('timeout', 0)
    args.setdefault('poll_interval', 0.05)
    return run_module('hedge_logscan', dict(path=str(path), **args))


def test_boot_line_and_publishing_after_restart(run_module, tmp_path):
    out = write_log(tmp_path / 'hedge-executor.out.log', OLD_RUN)
    offset = out.stat().st_size
    with out.open('a') as handle:
        handle.write('\n'.join([BOOT_76, PUBLISH, PUBLISH, PUBLISH]) + '\n')
    err = write_log(tmp_path / 'hedge-executor.err.log', ['WARNING: config key max_nav_jump_pct is deprecated'])
    result = run_scan(run_module, out, err_path=str(err), offset=offset, expected_version='v7.6', timeout=5)
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result['present'] is True and result['err_present'] is True
    assert result['boot_line_found'] is True
    assert result['boot_line'] == BOOT_76
    assert result['other_boot_versions'] == []
    assert result['publish_count'] == 3
    assert result['publish_error_count'] == 0
    assert result['publish_ok'] is True
    assert result['error_count'] == 0
    assert result['warning_count'] == 1
    assert result['rotated'] is False
    assert result['out_size'] == out.stat().st_size
    assert result['err_size'] == err.stat().st_size
    assert result['waited_s'] < 4


def test_boot_line_absent_waits_until_timeout(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [PUBLISH, PUBLISH])
    started = time.time()
    result = run_scan(run_module, out, expected_version='v7.6', timeout=1, poll_interval=0.2)
    assert result['boot_line_found'] is False
    assert result['boot_line'] is None
    assert result['waited_s'] >= 1.0
    assert time.time() - started >= 1.0
    assert result['publish_count'] == 2
    assert result.get('failed', False) is False


def test_wrong_version_booted(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_75, PUBLISH])
    result = run_scan(run_module, out, expected_version='v7.6')
    assert result['boot_line_found'] is False
    assert result['other_boot_versions'] == ['v7.5']


@pytest.mark.parametrize('line, found', [
    ('Engine version: v7.6', True),
    ('ENGINE VERSION v7.6 starting', True),
    ('executor started, engine_version=7.6 pid=4242', True),
    ('Engine version: v7.6.', True),
    ('Engine version: V7.6 (build 88)', True),
    ('Engine version: v7.60', False),
    ('Engine version: v7.6.1', False),
    ('Engine version: v7.6-rc1', False),
    ('Engine version: v17.6', False),
    ('Engine started: v7.6', False),
    ('loaded v7.6 strategy, config version 3', False),
])
def test_boot_line_matching(run_module, tmp_path, line, found):
    out = write_log(tmp_path / 'out.log', ['2025-11-25 10:50:01 INFO ' + line, PUBLISH])
    result = run_scan(run_module, out, expected_version='v7.6')
    assert result['boot_line_found'] is found
    if found:
        assert result['other_boot_versions'] == []


def test_v760_is_another_version(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', ['INFO Engine version: v7.60', PUBLISH])
    result = run_scan(run_module, out, expected_version='v7.6')
    assert result['boot_line_found'] is False
    assert result['other_boot_versions'] == ['v7.60']


def test_custom_boot_pattern_with_placeholder(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', ['*** GPT-Hedge 7.6 online ***', 'GPT-Hedge 7.60 online', PUBLISH])
    result = run_scan(run_module, out, expected_version='v7.6', boot_pattern=r'GPT-Hedge {version} online')
    assert result['boot_line_found'] is True
    assert result['boot_line'] == '*** GPT-Hedge 7.6 online ***'


def test_last_boot_line_counts_for_publishing(run_module, tmp_path):
    lines = [BOOT_76, PUBLISH_ERR, PUBLISH_ERR, PUBLISH_ERR, BOOT_76, PUBLISH, PUBLISH]
    result = run_scan(run_module, write_log(tmp_path / 'out.log', lines), expected_version='v7.6')
    assert result['publish_count'] == 2
    assert result['publish_error_count'] == 0  # errors of the crashed first start are before the last boot
    assert result['publish_ok'] is True


@pytest.mark.parametrize('errors, limit, ok', [(0, 1, True), (1, 1, True), (2, 1, False), (3, 5, True)])
def test_repeated_publish_errors(run_module, tmp_path, errors, limit, ok):
    lines = [BOOT_76, PUBLISH] + [PUBLISH_ERR] * errors + [PUBLISH]
    result = run_scan(run_module, write_log(tmp_path / 'out.log', lines), expected_version='v7.6',
                      publish_error_limit=limit)
    assert result['publish_error_count'] == errors
    assert result['publish_count'] == 2
    assert result['publish_ok'] is ok
    assert result['publish_error_lines'] == [PUBLISH_ERR] * errors
    # without err_path the error lines are searched in the out log
    assert result['error_count'] == errors


def test_publish_errors_in_err_log(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH])
    err = write_log(tmp_path / 'err.log', [PUBLISH_ERR, 'Traceback (most recent call last):',
                                           '  File "executor.py", line 1, in publish',
                                           'OSError: [Errno 28] No space left on device', PUBLISH_ERR])
    result = run_scan(run_module, out, err_path=str(err), expected_version='v7.6')
    assert result['publish_error_count'] == 2
    assert result['publish_ok'] is False
    assert result['error_count'] == 4
    assert result['error_lines'][1] == 'Traceback (most recent call last):'
    assert result['error_lines'][2] == 'OSError: [Errno 28] No space left on device'


def test_no_publish_line_is_not_ok(run_module, tmp_path):
    result = run_scan(run_module, write_log(tmp_path / 'out.log', [BOOT_76]), expected_version='v7.6',
                      timeout=1, poll_interval=0.1)
    assert result['boot_line_found'] is True
    assert result['publish_count'] == 0
    assert result['publish_ok'] is False
    assert result['waited_s'] >= 1.0


def test_require_publish_false_does_not_wait(run_module, tmp_path):
    result = run_scan(run_module, write_log(tmp_path / 'out.log', [BOOT_76]), expected_version='v7.6',
                      require_publish=False, timeout=30)
    assert result['boot_line_found'] is True
    assert result['waited_s'] < 5


@pytest.mark.parametrize('lines, errors, warnings', [
    (['WARNING low liquidity on ETHUSDT', 'WARN retrying order', 'INFO loop ok'], 0, 2),
    (['ERROR router: timeout', 'CRITICAL risk: breaker tripped', 'FATAL boom'], 3, 0),
    (['Traceback (most recent call last):', '  File "x.py", line 3', 'KeyError: \'nav\''], 2, 0),
    (['WARNING retry after error from exchange', '2025-11-25 ERROR: WARNING flag stuck'], 1, 1),
    (['state_publish ok errors=0 failures=0', 'INFO error_budget=3'], 0, 0),
    (['level=error msg="db down"', 'level=warning msg="slow"'], 1, 1),
])
def test_error_vs_warning_lines(run_module, tmp_path, lines, errors, warnings):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH])
    err = write_log(tmp_path / 'err.log', lines)
    result = run_scan(run_module, out, err_path=str(err), expected_version='v7.6')
    assert result['error_count'] == errors
    assert result['warning_count'] == warnings
    assert len(result['error_lines']) == errors


def test_err_path_same_as_path(run_module, tmp_path):
    out = write_log(tmp_path / 'combined.log', [BOOT_76, PUBLISH, 'ERROR exchange: 502'])
    result = run_scan(run_module, out, err_path=str(out), expected_version='v7.6')
    assert result['error_count'] == 1
    assert result['publish_count'] == 1


def test_error_lines_capped(run_module, tmp_path):
    err = write_log(tmp_path / 'err.log', ['ERROR number %d' % i for i in range(30)])
    result = run_scan(run_module, write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH]), err_path=str(err),
                      expected_version='v7.6', max_lines=5)
    assert result['error_count'] == 30
    assert result['error_lines'] == ['ERROR number %d' % i for i in range(5)]


def test_offset_skips_previous_run(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH, 'ERROR old problem'])
    size = out.stat().st_size
    result = run_scan(run_module, out, offset=size, expected_version='v7.6')
    assert result['boot_line_found'] is False
    assert result['error_count'] == 0
    assert result['rotated'] is False


def test_rotated_log_is_read_from_start(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH])
    err = write_log(tmp_path / 'err.log', ['ERROR after rotation'])
    result = run_scan(run_module, out, err_path=str(err), offset=10 ** 6, err_offset=10 ** 6,
                      expected_version='v7.6')
    assert result['rotated'] is True
    assert result['out_rotated'] is True and result['err_rotated'] is True
    assert result['boot_line_found'] is True
    assert result['error_count'] == 1


def test_missing_log_is_a_fact(run_module, tmp_path):
    result = run_scan(run_module, tmp_path / 'nope.log', err_path=str(tmp_path / 'nope.err'),
                      expected_version='v7.6', timeout=0)
    assert result.rc == 0
    assert result.get('failed', False) is False
    assert result['present'] is False
    assert result['err_present'] is False
    assert result['out_size'] == 0
    assert result['boot_line_found'] is False


def test_record_offsets_without_err_path_and_null_offsets(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH])
    marks = run_scan(run_module, out, record_offsets=True)
    assert marks['err_size'] == 0 and marks['err_present'] is None
    # roles pass recorded values through; an explicit null offset is read as 0
    result = run_scan(run_module, out, offset=None, err_offset=None, expected_version='v7.6')
    assert result.rc == 0, result
    assert result['boot_line_found'] is True


def test_record_offsets_only(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_75, PUBLISH])
    before = time.time()
    result = run_scan(run_module, out, err_path=str(tmp_path / 'missing.err'), record_offsets=True,
                      expected_version='v7.6', timeout=60)
    assert result['out_size'] == out.stat().st_size
    assert result['err_size'] == 0
    assert result['present'] is True and result['err_present'] is False
    assert before - 1 <= result['now'] <= time.time() + 1
    assert 'boot_line_found' not in result
    assert 'error_count' not in result


def test_waits_for_lines_written_after_start(tmp_path, run_module):
    out = write_log(tmp_path / 'out.log', OLD_RUN)
    offset = out.stat().st_size
    proc = run_module('hedge_logscan', dict(path=str(out), offset=offset, expected_version='v7.6', timeout=20,
                                            poll_interval=0.1), popen=True)
    wait_until_polling(proc)
    time.sleep(0.2)  # the engine boots a moment later
    with out.open('a') as handle:
        handle.write(BOOT_76 + '\n')
        handle.flush()
        time.sleep(0.5)
        handle.write(PUBLISH)  # partial line first
        handle.flush()
        time.sleep(0.3)
        handle.write('\n')
    result = finish_module(proc)
    assert result['boot_line_found'] is True
    assert result['publish_count'] == 1
    # The publish line was complete 1.0 s after the module was already polling.
    assert 0.9 <= result['waited_s'] < 15
    assert result['other_boot_versions'] == []


def test_without_expected_version_any_boot_line(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_75, PUBLISH, BOOT_76, PUBLISH])
    result = run_scan(run_module, out, timeout=30)
    assert result['boot_line_found'] is True
    assert result['boot_line'] == BOOT_76
    assert result['other_boot_versions'] == ['v7.5']
    assert result['waited_s'] < 5


@pytest.mark.parametrize('args, fragment', [
    ({'error_pattern': '(unclosed'}, 'error_pattern'),
    ({'boot_pattern': '(bad {version}', 'expected_version': 'v7.6'}, 'boot_pattern'),
    ({'boot_version_pattern': 'version v\\d+'}, 'capture group'),
    ({'offset': -1}, 'offset'),
    ({'expected_version': '  '}, 'expected_version'),
])
def test_invalid_parameters(run_module, tmp_path, args, fragment):
    result = run_scan(run_module, write_log(tmp_path / 'out.log', [BOOT_76]), **args)
    assert result['failed'] is True
    assert fragment in result['msg']


def test_log_is_not_modified(run_module, tmp_path):
    out = write_log(tmp_path / 'out.log', [BOOT_76, PUBLISH, 'ERROR x'])
    before = (out.stat().st_mtime_ns, out.read_bytes())
    run_scan(run_module, out, expected_version='v7.6')
    assert (out.stat().st_mtime_ns, out.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.log']
