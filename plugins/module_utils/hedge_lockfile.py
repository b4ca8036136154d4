# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The per-box activation lock file: read it, decide what a run may do with it
(take, take over, refresh, release) and refresh its heartbeat.

Used by the ``hedge_lock`` module (every operation) and by the modules that
carry the lock's heartbeat in their own run (``hedge_release_check`` after the
preflight, ``hedge_restart`` after the restart), so a heartbeat costs no module
run of its own.  Every check-and-write is serialized with ``flock`` on the
sibling guard file ``<path>.guard``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import time

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    FILE_MODE,
    ensure_dir,
    read_json,
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


def round_age(value):
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


def lock_option_problem(name, lock):
    """Why a module's lock option (``{path, run_id}``: the lock file and the run holding it) is unusable, or
    None (also for no option at all)."""
    if lock and not (lock.get('path') and lock.get('run_id')):
        return '%s needs the lock file (path) and the run holding it (run_id)' % name
    return None


def refresh_heartbeat(path, run_id, now=None):
    """Refresh the heartbeat of the lock ``path`` held by ``run_id`` (hedge_lock state=refreshed).

    Returns ``{acquired, msg}``: ``acquired`` is True when refreshed, False when the run no longer holds the
    lock, None when the lock could not be read or written (``msg`` says why, e.g. a full disk); never raises.
    """
    now = time.time() if now is None else now
    params = dict(run_id=run_id, state='refreshed', holder={}, ttl=1, steal_from=None, break_lock=False)
    try:
        ensure_dir(os.path.dirname(os.path.abspath(path)))
        with Guard(path + '.guard', create=True):
            current, problem = read_lock(path)
            result = decide(params, current, problem, now)
            if result['op'] == 'replace':
                write_json_atomic(path, result['new'])
    except GuardTimeout as exc:
        return dict(acquired=None, msg=str(exc))
    except (IOError, OSError) as exc:
        return dict(acquired=None, msg='lock %s: %s' % (path, exc))
    return dict(acquired=result['acquired'], msg=result['msg'])


def release_lock(path, run_id, now=None):
    """Release the lock ``path`` if ``run_id`` holds it (hedge_lock state=absent); the lock of another run is never
    removed. Returns ``{released, msg}``; never raises (``released`` false and ``msg`` naming the error)."""
    now = time.time() if now is None else now
    params = dict(run_id=run_id, state='absent', holder={}, ttl=1, steal_from=None, break_lock=False)
    try:
        with Guard(path + '.guard', create=True):
            current, problem = read_lock(path)
            result = decide(params, current, problem, now)
            if result['op'] == 'remove':
                remove_file(path)
    except GuardTimeout as exc:
        return dict(released=False, msg=str(exc))
    except (IOError, OSError) as exc:
        return dict(released=False, msg='lock %s: %s' % (path, exc))
    return dict(released=result['released'], msg=result['msg'])
