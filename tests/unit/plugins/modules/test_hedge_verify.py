# -*- coding: utf-8 -*-
from __future__ import annotations

import http.server
import json
import os
import socket
import sys
import threading
import time

import pytest

from hedge_test_support import NOW, finish_module, tree_snapshot, v75_payloads, v76_payloads, wait_until_polling, write_state

BOOT_75 = '2025-11-25 09:00:00,001 INFO executor: Engine version: v7.5 (commit 1a2b3c4)'
BOOT_76 = '2025-11-25 10:50:01,120 INFO executor: Engine version: v7.6 (commit 3f1c2a9)'
PUBLISH = '2025-11-25 10:50:03,500 INFO state_publish: wrote 12 surfaces in 41 ms'
PUBLISH_ERR = '2025-11-25 10:50:05,001 ERROR state_publish: failed to write nav_state.json: [Errno 28] No space left'
OLD_RUN = [BOOT_75, PUBLISH, PUBLISH, '2025-11-25 09:10:00,000 INFO executor: loop 1200 done']
HEALTHZ_BODY = '{"status": "ok", "engine_version": "v7.6", "nav_age_s": 4.2}'

SANITY_SCRIPT = '''\
"""Runtime sanity check (unit test stand-in): reads the state dir, prints the runbook summary."""
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--state-dir", required=True)
args = parser.parse_args()
print("cwd=%s" % os.getcwd())
print("state_dir=%s" % args.state_dir)
with open(os.path.join(args.state_dir, "nav_state.json")) as fh:
    nav = json.load(fh)
print("NAV State        : %s" % nav.get("nav_total"))
coverage = json.load(open(os.path.join(args.state_dir, "diagnostics.json")))[
    "runtime_diagnostics"]["exit_pipeline"]["tp_sl_coverage_pct"]
print("Exit Coverage    : %.1f %%" % (coverage * 100))
if coverage < 0.9:
    print("FAIL  exit coverage %.2f < 0.90" % coverage, file=sys.stderr)
    print("RESULT: FAIL (1 of 2 checks)", file=sys.stderr)
    sys.exit(1)
print("RESULT: PASS (2 checks)")
'''
SANITY_NAME = 'scripts/runtime_sanity_check_v7_6.py'


# ------------------------------------------------------------------ fixtures and helpers

class Healthz(object):
    """A local dashboard: answers GET /healthz with ``statuses`` in turn (the last one repeats)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with owner.lock:
                    status = owner.statuses[min(owner.requests, len(owner.statuses) - 1)]
                    owner.requests += 1
                body = (HEALTHZ_BODY if status == 200 else '{"status": "starting"}').encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/healthz' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def healthz(monkeypatch):
    """healthz(*statuses) -> a running local dashboard (default: always 200)."""
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    servers = []

    def start(*statuses):
        servers.append(Healthz(statuses or (200,)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def free_port_url():
    """A URL on a port nothing listens on (connection refused: the dashboard is down)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%d/healthz' % port


def write_log(path, lines):
    path.write_text(''.join(line + '\n' for line in lines))
    return path


class Box(object):
    """A box layout under tmp_path: checkout with logs/state, executor logs, sanity script."""

    def __init__(self, root, payloads, out_lines, err_lines=(), sanity=SANITY_SCRIPT, mtime=None):
        self.checkout = root / 'hedge-fund'
        self.state = write_state(self.checkout / 'logs' / 'state', payloads)
        for path in self.state.iterdir() if mtime is not None else ():
            os.utime(path, (mtime, mtime))  # the files' last write, e.g. before the restart mark
        self.out = root / 'log' / 'hedge-executor.out.log'
        self.err = root / 'log' / 'hedge-executor.err.log'
        self.out.parent.mkdir(parents=True)
        write_log(self.out, OLD_RUN)
        self.offset = self.out.stat().st_size
        with self.out.open('a') as handle:
            handle.write(''.join(line + '\n' for line in out_lines))
        write_log(self.err, list(err_lines))
        if sanity is not None:
            script = self.checkout / SANITY_NAME
            script.parent.mkdir(parents=True)
            script.write_text(sanity)


@pytest.fixture
def box(tmp_path):
    """box(payloads=None, out_lines=(BOOT_76, PUBLISH, PUBLISH), err_lines=(), sanity=SANITY_SCRIPT, mtime=None)
    -> Box; ``mtime``: the state files' mtime (default: written now)."""
    counter = {'n': 0}

    def make(payloads=None, out_lines=(BOOT_76, PUBLISH, PUBLISH), err_lines=(), sanity=SANITY_SCRIPT, mtime=None):
        counter['n'] += 1
        return Box(tmp_path / ('box%d' % counter['n']), v76_payloads() if payloads is None else payloads,
                   out_lines, err_lines, sanity, mtime)

    return make


