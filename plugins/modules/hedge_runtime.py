#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_runtime
short_description: Summarize the running GPT-Hedge engine from its state surfaces and evaluate the sanity thresholds
description:
  - Reads the engine's state surfaces (C(engine_metadata.json), C(nav_state.json), C(nav.json), C(kpis_v7.json),
    C(risk_snapshot.json), C(router_health.json), C(diagnostics.json), C(factor_diagnostics.json)) and returns a
    runtime summary (version, NAV, drawdown, router, exit pipeline, anomalies, factor weights) for the ops log.
  - Evaluates the runbook's sanity thresholds as facts in RV(checks); a check whose data is absent is V(null)
    (not checked), for example C(nav_jump) on a v7.5 engine whose C(risk_snapshot.json) has no C(anomalies) block.
  - Accepts both C(engine_metadata) shapes (C(version)/C(started_ts) and C(engine_version)/C(updated_ts)), both
    C(router_health) shapes (C(router_health.global)/C(router_health.per_symbol) and older top-level C(global),
    C(summary), C(router_health_score)), C(dd_state) as a string or an object with a C(state) key, and anomaly
    values as booleans or objects with C(active) or C(triggered) and C(pct) or C(jump_pct).
  - The module only reads. It never writes to the state dir and does not decide gates.
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  state_dir:
    description:
      - The engine's state dir, for example C(/root/hedge-fund/logs/state).
    type: path
    required: true
  files:
    description:
      - Override file names of the surfaces read, keyed by logical name
        (V(nav), V(nav_state), V(kpis), V(diagnostics), V(risk_snapshot), V(router_health), V(engine_metadata),
        V(factor_diagnostics)). Relative to O(state_dir) or absolute.
    type: dict
    default: {}
  expected_version:
    description:
      - Version the engine should run, for example V(v7.6). A leading C(v) is ignored when comparing.
      - Without it the C(engine_version) check is V(null).
    type: str
  exit_coverage_min:
    description:
      - Minimum TP/SL exit coverage as a fraction; a value above 1 is read as a percentage (V(90) = V(0.9)).
      - With no open positions the check passes.
    type: float
    default: 0.9
  router_quality_min:
    description:
      - Minimum router global quality score. Per-symbol scores below it are listed in C(degraded_symbols) of RV(runtime.router).
    type: float
    default: 0.5
  max_underwater_without_tp_sl:
    description:
      - Maximum number of underwater positions without TP/SL.
    type: int
    default: 0
  check_nav_jump:
    description: Evaluate the C(nav_jump) anomaly check (V(false) makes it V(null)).
    type: bool
    default: true
  check_dd_flap:
    description: Evaluate the C(dd_flap) anomaly check (V(false) makes it V(null)).
    type: bool
    default: true
  check_router_idle:
    description: Evaluate the router idle check (V(false) makes it V(null)).
    type: bool
    default: true
  now:
    description:
      - Epoch seconds to use as the current time for RV(runtime.nav_age_s) when it has to be computed (for tests).
    type: float
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
  - gpt_hedge.activation.state_read
seealso:
  - module: gpt_hedge.activation.hedge_state
  - module: gpt_hedge.activation.hedge_version
'''

EXAMPLES = r'''
- name: Read the runtime summary and sanity checks
  gpt_hedge.activation.hedge_runtime:
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.6
    exit_coverage_min: 90
  register: hedge_runtime

- name: Assert the sanity thresholds
  ansible.builtin.assert:
    that: hedge_runtime.failed_checks | length == 0
    fail_msg: "{{ hedge_runtime.failed_checks | map('extract', hedge_runtime.checks) | map(attribute='reason') | list }}"

- name: Rollback to v7.5 tolerates the v7.6-only anomaly fields
  gpt_hedge.activation.hedge_runtime:
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.5
  register: hedge_runtime_rollback
