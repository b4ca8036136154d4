#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_state
short_description: Report presence, validity and freshness of the GPT-Hedge state surfaces
description:
  - Reads every state surface (JSON file) the GPT-Hedge engine writes under its state dir (C(logs/state/)) and reports,
    per surface, whether it is present, valid JSON, carries its required keys and was written recently enough.
  - Timestamps are read in every form the engine writes, epoch seconds, epoch milliseconds, strings of digits and
    ISO-8601 text with C(Z) or an offset.
  - The module only reads. It never writes to the state dir. It returns facts and does not decide gates; a
    role asserts on RV(ok), RV(failed_surfaces) and RV(warned_surfaces).
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  state_dir:
    description:
      - The engine's state dir, for example C(/root/hedge-fund/logs/state).
    type: path
    required: true
  surfaces:
    description:
      - Surfaces to check, merged over the built-in table of the runtime box contract
        (C(nav.json), C(nav_state.json), C(positions_state.json), C(positions_ledger.json), C(kpis_v7.json),
        C(diagnostics.json), C(risk_snapshot.json), C(router_health.json), C(engine_metadata.json),
        C(symbol_scores_v6.json), C(factor_diagnostics.json) and the optional C(rv_momentum.json)).
      - An entry whose O(surfaces[].name) is in the table overrides only the fields it sets; a new name adds a surface.
      - With O(replace_surfaces=true) only the listed surfaces are checked (still filled from the table by name).
    type: list
    elements: dict
    suboptions:
      name:
        description: File name of the surface, also the key in RV(surfaces).
        type: str
        required: true
      path:
        description: File path, relative to O(state_dir) or absolute. Defaults to O(surfaces[].name).
        type: str
      keys:
        description:
          - Freshness key paths (a write time), the first present one wins. Dotted paths and C(a || b) alternatives.
        type: list
        elements: str
      start_keys:
        description:
          - Key paths of a start time, read only when none of O(surfaces[].keys) is present
            (C(started_ts) of C(engine_metadata.json) in the runbook shape).
          - A start time does not age while the engine runs. It is never compared with the age limit or
            O(newer_than); with O(started_after) it must be after it (else V(not_updated)).
        type: list
        elements: str
      cadence:
        description:
          - V(loop) surfaces are written every executor loop and use O(max_age) and O(newer_than);
            V(intel) surfaces are written per intel run and use O(intel_max_age).
        type: str
        choices: [loop, intel]
      required:
        description: A required surface that is not ok is listed in RV(failed_surfaces), an optional one in RV(warned_surfaces).
        type: bool
      required_keys:
        description: Key paths that must be present (not null).
        type: list
        elements: str
      max_age:
        description: Per-surface age limit in seconds, overriding O(max_age) or O(intel_max_age).
        type: float
      enabled:
        description: Set V(false) to drop a surface of the table.
        type: bool
  replace_surfaces:
    description:
      - Check only the surfaces listed in O(surfaces) instead of merging them into the table.
    type: bool
    default: false
  max_age:
    description:
      - Maximum age in seconds of per-loop surfaces.
    type: int
    default: 120
  intel_max_age:
    description:
      - Maximum age in seconds of per-intel-run surfaces.
    type: int
    default: 900
  newer_than:
    description:
      - Epoch seconds, typically the restart time. Per-loop surfaces whose timestamp is older than
        O(newer_than) minus 1 s get status V(not_updated).
    type: float
  started_after:
    description:
      - Epoch seconds of a restart done in this run. A start time (O(surfaces[].start_keys)) older than this
        minus 1 s gets status V(not_updated) (the engine did not restart). Give it only right after a restart.
    type: float
  now:
    description:
      - Epoch seconds to use as the current time instead of the target's clock (for tests).
    type: float
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
  - gpt_hedge.activation.state_read
notes:
  - The per-surface status is evaluated in this order; the first that applies wins
    V(missing), V(unreadable) (not a regular file, too large, an OS error), V(malformed),
    V(invalid_value) (NaN, Infinity or an integer beyond the range of a float at a key the check reads),
    V(missing_keys), V(no_timestamp), V(future), V(stale), V(not_updated), V(ok).
  - The result key for the failing surfaces is RV(failed_surfaces), not C(failed), because a non-empty C(failed)
    would fail the task.
seealso:
  - module: gpt_hedge.activation.hedge_runtime
  - module: gpt_hedge.activation.hedge_logscan
'''

EXAMPLES = r'''
- name: Record the restart time
  ansible.builtin.set_fact:
    hedge_restart_epoch: "{{ now(utc=true).timestamp() }}"

- name: Check that every state surface was written since the restart
  gpt_hedge.activation.hedge_state:
    state_dir: /root/hedge-fund/logs/state
    newer_than: "{{ hedge_restart_epoch }}"
  register: hedge_state
  until: hedge_state.ok
  retries: 12
  delay: 10

