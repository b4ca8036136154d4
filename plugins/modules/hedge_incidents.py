#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_incidents
short_description: Evaluate the runbook's incident hooks and dashboard checklist from the live GPT-Hedge state surfaces
description:
  - Reads the engine's state surfaces (the same ones as the runtime part of M(gpt_hedge.activation.hedge_verify)) and
    evaluates the runbook's four incident hooks, V(nav_anomaly) (C(risk_snapshot.anomalies.nav_jump)), V(router) (router global
    quality below O(router_quality_min), or router idle), V(exit_coverage) (C(diagnostics.json) exit pipeline TP/SL
    coverage below O(exit_coverage_min) or underwater positions without TP/SL) and V(dd_transition)
    (C(anomalies.dd_flap)).
  - Each hook is V(ok), V(finding) or V(unknown) (data absent, for example a v7.5 engine whose C(risk_snapshot.json)
    has no C(anomalies) block, or a missing or malformed surface). A finding carries a one-line title, what was seen,
    the threshold, the runbook's next steps for the operator and the numbers, and is routed by O(severity) into
    RV(failed_hooks) or RV(warned_hooks).
  - A fifth hook, V(stale_surfaces), fires when no required per-loop surface is fresh (every one stale, missing or
    unreadable, by the freshness rules of the surfaces check of M(gpt_hedge.activation.hedge_verify) with O(max_age)),
    that is when the engine publishes nothing and every dashboard value is old.
  - Also checks the dashboard's panels from the surfaces feeding them (RV(dashboard)), including the System Health
    panel's "no missing/stale surface warnings" (item V(surface_freshness), naming each surface that is not fresh),
    and returns the runtime report values (RV(summary)) and a JSON document for alerting tools (RV(document)).
  - With O(run), the activation or rollback that ends with this check, the system health item judges the live engine
    against the release that run should have left live (the previous release after a refusal or a verified
    rollback, the target after a success) and RV(release) says in one line what is live and whether it is what the
    run meant to leave.
  - Accepts both shapes of the state contract (v7.6 engine shapes and v7.5/runbook shapes).
  - The module only reads. It never writes to the state dir and does not fail on findings; gating is the caller's.
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  state_dir:
    description:
      - The engine's state dir, for example C(/root/hedge-fund/logs/state).
    type: path
    required: true
  exit_coverage_min:
    description:
      - Minimum TP/SL exit coverage as a fraction; a value above 1 is read as a percentage (V(90) = V(0.9)).
      - With no open positions the coverage part of the hook is healthy.
    type: float
    default: 0.9
  router_quality_min:
    description:
      - Minimum router global quality score; per-symbol scores below it are named in the V(router) finding.
    type: float
    default: 0.5
  max_underwater_without_tp_sl:
    description:
      - Maximum number of underwater positions without TP/SL before the V(exit_coverage) hook fires.
    type: int
    default: 0
  severity:
    description:
      - Severity per hook, V(warn) or V(fail), merged over the defaults V(fail) for V(nav_anomaly), V(router),
        V(exit_coverage) and V(stale_surfaces), V(warn) for V(dd_transition).
      - An unknown hook name or value fails the module.
    type: dict
    default: {}
  expected_version:
    description:
      - Version the dashboard's system health should show, for example V(v7.6) (a leading C(v) is ignored).
      - Without it the version is only required to be present. Ignored when O(run) is given.
    type: str
  run:
    description:
      - The activation or rollback whose end this check reports (activate.yml and rollback.yml pass it; a standalone
        check does not).
      - The release expected live is O(run.previous_version) after V(refused) or V(rolled_back), O(run.version) after
        V(success) (and after an activation that V(failed) with automatic rollback off, never reported healthy), none
        after V(rollback_failed), a V(failed) rollback or V(interrupted) (the box is in an unknown state).
    type: dict
    suboptions:
      kind:
        description: What the run was.
        type: str
        required: true
        choices: [activation, rollback]
      outcome:
        description: How it ended, in the run outcome words of the history record.
        type: str
        required: true
        choices: [success, refused, rolled_back, rollback_failed, failed, interrupted]
      version:
        description: The run's target release.
        type: str
        default: ''
      previous_version:
        description: The release live before the run (the one to come back to).
        type: str
        default: ''
      failed_gate:
        description: The gate that failed, for example V(preflight.pretag) (empty after a success).
        type: str
        default: ''
  max_age:
    description: Seconds after which a per-loop surface is stale (V(surface_freshness), V(stale_surfaces)).
    type: int
    default: 120
  intel_max_age:
    description: Seconds after which an intel surface (symbol scores, factor diagnostics) is stale.
    type: int
    default: 900
  healthz_status:
    description:
      - HTTP status of the dashboard's C(/healthz) as measured by the caller (for example with M(ansible.builtin.uri));
        the V(system_health) item requires V(200). A value below 1 means no answer.
      - Without it (and without O(healthz_url)) the dashboard health is not part of the item.
    type: int
  healthz_url:
    description:
      - URL of the dashboard's C(/healthz), asked once from the box by the module itself when O(healthz_status) is not
        given (one task instead of a separate M(ansible.builtin.uri) call). No answer counts as status V(-1).
    type: str
  healthz_timeout:
    description: Seconds to wait for the answer of O(healthz_url).
    type: float
    default: 5
  now:
    description:
      - Epoch seconds to use as the current time (NAV age and the C(generated_at) of RV(document)); for tests.
    type: float
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
  - gpt_hedge.activation.state_read