def run_verify(run_module, the_box, url, version='v7.6', check_mode=False, run_sanity=True, popen=False, **args):
    """hedge_verify with the role's shape of arguments and short timeouts; ``args`` override per part."""
    params = dict(
        state_dir=str(the_box.state),
        expected_version=version,
        poll_interval=0.2,
        now=NOW,
        logs=dict(path=str(the_box.out), err_path=str(the_box.err), offset=the_box.offset, err_offset=0,
                  timeout=0, poll_interval=0.05),
        state=dict(timeout=0, newer_than=NOW - 60),
        runtime=dict(),
        healthz=dict(url=url, timeout=0, request_timeout=2),
        sanity=dict(enabled=run_sanity, script=SANITY_NAME, python=sys.executable, chdir=str(the_box.checkout)),
    )
    for key, value in args.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key] = dict(params[key], **value)
        else:
            params[key] = value
    return run_module('hedge_verify', params, check_mode=check_mode, popen=popen)


# ------------------------------------------------------------------ success

@pytest.mark.parametrize('check_mode', [False, True])
def test_healthy_v76_box_every_part(run_module, box, healthz, check_mode):
    the_box = box(err_lines=['WARNING: config key max_nav_jump_pct is deprecated'])
    dashboard = healthz(200)
    before = tree_snapshot(the_box.state, the_box.out.parent)
    result = run_verify(run_module, the_box, dashboard.url, check_mode=check_mode)
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result.get('failed', False) is False
    assert result['first_failure'] is None

    logs = result['logs']
    assert logs['boot_line_found'] is True
    assert logs['boot_line'] == BOOT_76
    assert logs['other_boot_versions'] == []
    assert (logs['error_count'], logs['warning_count']) == (0, 1)
    assert (logs['publish_count'], logs['publish_error_count'], logs['publish_ok']) == (2, 0, True)

    state = result['state']
    assert state['ok'] is True
    assert state['failed_surfaces'] == [] and state['warned_surfaces'] == []
    assert len(state['surfaces']) == 12
    assert state['oldest_age_s'] == 300.0
    assert state['attempts'] == 1
    assert state['msg'] == 'all 11 required surfaces ok'

    runtime = result['runtime']
    assert runtime['checks']['engine_version']['ok'] is True
    assert runtime['runtime']['engine_version'] == 'v7.6'
    assert runtime['failed_checks'] == [] and runtime['unchecked'] == []

    assert result['healthz']['status'] == 200
    assert json.loads(result['healthz']['content'])['status'] == 'ok'
    assert result['healthz']['msg'] == 'OK (%d bytes)' % len(HEALTHZ_BODY)
    assert dashboard.requests == 1

    sanity = result['sanity']
    assert sanity['exists'] is True
    assert sanity['path'] == str(the_box.checkout / SANITY_NAME)
    assert sanity['cmd'] == [sys.executable, SANITY_NAME, '--state-dir', str(the_box.state)]
    # check mode runs the read-only script too, as hedge_release_check does at preflight
    assert (sanity['ran'], sanity['rc'], sanity['last_line']) == (True, 0, 'RESULT: PASS (2 checks)')
    assert 'cwd=%s' % the_box.checkout in sanity['output_tail']
    assert 'state_dir=%s' % the_box.state in sanity['output_tail']
    assert tree_snapshot(the_box.state, the_box.out.parent) == before


def test_v75_rollback_target_without_sanity_script(run_module, box, healthz):
    the_box = box(v75_payloads(), out_lines=[BOOT_75, PUBLISH], sanity=None)
    result = run_verify(run_module, the_box, healthz(200).url, version='v7.5')
    assert result['first_failure'] is None, result['msg']
    assert result['logs']['boot_line'] == BOOT_75
    assert result['state']['ok'] is True
    assert result['runtime']['runtime']['engine_version'] == 'v7.5'
    assert result['runtime']['unchecked'] == ['nav_jump', 'dd_flap']
    assert result['healthz']['status'] == 200
    sanity = result['sanity']
    assert (sanity['exists'], sanity['ran'], sanity['rc']) == (False, False, None)
    assert sanity['last_line'] == '%s is missing' % SANITY_NAME