- name: Fail on required surfaces that are not fresh
  ansible.builtin.assert:
    that: hedge_state.ok
    fail_msg: "{{ hedge_state.failed_surfaces | map('extract', hedge_state.surfaces) | map(attribute='reason') | list }}"

- name: Check with a longer intel limit and without the optional rv_momentum surface
  gpt_hedge.activation.hedge_state:
    state_dir: /root/hedge-fund/logs/state
    intel_max_age: 1800
    surfaces:
      - name: rv_momentum.json
        enabled: false
      - name: nav_state.json
        max_age: 300
  register: hedge_state
'''

RETURN = r'''
now:
  description: Epoch seconds used as the current time (the target's clock unless O(now) is given).
  returned: always
  type: float
  sample: 1764067200.25
surfaces:
  description: Per-surface facts, keyed by surface name.
  returned: always
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
        - Every unusable number in the file, one line each naming the key path and the problem (read as null). Only those at a key the
          check reads make the status V(invalid_value).
      type: list
      elements: str
      sample: ["nav: NaN is not a finite number"]
    timestamp_key:
      description: The freshness key that was read (first present), or null.
      type: str
    timestamp_kind:
      description: V(write) (from O(surfaces[].keys)), V(start) (from O(surfaces[].start_keys)) or null.
      type: str
    timestamp:
      description: The freshness timestamp as epoch seconds, or null.
      type: float
    age_s:
      description: Age in seconds at RV(now), rounded to 0.1 s, or null.
      type: float
    max_age:
      description: The age limit applied, in seconds.
      type: float
    fresh:
      description:
        - Whether the timestamp is within the age limit and not in the future (and not older than O(newer_than)
          for loop surfaces); for a start time, whether it is not in the future and after O(started_after).
      type: bool
    status:
      description:
        - One of V(ok), V(missing), V(unreadable), V(malformed), V(invalid_value), V(missing_keys), V(no_timestamp),
          V(future), V(stale), V(not_updated).
      type: str
    reason:
      description: One line explanation.
      type: str
      sample: "nav.json: stale: age 3600.2 s > 120 s (key updated_ts)"
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
      reason: "nav.json: ok: age 4.2 s <= 120 s (key updated_ts)"
failed_surfaces:
  description: Names of required surfaces whose status is not V(ok).
  returned: always
  type: list
  elements: str
  sample: [nav.json]
warned_surfaces:
  description: Names of optional surfaces whose status is not V(ok).
  returned: always
  type: list
  elements: str
  sample: [rv_momentum.json]
ok:
  description: True when RV(failed_surfaces) is empty.
  returned: always
  type: bool
oldest_age_s:
  description: Largest RV(surfaces.age_s) over the surfaces with a write timestamp, or null.
  returned: always
  type: float
msg:
  description: One line summary.
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import READ_OPTIONS, check_read_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import (
    STATE_OPTIONS,
    evaluate_surfaces,
    merge_surfaces,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            STATE_OPTIONS,
            state_dir=dict(type='path', required=True),
            now=dict(type='float'),
            **READ_OPTIONS
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['max_age'] <= 0 or params['intel_max_age'] <= 0:
        module.fail_json(msg='max_age and intel_max_age must be positive')
    if params['replace_surfaces'] and not params['surfaces']:
        module.fail_json(msg='replace_surfaces needs a non-empty surfaces list')
    error = check_read_options(params['max_skew'], params['max_bytes'])
    if error:
        module.fail_json(msg=error)
    try:
        surfaces = merge_surfaces(params['surfaces'], replace=params['replace_surfaces'])
    except ValueError as exc:
        module.fail_json(msg='surfaces: %s' % exc)
    if not surfaces:
        module.fail_json(msg='surfaces: no surface left to check')
    state_dir = params['state_dir']
    if not os.path.isdir(state_dir):
        # a missing state dir is a fact: every surface is reported missing
        module.warn('state_dir %s does not exist or is not a directory' % state_dir)

    result = evaluate_surfaces(state_dir, surfaces, params['max_age'], params['intel_max_age'],
                               newer_than=params['newer_than'], now=params['now'],
                               started_after=params['started_after'],
                               max_skew=params['max_skew'], max_bytes=params['max_bytes'])
    if result['ok']:
        msg = 'all %d required surfaces ok' % sum(1 for s in surfaces if s['required'])
    else:
        msg = '; '.join(result['surfaces'][name]['reason'] for name in result['failed_surfaces'])
    if result['warned_surfaces']:
        msg += '; warnings: ' + '; '.join(result['surfaces'][name]['reason'] for name in result['warned_surfaces'])
    module.exit_json(changed=False, msg=msg, **result)


if __name__ == '__main__':
    main()
