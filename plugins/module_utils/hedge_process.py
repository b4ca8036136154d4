# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a release's own commands (make pretag, the runtime sanity script) in a process group of
their own, stopped as a whole on timeout, with the last lines of their output as facts.

The one runner of the sanity script: hedge_release_check (in the scratch clone, at preflight) and
hedge_verify (in the live checkout, after the restart) both call run_sanity_script. Check mode does
not change what it does: the script only reads the state dir (runtime box contract), so a --check
run runs it for real, as it runs the other read-only gates.

AnsibleModule.run_command has no timeout and does not stop a command's children, so subprocess is
used here directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import signal
import subprocess
import time

TAIL_LINES = 40
# Seconds a stopped process group gets after SIGTERM, then after SIGKILL.
STOP_GRACE = 5
# The exit code reported for a sanity script killed after its timeout (as timeout(1) reports it).
TIMEOUT_RC = 124


def text_of(data):
    if data is None:
        return ''
    if isinstance(data, bytes):
        data = data.decode('utf-8', 'replace')
    return data.rstrip('\r\n')


def last_line(stdout_lines, stderr_lines):
    """The last non-empty line of stdout + stderr (what the gates print), '' when none."""
    for line in reversed(stdout_lines + stderr_lines):
        if line:
            return line
    return ''


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass


def run_step(argv, cwd, env=None, timeout=None):
    """Run ``argv`` in its own process group; stop the group after ``timeout`` seconds.

    Returns the step's facts: run (false when it could not be started), rc (127/126 when it could
    not be started, as a shell says), timed_out, last_line, stdout_tail, stderr_tail.
    """
    facts = dict(run=True, rc=None, timed_out=False, last_line='', stdout_tail=[], stderr_tail=[])
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, close_fds=True, start_new_session=True)
    except OSError as exc:
        facts['run'] = False
        facts['rc'] = 127 if exc.errno in (errno.ENOENT, errno.ENOTDIR) else 126
        facts['last_line'] = 'cannot run %s: %s' % (argv[0], exc.strerror or exc)
        facts['stderr_tail'] = [facts['last_line']]
        return facts
    out = err = None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        facts['timed_out'] = True
        out, err = exc.output, exc.stderr
        for sig in (signal.SIGTERM, signal.SIGKILL):
            _signal_group(proc, sig)
            try:
                more_out, more_err = proc.communicate(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired as more:
                out, err = more.output or out, more.stderr or err
                continue
            # communicate() returns everything read since the start
            out, err = more_out or out, more_err or err
            break
        else:
            # a process outside the group still holds the pipes: stop waiting for them
            proc.kill()
            proc.wait()
    stdout_lines = text_of(out).splitlines()
    stderr_lines = text_of(err).splitlines()
    if facts['timed_out']:
        stderr_lines.append('%s timed out after %s s and was stopped' % (' '.join(argv[:2]), timeout))
    facts['rc'] = proc.returncode
    facts['last_line'] = last_line(stdout_lines, stderr_lines)
    facts['stdout_tail'] = stdout_lines[-TAIL_LINES:]
    facts['stderr_tail'] = stderr_lines[-TAIL_LINES:]
    return facts


def sanity_script_path(script, chdir):
    """Where ``script`` (absolute, or relative to ``chdir``) is."""
    return script if os.path.isabs(script) or not chdir else os.path.join(chdir, script)


def run_sanity_script(python, script, state_dir, chdir, timeout=None):
    """Run ``<python> <script> --state-dir <state_dir>`` in ``chdir`` when the script exists.

    Returns path, exists, cmd, ran, rc (null when not run; TIMEOUT_RC when killed after ``timeout``
    seconds; 127/126 when it cannot be started), timed_out, last_line (the last output line, else why
    it did not run), stdout_tail, stderr_tail, output_tail (non-empty lines of both) and duration_s.
    """
    path = sanity_script_path(script, chdir)
    result = dict(path=path, exists=os.path.exists(path), cmd=[python, script, '--state-dir', state_dir],
                  ran=False, rc=None, timed_out=False, last_line='', stdout_tail=[], stderr_tail=[],
                  output_tail=[], duration_s=0.0)
    if not result['exists']:
        result['last_line'] = '%s is missing' % script
        return result
    start = time.time()
    facts = run_step(result['cmd'], cwd=chdir or None, timeout=timeout or None)
    result['duration_s'] = round(time.time() - start, 1)
    output = [line for line in facts['stdout_tail'] + facts['stderr_tail'] if line]
    if facts['timed_out']:
        # the runner's own "timed out" line is not the script's output
        output = [line for line in facts['stdout_tail'] + facts['stderr_tail'][:-1] if line]
        facts['rc'] = TIMEOUT_RC
        facts['last_line'] = 'killed after %d s%s' % (timeout, (': ' + output[-1]) if output else '')
    result.update(ran=facts['run'], rc=facts['rc'], timed_out=facts['timed_out'], last_line=facts['last_line'],
                  stdout_tail=facts['stdout_tail'], stderr_tail=facts['stderr_tail'], output_tail=output[-TAIL_LINES:])
    return result