def test_sanity_disabled_for_the_image_path(run_module, box, healthz):
    result = run_verify(run_module, box(), healthz(200).url, run_sanity=False)
    assert result['first_failure'] is None
    assert result['sanity'] == {'enabled': False, 'path': None, 'exists': None, 'ran': False, 'rc': None,
                                'last_line': 'not enabled', 'output_tail': [], 'cmd': [], 'duration_s': 0.0}


# ------------------------------------------------------------------ failing parts

def _stale_nav():
    payloads = v76_payloads()
    payloads['nav.json']['updated_ts'] = NOW - 3600.2
    return payloads


def _wrong_engine():
    payloads = v76_payloads()
    payloads['engine_metadata.json'] = {'engine_version': 'v7.5', 'updated_ts': NOW - 2}
    return payloads


def _low_coverage():
    payloads = v76_payloads()
    payloads['diagnostics.json']['runtime_diagnostics']['exit_pipeline']['tp_sl_coverage_pct'] = 0.5
    return payloads


@pytest.mark.parametrize('payloads, out_lines, err_lines, first_failure, check', [
    pytest.param(None, [PUBLISH, PUBLISH], [], 'logs: no boot line of v7.6',
                 lambda r: r['logs']['boot_line_found'] is False and r['logs']['other_boot_versions'] == [],
                 id='no-boot-line'),
    pytest.param(None, [BOOT_75, PUBLISH], [], 'logs: no boot line of v7.6',
                 lambda r: r['logs']['other_boot_versions'] == ['v7.5'], id='other-version-booted'),
    pytest.param(None, [BOOT_76, PUBLISH], ['Traceback (most recent call last):', 'KeyError: \'nav\''],
                 'logs: 2 error line(s)',
                 lambda r: r['logs']['error_lines'] == ['Traceback (most recent call last):', 'KeyError: \'nav\''],
                 id='error-lines'),
    pytest.param(None, [BOOT_76, PUBLISH, PUBLISH_ERR, PUBLISH_ERR], [],
                 'logs: 1 state_publish line(s), 2 error(s)',
                 lambda r: r['logs']['publish_ok'] is False and r['logs']['publish_error_count'] == 2,
                 id='repeated-publish-errors'),
    pytest.param(_stale_nav(), [BOOT_76, PUBLISH], [],
                 'state: nav.json not ok (nav.json: stale: age 3600.2 s > 120 s (key updated_ts))',
                 lambda r: r['state']['failed_surfaces'] == ['nav.json'] and r['state']['oldest_age_s'] == 3600.2,
                 id='stale-surface'),
    pytest.param(_wrong_engine(), [BOOT_76, PUBLISH], [], 'runtime: engine_version: ',
                 lambda r: r['runtime']['checks']['engine_version']['ok'] is False, id='wrong-engine-version'),
])
def test_failing_part_is_a_fact_and_later_parts_do_not_wait(run_module, box, healthz, payloads, out_lines,
                                                            err_lines, first_failure, check):
    # The surfaces were written before the restart mark (newer_than): no early verdict, the poll runs to its end.
    the_box = box(payloads, out_lines=out_lines, err_lines=err_lines, mtime=NOW - 120)
    dashboard = healthz(503, 200)
    before = tree_snapshot(the_box.state, the_box.out.parent)
    started = time.time()
    result = run_verify(run_module, the_box, dashboard.url, logs=dict(timeout=1),
                        state=dict(timeout=1), healthz=dict(timeout=30))
    assert time.time() - started < 15, 'a failed part must not wait out the later timeouts'
    assert result.rc == 0 and result.get('failed', False) is False
    assert result['changed'] is False
    assert result['first_failure'].startswith(first_failure), result['first_failure']
    assert result['msg'].startswith('first failure: ' + first_failure)
    assert check(result), result
    # every later part is still reported, read once
    if result['first_failure'].startswith('state:'):
        assert result['state']['attempts'] > 1 and result['state']['waited_s'] >= 1.0
    else:
        assert result['state']['attempts'] == 1
    assert result['healthz']['attempts'] == 1 and result['healthz']['status'] == 503
    assert result['sanity']['exists'] is True and result['sanity']['ran'] is False
    assert result['sanity']['last_line'].startswith('not run: an earlier part failed (')
    assert tree_snapshot(the_box.state, the_box.out.parent) == before


