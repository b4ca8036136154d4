#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_history
short_description: Record and query the activation history of a GPT-Hedge runtime box
description:
  - Keeps the history of release activations and rollbacks on the runtime box, one JSON file
    C(<dir>/<record_id>.json) per record.
  - V(start) writes the initial record of a run, V(finish) merges the outcome into it, V(query) reads the history
    and returns the last records, the last activation, the last good record and the interrupted runs.
  - V(begin) is what a run does first, in one module run, reads the history (returned as RV(history), the answer of
    V(query)), closes the records of interrupted runs as V(interrupted), works out the release to come back to
    (RV(previous)) from O(live) and the last record, and starts the record O(record_id) with C(previous_version) and
    C(previous_commit).
  - Every write is atomic (temp file in the same dir, fsync, rename, fsync of the dir). The module writes only
    under O(dir).
  - The record fields are not enforced; RV(records) shows the fields used by the roles.
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  dir:
    description:
      - The history dir, for example C(/var/lib/gpt-hedge/activation/history). Created with mode C(0750)
        (missing parents too) by V(start).
      - For V(start) and V(finish), a dir in or under the engine's state dir (a C(logs/state) dir) is refused.
    type: path
    required: true
  action:
    description:
      - V(start) creates the record O(record_id) and fails if it already exists.
      - V(finish) merges O(record) into the existing record O(record_id) and fails if it does not exist.
      - V(query) only reads.
      - V(begin) reads, closes interrupted records and starts O(record_id) (see the description).
    type: str
    required: true
    choices: [begin, start, finish, query]
  record_id:
    description:
      - Id of the record, also its file name without C(.json). Letters, digits, C(.), C(_) and C(-), not starting
        with C(.).
      - Required for V(begin), V(start) and V(finish).
    type: str
  record:
    description:
      - For V(start), the fields of the initial record. C(id) is set to O(record_id), C(started_at) defaults to
        the current time and C(outcome) to V(in_progress).
      - For V(finish), fields merged into the record (a shallow merge; a nested dict replaces the old value).
        C(finished_at) defaults to the current time.
    type: dict
    default: {}
  live:
    description:
      - For V(begin), what the box runs now, C(version), C(commit) and optionally C(tag) (the checkout's tag).
      - The release to come back to (RV(previous)) is this one, except after an interrupted run that had already
        deployed its target (the last record is V(in_progress) and its C(version) is the live version) - then it is
        that run's C(previous_version) and C(previous_commit).
      - When a record newer than every readable record cannot be read (RV(unreadable_newest)), that run may have
        changed the box, and the live release is the one to come back to only when the newest readable record is a
        V(success) of it; otherwise it is not established (see O(require_previous)).
    type: dict
  reserve_bytes:
    description:
      - For V(begin) and V(start), the write proof - after the record, also write this many bytes to
        C(<dir>/.<record_id>.reserve) (fsync'ed), kept as room for the record's last write. V(finish) frees it right
        before writing. When either write fails (e.g. the filesystem is full), nothing is left behind and
        V(begin) fails with C(GATE ledger.write FAILED) naming the file, before anything else is written.
      - V(0) keeps no room.
    type: int
    default: 0
  require_previous:
    description:
      - For V(begin), fail (C(GATE rollback.target FAILED)) before writing anything - no record opened, no
        interrupted record closed - when the release to come back to cannot be established from readable records
        (see RV(unreadable_newest)). Activations need it, for their automatic rollback.
      - Without it the record is opened with the live release as C(previous_version).
    type: bool
    default: false
  release_lock:
    description:
      - For V(finish), the box's lock to release right after the record is closed, C(path) (the lock file) and
        C(run_id) (the run holding it) - as C(hedge_lock) O(gpt_hedge.activation.hedge_lock#module:state=absent)
        does, in the same module run (RV(lock_released)). The lock of another run is never removed; a lock that
        cannot be released never fails the module (RV(lock_msg) says why).
      - Not released in check mode.
    type: dict
  limit:
    description:
      - For V(query) and V(begin), the number of records returned in RV(records) (the newest ones).
    type: int
    default: 20
  now:
    description:
      - Epoch seconds to use as the current time instead of the target's clock (for tests).
    type: float
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
notes:
  - Records are ordered by C(started_at) (ISO-8601 UTC text, so text order is time order), then by C(id).
  - V(query) on a missing dir returns an empty history. Files that are not a JSON object are skipped, listed in
    RV(unreadable) and reported as a warning naming their path.
  - In check mode V(start) and V(finish) report C(changed=true) and the record they would write, and write nothing.
seealso:
  - module: gpt_hedge.activation.hedge_lock
'''

EXAMPLES = r'''
- name: Record the start of the activation
  gpt_hedge.activation.hedge_history:
    dir: /var/lib/gpt-hedge/activation/history
    action: start
    record_id: "{{ hedge_run_id }}"
    record:
      kind: activation
      version: v7.6.1
      commit: 4f2c9e1
      previous_version: v7.6.0
      previous_commit: 9ab03d2
      method: git
      operator: "{{ hedge_operator }}"
      controller: ops-ctl-01

- name: Record the outcome of the activation
  gpt_hedge.activation.hedge_history:
    dir: /var/lib/gpt-hedge/activation/history
    action: finish
    record_id: "{{ hedge_run_id }}"
    record:
      outcome: failed
      failed_gate: state_fresh
      reason: "nav.json: stale: age 3600.2 s > 120 s (key updated_ts)"

- name: Begin a run - close interrupted records, work out the previous release, open the record
  gpt_hedge.activation.hedge_history:
    dir: /var/lib/gpt-hedge/activation/history
    action: begin
    record_id: "{{ hedge_run_id }}"
    live: {version: v7.5, commit: 9ab03d2, tag: v7.5}
    record:
      kind: activation
      version: v7.6
      method: git
  register: ledger_begin

- name: Read the activation history
  gpt_hedge.activation.hedge_history:
    dir: /var/lib/gpt-hedge/activation/history
    action: query
    limit: 10
  register: hedge_history

- name: Gate - no interrupted activation
  ansible.builtin.assert:
    that: hedge_history.interrupted | length == 0
    fail_msg: "gate interrupted_activation: {{ hedge_history.interrupted | map(attribute='id') | list }}"
'''

RETURN = r'''
lock_released:
  description: With O(release_lock), whether the lock was released (RV(lock_msg) says what happened).
  returned: when O(action=finish) and O(release_lock) is given
  type: bool
  sample: true
lock_msg:
  description: With O(release_lock), one line on the release.
  returned: when O(action=finish) and O(release_lock) is given
  type: str
  sample: lock of run 20261125T110900Z-0c0ffee0 released
record:
  description: The record as written (or as it would be written in check mode).
  returned: when O(action) is V(begin), V(start) or V(finish)
  type: dict
  sample:
    id: 20261125T110900Z-alice-4242
    kind: activation
    version: v7.6.1
    commit: 4f2c9e1
    previous_version: v7.6.0
    previous_commit: 9ab03d2
    method: git
    operator: alice
    controller: ops-ctl-01
    started_at: "2026-11-25T11:09:00Z"
    finished_at: "2026-11-25T11:14:31Z"
    outcome: success
    failed_gate: null
    reason: null
    rollback_of: null
    notes: ""
history:
  description: For V(begin), the history before this run, as V(query) returns it (RV(records), RV(count), RV(last), ...).
  returned: when O(action=begin)
  type: dict
previous:
  description:
    - For V(finish), the record before the merge.
    - For V(begin), the release to come back to, C(version) and C(commit) (see O(live)).
  returned: when O(action) is V(begin) or V(finish)
  type: dict
closed:
  description: For V(begin), ids of the records of interrupted runs closed as V(interrupted).
  returned: when O(action=begin)
  type: list
  elements: str
path:
  description: Path of the record file.
  returned: when O(action) is V(begin), V(start) or V(finish)
  type: str
  sample: /var/lib/gpt-hedge/activation/history/20261125T110900Z-alice-4242.json
records:
  description:
    - The newest O(limit) records, oldest first.
    - Fields used by the roles (not enforced) are C(id), C(kind) (V(activation), V(rollback), V(auto_rollback)),
      C(version), C(commit), C(previous_version), C(previous_commit), C(method) (V(git), V(docker)), C(operator),
      C(controller), C(started_at), C(finished_at), C(outcome) (V(in_progress), V(success), V(failed), V(refused),
      V(rolled_back), V(rollback_failed)), C(failed_gate), C(reason), C(rollback_of), C(notes).
  returned: when O(action=query)
  type: list
  elements: dict
  sample:
    - id: 20261125T110900Z-alice-4242
      kind: activation
      version: v7.6.1
      commit: 4f2c9e1
      previous_version: v7.6.0
      previous_commit: 9ab03d2
      method: git
      operator: alice
      controller: ops-ctl-01
      started_at: "2026-11-25T11:09:00Z"
      finished_at: "2026-11-25T11:14:31Z"
      outcome: success
count:
  description: Number of readable records in the dir (not limited by O(limit)).
  returned: when O(action=query)
  type: int
  sample: 14
last:
  description: The newest record, or null.
  returned: when O(action=query)
  type: dict
last_activation:
  description:
    - The newest record with C(kind=activation) that left the box changed, or null. Skipped, so that
      a rollback with no version goes back past them - re-activations of the release already live
      (C(previous_version) equal to C(version)) and runs that left the box as it was (C(outcome)
      V(refused) or V(rolled_back)). When every activation is skipped, the newest one.
  returned: when O(action=query)
  type: dict
last_good:
  description: The newest record with C(outcome=success), of any kind, or null.
  returned: when O(action=query)
  type: dict
interrupted:
  description: Records whose C(outcome) is still V(in_progress), oldest first.
  returned: when O(action=query)
  type: list
  elements: dict
unreadable:
  description: Files C(*.json) in O(dir) that were skipped, with the reason.
  returned: when O(action=query)
  type: list
  elements: dict
  sample:
    - path: /var/lib/gpt-hedge/activation/history/broken.json
      error: "malformed JSON: Expecting value: line 1 column 1 (char 0)"
      mtime: 1795604940.2
unreadable_newest:
  description:
    - The entries of RV(unreadable) written at or after the newest readable record (all of them when no record is
      readable), C(path), C(error), C(mtime) - runs the readable history cannot account for.
  returned: when O(action=query)
  type: list
  elements: dict
msg:
  description: One line summary.
  returned: always
  type: str
'''

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_lockfile import (
    lock_option_problem,
    release_lock,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    ensure_dir,
    read_json,
    refuse_engine_state_dir,
    remove_file,
    reserve_space,
    utc_iso,
    write_json_atomic,
)

RECORD_ID_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$')


def sort_key(record):
    started = record.get('started_at')
    return ('' if started is None else str(started), str(record.get('id', '')))


def file_mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def read_history(directory):
    """Return ``(records sorted oldest first, unreadable, newest_mtime)``; a missing dir is an empty history.

    ``unreadable`` lists ``{path, error, mtime}``; ``newest_mtime`` is the latest write time of a readable record
    (None without one).
    """
    records, unreadable, newest_mtime = [], [], None
    try:
        names = sorted(os.listdir(directory))
    except (IOError, OSError):
        if not os.path.exists(directory):
            return records, unreadable, newest_mtime
        raise
    for name in names:
        if name.startswith('.') or not name.endswith('.json'):
            continue  # temp files of atomic writes start with a dot
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        data, error, dummy = read_json(path)
        mtime = file_mtime(path)
        if error is not None:
            unreadable.append({'path': path, 'error': error, 'mtime': mtime})
            continue
        if 'id' not in data:
            data['id'] = name[:-len('.json')]
        records.append(data)
        if mtime is not None and (newest_mtime is None or mtime > newest_mtime):
            newest_mtime = mtime
    records.sort(key=sort_key)
    return records, unreadable, newest_mtime


def newer_than(unreadable, newest_mtime):
    """The unreadable records written at or after the newest readable one (all of them when none is readable):
    runs the readable history cannot account for."""
    return [u for u in unreadable
            if newest_mtime is None or u.get('mtime') is None or u['mtime'] >= newest_mtime]


def newest(records, key, value):
    for record in reversed(records):
        if record.get(key) == value:
            return record
    return None


def last_release_change(records):
    """The newest activation that changed the release (see RETURN last_activation)."""
    activations = [r for r in records if r.get('kind') == 'activation']
    for record in reversed(activations):
        if (record.get('previous_version') != record.get('version')
                and record.get('outcome') not in ('refused', 'rolled_back')):
            return record
    return activations[-1] if activations else None


def query(directory, limit):
    """The answer of action=query (without changed)."""
    records, unreadable, newest_mtime = read_history(directory)
    shown = records[-limit:] if limit else []
    interrupted = [r for r in records if r.get('outcome') == 'in_progress']
    last = records[-1] if records else None
    msg = '%d record(s) in %s' % (len(records), directory)
    if last is not None:
        msg += '; last %s (%s %s)' % (last.get('id'), last.get('kind', '?'), last.get('outcome', '?'))
    if interrupted:
        msg += '; interrupted: %s' % ', '.join(str(r.get('id')) for r in interrupted)
    if unreadable:
        msg += '; %d unreadable file(s)' % len(unreadable)
    return dict(records=shown, count=len(records), last=last, last_activation=last_release_change(records),
                last_good=newest(records, 'outcome', 'success'), interrupted=interrupted, unreadable=unreadable,
                unreadable_newest=newer_than(unreadable, newest_mtime), msg=msg)


def describe_record(record):
    if not record:
        return 'none'
    return '%s (%s %s, %s)' % (record.get('id'), record.get('kind', '?'), record.get('version', '?'),
                               record.get('outcome', '?'))


def previous_release(last, live, unreadable_newest=()):
    """``(release, problem)``: the release to come back to, and why it cannot be established (else None).

    It is what is live, or, after an interrupted run that had already deployed its target, the release that
    was live before it. When a record newer than every readable one cannot be read, that run may have changed
    the box: the live release counts only when the newest readable record is a success of that very release;
    otherwise ``problem`` says why the release to come back to is not known (``release`` is then what is live).
    """
    last = last or {}
    live_release = dict(version=live.get('tag') or live.get('version'), commit=live.get('commit'))
    if unreadable_newest:
        if last.get('outcome') == 'success' and last.get('version') == live_release['version']:
            return live_release, None
        return live_release, (
            'the release to come back to cannot be established: history record(s) %s cannot be read (%s) and '
            'no readable record accounts for the live release %s (newest readable record: %s); check what the '
            'box runs, move the unreadable record(s) out of %s (keep them for the incident) and run again'
            % (', '.join(u['path'] for u in unreadable_newest),
               '; '.join(u['error'] for u in unreadable_newest), live_release['version'] or '?',
               describe_record(last), os.path.dirname(unreadable_newest[0]['path'])))
    if (last.get('outcome') == 'in_progress' and last.get('previous_version')
            and last.get('version') == live.get('version')):
        return dict(version=last.get('previous_version'), commit=last.get('previous_commit')), None
    return live_release, None


def reserve_path(directory, record_id):
    """The room kept for the last write of a record (a dot file: never read as a record)."""
    return os.path.join(directory, '.%s.reserve' % record_id)


class WriteError(Exception):
    """A record (or its reserve) could not be written; the message names the file."""


def start_record(directory, record_id, given, now, check_mode, reserve_bytes=0):
    """Open the record; with ``reserve_bytes``, also keep that much room for its last write (the write proof).
    On a write failure nothing is left behind and WriteError names the file."""
    path = os.path.join(directory, record_id + '.json')
    if os.path.lexists(path):
        raise ValueError('history record %s already exists (%s); a run id is started only once' % (record_id, path))
    record = dict(given)
    record['id'] = record_id
    record.setdefault('started_at', utc_iso(now))
    record.setdefault('outcome', 'in_progress')
    if not check_mode:
        ensure_dir(directory)
        try:
            write_json_atomic(path, record)
        except (IOError, OSError) as exc:
            raise WriteError('history record %s could not be written: %s' % (path, exc))
        if reserve_bytes > 0:
            reserve = reserve_path(directory, record_id)
            try:
                reserve_space(reserve, reserve_bytes)
            except (IOError, OSError) as exc:
                remove_file(path)
                raise WriteError('history dir %s cannot hold the %d bytes kept for closing record %s (%s): %s'
                                 % (directory, reserve_bytes, record_id, reserve, exc))
    return record, path


def finish_record(directory, record_id, given, now, check_mode):
    path = os.path.join(directory, record_id + '.json')
    previous, error, dummy = read_json(path)
    if error == 'missing':
        raise ValueError('history record %s does not exist in %s; finish needs a started record'
                         % (record_id, directory))
    if error is not None:
        raise ValueError('history record %s cannot be read: %s' % (path, error))
    record = dict(previous)
    record.update(given)
    record['id'] = previous.get('id', record_id)
    if 'finished_at' not in given:
        record['finished_at'] = utc_iso(now)
    if not check_mode:
        # The room kept since the record was opened is freed for this write.
        remove_file(reserve_path(directory, record_id))
        try:
            write_json_atomic(path, record)
        except (IOError, OSError) as exc:
            raise WriteError('history record %s could not be written: %s' % (path, exc))
    return record, previous, path


def warn_unreadable(module, history):
    for item in history['unreadable']:
        module.warn('history record %s cannot be read and was skipped: %s' % (item['path'], item['error']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            action=dict(type='str', required=True, choices=['begin', 'start', 'finish', 'query']),
            record_id=dict(type='str'),
            record=dict(type='dict', default={}),
            live=dict(type='dict'),
            limit=dict(type='int', default=20),
            require_previous=dict(type='bool', default=False),
            reserve_bytes=dict(type='int', default=0),
            release_lock=dict(type='dict'),
            now=dict(type='float'),
        ),
        required_if=[
            ('action', 'begin', ('record_id', 'live')),
            ('action', 'start', ('record_id',)),
            ('action', 'finish', ('record_id',)),
        ],
        supports_check_mode=True,
    )
    params = module.params
    directory = os.path.abspath(params['dir'])
    action = params['action']
    now = params['now'] if params['now'] is not None else time.time()

    if action in ('query', 'begin'):
        if params['limit'] < 0:
            module.fail_json(msg='limit must be >= 0')
        if os.path.exists(directory) and not os.path.isdir(directory):
            module.fail_json(msg='dir %s is not a directory' % directory)
    if action == 'query':
        try:
            history = query(directory, params['limit'])
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot read history dir %s: %s' % (directory, exc))
        warn_unreadable(module, history)
        module.exit_json(changed=False, **history)

    record_id = params['record_id']
    if not RECORD_ID_RE.match(record_id or ''):
        module.fail_json(msg='record_id %r is not a valid record id (letters, digits, ".", "_", "-"; '
                             'not starting with ".")' % (record_id,))
    given = dict(params['record'] or {})
    if 'id' in given and given['id'] != record_id:
        module.fail_json(msg='record.id %r does not match record_id %r' % (given['id'], record_id))
    try:
        refuse_engine_state_dir(directory)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    try:
        if action == 'begin':
            history = query(directory, params['limit'])
            previous, problem = previous_release(history['last'], params['live'], history['unreadable_newest'])
            warn_unreadable(module, history)
            if problem is not None and params['require_previous']:
                # Refused before anything is written: no record opened, no interrupted record closed.
                module.fail_json(msg='GATE rollback.target FAILED: %s' % problem, unreadable=history['unreadable'],
                                 history=history)
            given.update(previous_version=previous['version'], previous_commit=previous['commit'])
            # The write proof comes first: a run that cannot write its record changes nothing.
            try:
                record, path = start_record(directory, record_id, given, now, module.check_mode,
                                            params['reserve_bytes'])
            except WriteError as exc:
                module.fail_json(msg='GATE ledger.write FAILED: %s; nothing was changed' % exc,
                                 path=os.path.join(directory, record_id + '.json'))
            closed = []
            for old in history['interrupted']:
                if old.get('id') == record_id or not RECORD_ID_RE.match(str(old.get('id', ''))):
                    continue
                finish_record(directory, old['id'], dict(
                    outcome='interrupted',
                    reason='run ended without closing its record; found by run %s' % record_id), now, module.check_mode)
                closed.append(old['id'])
            module.exit_json(changed=True, history=history, previous=previous, closed=closed, record=record,
                             path=path, msg='history record %s started (%s), back to %s%s'
                             % (record_id, record.get('kind', 'no kind'), previous['version'],
                                '; closed interrupted: %s' % ', '.join(closed) if closed else ''))
        if action == 'start':
            record, path = start_record(directory, record_id, given, now, module.check_mode,
                                        params['reserve_bytes'])
            module.exit_json(changed=True, record=record, path=path,
                             msg='history record %s started (%s)' % (record_id, record.get('kind', 'no kind')))
        record, previous, path = finish_record(directory, record_id, given, now, module.check_mode)
        released = {}
        lock = params['release_lock'] or {}
        if lock and not module.check_mode:
            problem = lock_option_problem('release_lock', lock)
            if problem:
                module.fail_json(msg=problem)
            outcome = release_lock(lock['path'], str(lock['run_id']))
            released = dict(lock_released=outcome['released'], lock_msg=outcome['msg'])
        module.exit_json(changed=True, record=record, previous=previous, path=path,
                         msg='history record %s finished: %s' % (record_id, record.get('outcome')), **released)
    except (ValueError, WriteError) as exc:
        module.fail_json(msg=str(exc), path=os.path.join(directory, record_id + '.json'))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot write history record in %s: %s' % (directory, exc))


if __name__ == '__main__':
    main()
