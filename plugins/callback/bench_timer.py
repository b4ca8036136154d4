# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Timestamps for bench/bench.py: when a gate failed, when a rollback was verified.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Print the moments the benchmark measures
description:
  - Prints C(BENCH gate_failed <epoch> <gate>) when a task fails with a C(GATE <gate> FAILED) message and
    C(BENCH rollback_verified <epoch>) when the automatic rollback is noted as verified.
  - Used by C(bench/bench.py) to measure the time from a failed gate to a verified rollback, and which gate failed.
requirements:
  - enable in configuration (ANSIBLE_CALLBACKS_ENABLED=gpt_hedge.activation.bench_timer)
'''

import re
import time

from ansible.plugins.callback import CallbackBase

GATE_FAILED = re.compile(r'GATE (\S+) FAILED')


class CallbackModule(CallbackBase):
    """Print BENCH lines with epoch timestamps."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'gpt_hedge.activation.bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_failed(self, result, ignore_errors=False):
        found = GATE_FAILED.search(str(result._result.get('msg', '')))
        if found:
            self._display.display('BENCH gate_failed %.3f %s' % (time.time(), found.group(1)))

    def v2_runner_on_ok(self, result):
        if result._task.get_name().endswith('Note the verified rollback'):
            self._display.display('BENCH rollback_verified %.3f' % time.time())