def test_stale_surface_is_polled_until_the_timeout(run_module, box, healthz):
    """Written before the restart mark (newer_than NOW - 60): the engine may still rewrite it, so it is waited for."""
    the_box = box(_stale_nav(), mtime=NOW - 120)
    started = time.time()
    result = run_verify(run_module, the_box, healthz(200).url, state=dict(timeout=1))
    assert time.time() - started >= 1.0
    assert result['state']['ok'] is False
    assert result['state']['attempts'] >= 4
    assert result['state']['waited_s'] >= 1.0
    assert result['state']['surfaces']['nav.json']['status'] == 'stale'
    assert result['state']['msg'] == 'nav.json: stale: age 3600.2 s > 120 s (key updated_ts)'


def test_surfaces_polled_until_fresh(run_module, box, healthz):
    """A surface written before the restart becomes fresh while polling (the real clock, no ``now``)."""
    now = time.time()
    payloads = v76_payloads(now=now)
    payloads['nav.json']['updated_ts'] = now - 30  # not updated since the restart mark
    the_box = box(payloads)
    proc = run_verify(run_module, the_box, healthz(200).url, now=None, state=dict(timeout=20, newer_than=now - 5),
                      popen=True)
    wait_until_polling(proc)  # the stale nav.json was seen once
    time.sleep(1.0)  # the engine's next loop
    write_state(the_box.state, {'nav.json': dict(payloads['nav.json'], updated_ts=time.time())})
    result = finish_module(proc)
    assert result['first_failure'] is None, result['msg']
    assert result['state']['ok'] is True
    assert 2 <= result['state']['attempts'] < 40
    assert result['state']['waited_s'] >= 0.8


def test_boot_line_waited_for(run_module, box, healthz):
    the_box = box(out_lines=[])
    proc = run_verify(run_module, the_box, healthz(200).url, logs=dict(timeout=20), popen=True)
    wait_until_polling(proc)  # no boot line yet, seen once
    time.sleep(0.6)  # the engine takes its time to boot
    with the_box.out.open('a') as handle:
        handle.write(BOOT_76 + '\n' + PUBLISH + '\n')
    result = finish_module(proc)
    assert result['logs']['boot_line_found'] is True
    assert 0.5 <= result['logs']['waited_s'] < 10
    assert result['first_failure'] is None


@pytest.mark.parametrize('statuses, timeout, status, attempts, msg', [
    pytest.param((503, 503, 200), 20, 200, 3, 'OK (', id='comes-up-while-polled'),
    pytest.param((503,), 1, 503, None, 'Status code was 503 and not [200]: HTTP Error 503: Service Unavailable',
                 id='answers-503'),
    pytest.param(None, 1, -1, None, 'Status code was -1 and not [200]: Request failed: <urlopen error',
                 id='down-connection-refused'),
])
def test_healthz_poll(run_module, box, healthz, statuses, timeout, status, attempts, msg):
    url = healthz(*statuses).url if statuses else free_port_url()
    started = time.time()
    result = run_verify(run_module, box(), url, healthz=dict(timeout=timeout))
    assert result.rc == 0 and result.get('failed', False) is False
    answer = result['healthz']
    assert answer['url'] == url
    assert answer['status'] == status
    assert answer['msg'].startswith(msg), answer['msg']
    if status == 200:
        assert answer['attempts'] == attempts
        assert json.loads(answer['content'])['engine_version'] == 'v7.6'
        assert result['first_failure'] is None
        assert result['sanity']['rc'] == 0
    else:
        assert time.time() - started >= timeout
        assert answer['attempts'] >= 3
        assert answer['waited_s'] >= timeout
        assert result['first_failure'].startswith('healthz: Status code was %d' % status)
        assert result['sanity']['ran'] is False


@pytest.mark.parametrize('script, python, rc, last_line, exists', [
    pytest.param(SANITY_SCRIPT, None, 1, 'RESULT: FAIL (1 of 2 checks)', True, id='script-fails'),
    pytest.param('import sys\nprint("RESULT: FAIL")\nraise SystemExit(3)\n', None, 3, 'RESULT: FAIL', True,
                 id='exit-3'),
    pytest.param('raise KeyError("nav_total")\n', None, 1, "KeyError: 'nav_total'", True, id='traceback'),
    pytest.param(None, None, None, '%s is missing' % SANITY_NAME, False, id='script-missing'),
    pytest.param(SANITY_SCRIPT, '/nonexistent/venv/bin/python', 127,
                 'cannot run /nonexistent/venv/bin/python: No such file or directory', True, id='interpreter-missing'),
])
def test_failing_or_missing_sanity_script(run_module, box, healthz, script, python, rc, last_line, exists):
    the_box = box(_low_coverage(), sanity=script)
    before = tree_snapshot(the_box.state, the_box.out.parent)
    args = {'sanity': {'python': python}} if python else {}
    result = run_verify(run_module, the_box, healthz(200).url, **args)
    assert result.rc == 0 and result.get('failed', False) is False
    assert result['first_failure'] is None  # the sanity gate is the role's, with its own tolerances
    sanity = result['sanity']
    assert sanity['exists'] is exists
    assert sanity['rc'] == rc
    assert last_line in sanity['last_line']
    assert result['runtime']['failed_checks'] == ['exit_coverage']
    assert tree_snapshot(the_box.state, the_box.out.parent) == before