seealso:
  - module: gpt_hedge.activation.hedge_verify
'''

EXAMPLES = r'''
- name: Ask the dashboard for its health from the box
  ansible.builtin.uri:
    url: http://localhost:8501/healthz
    status_code: [200]
  register: healthz
  failed_when: false

- name: Evaluate the incident hooks from the live surfaces
  gpt_hedge.activation.hedge_incidents:
    state_dir: /root/hedge-fund/logs/state
    exit_coverage_min: 90
    severity:
      dd_transition: fail
    expected_version: v7.6
    healthz_status: "{{ healthz.status | default(-1) }}"
  register: incidents

- name: Fail on an incident of severity fail
  ansible.builtin.assert:
    that: incidents.failed_hooks | length == 0
    fail_msg: "{{ incidents.findings | selectattr('severity', 'equalto', 'fail') | map(attribute='title') | list }}"

- name: Hand the findings to the alerting tools
  ansible.builtin.copy:
    content: "{{ incidents.document | to_nice_json }}"
    dest: /var/tmp/hedge-incidents.json
    mode: "0640"
  delegate_to: localhost
'''

RETURN = r'''
healthz:
  description: The answer of O(healthz_url) when the module asked it itself (C(status) V(-1) is no answer).
  returned: when O(healthz_url) is given and O(healthz_status) is not
  type: dict
  sample: {url: http://127.0.0.1:8501/healthz, status: 200, msg: OK (15 bytes)}
hooks:
  description:
    - Every hook (V(nav_anomaly), V(router), V(exit_coverage), V(dd_transition), V(stale_surfaces)) with its
      C(status) (V(ok), V(finding) or V(unknown)), its configured C(severity) (V(warn) or V(fail)) and a one-line C(reason).
  returned: always
  type: dict
  sample:
    nav_anomaly:
      status: unknown
      severity: fail
      reason: risk_snapshot has no anomalies block (pre-v7.6 engine)
    router:
      status: ok
      severity: fail
      reason: router quality 0.81 >= 0.5, not idle
findings:
  description:
    - One entry per hook with status V(finding), in hook order, each C({hook, severity, title, seen, threshold,
      next_steps, details}); C(title), C(seen) and C(threshold) are one line, C(next_steps) the runbook's operator
      steps, C(details) the numbers.
    - V(exit_coverage) C(details.mismatch_breakdown) is the v7.6 dict or the text V(not reported (pre-v7.6 engine)).
  returned: always
  type: list
  elements: dict
  sample:
    - hook: nav_anomaly
      severity: fail
      title: "NAV anomaly: nav_jump active (12.5 %)"
      seen: "risk_snapshot.anomalies.nav_jump active; jump 12.5 %; current NAV 10000.0 (nav_state.json)"
      threshold: no nav_jump anomaly (guard in config/risk_limits.json nav_anomalies)
      next_steps: ["Freeze new entries: set risk mode to DEFENSIVE", "Compare nav.json with the exchange balance"]
      details: {nav_jump_pct: 12.5, nav: 10000.0, nav_source: nav_state.json, nav_age_s: 0.4}
failed_hooks:
  description: The findings (same dicts as RV(findings)) of severity V(fail).
  returned: always
  type: list
  elements: dict
warned_hooks:
  description: The findings of severity V(warn).
  returned: always
  type: list
  elements: dict
unknown_hooks:
  description: Names of hooks whose status is V(unknown).
  returned: always
  type: list
  elements: str
invalid_values:
  description:
    - Unusable values at keys the hooks read, one line each naming the file, the key and the problem (NaN, Infinity, -Infinity, an integer
      beyond the range of a float, a NAV timestamp written in the future); they are read as null and also listed
      in RV(msg).
  returned: always
  type: list
  elements: str
  sample: ["diagnostics.json: runtime_diagnostics.exit_pipeline.tp_sl_coverage_pct: NaN is not a finite number"]
dashboard:
  description:
    - The dashboard checklist, items C({panel, ok, detail}) for V(regime_strip), V(nav_risk_panel),
      V(router_health), V(exit_coverage), V(factor_diagnostics), V(system_health) and V(surface_freshness) (the
      System Health panel's "no missing/stale surface warnings"); C(ok) is true, false, or null when it cannot be
      told for this engine's shapes.
  returned: always
  type: list
  elements: dict
  sample:
    - {panel: system_health, ok: false, detail: "engine v7.4 != expected v7.6; healthz 200"}
    - {panel: surface_freshness, ok: false, detail: "surface warnings: stale: nav.json 160 s, risk_snapshot.json 160 s"}
release:
  description:
    - With O(run), the verdict on the box after that run; null without O(run). The keys of O(run) plus
      C(expected_version) (null when no release can be expected), C(live_version) (what the engine reports),
      C(as_intended) (the expected release is live; null when it cannot be told), C(healthy) (as intended, healthz
      answering 200, no surface warning, no incident of severity fail; never true after V(failed),
      V(rollback_failed) or V(interrupted)), C(headline) and a one-line C(statement).
  returned: always
  type: dict
  sample:
    kind: activation
    outcome: refused
    version: v7.6
    previous_version: v7.5
    failed_gate: preflight.pretag
    expected_version: v7.5
    live_version: v7.5
    as_intended: true
    healthy: true
    headline: activation of v7.6 refused at preflight.pretag
    statement: activation of v7.6 refused at preflight.pretag; v7.5 still live and healthy
dashboard_ok:
  description: True when no dashboard item is false.
  returned: always
  type: bool
summary:
  description:
    - The runbook's runtime report values, keys C(nav), C(nav_age_s), C(dd_state), C(dd_pct), C(risk_mode),
      C(router_quality), C(symbols_tracked), C(avg_slippage_bps), C(avg_latency_ms), C(exit_coverage_pct),
      C(open_positions), C(underwater_without_tp_sl), C(factor_weights), C(anomalies) (names of the active
      anomalies, [] when none, null when not reported) and C(engine_version).
  returned: always
  type: dict
document:
  description:
    - JSON-serialisable document for alerting tools, C({schema, generated_at, state_dir, ok, findings, hooks,
      summary}); C(schema) is V(gpt-hedge.incidents/v1), C(generated_at) ISO-8601 UTC, C(ok) true when no finding
      has severity V(fail).
  returned: always
  type: dict
msg:
  description: "One line, for example '2 findings: nav_anomaly (fail), dd_transition (warn)' or V(no incidents)."
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_hooks import (
    evaluate,
    one_line,
    validate_severity,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import READ_OPTIONS, check_read_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_http import http_get
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_verdict import RUN_OPTIONS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type='path', required=True),
            exit_coverage_min=dict(type='float', default=0.9),
            router_quality_min=dict(type='float', default=0.5),
            max_underwater_without_tp_sl=dict(type='int', default=0),
            severity=dict(type='dict', default={}),
            expected_version=dict(type='str'),
            healthz_status=dict(type='int'),
            healthz_url=dict(type='str'),
            healthz_timeout=dict(type='float', default=5),
            now=dict(type='float'),
            max_age=dict(type='int', default=120),
            intel_max_age=dict(type='int', default=900),
            run=dict(type='dict', options=RUN_OPTIONS),
            **READ_OPTIONS
        ),
        supports_check_mode=True,
    )
    params = module.params
    severity = dict((k, v.strip().lower() if isinstance(v, str) else v) for k, v in (params['severity'] or {}).items())
    error = validate_severity(severity)
    if error:
        module.fail_json(msg=one_line(error))
    if params['exit_coverage_min'] < 0 or params['exit_coverage_min'] > 100:
        module.fail_json(msg='exit_coverage_min must be a fraction 0..1 or a percentage 0..100')
    if params['router_quality_min'] < 0:
        module.fail_json(msg='router_quality_min must not be negative')
    if params['max_underwater_without_tp_sl'] < 0:
        module.fail_json(msg='max_underwater_without_tp_sl must not be negative')
    if params['max_age'] < 1 or params['intel_max_age'] < 1:
        module.fail_json(msg='max_age and intel_max_age must be at least 1 second')
    error = check_read_options(params['max_skew'], params['max_bytes'])
    if error:
        module.fail_json(msg=error)
    state_dir = params['state_dir']
    if not os.path.isdir(state_dir):
        module.warn('state_dir %s does not exist or is not a directory' % state_dir)

    healthz_status = params['healthz_status']
    healthz_msg = None
    if healthz_status is None and params['healthz_url']:
        healthz_status, _content, healthz_msg = http_get(params['healthz_url'], timeout=params['healthz_timeout'])
    result = evaluate(state_dir,
                      exit_coverage_min=params['exit_coverage_min'],
                      router_quality_min=params['router_quality_min'],
                      max_underwater_without_tp_sl=params['max_underwater_without_tp_sl'],
                      severity=severity,
                      expected_version=params['expected_version'],
                      healthz_status=healthz_status,
                      now=params['now'],
                      max_age=params['max_age'],
                      intel_max_age=params['intel_max_age'],
                      run=params['run'],
                      max_skew=params['max_skew'],
                      max_bytes=params['max_bytes'])
    if healthz_msg is not None:
        result['healthz'] = dict(url=params['healthz_url'], status=healthz_status, msg=healthz_msg)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