'''

RETURN = r'''
runtime:
  description: Runtime summary for the ops log.
  returned: always
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
        - Router facts, keys C(quality), C(symbols_tracked), C(avg_slippage_bps), C(avg_latency_ms), C(idle) and
          C(degraded_symbols) (per-symbol quality below O(router_quality_min)).
      type: dict
    exit:
      description:
        - Exit pipeline facts, keys C(coverage) (fraction), C(coverage_pct) (percent, 1 decimal), C(open_positions),
          C(tp_sl_registered), C(tp_sl_missing), C(underwater_without_tp_sl), C(ledger_registry_mismatch) and
          C(mismatch_breakdown) (dict, null before v7.6).
      type: dict
    anomalies:
      description:
        - Keys C(nav_jump), C(nav_jump_pct), C(dd_flap), C(var_limit_breach), C(cvar_limit_breach);
          null when C(risk_snapshot.json) has no C(anomalies) block (v7.5).
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
        - File name to load error (V(missing), V(not a regular file (...)), V(too large ...), V(unreadable ...),
          V(malformed JSON ...), V(not a JSON object)).
      type: dict
    invalid_values:
      description:
        - Unusable values at keys the facts read, one line each naming the file, the key and the problem, read as null. NaN, Infinity,
          -Infinity, an integer beyond the range of a float, a NAV timestamp written in the future.
      type: list
      elements: str
      sample: ["nav_state.json: nav_total: NaN is not a finite number"]
checks:
  description:
    - Checks C(engine_version), C(exit_coverage), C(underwater_without_tp_sl), C(router_quality), C(router_idle),
      C(nav_jump), C(dd_flap) and C(valid_values) (false when RV(runtime.invalid_values) is not empty), each
      C({ok, value, threshold, reason}).
    - C(ok) is true or false, or null when the data is absent or the check is disabled.
  returned: always
  type: dict
  sample:
    router_quality:
      ok: true
      value: 0.82
      threshold: 0.5
      reason: router quality 0.82 >= 0.5
failed_checks:
  description: Names of checks whose C(ok) is false.
  returned: always
  type: list
  elements: str
unchecked:
  description: Names of checks whose C(ok) is null.
  returned: always
  type: list
  elements: str
msg:
  description: One line summary.
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import READ_OPTIONS, check_read_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import (
    RUNTIME_FILES,
    RUNTIME_OPTIONS,
    evaluate_runtime,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            RUNTIME_OPTIONS,
            state_dir=dict(type='path', required=True),
            expected_version=dict(type='str'),
            now=dict(type='float'),
            **READ_OPTIONS
        ),
        supports_check_mode=True,
    )
    params = module.params
    unknown = sorted(set(params['files'] or {}) - set(RUNTIME_FILES))
    if unknown:
        module.fail_json(msg='files: unknown surface name(s) %s (known: %s)'
                         % (', '.join(unknown), ', '.join(sorted(RUNTIME_FILES))))
    if params['exit_coverage_min'] < 0 or params['exit_coverage_min'] > 100:
        module.fail_json(msg='exit_coverage_min must be a fraction 0..1 or a percentage 0..100')
    if params['max_underwater_without_tp_sl'] < 0:
        module.fail_json(msg='max_underwater_without_tp_sl must not be negative')
    error = check_read_options(params['max_skew'], params['max_bytes'])
    if error:
        module.fail_json(msg=error)
    state_dir = params['state_dir']
    if not os.path.isdir(state_dir):
        module.warn('state_dir %s does not exist or is not a directory' % state_dir)

    result = evaluate_runtime(
        state_dir,
        files=dict((k, str(v)) for k, v in (params['files'] or {}).items()),
        expected_version=params['expected_version'],
        exit_coverage_min=params['exit_coverage_min'],
        router_quality_min=params['router_quality_min'],
        max_underwater_without_tp_sl=params['max_underwater_without_tp_sl'],
        check_nav_jump_enabled=params['check_nav_jump'],
        check_dd_flap_enabled=params['check_dd_flap'],
        check_router_idle_enabled=params['check_router_idle'],
        now=params['now'],
        max_skew=params['max_skew'],
        max_bytes=params['max_bytes'],
    )
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