def test_sanity_script_timeout(run_module, box, healthz):
    the_box = box(sanity='import time\nprint("checking", flush=True)\ntime.sleep(30)\n')
    started = time.time()
    result = run_verify(run_module, the_box, healthz(200).url, sanity=dict(enabled=True, timeout=1))
    assert time.time() - started < 15
    assert result['sanity']['rc'] == 124
    assert result['sanity']['last_line'] == 'killed after 1 s: checking'


def test_fail_fast_off_waits_and_runs_everything(run_module, box, healthz):
    the_box = box(out_lines=[PUBLISH])
    dashboard = healthz(503, 503, 200)
    result = run_verify(run_module, the_box, dashboard.url, fail_fast=False, healthz=dict(timeout=20))
    assert result['first_failure'] == 'logs: no boot line of v7.6'
    assert result['healthz']['status'] == 200 and result['healthz']['attempts'] == 3
    assert (result['sanity']['ran'], result['sanity']['rc']) == (True, 0)


def test_missing_state_dir_and_logs_are_facts(run_module, tmp_path, healthz):
    result = run_module('hedge_verify', dict(
        state_dir=str(tmp_path / 'nope'), expected_version='v7.6', now=NOW,
        logs=dict(path=str(tmp_path / 'nope.log'), timeout=0), state=dict(timeout=0),
        healthz=dict(url=healthz(200).url, timeout=0)))
    assert result.rc == 0 and result.get('failed', False) is False
    assert result['logs']['present'] is False
    assert result['state']['ok'] is False
    assert 'rv_momentum.json' in result['state']['warned_surfaces']
    assert 'does not exist' in json.dumps(result.get('warnings'))
    assert result['sanity']['enabled'] is False
    assert not (tmp_path / 'nope').exists()


@pytest.mark.parametrize('args, fragment', [
    ({'expected_version': ' '}, 'expected_version must not be empty'),
    ({'poll_interval': 0}, 'poll_interval must be positive'),
    ({'logs': {'timeout': -1}}, 'logs.timeout must not be negative'),
    ({'logs': {'offset': -5}}, 'logs.offset must not be negative'),
    ({'logs': {'error_pattern': '(unclosed'}}, 'logs.error_pattern is not a valid regular expression'),
    ({'logs': {'boot_version_pattern': 'version v7'}}, 'needs one capture group'),
    ({'state': {'max_age': 0}}, 'state.max_age and state.intel_max_age must be positive'),
    ({'state': {'timeout': -1}}, 'state.timeout must not be negative'),
    ({'state': {'replace_surfaces': True}}, 'state.replace_surfaces needs'),
    ({'state': {'surfaces': [{'name': 'nav.json', 'cadence': 'hourly'}]}}, 'cadence'),
    ({'runtime': {'files': {'navv': 'nav.json'}}}, 'runtime.files: unknown surface name(s) navv'),
    ({'runtime': {'exit_coverage_min': 150}}, 'runtime.exit_coverage_min'),
    ({'healthz': {'url': 'localhost:8050/healthz'}}, 'healthz.url must be an http:// or https:// URL'),
    ({'healthz': {'request_timeout': 0}}, 'healthz.request_timeout must be positive'),
    ({'sanity': {'script': None}}, 'sanity.script is required when sanity.enabled'),
    ({'sanity': {'python': ''}}, 'sanity.python is required when sanity.enabled'),
    ({'sanity': {'timeout': -1}}, 'sanity.timeout must not be negative'),
])
def test_invalid_parameters_fail(run_module, box, args, fragment):
    the_box = box()
    before = tree_snapshot(the_box.state, the_box.out.parent)
    result = run_verify(run_module, the_box, 'http://127.0.0.1:9/healthz', **args)
    assert result.get('failed') is True, result
    assert fragment in result['msg']
    assert tree_snapshot(the_box.state, the_box.out.parent) == before
