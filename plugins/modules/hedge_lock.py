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
import fcntl
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    FILE_MODE,
    create_json_exclusive,
    ensure_dir,
    read_json,
    refuse_engine_state_dir,
    remove_file,
    utc_iso,
    write_json_atomic,
)

GUARD_TIMEOUT = 60.0
RAW_LIMIT = 4096


class GuardTimeout(Exception):
    pass


class Guard(object):
    """Exclusive flock on ``<path>.guard`` for the duration of a check-and-write.

    In check mode the guard file is not created; an existing one is locked (read only) so the
    prediction is consistent, a missing one means nobody ever took the lock through this module.
    """

    def __init__(self, path, create):
        self.path = path
        self.create = create
        self.fd = None

    def __enter__(self):
        if self.create:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), FILE_MODE)
        else:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | getattr(os, 'O_CLOEXEC', 0))
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    return self
                raise
        deadline = time.monotonic() + GUARD_TIMEOUT
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    self._close()
                    raise
            if time.monotonic() >= deadline:
                self._close()
                raise GuardTimeout('could not lock %s within %d s' % (self.path, GUARD_TIMEOUT))
            time.sleep(0.02)

    def _close(self):
        if self.fd is not None:
            os.close(self.fd)  # closing the fd releases the flock
            self.fd = None

    def __exit__(self, *exc_info):
        self._close()
        return False


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def read_lock(path):
    """Return ``(content, problem)``: (None, None) when free, (dict, None) when held, (info, reason) when unreadable."""
    data, error, raw = read_json(path)
    if error == 'missing':
        return None, None
    if error is None:
        if not isinstance(data.get('run_id'), str) or not data['run_id']:
            error = 'no run_id'
        elif _number(data.get('heartbeat_ts')) is None and _number(data.get('acquired_ts')) is None:
            error = 'no heartbeat_ts'
    if error is not None:
        info = {'unreadable': True, 'error': error, 'raw': None if raw is None else raw[:RAW_LIMIT]}
        return info, error
    return data, None


def _round(value):
    return None if value is None else round(value, 1)


def lock_ages(lock, now):
    """(age_s, heartbeat_age_s) of a lock at ``now``, unrounded (None when unknown)."""
    if not lock:
        return None, None
    acquired = _number(lock.get('acquired_ts'))
    heartbeat = _number(lock.get('heartbeat_ts'))
    if heartbeat is None:
        heartbeat = acquired
    return (None if acquired is None else now - acquired), (None if heartbeat is None else now - heartbeat)


def describe(lock, now):
    """``run abc (operator alice, since 2026-11-25T11:00:00Z, heartbeat 12 s ago)``."""
    holder = lock.get('holder') if isinstance(lock.get('holder'), dict) else {}
    details = []
    if holder.get('operator'):
        details.append('operator %s' % holder['operator'])
    if holder.get('controller'):
        controller = 'controller %s' % holder['controller']
        if holder.get('controller_pid') not in (None, ''):
            controller += ' pid %s' % holder['controller_pid']
        details.append(controller)
    since = lock.get('acquired_at')
    if not since and _number(lock.get('acquired_ts')) is not None:
        since = utc_iso(lock['acquired_ts'])
    if since:
        details.append('since %s' % since)
    hb_age = lock_ages(lock, now)[1]
    if hb_age is not None:
        details.append('heartbeat %d s ago' % int(round(hb_age)))
    text = 'run %s' % lock.get('run_id')
    if details:
        text += ' (%s)' % ', '.join(details)
    return text


def new_lock(run_id, holder, now):
    return {
        'run_id': run_id,
        'holder': dict(holder or {}),
        'acquired_at': utc_iso(now),
        'acquired_ts': now,
        'heartbeat_ts': now,
        'box_pid': None,
    }


