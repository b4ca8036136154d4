# -*- coding: utf-8 -*-
# Reading a failed task's message as the collection's gates write it.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DOCUMENTATION = r'''
name: failed_gate
short_description: Name of the gate in a C(GATE <name> FAILED) message
description:
  - Returns the gate named by the first C(GATE <name> FAILED) in the message, else O(default).
  - The same plugin file also provides C(gpt_hedge.activation.one_line) (whitespace folded to single spaces).
positional: default
options:
  _input:
    description: A task's failure message.
    type: raw
    required: true
  default:
    description: What to return when the message names no gate (typically the failed task's name).
    type: str
    default: unknown
'''

EXAMPLES = r'''
- name: Name the failed gate in a rescue
  ansible.builtin.set_fact:
    failed: "{{ ansible_failed_result.msg | default('') | gpt_hedge.activation.failed_gate(ansible_failed_task.name) }}"
'''

RETURN = r'''
_value:
  description: The gate name, e.g. C(verify.engine_version), or O(default).
  type: str
'''

GATE_FAILED = re.compile(r'GATE (\S+) FAILED')


def failed_gate(message, default='unknown'):
    """Gate named in `message` ("GATE verify.boot_line FAILED: ..."), else `default`."""
    match = GATE_FAILED.search('' if message is None else str(message))
    return match.group(1) if match else default


def one_line(text):
    """`text` as one line: every run of whitespace folded to a single space."""
    return ' '.join(str('' if text is None else text).split())


class FilterModule(object):
    """Gate message filters."""

    def filters(self):
        return {'failed_gate': failed_gate, 'one_line': one_line}
