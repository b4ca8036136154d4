#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_restart
short_description: Restart the GPT-Hedge supervisor group when needed and wait until every program is RUNNING
description:
  - One process on the box for the runbook's restart stage (option A, supervisor), in this order
    1. note the executor log sizes and the box time;
    2. read C(supervisorctl status) and the running engine version from C(engine_metadata.json);
    3. decide whether a restart is needed (O(force), O(deploy_changed), a program not RUNNING, or the engine not
       reporting O(expected_version));
    4. restart, with O(scope=group) as the runbook does, C(supervisorctl stop <group>:), note the log sizes again
       (so lines the old release writes until it is stopped do not count against the one started), then
       C(supervisorctl start <group>:) (supervisord starts the group's programs together); with O(scope=programs)
       C(supervisorctl stop <group>:<program> ...) (one program after the other), the log sizes again, then
       C(supervisorctl start <group>:<program> ...) (one program after the other, in the order of O(programs));
    5. poll C(supervisorctl status) until every program of O(programs) is RUNNING, one is FATAL or EXITED, or
       O(timeout) passes (a readiness poll, no fixed sleep).
  - Returns the facts; it does not decide the gate. The role asserts on RV(not_running) and RV(errors)
    (gate C(restart.programs_running)).
  - Reads the state dir, never writes it. In check mode nothing is stopped or started; RV(needed) tells whether
    a restart would happen.
  - Once it restarts, it finishes - a release is always started after the stop. It ignores C(SIGINT), C(SIGHUP)
    and C(SIGTERM) from before the stop until the start has been issued (so do the C(supervisorctl) it runs),
    and keeps running when the controller goes away (Ctrl-C on C(ansible-playbook), a lost connection).
version_added: 0.3.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  supervisorctl:
    description: C(supervisorctl) and its connection options, for example V([/usr/bin/supervisorctl, -c, /etc/supervisor/supervisord.conf]).
    type: list
    elements: str
    required: true
  group:
    description: The supervisor group of the engine, for example V(hedge).
    type: str
    required: true
  programs:
    description: The group's programs, every one of which must be RUNNING.
    type: list
    elements: str
    required: true
  scope:
    description: Restart the whole group at once (V(group)) or each program in turn (V(programs)).
    type: str
    choices: [group, programs]
    default: group
  force:
    description: Restart even when nothing changed and the target already runs.
    type: bool
    default: false
  deploy_changed:
    description: Whether the deploy changed the checkout (a restart is then needed).
    type: bool
    default: true
  state_dir:
    description: The engine's state dir; C(engine_metadata.json) there tells the running version.
    type: path
    required: true
  expected_version:
    description: The release that must run, for example V(v7.6).
    type: str
    required: true
  out_log:
    description: The executor out log whose size is noted.
    type: path
    required: true
  err_log:
    description: The executor err log whose size is noted, when separate.
    type: path
  timeout:
    description: Seconds to wait for every program to be RUNNING.
    type: float
    default: 60
  poll_interval:
    description: Seconds between two status reads while waiting.
    type: float
    default: 2
  stable_seconds:
    description:
      - After a restart, once every program is RUNNING, how long each must stay RUNNING with the same pid and a
        growing uptime (no exit in supervisord's view, even one it restarted from). A program that does not is
        listed in RV(unstable) and RV(errors). Polled every O(poll_interval); the first exit ends the wait.
      - V(0) - no stability window. Not applied when no restart was needed.
    type: float
    default: 0
  pid_file:
    description:
      - A file (in the automation's dir, never the engine's state dir) that holds this module's pid while it
        restarts, from before the stop until every program is RUNNING or the wait ends; removed then.
        C(hedge_lock) (O(gpt_hedge.activation.hedge_lock#module:busy_pid_file)) counts a live pid there as a live
        holder of the box's lock, so no other run takes the lock over while a restart is in flight.
      - Omitted - no pid file.
    type: path
  heartbeat:
    description:
      - The box's lock to keep alive, C(path) (the lock file) and C(run_id) (the run holding it) - after the restart
        (or the decision that none is needed), this run refreshes the lock's heartbeat as
        C(hedge_lock) O(gpt_hedge.activation.hedge_lock#module:state=refreshed) does, so the run's heartbeat after
        the restart costs no module run of its own. The outcome is RV(heartbeat); a heartbeat that cannot be written
        never stops the restart.
      - Not refreshed in check mode.
    type: dict
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
'''

EXAMPLES = r'''
- name: Restart the supervisor group hedge when needed and wait for RUNNING
  gpt_hedge.activation.hedge_restart:
    supervisorctl: [/usr/bin/supervisorctl, -c, /etc/supervisor/supervisord.conf]
    group: hedge
    programs: [executor, dashboard, sync_state]
    deploy_changed: true
    state_dir: /root/hedge-fund/logs/state
    expected_version: v7.6
    out_log: /var/log/hedge-executor.out.log
    err_log: /var/log/hedge-executor.err.log
  register: restart

- name: Gate restart.programs_running - every hedge program is RUNNING
  ansible.builtin.assert:
    that:
      - restart.errors | length == 0
      - restart.not_running | length == 0
    fail_msg: "GATE restart.programs_running FAILED: not RUNNING: {{ restart.not_running | join(', ') }}"
'''

RETURN = r'''
needed:
  description: Whether a restart was (in check mode, would be) needed, and why in RV(reason).
  returned: always
  type: bool
reason:
  description: Why a restart was needed, or why not.
  returned: always
  type: str
  sample: the deploy changed the checkout
performed:
  description: Whether the programs were restarted by this run (false in check mode).
  returned: always
  type: bool
marks:
  description:
    - The log sizes and box time the verification scans from, C(out_offset), C(err_offset), C(box_time) (epoch).
    - After the stop with O(scope=group) and a restart, else before anything was done.
  returned: always
  type: dict
  sample: {out_offset: 52311, err_offset: 0, box_time: 1764590400.12}
running_before:
  description: Programs of O(programs) RUNNING before.
  returned: always
  type: list
  elements: str
engine_version_before:
  description: The engine version C(engine_metadata.json) reported before (null when absent).
  returned: always
  type: str
status_lines:
  description: The last C(supervisorctl status) output.
  returned: always
  type: list
  elements: str
not_running:
  description: Programs of O(programs) not RUNNING at the end.
  returned: always
  type: list
  elements: str
errors:
  description:
    - ERROR lines of the stop/start/restart commands (except stopping what is not running or starting what already
      runs), and a note when O(timeout) passed.
  returned: always
  type: list
  elements: str
unstable:
  description:
    - Programs that exited (or changed pid, or whose uptime went back) during the O(stable_seconds) window, each
      with C(program), C(before) and C(after) (C(state pid uptime) of the status lines), C(after_s) (seconds into
      the window).
  returned: always
  type: list
  elements: dict
heartbeat:
  description:
    - With O(heartbeat), the lock's heartbeat refresh at the end, C(acquired) (true - refreshed; false - the run no
      longer holds the lock; null - the lock could not be read or written) and C(msg); null without O(heartbeat) or
      in check mode.
  returned: always
  type: dict
  sample: {acquired: true, msg: lock heartbeat of run 20261125T110900Z-0c0ffee0 refreshed}
commands:
  description: The supervisorctl commands run (argv, rc, output lines), status reads excluded.
  returned: always
  type: list
  elements: dict
'''

import os
import re
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import load_json
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_lockfile import (
    lock_option_problem,
    refresh_heartbeat,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import record_offsets
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    refuse_engine_state_dir,
    remove_file,
    write_json_atomic,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import (
    check_engine_version,
    engine_version_facts,
)

SHIELDED_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
IGNORED_ERRORS = re.compile(r'\((not running|already started)\)')
STOPPED = re.compile(r'\s(FATAL|EXITED)\s')


def running_programs(lines, group, programs):
    pattern = re.compile(r'^%s:(\S+)\s+RUNNING' % re.escape(group))
    running = set(m.group(1) for m in (pattern.match(line) for line in lines) if m)
    return [p for p in programs if p in running]


STATUS_LINE = re.compile(r'^(?P<group>[^:\s]+):(?P<program>\S+)\s+(?P<state>[A-Z]+)'
                         r'(?:\s+pid\s+(?P<pid>\d+),\s+uptime\s+(?:(?P<days>\d+) days?, )?(?P<uptime>[\d:]+))?')


def program_status(lines, group):
    """``{program: (state, pid, uptime_s)}`` of the group from ``supervisorctl status`` lines."""
    out = {}
    for line in lines:
        m = STATUS_LINE.match(line.strip())
        if not m or m.group('group') != group:
            continue
        uptime = None
        if m.group('uptime'):
            uptime = 0
            for part in m.group('uptime').split(':'):
                uptime = uptime * 60 + int(part)
            uptime += 86400 * int(m.group('days') or 0)
        out[m.group('program')] = (m.group('state'), m.group('pid'), uptime)
    return out


def describe_status(status):
    state, pid, uptime = status if status else ('absent', None, None)
    return '%s%s%s' % (state, ' pid %s' % pid if pid else '', ' uptime %d s' % uptime if uptime is not None else '')


def command_errors(lines):
    return [line.strip() for line in lines if 'ERROR' in line and not IGNORED_ERRORS.search(line)]


class Restarter(object):

    def __init__(self, module, clock=time.monotonic, sleep=time.sleep):
        self.module = module
        self.params = module.params
        self.clock = clock
        self.sleep = sleep
        self.commands = []
        self.pid_file = None

    def ctl(self, *args):
        argv = list(self.params['supervisorctl']) + list(args)
        rc, out, err = self.module.run_command(argv)
        return rc, [line for line in (out + '\n' + err).splitlines() if line.strip()]

    def run(self, *args):
        rc, lines = self.ctl(*args)
        self.commands.append(dict(argv=list(args), rc=rc, lines=lines))
        return lines

    def offsets(self):
        marks = record_offsets(self.params['out_log'], self.params['err_log'])
        return dict(out_offset=marks['out_size'], err_offset=marks['err_size'], box_time=marks['now'])

    def decide(self, running, engine_check):
        p = self.params
        if p['force']:
            return True, 'forced'
        if p['deploy_changed']:
            return True, 'the deploy changed the release'
        missing = [x for x in p['programs'] if x not in running]
        if missing:
            return True, 'not RUNNING before: %s' % ', '.join(missing)
        if not engine_check.get('ok'):
            return True, engine_check.get('reason') or 'engine version unknown'
        return False, '%s already running' % p['expected_version']

    def write_pid_file(self):
        """Note this process in O(pid_file) (best effort); returns the path written, else None."""
        pid_file = self.params['pid_file']
        if not pid_file:
            return None
        try:
            write_json_atomic(pid_file, dict(pid=os.getpid(), started=time.time(), group=self.params['group']))
        except (IOError, OSError) as exc:
            # Not a reason to leave the release unstarted (a rollback on a full disk must restart too).
            self.module.warn('pid file %s not written (%s): only the lock heartbeat tells that a restart runs'
                             % (pid_file, exc))
            return None
        return pid_file

    def restart(self):
        p = self.params
        group = p['group']
        errors = []
        if p['scope'] == 'group':
            targets = [group + ':']
        else:
            targets = ['%s:%s' % (group, program) for program in p['programs']]
        # From here until the start is issued, an interrupt (Ctrl-C on the
        # controller, a lost connection) must not leave the engine stopped:
        # those signals are ignored, by this process and the supervisorctl it
        # runs (an ignored signal stays ignored across exec).
        previous = dict((sig, signal.signal(sig, signal.SIG_IGN)) for sig in SHIELDED_SIGNALS)
        try:
            self.pid_file = self.write_pid_file()
            # supervisorctl stops (then starts) the names it is given one after
            # the other, in order.
            errors += command_errors(self.run('stop', *targets))
            # After every old process is stopped: what the old release writes
            # until then must not count against the one started.
            marks = self.offsets()
            errors += command_errors(self.run('start', *targets))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return marks, errors

    def wait_running(self):
        p = self.params
        deadline = self.clock() + p['timeout']
        while True:
            _rc, lines = self.ctl('status')
            running = running_programs(lines, p['group'], p['programs'])
            stopped = [line for line in lines if STOPPED.search(line)]
            if len(running) == len(p['programs']) or stopped or self.clock() >= deadline:
                timed_out = len(running) < len(p['programs']) and not stopped
                return lines, running, timed_out
            self.sleep(min(p['poll_interval'], max(deadline - self.clock(), 0)))

    def watch_stable(self, lines):
        """Poll for O(stable_seconds) from the status ``lines`` where every program is RUNNING; return
        ``(last lines, unstable)`` - unstable empty when every program kept its process."""
        p = self.params
        first = program_status(lines, p['group'])
        start = self.clock()
        deadline = start + p['stable_seconds']
        while self.clock() < deadline:
            self.sleep(min(p['poll_interval'], max(deadline - self.clock(), 0)))
            _rc, lines = self.ctl('status')
            changed = stability_changes(first, program_status(lines, p['group']), p['programs'])
            if changed:
                elapsed = round(self.clock() - start, 1)
                return lines, [dict(program=program, before=describe_status(before), after=describe_status(after),
                                    after_s=elapsed) for program, before, after in changed]
        return lines, []


def stability_changes(first, now, programs):
    """Programs whose status ``now`` is not the RUNNING process of ``first`` (same pid, uptime not going back)."""
    changed = []
    for program in programs:
        before, after = first.get(program), now.get(program)
        if (after is None or after[0] != 'RUNNING' or after[1] != before[1]
                or (after[2] is not None and before[2] is not None and after[2] < before[2])):
            changed.append((program, before, after))
    return changed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            supervisorctl=dict(type='list', elements='str', required=True),
            group=dict(type='str', required=True),
            programs=dict(type='list', elements='str', required=True),
            scope=dict(type='str', choices=['group', 'programs'], default='group'),
            force=dict(type='bool', default=False),
            deploy_changed=dict(type='bool', default=True),
            state_dir=dict(type='path', required=True),
            expected_version=dict(type='str', required=True),
            out_log=dict(type='path', required=True),
            err_log=dict(type='path'),
            timeout=dict(type='float', default=60),
            poll_interval=dict(type='float', default=2),
            pid_file=dict(type='path'),
            stable_seconds=dict(type='float', default=0),
            heartbeat=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['supervisorctl']:
        module.fail_json(msg='supervisorctl must name the supervisorctl command')
    if not p['programs']:
        module.fail_json(msg='programs must list the programs of group %s' % p['group'])
    if p['timeout'] < 0 or p['poll_interval'] <= 0 or p['stable_seconds'] < 0:
        module.fail_json(msg='timeout and stable_seconds must not be negative and poll_interval must be positive')
    if p['pid_file']:
        try:
            refuse_engine_state_dir(os.path.dirname(os.path.abspath(p['pid_file'])))
        except ValueError as exc:
            module.fail_json(msg='pid_file: %s' % exc)
    heartbeat = p['heartbeat'] or {}
    problem = lock_option_problem('heartbeat', heartbeat)
    if problem:
        module.fail_json(msg=problem)

    restarter = Restarter(module)
    marks = restarter.offsets()
    _rc, status_before = restarter.ctl('status')
    running_before = running_programs(status_before, p['group'], p['programs'])
    metadata, _error = load_json(os.path.join(p['state_dir'], 'engine_metadata.json'))
    engine_check = check_engine_version({'engine_version': engine_version_facts(metadata)[0]}, p['expected_version'])
    needed, reason = restarter.decide(running_before, engine_check)

    result = dict(changed=needed, needed=needed, reason=reason, performed=False, marks=marks,
                  running_before=running_before, engine_version_before=engine_check.get('value'),
                  status_lines=status_before, not_running=[x for x in p['programs'] if x not in running_before],
                  errors=[], unstable=[], commands=restarter.commands)
    result['heartbeat'] = None
    if module.check_mode or not needed:
        result['msg'] = ('would restart: ' if needed else 'no restart needed: ') + reason
        if heartbeat and not module.check_mode:
            result['heartbeat'] = refresh_heartbeat(heartbeat['path'], str(heartbeat['run_id']))
        module.exit_json(**result)

    unstable = []
    try:
        stopped_marks, errors = restarter.restart()
        lines, running, timed_out = restarter.wait_running()
        if len(running) == len(p['programs']) and p['stable_seconds'] > 0:
            lines, unstable = restarter.watch_stable(lines)
            running = running_programs(lines, p['group'], p['programs'])
            for item in unstable:
                errors.append('%s did not stay RUNNING for the %s s stability window: %s, %s s later %s'
                              % (item['program'], p['stable_seconds'], item['before'], item['after_s'],
                                 item['after']))
    finally:
        if restarter.pid_file:
            try:
                remove_file(restarter.pid_file)
            except OSError:
                pass
    if timed_out:
        errors.append('not every program RUNNING within %s s' % p['timeout'])
    result.update(performed=True, marks=stopped_marks, status_lines=lines, errors=errors, unstable=unstable,
                  not_running=[x for x in p['programs'] if x not in running])
    programs = 'every program RUNNING' if not result['not_running'] else 'not RUNNING: ' + ', '.join(result['not_running'])
    result['msg'] = 'restarted (%s): %s' % (reason, programs)
    if unstable:
        result['msg'] += '; unstable: ' + ', '.join(item['program'] for item in unstable)
    if heartbeat:
        result['heartbeat'] = refresh_heartbeat(heartbeat['path'], str(heartbeat['run_id']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
