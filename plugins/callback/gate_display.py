# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ansible-core's default output, with each gate failure printed once.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: gate_display
type: stdout
short_description: The default output, with a failed gate printed once and without source lines
description:
  - Same as the C(ansible.builtin.default) stdout callback (same options), except for deliberate failures, the
    failed tasks of action C(assert) or C(fail) (the collection's gates and the closing failure of a run), which
    carry a message of their own. ansible-core 2.19 prints such a failure twice, as an C([ERROR]) line with the
    task's source lines (raw templates of the tasks around it) and as the task's result. This callback prints the
    result only. Every other failure (a module error, an undefined variable, a syntax error) keeps the C([ERROR]) line
    and its origin.
  - A deliberate failure is printed as its message's own lines under the C(fatal:) line (no YAML quoting, no
    raw assertion expression).
  - The poll lines of an async task (the preflight's make pretag) name the task and its elapsed time.
  - "Any other task that runs longer than O(progress_every) seconds on a host (the restart's stability window, the
    verify waits) prints C(RUNNING on <host>: <task> still running, N s so far) every O(progress_every) seconds
    while it runs, from a timer thread of the controller: no module run and no poll are added."
  - Enabled in the project's C(ansible.cfg) (C(stdout_callback)). Under ansible-runner set
    E(ANSIBLE_STDOUT_CALLBACK=gpt_hedge.activation.gate_display), so that ansible-runner's own stdout callback
    extends this one.
