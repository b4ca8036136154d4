# -*- coding: utf-8 -*-
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
  - Enabled in the project's C(ansible.cfg) (C(stdout_callback)). Under ansible-runner set
    E(ANSIBLE_STDOUT_CALLBACK=gpt_hedge.activation.gate_display), so that ansible-runner's own stdout callback
    extends this one.
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout callback in configuration
'''

from ansible.plugins.callback.default import CallbackModule as DefaultCallbackModule

DELIBERATE_ACTIONS = frozenset(('assert', 'fail', 'ansible.builtin.assert', 'ansible.builtin.fail',
                                'ansible.legacy.assert', 'ansible.legacy.fail'))


def is_deliberate_failure(action, result):
    """Whether a result's error is a gate's (or a run's closing) failure with a message of its own (the
    callback's copy of a result has no `failed` key: a failure is the `exception` ansible-core adds)."""
    return action in DELIBERATE_ACTIONS and bool(result.get('exception')) and bool(result.get('msg'))


class CallbackModule(DefaultCallbackModule):
    """ansible.builtin.default, printing a deliberate failure once (its result), without source lines."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'gpt_hedge.activation.gate_display'

    def _handle_exception(self, result, use_stderr=False):
        task_result = self._current_task_result
        action = getattr(getattr(task_result, 'task', None), 'action', None)
        if is_deliberate_failure(action, result):
            result.pop('exception', None)  # the result printed next carries the same message
            return
        super(CallbackModule, self)._handle_exception(result, use_stderr=use_stderr)
