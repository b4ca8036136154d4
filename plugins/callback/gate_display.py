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
  - Enabled in the project's C(ansible.cfg) (C(stdout_callback)). Under ansible-runner set
    E(ANSIBLE_STDOUT_CALLBACK=gpt_hedge.activation.gate_display), so that ansible-runner's own stdout callback
    extends this one.
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout callback in configuration
'''

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

    def v2_runner_on_failed(self, result, ignore_errors=False):
        """A gate's failure prints its message as the operator reads it: the text itself, indented under the
        `fatal:` line, without YAML quoting (a quote doubled) and without the assertion's raw expression."""
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
        self._running[host.get_name()] = (task.get_name(), time.monotonic())
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
