#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_bake
short_description: Watch a verified GPT-Hedge release for a bake window, re-checking the box at an interval
description:
  - After the verification of a release, re-checks the box every O(interval) seconds until O(window) seconds have
    passed (the last check at the end of the window) and returns the timeline of the checks (RV(timeline)).
  - "Each check, named as the gates that report it: C(error_log) (no error line among the executor's log lines
    written since the last check), C(state_publish) (C(state_publish) lines since the last check, no more errors
    than O(logs.publish_error_limit)), C(surfaces_fresh) (every required surface present, valid and fresh),
    C(engine_version) (C(engine_metadata) still reports O(expected_version)), C(dashboard_healthz) (the health URL
    answers 200), C(runtime_sanity) (the dashboard's sanity thresholds) and C(incidents) (no incident hook of
    severity V(fail) fired)."
  - Uses the same readers as M(gpt_hedge.activation.hedge_verify) and M(gpt_hedge.activation.hedge_incidents)
    (module_utils C(hedge_logs), C(hedge_surfaces), C(hedge_runtime_facts), C(hedge_hooks)).
  - Stops at the first check with a failure (RV(failed_check)), so that a rollback does not wait out the window.
  - The module only reads. It never writes to the state dir or the logs, returns facts and does not decide gates;
    C(changed) is always false and it fails only on invalid parameters. A role asserts on RV(gates).
  - Meant to run as an async task polled every O(interval) seconds (one progress line per poll).