options:
  progress_every:
    description:
      - Seconds between the progress lines of a task that is still running (the first after as many seconds).
        V(0) turns them off.
    type: float
    default: 15
    env:
      - name: GPT_HEDGE_PROGRESS_EVERY
    ini:
      - section: callback_gate_display
        key: progress_every
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout callback in configuration
'''

import os
import threading
import time

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallbackModule

DELIBERATE_ACTIONS = frozenset(('assert', 'fail', 'ansible.builtin.assert', 'ansible.builtin.fail',
                                'ansible.legacy.assert', 'ansible.legacy.fail'))


def is_deliberate_failure(action, result):
    """Whether a result's error is a gate's (or a run's closing) failure with a message of its own (the
    callback's copy of a result has no `failed` key: a failure is the `exception` ansible-core adds)."""
    return action in DELIBERATE_ACTIONS and bool(result.get('exception')) and bool(result.get('msg'))


def failure_text(host_label, msg):
    """`fatal: [host]: FAILED! =>` and the message's lines, indented, as they are."""
    return 'fatal: [%s]: FAILED! =>\n%s' % (host_label, '\n'.join('    ' + line for line in msg.splitlines()))


def async_poll_line(host, task_name, jid, started, now):
    """`ASYNC POLL on <host>: <task> still running, N s so far (jid=...)` (no elapsed time when the start was
    not seen)."""
    elapsed = '' if started is None else ', %d s so far' % max(0, now - started)
    return 'ASYNC POLL on %s: %s still running%s (jid=%s)' % (host, task_name, elapsed, jid)


DEFAULT_PROGRESS_EVERY = 15.0


def running_line(host, task_name, elapsed):
    """`RUNNING on <host>: <task> still running, N s so far`."""
    return 'RUNNING on %s: %s still running, %d s so far' % (host, task_name, max(0, elapsed))


class ProgressTicker(object):
    """Which (host, task) runs since when, and the progress lines that are due: one per host every `every`
    seconds while its task runs (an async task has its poll lines instead)."""

    def __init__(self, every):
        self.every = float(every)
        self._lock = threading.Lock()
        self._tasks = {}  # host -> [task name, start, next line at]

    def start(self, host, task_name, now, is_async=False, task=None):
        with self._lock:
            if is_async or self.every <= 0:
                self._tasks.pop(host, None)
            else:
                self._tasks[host] = [task_name, now, now + self.every, task]

    def done(self, host=None):
        """The host's task ended (every host's, without a host: the next task or include begins)."""
        with self._lock:
            if host is None:
                self._tasks.clear()
            else:
                self._tasks.pop(host, None)

    def due(self, now):
        """The lines due at `now` with their task, oldest host first; each host's next line is `every` s
        later."""
        lines = []
        with self._lock:
            for host, entry in sorted(self._tasks.items(), key=lambda item: item[1][1]):
                name, started, next_at, task = entry
                if now >= next_at:
                    lines.append((running_line(host, name, now - started), task))
                    entry[2] = next_at + self.every * max(1, int((now - next_at) // self.every) + 1)
        return lines


class CallbackModule(DefaultCallbackModule):
    """ansible.builtin.default, printing a deliberate failure once (its result), without source lines."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'gpt_hedge.activation.gate_display'

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        # host -> (task name, monotonic start) of the task it runs: an async job's poll results come from an
        # internal async_status task, which has no start event of its own.
        self._running = {}
        self._ticker = None
        self._ticker_stop = threading.Event()
        self._banner_lock = threading.RLock()

    def _progress(self):
        """The ticker, and its thread (a daemon: it never holds the run open), from the first task on."""
        if self._ticker is None:
            self._ticker = ProgressTicker(self._progress_every())
            if self._ticker.every > 0:
                thread = threading.Thread(target=self._tick, name='gate_display-progress')
                thread.daemon = True
                thread.start()
        return self._ticker

    def _progress_every(self):
        """The option; ansible-runner's stdout callback, which extends this one under its own name, may not
        carry this callback's options: then the environment variable or the default."""
        try:
            return float(self.get_option('progress_every'))
        except Exception:  # pylint: disable=broad-except
            return float(os.environ.get('GPT_HEDGE_PROGRESS_EVERY') or DEFAULT_PROGRESS_EVERY)

    def _tick(self):
        while not self._ticker_stop.wait(min(1.0, self._ticker.every)):
            for line, task in self._ticker.due(time.monotonic()):
                if task is not None and self._last_task_banner != task._uuid:
                    self._print_task_banner(task)
                self._display.display(line, color=C.COLOR_DEBUG)

    def _print_task_banner(self, task):
        """Once per task, whichever thread comes first (a progress line's or a result's)."""
        with self._banner_lock:
            if self._last_task_banner != task._uuid:
                super(CallbackModule, self)._print_task_banner(task)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._progress().done()
        super(CallbackModule, self).v2_playbook_on_task_start(task, is_conditional)

    def v2_playbook_on_handler_task_start(self, task):
        self._progress().done()
        super(CallbackModule, self).v2_playbook_on_handler_task_start(task)

    def v2_playbook_on_include(self, included_file):
        self._progress().done()
        super(CallbackModule, self).v2_playbook_on_include(included_file)

    def v2_runner_on_ok(self, result):
        self._progress().done(result.host.get_name())
        super(CallbackModule, self).v2_runner_on_ok(result)

    def v2_runner_on_skipped(self, result):
        self._progress().done(result.host.get_name())
        super(CallbackModule, self).v2_runner_on_skipped(result)

    def v2_runner_on_unreachable(self, result):
        self._progress().done(result.host.get_name())
        super(CallbackModule, self).v2_runner_on_unreachable(result)

    def v2_playbook_on_stats(self, stats):
        self._ticker_stop.set()
        if self._ticker is not None:
            self._ticker.done()
        super(CallbackModule, self).v2_playbook_on_stats(stats)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        """A gate's failure prints its message as the operator reads it: the text itself, indented under the
        `fatal:` line, without YAML quoting (a quote doubled) and without the assertion's raw expression."""
        self._progress().done(result.host.get_name())
        msg = result.result.get('msg')
        if (ignore_errors or result.task.loop or result.task.action not in DELIBERATE_ACTIONS
                or not isinstance(msg, str) or not msg.strip()):
            return super(CallbackModule, self).v2_runner_on_failed(result, ignore_errors)
        if self._last_task_banner != result.task._uuid:
            self._print_task_banner(result.task)
        self._handle_warnings_and_exception(result)
        self._display.display(failure_text(self.host_label(result), msg), color=C.COLOR_ERROR,
                              stderr=self.get_option('display_failed_stderr'))
        return None

    def v2_runner_on_start(self, host, task):
        now = time.monotonic()
        self._running[host.get_name()] = (task.get_name(), now)
        self._progress().start(host.get_name(), task.get_name(), now, is_async=bool(getattr(task, 'async_val', 0)),
                               task=task)
        super(CallbackModule, self).v2_runner_on_start(host, task)

    def v2_runner_on_async_poll(self, result):
        """A long task (make pretag runs as an async job) says what runs and for how long at every poll."""
        host = result.host.get_name()
        name, started = self._running.get(host, (result.task.get_name(), None))
        self._display.display(async_poll_line(host, name, result.result.get('ansible_job_id'), started,
                                              time.monotonic()), color=C.COLOR_DEBUG)

    def _handle_exception(self, result, use_stderr=False):
        task_result = self._current_task_result
        action = getattr(getattr(task_result, 'task', None), 'action', None)
        if is_deliberate_failure(action, result):
            result.pop('exception', None)  # the result printed next carries the same message
            return
        super(CallbackModule, self)._handle_exception(result, use_stderr=use_stderr)
