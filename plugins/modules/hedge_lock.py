#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_lock
short_description: Take, refresh and release the per-box activation lock of GPT-Hedge
description:
  - Keeps one lock per runtime box so that only one release activation runs against the engine at a time.
  - The lock is a JSON file at O(path) holding the run id of the owner, free-form O(holder) info, the time it was
    acquired and the time of the last heartbeat.
  - Every check-and-write is serialized with C(flock) on the sibling guard file C(<path>.guard), so of two runs
    acquiring at the same time exactly one wins. A free lock is created with C(O_CREAT|O_EXCL); a lock that is
    taken over or refreshed is replaced atomically (temp file in the same dir, fsync, rename, fsync of the dir).
  - A lock that is held by another run is not a module failure. The module returns RV(acquired=false) together
    with the holder, and the calling role turns that into a named gate.
  - A lock held by another run is taken over when its last heartbeat is older than O(ttl), when the caller has
    established that its holder is gone and names its run id in O(steal_from), or when O(break_lock) is set.
  - A lock file that cannot be read (not JSON, not an object, empty, no run id or heartbeat) is not taken over -
    whether another run holds the box is unknown. The module returns RV(acquired=false) and RV(unreadable); only
    O(break_lock) takes it over.
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  path:
    description:
      - The lock file, for example C(/var/lib/gpt-hedge/activation/lock).
      - Missing parent dirs are created with mode C(0750). The module writes only the lock file and its guard
        file C(<path>.guard) in that dir.
      - A path in or under the engine's state dir (a C(logs/state) dir) is refused.
    type: path
    required: true
  state:
    description:
      - V(present) acquires the lock (or re-enters it when O(run_id) already holds it, refreshing the heartbeat).
      - V(refreshed) updates the heartbeat of a lock held by O(run_id); it never acquires a lock.
      - V(absent) releases the lock if O(run_id) holds it; the lock of another run is never removed.
    type: str
    choices: [present, absent, refreshed]
    default: present
  run_id:
    description:
      - Id of the activation run that takes, refreshes or releases the lock.
    type: str
    required: true
  holder:
    description:
      - Free-form info stored with the lock and shown to the runs that find it held, for example
        C(operator), C(controller) (host), C(controller_pid), C(playbook), C(version).
      - Only used when the lock is acquired or taken over.
    type: dict
    default: {}
  ttl:
    description:
      - Seconds after the last heartbeat when a lock held by another run counts as expired and is taken over.
    type: int
    default: 900
  steal_from:
    description:
      - Run id of a holder the caller has established is gone (for example its controller pid is dead).
      - With O(state=present) the lock is taken over only if the current holder has exactly this run id.
    type: str
  busy_pid_file:
    description:
      - The pid file a restart in flight keeps on the box (C(hedge_restart) O(gpt_hedge.activation.hedge_restart#module:pid_file)).
      - While it names a live C(hedge_restart) process, the lock is not taken over from its holder (neither with
        O(steal_from) nor expired) - the run is still changing the box although its controller may be gone.
    type: path
  break_lock:
    description:
      - With O(state=present), take over whatever lock is there (an unreadable lock file, or a lock held by another
        run) - the operator's deliberate decision after checking that no other run works on the box.
      - RV(stale_reason) is then C(broken deliberately (break_lock)) and RV(taken_over_from) the lock broken.
    type: bool
    default: false
  now:
    description:
      - Epoch seconds to use as the current time instead of the target's clock (for tests).
    type: float
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
notes:
  - Re-entry with O(state=present) and a heartbeat refresh with O(state=refreshed) rewrite the heartbeat but
    report C(changed=false).
  - In check mode nothing is written (not even the guard file or the parent dirs); the result is what would happen.
  - The guard file is never removed; removing it would break the serialization.
seealso:
  - module: gpt_hedge.activation.hedge_history
'''

EXAMPLES = r'''
- name: Take the activation lock of the box
  gpt_hedge.activation.hedge_lock:
    path: /var/lib/gpt-hedge/activation/lock
    run_id: "{{ hedge_run_id }}"
    holder:
      operator: "{{ hedge_operator }}"
      controller: "{{ lookup('ansible.builtin.pipe', 'hostname') }}"
      controller_pid: "{{ hedge_controller_pid }}"
      playbook: activate.yml
      version: v7.6.1
  register: hedge_lock

- name: Gate - activation lock
  ansible.builtin.assert:
    that: hedge_lock.acquired
    fail_msg: "gate activation_lock: {{ hedge_lock.msg }}"

- name: Take over the lock of a run whose controller process is gone
  gpt_hedge.activation.hedge_lock:
    path: /var/lib/gpt-hedge/activation/lock
    run_id: "{{ hedge_run_id }}"
    steal_from: "{{ hedge_dead_run_id }}"
  register: hedge_lock

- name: Heartbeat the activation lock
  gpt_hedge.activation.hedge_lock:
    path: /var/lib/gpt-hedge/activation/lock
    run_id: "{{ hedge_run_id }}"
    state: refreshed

- name: Release the activation lock
  gpt_hedge.activation.hedge_lock:
    path: /var/lib/gpt-hedge/activation/lock
    run_id: "{{ hedge_run_id }}"
    state: absent
'''

RETURN = r'''
acquired:
  description: Whether O(run_id) holds the lock after the task (always false for O(state=absent)).
  returned: always
  type: bool
  sample: true
released:
  description: Whether the lock of O(run_id) was removed.
  returned: when O(state=absent)
  type: bool
  sample: true
lock:
  description: Content of the lock file after the task (what it would be in check mode), or null when there is none.
  returned: always
  type: dict
  contains:
    run_id:
      description: Run id of the holder.
      type: str
    holder:
      description: The O(holder) info given by the holder.
      type: dict
    acquired_at:
      description: When the lock was acquired, ISO-8601 UTC.
      type: str
    acquired_ts:
      description: When the lock was acquired, epoch seconds.
      type: float
    heartbeat_ts:
      description: Last heartbeat, epoch seconds.
      type: float
    box_pid:
      description: Reserved, always null.
      type: int
  sample:
    run_id: 20261125T110900Z-alice-4242
    holder: {operator: alice, controller: ops-ctl-01, controller_pid: 4242, playbook: activate.yml, version: v7.6.1}
    acquired_at: "2026-11-25T11:09:00Z"
    acquired_ts: 1795604940.0
    heartbeat_ts: 1795604952.0
    box_pid: null
holder:
  description: The C(holder) info of whoever holds the lock after the task, or null when nobody does.
  returned: always
  type: dict
  sample: {operator: alice, controller: ops-ctl-01, controller_pid: 4242}
held_by_other:
  description: Whether the lock is held by a run other than O(run_id) after the task.
  returned: always
  type: bool
  sample: false
age_s:
  description: Seconds since the current lock was acquired (rounded to 0.1 s), or null.
  returned: always
  type: float
  sample: 12.0
heartbeat_age_s:
  description: Seconds since the last heartbeat of the current lock (rounded to 0.1 s), or null.
  returned: always
  type: float
  sample: 0.0
taken_over_from:
  description:
    - The previous lock content when the lock was taken over, else null.
    - For an unreadable lock file it is a dict with C(unreadable=true), C(error) and C(raw) (the text, cut to 4096 chars).
  returned: always
  type: dict
stale_reason:
  description:
    - Why the previous lock was taken over, else null.
    - "C(expired: last heartbeat N s ago), C(holder gone (steal_from)) or C(broken deliberately (break_lock))."
  returned: always
  type: str
  sample: "expired: last heartbeat 1830 s ago"
busy:
  description: The live restart module found through O(busy_pid_file) (C(pid), C(path)), else null.
  returned: always
  type: dict
unreadable:
  description: Why the lock file found could not be read (for example C(malformed JSON ...) or C(no run_id)), else null.
  returned: always
  type: str
  sample: "malformed JSON: Expecting value: line 1 column 1 (char 0)"
now:
  description: Epoch seconds used as the current time.
  returned: always
  type: float
msg:
  description: One line summary.
  returned: always
  type: str
  sample: "lock held by run 20261125T110000Z-bob-77 (operator bob, since 2026-11-25T11:00:00Z, heartbeat 12 s ago)"
'''

import errno
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_lockfile import (
    Guard,
    GuardTimeout,
    busy_module,
    decide,
    describe,
    lock_ages,
    read_lock,
    round_age,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    create_json_exclusive,
    ensure_dir,
    refuse_engine_state_dir,
    remove_file,
    write_json_atomic,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'refreshed']),
            run_id=dict(type='str', required=True),
            holder=dict(type='dict', default={}),
            ttl=dict(type='int', default=900),
            steal_from=dict(type='str'),
            break_lock=dict(type='bool', default=False),
            busy_pid_file=dict(type='path'),
            now=dict(type='float'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params['run_id'] or not params['run_id'].strip():
        module.fail_json(msg='run_id must not be empty')
    if params['ttl'] <= 0:
        module.fail_json(msg='ttl must be positive')
    if params['steal_from'] is not None and params['steal_from'] == params['run_id']:
        module.fail_json(msg='steal_from must name another run than run_id')
    path = os.path.abspath(params['path'])
    if path.endswith(os.sep) or os.path.isdir(path):
        module.fail_json(msg='path %s must be a file path, not a dir' % path)
    directory = os.path.dirname(path)
    try:
        refuse_engine_state_dir(directory)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    now = params['now'] if params['now'] is not None else time.time()
    check = module.check_mode

    try:
        if not check:
            ensure_dir(directory)
        with Guard(path + '.guard', create=not check):
            current, problem = read_lock(path)
            busy = busy_module(params['busy_pid_file']) if params['state'] == 'present' else None
            result = decide(params, current, problem, now, busy)
            found_problem = problem
            if not check:
                if result['op'] == 'create':
                    try:
                        create_json_exclusive(path, result['new'])
                    except OSError as exc:
                        if exc.errno != errno.EEXIST:
                            raise
                        # someone bypassed the guard: never overwrite, report what is there now
                        current, problem = read_lock(path)
                        mine = current is not None and problem is None and current.get('run_id') == params['run_id']
                        result = dict(result, op='none', changed=False, acquired=mine,
                                      new=current if problem is None else None,
                                      msg='%s (lock file appeared while acquiring)' % (
                                          'lock file unreadable (%s)' % problem if problem else
                                          'lock held by %s' % describe(current, now) if current else
                                          'lock not held'))
                elif result['op'] == 'replace':
                    write_json_atomic(path, result['new'])
                elif result['op'] == 'remove':
                    remove_file(path)
    except GuardTimeout as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='lock %s: %s' % (path, exc))

    lock = result['new']
    age, hb_age = lock_ages(lock, now)
    out = dict(
        changed=result['changed'],
        acquired=result['acquired'],
        lock=lock,
        holder=(lock.get('holder') if lock else None),
        held_by_other=bool(lock) and lock.get('run_id') != params['run_id'],
        age_s=round_age(age),
        heartbeat_age_s=round_age(hb_age),
        taken_over_from=result['taken_over_from'],
        stale_reason=result['stale_reason'],
        unreadable=found_problem,
        busy=busy,
        now=now,
        msg=result['msg'],
    )
    if params['state'] == 'absent':
        out['released'] = result['released']
    module.exit_json(**out)


if __name__ == '__main__':
    main()