def busy_module(path):
    """``{pid, path}`` when ``path`` names a live hedge_restart process, else None."""
    if not path:
        return None
    data, error, dummy = read_json(path)
    pid = data.get('pid') if error is None else None
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return None
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            if b'hedge_restart' not in handle.read():
                return None  # the pid was reused
    except (IOError, OSError):
        pass  # no /proc: the live pid counts
    return dict(pid=pid, path=path)


def decide(params, current, problem, now, busy=None):
    """Pure decision: what to do with lock ``current`` (None = free).

    Returns a dict with ``op`` (none|create|replace|remove), ``new`` (the lock after the task or None),
    ``acquired``, ``changed``, ``released`` (absent only), ``taken_over_from``, ``stale_reason``, ``msg``.
    """
    run_id = params['run_id']
    state = params['state']
    out = dict(op='none', new=current if problem is None else None, acquired=False, changed=False,
               taken_over_from=None, stale_reason=None, msg='')
    mine = current is not None and problem is None and current.get('run_id') == run_id

    if state == 'absent':
        out['released'] = False
        if current is None:
            out['msg'] = 'lock not held; nothing to release'
        elif problem is not None:
            out['msg'] = 'lock file unreadable (%s); not removed' % problem
        elif mine:
            out.update(op='remove', new=None, released=True, changed=True,
                       msg='lock of run %s released' % run_id)
        else:
            out['msg'] = 'lock held by %s; not released' % describe(current, now)
        return out

    if state == 'refreshed':
        if mine:
            new = dict(current)
            new['heartbeat_ts'] = now
            out.update(op='replace', new=new, acquired=True, msg='lock heartbeat of run %s refreshed' % run_id)
        elif current is None:
            out['msg'] = 'lock not held by run %s (no lock)' % run_id
        elif problem is not None:
            out['msg'] = 'lock not held by run %s (lock file unreadable: %s)' % (run_id, problem)
        else:
            out['msg'] = 'lock not held by run %s; held by %s' % (run_id, describe(current, now))
        return out

    # state == present
    if current is None:
        out.update(op='create', new=new_lock(run_id, params['holder'], now), acquired=True, changed=True,
                   msg='lock acquired by run %s' % run_id)
        return out
    if mine:
        new = dict(current)
        new['heartbeat_ts'] = now
        out.update(op='replace', new=new, acquired=True,
                   msg='lock already held by run %s; heartbeat refreshed' % run_id)
        return out

    reason = None
    if params['break_lock']:
        reason = 'broken deliberately (break_lock)'
        detail = 'lock file unreadable (%s)' % problem if problem is not None else describe(current, now)
    elif problem is not None:
        out['msg'] = ('lock file unreadable (%s): whether another run holds the box is unknown; '
                      'not taken over without break_lock' % problem)
        return out
    elif params['steal_from'] is not None and current.get('run_id') == params['steal_from']:
        reason = 'holder gone (steal_from)'
        detail = describe(current, now)
    else:
        hb_age = lock_ages(current, now)[1]
        if hb_age is not None and hb_age > params['ttl']:
            reason = 'expired: last heartbeat %d s ago' % int(hb_age)
            detail = describe(current, now)
    if reason is not None and busy is not None and not params['break_lock']:
        out['msg'] = ('lock held by %s, whose restart is still running on the box (pid %d, %s); not taken over'
                      % (describe(current, now), busy['pid'], busy['path']))
        return out
    if reason is not None:
        out.update(op='replace', new=new_lock(run_id, params['holder'], now), acquired=True, changed=True,
                   taken_over_from=current, stale_reason=reason,
                   msg='lock taken over by run %s from %s: %s' % (run_id, detail, reason))
        return out

    msg = 'lock held by %s' % describe(current, now)
    if params['steal_from'] is not None:
        msg += '; steal_from %s does not match holder run %s' % (params['steal_from'], current.get('run_id'))
    out['msg'] = msg
    return out


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
        age_s=_round(age),
        heartbeat_age_s=_round(hb_age),
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