version_added: 0.4.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  state_dir:
    description: The engine's state dir, for example C(/root/hedge-fund/logs/state).
    type: path
    required: true
  expected_version:
    description: Version C(engine_metadata) must keep reporting, for example V(v7.6).
    type: str
    required: true
  window:
    description: Seconds to watch; the last check runs when they have passed.
    type: int
    required: true
  interval:
    description: Seconds between two checks (the first check runs one interval after the start).
    type: float
    default: 15
  logs:
    description: The executor's logs, scanned from the given offsets on (the end of the verification's scan).
    type: dict
    required: true
    suboptions:
      path:
        description: The executor out log.
        type: path
        required: true
      err_path:
        description: The executor err log (error lines are searched in it; in O(logs.path) when not given).
        type: path
      offset:
        description: Byte offset in O(logs.path) where the first check starts reading. Not given or null means the end.
        type: int
      err_offset:
        description: Byte offset in O(logs.err_path) where the first check starts reading. Not given or null means the end.
        type: int
      publish_error_limit:
        description: More C(state_publish) errors than this within one check is a repeated error.
        type: int
        default: 1
      error_pattern:
        description: Regular expression of error lines (default as in M(gpt_hedge.activation.hedge_logscan)).
        type: str
      warning_pattern:
        description: Regular expression of warning lines (default as in M(gpt_hedge.activation.hedge_logscan)).
        type: str
      publish_pattern:
        description: Regular expression of publish lines.
        type: str
        default: state_publish
      publish_error_pattern:
        description: Regular expression of failed publish lines (default as in M(gpt_hedge.activation.hedge_logscan)).
        type: str
      max_lines:
        description: Maximum number of error lines kept per check.
        type: int
        default: 5
  surfaces:
    description: The freshness limits of the C(surfaces_fresh) check (the built-in surface table of the contract).
    type: dict
    default: {}
    suboptions:
      max_age:
        description: Maximum age in seconds of per-loop surfaces.
        type: int
        default: 120
      intel_max_age:
        description: Maximum age in seconds of per-intel-run surfaces.
        type: int
        default: 900
  runtime:
    description: The dashboard's sanity thresholds of the C(runtime_sanity) check.
    type: dict
    default: {}
    suboptions:
      exit_coverage_min:
        description: Minimum TP/SL exit coverage as a fraction; a value above 1 is read as a percentage.
        type: float
        default: 0.9
      router_quality_min:
        description: Minimum router global quality score.
        type: float
        default: 0.5
      max_underwater_without_tp_sl:
        description: Maximum number of underwater positions without TP/SL.
        type: int
        default: 0
      fatal:
        description: A breached threshold fails the check (else it is reported in the timeline only).
        type: bool
        default: true
  healthz:
    description: The dashboard health URL, asked once per check.
    type: dict
    required: true
    suboptions:
      url:
        description: The health URL as seen from the box, for example C(http://127.0.0.1:8050/healthz).
        type: str
        required: true
      request_timeout:
        description: Seconds one request may take.
        type: float
        default: 5
      validate_certs:
        description: Validate the certificate of an C(https) URL.
        type: bool
        default: true
  incidents:
    description: The incident hooks of the C(incidents) check, as M(gpt_hedge.activation.hedge_incidents) evaluates them.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Evaluate the hooks; V(false) leaves the check out.
        type: bool
        default: true
      severity:
        description: Severity per hook (V(warn) or V(fail)), merged over the defaults of the module; only V(fail) fails.
        type: dict
        default: {}
      exit_coverage_min:
        description: Minimum TP/SL exit coverage of the V(exit_coverage) hook.
        type: float
        default: 0.9
      router_quality_min:
        description: Minimum router global quality of the V(router) hook.
        type: float
        default: 0.5
      max_underwater_without_tp_sl:
        description: Underwater positions without TP/SL tolerated by the V(exit_coverage) hook.
        type: int
        default: 0
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
  - gpt_hedge.activation.state_read
notes:
  - A check runs every part, in the order of the gates, so that the timeline shows everything that failed at that
    moment; RV(gates) names, per check, the first moment it failed.
seealso:
  - module: gpt_hedge.activation.hedge_verify
  - module: gpt_hedge.activation.hedge_incidents
'''

EXAMPLES = r'''
- name: Bake v7.6 for 300 s, re-checking every 15 s (one progress line per check)
  gpt_hedge.activation.hedge_bake:
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.6
    window: 300
    interval: 15
    logs:
      path: /var/log/hedge-executor.out.log
      err_path: /var/log/hedge-executor.err.log
      offset: "{{ verify_facts.logs.out_size }}"
      err_offset: "{{ verify_facts.logs.err_size }}"
    healthz:
      url: http://127.0.0.1:8050/healthz
  register: bake
  async: 345
  poll: 15

- name: Assert that every check of the window passed
  ansible.builtin.assert:
    that: bake.failed_check is none
    fail_msg: "{{ bake.msg }}"
'''

RETURN = r'''
timeline:
  description:
    - One entry per check done, in order, each C({n, at, offset_s, remaining_s, ok, failed, problems, line}); C(at) is
      the box's UTC time (ISO-8601), C(offset_s) the seconds since the start of the window, C(remaining_s) the seconds
      of the window left, C(failed) the names of the checks that failed, C(problems) the reason per check name that
      failed or warned (a breach of a non-fatal threshold), C(line) the entry in one line.
  returned: always
  type: list
  elements: dict
  sample:
    - n: 1
      at: "2025-11-25T10:51:15Z"
      offset_s: 15.0
      remaining_s: 285.0
      ok: true
      failed: []
      problems: {}
      line: "check 1/20 at +15.0 s (285.0 s left): ok"
gates:
  description:
    - Per check name (C(error_log), C(state_publish), C(surfaces_fresh), C(engine_version), C(dashboard_healthz),
      C(runtime_sanity), C(incidents)), C({ok, reason, check, offset_s, at}); for a failed one the first check that
      failed it and its reason, else a summary of the window. C(ok) is null for a check left out.
  returned: always
  type: dict
failed_check:
  description:
    - The first check with a failure, null when every check passed; a timeline entry whose C(checks) gives every check
      name's C({ok, reason}) (C(ok) null for a check left out).
  returned: always
  type: dict
first_failure:
  description: The first failed check name of RV(failed_check) (in gate order), null when none failed.
  returned: always
  type: str
started_at:
  description: Box UTC time the window started (ISO-8601).
  returned: always
  type: str
finished_at:
  description: Box UTC time the last check ended (ISO-8601).
  returned: always
  type: str
window_s:
  description: The window asked for, in seconds.
  returned: always
  type: int
interval_s:
  description: The interval asked for, in seconds.
  returned: always
  type: float
checks_planned:
  description: Number of checks of a whole window.
  returned: always
  type: int
duration_s:
  description: Seconds from the start of the window to the end of the last check done.
  returned: always
  type: float
out_size:
  description: Size of the out log at the last check (where a later scan would start).
  returned: always
  type: int
err_size:
  description: Size of the err log at the last check.
  returned: always
  type: int
msg:
  description: One line summary.
  returned: always
  type: str
'''

import datetime
import math
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_hooks import (
    evaluate,
    validate_severity,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_http import check_http_options, http_get
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import READ_OPTIONS, check_read_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import (
    SCAN_OPTIONS,
    check_scan_options,
    scan_logs,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import evaluate_runtime
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import evaluate_surfaces

# In the order of the gates (roles/bake).
CHECKS = ('error_log', 'state_publish', 'surfaces_fresh', 'engine_version', 'dashboard_healthz', 'runtime_sanity',
          'incidents')
LOG_OPTIONS = ('path', 'err_path', 'offset', 'err_offset', 'error_pattern', 'warning_pattern', 'publish_pattern',
               'publish_error_pattern', 'publish_error_limit')

ARGUMENT_SPEC = dict(
    READ_OPTIONS,
    state_dir=dict(type='path', required=True),
    expected_version=dict(type='str', required=True),
    window=dict(type='int', required=True),
    interval=dict(type='float', default=15),
    logs=dict(type='dict', required=True, options=dict(
        dict((name, SCAN_OPTIONS[name]) for name in LOG_OPTIONS),
        max_lines=dict(type='int', default=5),
    )),
    surfaces=dict(type='dict', default={}, options=dict(
        max_age=dict(type='int', default=120),
        intel_max_age=dict(type='int', default=900),
    )),
    runtime=dict(type='dict', default={}, options=dict(
        exit_coverage_min=dict(type='float', default=0.9),
        router_quality_min=dict(type='float', default=0.5),
        max_underwater_without_tp_sl=dict(type='int', default=0),
        fatal=dict(type='bool', default=True),
    )),
    healthz=dict(type='dict', required=True, options=dict(
        url=dict(type='str', required=True),
        request_timeout=dict(type='float', default=5),
        validate_certs=dict(type='bool', default=True),
    )),
    incidents=dict(type='dict', default={}, options=dict(
        enabled=dict(type='bool', default=True),
        severity=dict(type='dict', default={}),
        exit_coverage_min=dict(type='float', default=0.9),
        router_quality_min=dict(type='float', default=0.5),
        max_underwater_without_tp_sl=dict(type='int', default=0),
    )),
)


def check_params(module):
    """fail_json on invalid parameters, with one line naming the option."""
    p = module.params
    fail = module.fail_json
    if not p['expected_version'].strip():
        fail(msg='expected_version must not be empty')
    if p['window'] < 1:
        fail(msg='window must be at least 1 second, got %s' % p['window'])
    if not p['interval'] > 0 or p['interval'] > p['window']:
        fail(msg='interval must be positive and at most the window (%s s), got %s' % (p['window'], p['interval']))
    error = check_read_options(p['max_skew'], p['max_bytes'])
    if error:
        fail(msg=error)
    error = check_scan_options(p['logs'], prefix='logs.', null_offsets=None)
    if error:
        fail(msg=error)
    if p['surfaces']['max_age'] <= 0 or p['surfaces']['intel_max_age'] <= 0:
        fail(msg='surfaces.max_age and surfaces.intel_max_age must be positive')
    for part in ('runtime', 'incidents'):
        if not 0 <= p[part]['exit_coverage_min'] <= 100:
            fail(msg='%s.exit_coverage_min must be a fraction 0..1 or a percentage 0..100' % part)
        if p[part]['max_underwater_without_tp_sl'] < 0:
            fail(msg='%s.max_underwater_without_tp_sl must not be negative' % part)
    severity = dict((k, v.strip().lower() if isinstance(v, str) else v)
                    for k, v in (p['incidents']['severity'] or {}).items())
    error = validate_severity(severity)
    if error:
        fail(msg='incidents.' + error)
    p['incidents']['severity'] = severity
    error = check_http_options(p['healthz'])
    if error:
        fail(msg=error)


def file_size(path):
    try:
        return os.stat(path).st_size if path else 0
    except OSError:
        return 0


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def part(ok, reason):
    return {'ok': ok, 'reason': ' '.join(str(reason).split())}


def check_logs(logs, offsets):
    """error_log and state_publish over the lines written since `offsets` (out, err); returns the parts and the
    offsets of the next check."""
    scan = scan_logs(logs['path'], err_path=logs['err_path'], offset=offsets[0], err_offset=offsets[1],
                     timeout=0, publish_error_limit=logs['publish_error_limit'], max_lines=logs['max_lines'],
                     error_pattern=logs['error_pattern'], warning_pattern=logs['warning_pattern'],
                     publish_pattern=logs['publish_pattern'], publish_error_pattern=logs['publish_error_pattern'])
    where = logs['err_path'] or logs['path']
    if scan['error_count']:
        error_log = part(False, '%d new error line(s) in %s, first: %s'
                         % (scan['error_count'], where, (scan['error_lines'] or [''])[0]))
    else:
        error_log = part(True, 'no new error lines (%d warning(s))' % scan['warning_count'])
    words = '%d state_publish line(s), %d error(s)' % (scan['publish_count'], scan['publish_error_count'])
    if scan['publish_ok']:
        publish = part(True, words)
    elif not scan['publish_count'] and not scan['publish_error_count']:
        publish = part(False, 'no state_publish line since the last check')
    else:
        publish = part(False, '%s (limit %d): %s' % (words, logs['publish_error_limit'],
                                                     (scan['publish_error_lines'] or [''])[0]))
    return {'error_log': error_log, 'state_publish': publish}, (scan['out_size'], scan['err_size'])


def check_box(p, now, read):
    """The parts of one check that read the state dir and the dashboard."""
    state_dir = p['state_dir']
    surfaces = evaluate_surfaces(state_dir, None, p['surfaces']['max_age'], p['surfaces']['intel_max_age'], now=now,
                                 **read)
    if surfaces['ok']:
        fresh = part(True, '%d surfaces, oldest %s s' % (len(surfaces['surfaces']), surfaces['oldest_age_s']))
    else:
        fresh = part(False, '; '.join(surfaces['surfaces'][name]['reason'] for name in surfaces['failed_surfaces']))
    rt = p['runtime']
    runtime = evaluate_runtime(state_dir, expected_version=p['expected_version'],
                               exit_coverage_min=rt['exit_coverage_min'], router_quality_min=rt['router_quality_min'],
                               max_underwater_without_tp_sl=rt['max_underwater_without_tp_sl'], now=now, **read)
    engine = runtime['checks']['engine_version']
    breached = [name for name in runtime['failed_checks'] if name != 'engine_version']
    if not breached:
        sanity = part(True, 'sanity thresholds hold')
    else:
        reasons = '; '.join(runtime['checks'][name]['reason'] for name in breached)
        sanity = part(False, reasons) if rt['fatal'] else part(True, 'WARNING: ' + reasons)
    status, _content, msg = http_get(p['healthz']['url'], timeout=p['healthz']['request_timeout'],
                                     validate_certs=p['healthz']['validate_certs'])
    healthz = part(status == 200, 'GET %s -> %s %s' % (p['healthz']['url'], status, msg or ''))
    inc = p['incidents']
    if inc['enabled']:
        hooks = evaluate(state_dir, exit_coverage_min=inc['exit_coverage_min'],
                         router_quality_min=inc['router_quality_min'],
                         max_underwater_without_tp_sl=inc['max_underwater_without_tp_sl'],
                         severity=inc['severity'], now=now, max_age=p['surfaces']['max_age'],
                         intel_max_age=p['surfaces']['intel_max_age'], **read)
        failed = hooks['failed_hooks']
        incidents = part(not failed, '; '.join(f['title'] for f in failed) if failed else hooks['msg'])
    else:
        incidents = part(None, 'not checked (incidents.enabled false)')
    return {'surfaces_fresh': fresh, 'engine_version': part(engine['ok'] is True, engine['reason']),
            'dashboard_healthz': healthz, 'runtime_sanity': sanity, 'incidents': incidents}


def compact(entry, planned):
    """A timeline entry as recorded: the reasons of the checks that failed or warned only, and one line."""
    problems = dict((name, entry['checks'][name]['reason']) for name in CHECKS
                    if entry['checks'][name]['ok'] is False or entry['checks'][name]['reason'].startswith('WARNING'))
    words = ('FAILED ' + ', '.join(entry['failed'])) if entry['failed'] else (
        'ok' + ((' (WARNING: %s)' % ', '.join(problems)) if problems else ''))
    line = 'check %d/%d at +%s s (%s s left): %s' % (entry['n'], planned, entry['offset_s'], entry['remaining_s'], words)
    return {'n': entry['n'], 'at': entry['at'], 'offset_s': entry['offset_s'], 'remaining_s': entry['remaining_s'],
            'ok': entry['ok'], 'failed': entry['failed'], 'problems': problems, 'line': line}


def gates_of(timeline, window, interval):
    """Per check name: the first check that failed it, else a summary of the window."""
    gates = {}
    for name in CHECKS:
        failing = next((entry for entry in timeline if entry['checks'][name]['ok'] is False), None)
        last = timeline[-1] if timeline else None
        if failing is not None:
            gates[name] = {'ok': False, 'reason': failing['checks'][name]['reason'], 'check': failing['n'],
                           'offset_s': failing['offset_s'], 'at': failing['at']}
        elif last is None or last['checks'][name]['ok'] is None:
            gates[name] = {'ok': None, 'reason': last['checks'][name]['reason'] if last else 'no check ran',
                           'check': None, 'offset_s': None, 'at': None}
        else:
            warnings = sum(1 for entry in timeline if entry['checks'][name]['reason'].startswith('WARNING'))
            reason = '%d check(s) over %d s, every %s s; last: %s' % (
                len(timeline), window, ('%g' % interval), last['checks'][name]['reason'])
            if warnings:
                reason += ' (%d check(s) with a WARNING)' % warnings
            gates[name] = {'ok': True, 'reason': reason, 'check': last['n'], 'offset_s': last['offset_s'],
                           'at': last['at']}
    return gates


def bake(p, clock=time.time, sleep=time.sleep):
    """Run the checks of the window; stop after the first check with a failure."""
    logs = p['logs']
    offsets = (file_size(logs['path']) if logs['offset'] is None else logs['offset'],
               file_size(logs['err_path']) if logs['err_offset'] is None else logs['err_offset'])
    read = dict(max_skew=p['max_skew'], max_bytes=p['max_bytes'])
    window, interval = p['window'], p['interval']
    planned = int(math.ceil(window / interval - 1e-9))
    started = clock()
    timeline = []
    for n in range(1, planned + 1):
        due = started + min(n * interval, window)
        if due > clock():
            sleep(due - clock())
        now = clock()
        parts, offsets = check_logs(logs, offsets)
        parts.update(check_box(p, now, read))
        failed = [name for name in CHECKS if parts[name]['ok'] is False]
        offset_s = round(now - started, 1)
        timeline.append({'n': n, 'at': iso(now), 'offset_s': offset_s,
                         'remaining_s': round(max(window - offset_s, 0), 1), 'ok': not failed, 'failed': failed,
                         'checks': parts})
        if failed:
            break
    finished = clock()
    failed_check = next((entry for entry in timeline if not entry['ok']), None)
    result = {
        'timeline': [compact(entry, planned) for entry in timeline],
        'gates': gates_of(timeline, window, interval),
        'failed_check': failed_check,
        'first_failure': failed_check['failed'][0] if failed_check else None,
        'started_at': iso(started),
        'finished_at': iso(finished),
        'window_s': window,
        'interval_s': int(interval) if interval == int(interval) else interval,
        'checks_planned': planned,
        'duration_s': round(finished - started, 1),
        'out_size': offsets[0],
        'err_size': offsets[1],
    }
    if failed_check:
        result['msg'] = 'bake of %s failed at check %d of %d (+%s s of %d s): %s' % (
            p['expected_version'], failed_check['n'], planned, failed_check['offset_s'], window,
            '; '.join('%s: %s' % (name, failed_check['checks'][name]['reason']) for name in failed_check['failed']))
    else:
        result['msg'] = 'bake of %s passed: %d check(s) over %d s, every %g s' % (
            p['expected_version'], len(timeline), window, interval)
    return result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    check_params(module)
    if not os.path.isdir(module.params['state_dir']):
        # a missing state dir is a fact: every surface is reported missing
        module.warn('state_dir %s does not exist or is not a directory' % module.params['state_dir'])
    module.exit_json(changed=False, **bake(module.params))


if __name__ == '__main__':
    main()
