#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_verify
short_description: Collect every fact of the post-restart verification of a GPT-Hedge release in one pass
description:
  - Does in one module run, in this order, what M(gpt_hedge.activation.hedge_logscan) does, a check of every state
    surface (present, valid, required keys, age by key path; polled until ok), the runtime facts with the dashboard's
    sanity thresholds, a polled M(ansible.builtin.uri) of the dashboard health URL and the release's sanity script,
    and returns each part's facts under its own key (RV(logs), RV(state), RV(runtime), RV(healthz), RV(sanity)).
  - One module run instead of one per part and per poll attempt saves the module start-up on every step.
  - The module only reads (the sanity script is documented as read only). It never writes to the state dir or the logs,
    returns facts and does not decide gates; C(changed) is always false and it fails only on invalid parameters.
    A role asserts on the facts.
  - With O(fail_fast=true) (the default), once a part's facts already fail a gate that always applies (no boot line,
    error lines, C(state_publish) not ok, surfaces not ok when the poll ends, the engine reporting another version,
    the dashboard not answering 200), the later parts are read once without waiting and the sanity script is not run.
    Which gate fails first is the same; a failing verification just does not wait out every later timeout.
version_added: 0.3.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  state_dir:
    description:
      - The engine's state dir, for example C(/root/hedge-fund/logs/state). Read by the O(state) and O(runtime)
        parts and passed to the sanity script as C(--state-dir).
    type: path
    required: true
  expected_version:
    description:
      - Version the engine should run, for example V(v7.6); its boot line is waited for and C(engine_metadata)
        must report it.
    type: str
    required: true
  poll_interval:
    description: Seconds between the polls of the surfaces and of the health URL.
    type: float
    default: 2
  fail_fast:
    description:
      - After a part whose facts fail a gate that always applies, read the later parts once without waiting and do not
        run the sanity script. RV(first_failure) names that part.
    type: bool
    default: true
  now:
    description:
      - Epoch seconds to use as the current time for the surface ages and RV(runtime.runtime.nav_age_s) (for tests).
    type: float
  logs:
    description: The log scan, as M(gpt_hedge.activation.hedge_logscan) with O(expected_version).
    type: dict
    required: true
    suboptions:
      path:
        description: The executor out log, for example C(/var/log/hedge-executor.out.log).
        type: path
        required: true
      err_path:
        description:
          - The executor err log. Error and warning lines are searched in it; when not given (or equal to O(logs.path))
            they are searched in O(logs.path). C(state_publish) lines are counted in both logs.
        type: path
      offset:
        description: Byte offset in O(logs.path) to scan from. Not given or null means V(0).
        type: int
      err_offset:
        description: Byte offset in O(logs.err_path) to scan from. Not given or null means V(0).
        type: int
      timeout:
        description: Seconds to wait for the boot line (and a following publish line).
        type: int
        default: 60
      poll_interval:
        description: Seconds between log reads while waiting.
        type: float
        default: 0.5
      require_publish:
        description: Also wait for at least one C(state_publish) line after the boot line.
        type: bool
        default: true
      boot_pattern:
        description:
          - Regular expression of the boot line; C({version}) in it is replaced by a regex matching exactly the
            version token.
        type: str
      boot_version_pattern:
        description: Regular expression with one group capturing the version on any boot line.
        type: str
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
      publish_error_limit:
        description: More publish errors than this is a repeated error (RV(logs.publish_ok) false).
        type: int
        default: 1
      max_lines:
        description: Maximum number of lines returned in RV(logs.error_lines) and RV(logs.publish_error_lines).
        type: int
        default: 20
  state:
    description:
      - The surfaces check, repeated every O(poll_interval) until RV(state.ok), a failure judged early
        (RV(state.conclusive_surfaces)) or O(state.timeout).
      - "The early verdict, only for a file written after the restart (its mtime after O(state.newer_than)): a
        surface V(stale) although the engine rewrote it after the restart (its write time is too old) is conclusive at
        once; a V(malformed) one once the file has stayed unchanged for one O(poll_interval), at least 0.5 s (a writer
        caught mid-write moves the mtime on; a partial write that completes reads valid at a later poll). Anything
        else (missing, not updated since the restart, a file from before the restart) is waited for."
    type: dict
    default: {}
    suboptions:
      timeout:
        description: Seconds to poll until every required surface is ok; V(0) checks once.
        type: int
        default: 120
      surfaces:
        description:
          - Surfaces to check, merged over the built-in table of the runtime box contract.
        type: list
        elements: dict
        suboptions:
          name:
            description: File name of the surface, also the key in RV(state.surfaces).
            type: str
            required: true
          path:
            description: File path, relative to O(state_dir) or absolute. Defaults to O(state.surfaces[].name).
            type: str
          keys:
            description: Freshness key paths, the first present one wins. Dotted paths and C(a || b) alternatives.
            type: list
            elements: str
          start_keys:
            description:
              - Key paths of a start time, read only when no freshness key is present (C(started_ts) of the runbook's
                C(engine_metadata.json) shape). Never aged; with O(state.started_after) it must be after it.
            type: list
            elements: str
          cadence:
            description: V(loop) (O(state.max_age), O(state.newer_than)) or V(intel) (O(state.intel_max_age)).
            type: str
            choices: [loop, intel]
          required:
            description:
              - A required surface that is not ok is listed in RV(state.failed_surfaces), else in
                RV(state.warned_surfaces).
            type: bool
          required_keys:
            description: Key paths that must be present (not null).
            type: list
            elements: str
          max_age:
            description: Per-surface age limit in seconds.
            type: float
          enabled:
            description: Set V(false) to drop a surface of the table.
            type: bool
      replace_surfaces:
        description: Check only the surfaces listed in O(state.surfaces).
        type: bool
        default: false
      max_age:
        description: Maximum age in seconds of per-loop surfaces.
        type: int
        default: 120
      intel_max_age:
        description: Maximum age in seconds of per-intel-run surfaces.
        type: int
        default: 900
      newer_than:
        description:
          - Epoch seconds, typically the restart time. Per-loop surfaces older than this minus 1 s get status
            V(not_updated).
          - Also the restart mark of the early verdict; without it nothing is judged early.
        type: float
      started_after:
        description:
          - Epoch seconds of a restart done in this run. A start time (O(state.surfaces[].start_keys)) older than
            this minus 1 s gets status V(not_updated). Give it only right after a restart.
        type: float
  runtime:
    description:
      - The runtime facts and sanity thresholds; the engine version is checked against O(expected_version).
    type: dict
    default: {}
    suboptions:
      files:
        description:
          - Override file names of the surfaces read, keyed by logical name (V(nav), V(nav_state), V(kpis),
            V(diagnostics), V(risk_snapshot), V(router_health), V(engine_metadata),
            V(factor_diagnostics)).
        type: dict
        default: {}
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
      check_nav_jump:
        description: Evaluate the C(nav_jump) anomaly check.
        type: bool
        default: true
      check_dd_flap:
        description: Evaluate the C(dd_flap) anomaly check.
        type: bool
        default: true
      check_router_idle:
        description: Evaluate the router idle check.
        type: bool
        default: true
  healthz:
    description:
      - The dashboard health URL, read with C(GET) every O(poll_interval) until it answers 200 or O(healthz.timeout).
    type: dict
    required: true
    suboptions:
      url:
        description: The health URL as seen from the box, for example C(http://127.0.0.1:8050/healthz).
        type: str
        required: true
      timeout:
        description: Seconds to poll until the URL answers 200; V(0) asks once.
        type: int
        default: 60
      request_timeout:
        description: Seconds one request may take.
        type: float
        default: 5
      validate_certs:
        description: Validate the certificate of an C(https) URL.
        type: bool
        default: true
  sanity:
    description:
      - The release's sanity script, run as C(<python> <script> --state-dir <state_dir>) in O(sanity.chdir) when
        O(sanity.enabled) and the script exists.
      - Not run in check mode (as M(ansible.builtin.command)), nor after a failed part with O(fail_fast).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Look for and run the script. V(false) returns RV(sanity) with RV(sanity.exists=null).
        type: bool
        default: false
      script:
        description:
          - The script, relative to O(sanity.chdir) or absolute, for example C(scripts/runtime_sanity_check_v7_6.py).
        type: str
      python:
        description: The interpreter to run it with, for example C(/root/hedge-fund/venv/bin/python).
        type: path
      chdir:
        description: Working directory of the script (the checkout).
        type: path
      timeout:
        description: Seconds the script may run before it is killed (RV(sanity.rc=124)); V(0) means no limit.
        type: int
        default: 0
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
  - gpt_hedge.activation.state_read
notes:
  - Polls end on success or when their timeout has passed, with a last attempt at the deadline; the surfaces poll also
    at a failure judged early (see O(state)). The boot line wait
    uses O(logs.timeout) and O(logs.poll_interval); the surfaces and health URL polls use O(state.timeout),
    O(healthz.timeout) and O(poll_interval).
  - Check mode runs every part, the sanity script too (it only reads), as M(gpt_hedge.activation.hedge_release_check)
    does at preflight; both run it the same way.
seealso:
  - module: gpt_hedge.activation.hedge_logscan
'''

EXAMPLES = r'''
- name: Record the executor log offsets before the restart
  gpt_hedge.activation.hedge_logscan:
    path: /var/log/hedge-executor.out.log
    err_path: /var/log/hedge-executor.err.log
    record_offsets: true
  register: hedge_log_offsets

- name: Collect the logs, surfaces, runtime, dashboard and sanity script facts of v7.6
  gpt_hedge.activation.hedge_verify:
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.6
    logs:
      path: /var/log/hedge-executor.out.log
      err_path: /var/log/hedge-executor.err.log
      offset: "{{ hedge_log_offsets.out_size }}"
      err_offset: "{{ hedge_log_offsets.err_size }}"
    state:
      newer_than: "{{ hedge_log_offsets.now }}"
    healthz:
      url: http://127.0.0.1:8050/healthz
    sanity:
      enabled: true
      script: scripts/runtime_sanity_check_v7_6.py
      python: /root/hedge-fund/venv/bin/python
      chdir: /root/hedge-fund
  register: hedge_verify

- name: Assert the boot line, fresh surfaces, the engine version and a healthy dashboard
  ansible.builtin.assert:
    that:
      - hedge_verify.logs.boot_line_found
      - hedge_verify.logs.error_count == 0
      - hedge_verify.state.ok
      - hedge_verify.runtime.checks.engine_version.ok
      - hedge_verify.healthz.status == 200
      - hedge_verify.sanity.rc == 0

- name: Verify a rollback target without a sanity script and with a longer intel limit
  gpt_hedge.activation.hedge_verify:
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.5
    logs:
      path: /var/log/hedge-executor.out.log
    state:
      intel_max_age: 1800
      timeout: 60
    runtime:
      exit_coverage_min: 90
    healthz:
      url: http://127.0.0.1:8050/healthz
  register: hedge_verify_rollback
'''

RETURN = r'''
logs:
  description:
    - The log scan, with the fields M(gpt_hedge.activation.hedge_logscan) returns (C(present), C(err_present),
      C(out_size), C(err_size), C(expected_version), C(boot_line_found), C(boot_line), C(other_boot_versions),
      C(waited_s), C(error_lines), C(error_count), C(warning_count), C(publish_count), C(publish_error_count),
      C(publish_error_lines), C(publish_ok), C(rotated), C(out_rotated), C(err_rotated), C(now)).
  returned: always
  type: dict
  sample:
    boot_line_found: true
    boot_line: "2025-11-25 10:50:01 INFO Engine version: v7.6"
    error_count: 0
    warning_count: 1
    publish_count: 3
    publish_error_count: 0
    publish_ok: true
  contains:
    error_lines:
      description: The first error lines of the new boot, at most O(logs.max_lines).
      type: list
      elements: str
    publish_error_lines:
      description: The first publish error lines of the new boot, at most O(logs.max_lines).
      type: list
      elements: str
    publish_ok:
      description: False when the publish errors are more than O(logs.publish_error_limit) (a repeated error).
      type: bool
state:
  description:
    - The surfaces check of the last poll attempt (C(now), C(surfaces), C(failed_surfaces), C(warned_surfaces),
      C(conclusive_surfaces), C(ok), C(oldest_age_s), C(msg)), plus C(attempts) and C(waited_s).
  returned: always
  type: dict
  sample:
    ok: false
    failed_surfaces: [nav.json]
    warned_surfaces: []
    oldest_age_s: 3600.2
    attempts: 61
    waited_s: 120.0
    msg: "nav.json: stale: age 3600.2 s > 120 s (key updated_ts)"
  contains:
    now:
      description: Epoch seconds used as the current time (the target's clock unless O(now) is given).
      type: float
      sample: 1764067200.25
    surfaces:
      description: Per-surface facts, keyed by surface name.
      type: dict
      contains:
        path:
          description: Full path of the file.
          type: str
        present:
          description: Whether the file exists.
          type: bool
        valid:
          description: Whether the file holds a JSON object.
          type: bool
        required:
          description: Whether the surface is required.
          type: bool
        cadence:
          description: V(loop) or V(intel).
          type: str
        missing_keys:
          description: Required key paths that are absent.
          type: list
          elements: str
        invalid_values:
          description:
          - Every unusable number in the file, one line each naming the key path and the problem (read as null). Only those
            at a key the check reads make the status V(invalid_value).
          type: list
          elements: str
          sample:
          - 'nav: NaN is not a finite number'
        timestamp_key:
          description: The freshness key that was read (first present), or null.
          type: str
        timestamp_kind:
          description: V(write) (from O(state.surfaces[].keys)), V(start) (from O(state.surfaces[].start_keys)) or null.
          type: str
        timestamp:
          description: The freshness timestamp as epoch seconds, or null.
          type: float
        age_s:
          description: Age in seconds at RV(state.now), rounded to 0.1 s, or null.
          type: float
        max_age:
          description: The age limit applied, in seconds.
          type: float
        fresh:
          description:
          - Whether the timestamp is within the age limit and not in the future (and not older than O(state.newer_than) for loop
            surfaces); for a start time, whether it is not in the future and after O(state.started_after).
          type: bool
        status:
          description:
          - One of V(ok), V(missing), V(unreadable), V(malformed), V(invalid_value), V(missing_keys), V(no_timestamp), V(future),
            V(stale), V(not_updated).
          type: str
        reason:
          description: One line explanation.
          type: str
          sample: 'nav.json: stale: age 3600.2 s > 120 s (key updated_ts)'
        mtime:
          description:
            - The file's modification time (epoch seconds) when it was read, or null (missing, or replaced while read).
          type: float
        conclusive:
          description:
            - "True when the failure is judged early (see O(state)); its RV(state.surfaces.reason) then ends with why,
              for example V(rewritten after the restart with this timestamp: not waiting out the timeout)."
            - Also set on an optional surface, which only warns.
          type: bool
      sample:
        nav.json:
          path: /root/hedge-fund/logs/state/nav.json
          present: true
          valid: true
          required: true
          cadence: loop
          missing_keys: []
          timestamp_key: updated_ts
          timestamp: 1764067196.1
          age_s: 4.2
          max_age: 120
          fresh: true
          status: ok
          reason: 'nav.json: ok: age 4.2 s <= 120 s (key updated_ts)'
          mtime: 1764067196.13
          conclusive: false
    failed_surfaces:
      description: Names of required surfaces whose status is not V(ok).
      type: list
      elements: str
      sample:
      - nav.json
    warned_surfaces:
      description: Names of optional surfaces whose status is not V(ok).
      type: list
      elements: str
      sample:
      - rv_momentum.json
    conclusive_surfaces:
      description: The names in RV(state.failed_surfaces) judged early; not empty ends the poll before O(state.timeout).
      type: list
      elements: str
      sample:
      - nav.json
    ok:
      description: True when RV(state.failed_surfaces) is empty.
      type: bool
    oldest_age_s:
      description: Largest RV(state.surfaces.age_s) over the surfaces with a write timestamp, or null.
      type: float
runtime:
  description:
    - The runtime facts and the sanity threshold checks (C(runtime), C(checks), C(failed_checks), C(unchecked)).
  returned: always
  type: dict
  sample:
    checks:
      engine_version: {ok: true, value: v7.6, threshold: v7.6, reason: engine_metadata reports v7.6}
    failed_checks: []
    unchecked: []
  contains:
    runtime:
      description: Runtime summary for the ops log.
      type: dict
      contains:
        engine_version:
          description: Version from C(engine_metadata.json) (C(engine_version) or C(version)), or null.
          type: str
          sample: v7.6
        engine_version_key:
          description: V(engine_version) or V(version), whichever was read; null when absent.
          type: str
        nav:
          description: NAV from C(nav_state.json) (C(nav_total||nav||nav_usd||total_equity)), else C(nav.json) (C(nav||nav_usd)).
          type: float
        nav_source:
          description: File the NAV was read from.
          type: str
        nav_age_s:
          description: C(nav_state.nav_age_s), else the age of the NAV file's timestamp, rounded to 0.1 s.
          type: float
        dd_state:
          description: Drawdown state (V(NORMAL), V(DRAWDOWN), V(RECOVERY)), from C(nav_state.json) or C(risk_snapshot.json).
          type: str
        dd_pct:
          description: C(drawdown.dd_pct) from C(nav_state.json) or C(risk_snapshot.json) (else C(kpis_v7.portfolio.dd_pct)).
          type: float
        risk_mode:
          description: C(risk_snapshot.risk_mode).
          type: str
        circuit_breaker:
          description: C(risk_snapshot.circuit_breaker) as written by the engine.
          type: raw
        router:
          description:
          - Router facts, keys C(quality), C(symbols_tracked), C(avg_slippage_bps), C(avg_latency_ms), C(idle) and C(degraded_symbols)
            (per-symbol quality below O(runtime.router_quality_min)).
          type: dict
        exit:
          description:
          - Exit pipeline facts, keys C(coverage) (fraction), C(coverage_pct) (percent, 1 decimal), C(open_positions), C(tp_sl_registered),
            C(tp_sl_missing), C(underwater_without_tp_sl), C(ledger_registry_mismatch) and C(mismatch_breakdown) (dict, null
            before v7.6).
          type: dict
        anomalies:
          description:
          - Keys C(nav_jump), C(nav_jump_pct), C(dd_flap), C(var_limit_breach), C(cvar_limit_breach); null when C(risk_snapshot.json)
            has no C(anomalies) block (v7.5).
          type: dict
        factor_weights:
          description: C(weights) or C(factor_weights.weights) of C(factor_diagnostics.json) ({} when absent).
          type: dict
        missing_fields:
          description: v7.6-only fields absent from loaded surfaces, for example V(risk_snapshot.anomalies).
          type: list
          elements: str
        surface_errors:
          description:
          - File name to load error (V(missing), V(not a regular file (...)), V(too large ...), V(unreadable ...), V(malformed
            JSON ...), V(not a JSON object)).
          type: dict
        invalid_values:
          description:
          - Unusable values at keys the facts read, one line each naming the file, the key and the problem, read as null.
            NaN, Infinity, -Infinity, an integer beyond the range of a float, a NAV timestamp written in the future.
          type: list
          elements: str
          sample:
          - 'nav_state.json: nav_total: NaN is not a finite number'
    checks:
      description:
      - Checks C(engine_version), C(exit_coverage), C(underwater_without_tp_sl), C(router_quality), C(router_idle), C(nav_jump),
        C(dd_flap) and C(valid_values) (false when RV(runtime.runtime.invalid_values) is not empty), each C({ok, value, threshold,
        reason}).
      - C(ok) is true or false, or null when the data is absent or the check is disabled.
      type: dict
      sample:
        router_quality:
          ok: true
          value: 0.82
          threshold: 0.5
          reason: router quality 0.82 >= 0.5
    failed_checks:
      description: Names of checks whose C(ok) is false.
      type: list
      elements: str
    unchecked:
      description: Names of checks whose C(ok) is null.
      type: list
      elements: str
healthz:
  description: The last answer of the health URL.
  returned: always
  type: dict
  contains:
    url:
      description: The URL read.
      type: str
    status:
      description: HTTP status of the last answer, V(-1) when nothing answered.
      type: int
      sample: 200
    content:
      description: Body of the last answer (text, at most 64 KiB; empty when nothing answered).
      type: str
      sample: '{"status": "ok"}'
    msg:
      description:
        - "As M(ansible.builtin.uri) words it, for example C(OK (15 bytes)) or
          C(Status code was -1 and not [200]: Request failed: ...)."
      type: str
    attempts:
      description: Number of requests.
      type: int
    waited_s:
      description: Seconds spent polling.
      type: float
sanity:
  description: The sanity script's outcome.
  returned: always
  type: dict
  contains:
    enabled:
      description: The O(sanity.enabled) value.
      type: bool
    path:
      description: The script's full path; null when disabled.
      type: str
    exists:
      description: Whether the script exists; null when disabled.
      type: bool
    ran:
      description: Whether the script was run.
      type: bool
    rc:
      description: Its exit code; null when not run (V(124) when killed after O(sanity.timeout), V(127) or V(126) when it cannot be started).
      type: int
    last_line:
      description: The last non-empty line of its stdout, then stderr; else why it was not run, or the start error.
      type: str
      sample: "RESULT: PASS (14 checks)"
    output_tail:
      description: The last 40 non-empty lines of stdout, then stderr.
      type: list
      elements: str
    cmd:
      description: The command run (or that would run).
      type: list
      elements: str
    duration_s:
      description: Seconds the script ran.
      type: float
first_failure:
  description:
    - "The first part whose facts fail a gate that always applies, with why (for example C(logs: no boot line of v7.6)),
      or null. With O(fail_fast) the parts after it were read once without waiting."
  returned: always
  type: str
duration_s:
  description: Seconds the whole verification took.
  returned: always
  type: float
msg:
  description: One line summary.
  returned: always
  type: str
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_http import check_http_options, http_get
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import READ_OPTIONS, check_read_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import (
    SCAN_OPTIONS,
    check_scan_options,
    scan_logs,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_process import (
    run_sanity_script,
    sanity_script_path,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import (
    RUNTIME_FILES,
    RUNTIME_OPTIONS,
    evaluate_runtime,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import (
    MALFORMED_SETTLE_S,
    STATE_OPTIONS,
    evaluate_surfaces,
    merge_surfaces,
)

ARGUMENT_SPEC = dict(
    READ_OPTIONS,
    state_dir=dict(type='path', required=True),
    expected_version=dict(type='str', required=True),
    poll_interval=dict(type='float', default=2),
    fail_fast=dict(type='bool', default=True),
    now=dict(type='float'),
    logs=dict(type='dict', required=True, options=SCAN_OPTIONS),
    state=dict(type='dict', default={}, options=dict(STATE_OPTIONS, timeout=dict(type='int', default=120))),
    runtime=dict(type='dict', default={}, options=RUNTIME_OPTIONS),
    healthz=dict(type='dict', required=True, options=dict(
        url=dict(type='str', required=True),
        timeout=dict(type='int', default=60),
        request_timeout=dict(type='float', default=5),
        validate_certs=dict(type='bool', default=True),
    )),
    sanity=dict(type='dict', default={}, options=dict(
        enabled=dict(type='bool', default=False),
        script=dict(type='str'),
        python=dict(type='path'),
        chdir=dict(type='path'),
        timeout=dict(type='int', default=0),
    ), required_if=[('enabled', True, ('script', 'python'))]),
)


# ------------------------------------------------------------------ parameters

def check_params(module):
    """fail_json on invalid parameters (the same checks as the single-part modules)."""
    p = module.params
    fail = module.fail_json
    if not p['expected_version'].strip():
        fail(msg='expected_version must not be empty')
    if p['poll_interval'] <= 0:
        fail(msg='poll_interval must be positive')
    error = check_read_options(p['max_skew'], p['max_bytes'])
    if error:
        fail(msg=error)

    # A null offset (not given, or an explicit null passed through by a role) is the start of the log.
    error = check_scan_options(p['logs'], prefix='logs.', expected_version=p['expected_version'])
    if error:
        fail(msg=error)

    state = p['state']
    if state['timeout'] < 0:
        fail(msg='state.timeout must not be negative')
    if state['max_age'] <= 0 or state['intel_max_age'] <= 0:
        fail(msg='state.max_age and state.intel_max_age must be positive')
    if state['replace_surfaces'] and not state['surfaces']:
        fail(msg='state.replace_surfaces needs a non-empty state.surfaces list')
    try:
        surfaces = merge_surfaces(state['surfaces'], replace=state['replace_surfaces'])
    except ValueError as exc:
        fail(msg='state.surfaces: %s' % exc)
    if not surfaces:
        fail(msg='state.surfaces: no surface left to check')

    runtime = p['runtime']
    unknown = sorted(set(runtime['files'] or {}) - set(RUNTIME_FILES))
    if unknown:
        fail(msg='runtime.files: unknown surface name(s) %s (known: %s)'
             % (', '.join(unknown), ', '.join(sorted(RUNTIME_FILES))))
    if runtime['exit_coverage_min'] < 0 or runtime['exit_coverage_min'] > 100:
        fail(msg='runtime.exit_coverage_min must be a fraction 0..1 or a percentage 0..100')
    if runtime['max_underwater_without_tp_sl'] < 0:
        fail(msg='runtime.max_underwater_without_tp_sl must not be negative')

    error = check_http_options(p['healthz'])
    if error:
        fail(msg=error)

    sanity = p['sanity']
    if sanity['timeout'] < 0:
        fail(msg='sanity.timeout must not be negative')
    if sanity['enabled']:
        for name in ('script', 'python'):
            if not (sanity[name] or '').strip():
                fail(msg='sanity.%s is required when sanity.enabled' % name)
    return surfaces


# ------------------------------------------------------------------ parts

def poll(attempt, done, timeout, interval):
    """Call ``attempt()`` until ``done(result)`` or ``timeout`` seconds have passed (a last attempt at the
    deadline); returns ``(result, attempts, waited_s)``."""
    start = time.time()
    deadline = start + max(float(timeout), 0.0)
    attempts = 0
    while True:
        attempts += 1
        result = attempt()
        remaining = deadline - time.time()
        if done(result) or remaining <= 0:
            return result, attempts, round(time.time() - start, 1)
        time.sleep(min(float(interval), remaining))


def check_logs(logs, expected_version):
    return scan_logs(
        logs['path'], err_path=logs['err_path'], offset=logs['offset'], err_offset=logs['err_offset'],
        expected_version=expected_version, timeout=logs['timeout'],
        poll_interval=logs['poll_interval'], require_publish=logs['require_publish'],
        publish_error_limit=logs['publish_error_limit'], max_lines=logs['max_lines'],
        boot_pattern=logs['boot_pattern'], boot_version_pattern=logs['boot_version_pattern'],
        error_pattern=logs['error_pattern'], warning_pattern=logs['warning_pattern'],
        publish_pattern=logs['publish_pattern'], publish_error_pattern=logs['publish_error_pattern'],
    )


def state_msg(result, surfaces):
    """The surfaces check in one line."""
    if result['ok']:
        msg = 'all %d required surfaces ok' % sum(1 for s in surfaces if s['required'])
    else:
        msg = '; '.join(result['surfaces'][name]['reason'] for name in result['failed_surfaces'])
    if result['warned_surfaces']:
        msg += '; warnings: ' + '; '.join(result['surfaces'][name]['reason'] for name in result['warned_surfaces'])
    return msg


def check_state(state_dir, params, surfaces, now, interval, wait, read=None):
    """Poll the surfaces until they are ok, a failure is conclusive (the early verdict) or the timeout."""
    def attempt():
        return evaluate_surfaces(state_dir, surfaces, params['max_age'], params['intel_max_age'],
                                 newer_than=params['newer_than'], started_after=params['started_after'], now=now,
                                 settle=max(float(interval), MALFORMED_SETTLE_S), **(read or {}))

    result, attempts, waited = poll(attempt, lambda r: r['ok'] or bool(r['conclusive_surfaces']),
                                    params['timeout'] if wait else 0, interval)
    result['msg'] = state_msg(result, surfaces)
    result['attempts'] = attempts
    result['waited_s'] = waited
    return result


def check_runtime(state_dir, params, expected_version, now, read=None):
    return evaluate_runtime(
        state_dir,
        files=dict((k, str(v)) for k, v in (params['files'] or {}).items()),
        expected_version=expected_version,
        exit_coverage_min=params['exit_coverage_min'],
        router_quality_min=params['router_quality_min'],
        max_underwater_without_tp_sl=params['max_underwater_without_tp_sl'],
        check_nav_jump_enabled=params['check_nav_jump'],
        check_dd_flap_enabled=params['check_dd_flap'],
        check_router_idle_enabled=params['check_router_idle'],
        now=now,
        **(read or {})
    )


def check_healthz(params, interval, wait):
    def attempt():
        return http_get(params['url'], timeout=params['request_timeout'], validate_certs=params['validate_certs'])

    (status, content, msg), attempts, waited = poll(
        attempt, lambda r: r[0] == 200, params['timeout'] if wait else 0, interval)
    return {'url': params['url'], 'status': status, 'content': content, 'msg': msg, 'attempts': attempts,
            'waited_s': waited}


def check_sanity(params, state_dir, skip_reason=None):
    """Stat the sanity script and, unless ``skip_reason``, run it read-only against ``state_dir``."""
    result = {'enabled': params['enabled'], 'path': None, 'exists': None, 'ran': False, 'rc': None,
              'last_line': '', 'output_tail': [], 'cmd': [], 'duration_s': 0.0}
    if not params['enabled']:
        result['last_line'] = 'not enabled'
        return result
    if skip_reason:
        path = sanity_script_path(params['script'], params['chdir'])
        result.update(path=path, exists=os.path.exists(path),
                      cmd=[params['python'], params['script'], '--state-dir', state_dir],
                      last_line='not run: %s' % skip_reason)
        return result
    facts = run_sanity_script(params['python'], params['script'], state_dir, params['chdir'],
                              timeout=params['timeout'])
    result.update((key, facts[key]) for key in result if key in facts)
    return result


# ------------------------------------------------------------------ gates that always apply

def logs_failure(logs, expected_version):
    if not logs['boot_line_found']:
        return 'logs: no boot line of %s' % expected_version
    if logs['error_count']:
        return 'logs: %d error line(s)' % logs['error_count']
    if not logs['publish_ok']:
        return 'logs: %d state_publish line(s), %d error(s)' % (logs['publish_count'], logs['publish_error_count'])
    return None


def state_failure(state):
    if state['ok']:
        return None
    failed = state['failed_surfaces']
    first = (state['conclusive_surfaces'] or failed)[0]
    return 'state: %s not ok (%s)' % (', '.join(failed), state['surfaces'][first]['reason'])


def runtime_failure(runtime):
    check = runtime['checks']['engine_version']
    return None if check['ok'] is True else 'runtime: engine_version: %s' % check['reason']


def healthz_failure(healthz):
    return None if healthz['status'] == 200 else 'healthz: %s' % healthz['msg']


def summary(result):
    logs, state, runtime, healthz, sanity = (result[k] for k in ('logs', 'state', 'runtime', 'healthz', 'sanity'))
    parts = [
        'boot line %s' % ('found' if logs['boot_line_found'] else 'missing'),
        '%d error line(s)' % logs['error_count'],
        '%d state_publish line(s)' % logs['publish_count'],
        'surfaces %s' % ('ok' if state['ok'] else 'not ok: %s' % ', '.join(state['failed_surfaces'])),
        'engine %s' % runtime['runtime'].get('engine_version'),
        'healthz %s' % healthz['status'],
    ]
    if sanity['enabled']:
        parts.append('sanity %s' % ('rc %s' % sanity['rc'] if sanity['ran'] else sanity['last_line']))
    msg = '; '.join(parts)
    if result['first_failure']:
        msg = 'first failure: %s (%s)' % (result['first_failure'], msg)
    return msg


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    surfaces = check_params(module)
    state_dir = p['state_dir']
    if not os.path.isdir(state_dir):
        # a missing state dir is a fact: every surface is reported missing
        module.warn('state_dir %s does not exist or is not a directory' % state_dir)

    started = time.time()
    first_failure = None

    def wait():
        return not (p['fail_fast'] and first_failure)

    logs = check_logs(p['logs'], p['expected_version'])
    first_failure = logs_failure(logs, p['expected_version'])
    read = dict(max_skew=p['max_skew'], max_bytes=p['max_bytes'])
    state = check_state(state_dir, p['state'], surfaces, p['now'], p['poll_interval'], wait=wait(), read=read)
    first_failure = first_failure or state_failure(state)
    runtime = check_runtime(state_dir, p['runtime'], p['expected_version'], p['now'], read=read)
    first_failure = first_failure or runtime_failure(runtime)
    healthz = check_healthz(p['healthz'], p['poll_interval'], wait=wait())
    first_failure = first_failure or healthz_failure(healthz)
    # Check mode runs the script too (it only reads; hedge_process).
    skip_reason = None if wait() else 'an earlier part failed (%s)' % first_failure
    sanity = check_sanity(p['sanity'], state_dir, skip_reason=skip_reason)

    result = dict(logs=logs, state=state, runtime=runtime, healthz=healthz, sanity=sanity,
                  first_failure=first_failure, duration_s=round(time.time() - started, 1))
    module.exit_json(changed=False, msg=summary(result), **result)


if __name__ == '__main__':
    main()
