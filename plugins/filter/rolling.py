# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The rolling-activation inputs (serial / max_fail_percentage) made safe to template.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DOCUMENTATION = r'''
name: rolling_size
short_description: A batch size for a play's C(serial), or a fallback when it is not one
description:
  - Returns the input as a batch size Ansible's C(serial) accepts (a positive integer, or a percentage
    C(1%) .. C(100%)), else O(fallback).
  - C(serial) and C(max_fail_percentage) are templated before any task runs; an invalid extra var there
    would stop ansible-playbook with a traceback. With this filter the play starts with the fallback and
    C(GATE input.fleet) (role C(gpt_hedge.activation.box)) refuses the run on its first box, naming the value.
  - The same plugin file also provides C(gpt_hedge.activation.rolling_percent) (an integer 0 .. 100, else its fallback).
positional: fallback
options:
  _input:
    description: The requested size, e.g. C(2), C("2") or C("25%").
    type: raw
    required: true
  fallback:
    description: What to return for an invalid size.
    type: raw
    default: 1
'''

EXAMPLES = r'''
- name: Activate a canary box first, then two boxes at a time
  hosts: hedge_boxes
  serial:
    - "{{ hedge_canary | default(1) | gpt_hedge.activation.rolling_size(1) }}"
    - "{{ hedge_batch | default('100%') | gpt_hedge.activation.rolling_size('100%') }}"
  max_fail_percentage: "{{ hedge_max_fail_percentage | default(0) | gpt_hedge.activation.rolling_percent(0) }}"
  tasks: []
'''

RETURN = r'''
_value:
  description: The size as an integer, or a C(N%) string, or O(fallback).
  type: raw
'''

SIZE = re.compile(r'^(?:[1-9][0-9]*|(?:[1-9][0-9]?|100)%)$')
PERCENT = re.compile(r'^(?:[0-9]|[1-9][0-9]|100)$')


def _text(value):
    if isinstance(value, bool) or value is None:
        return ''
    return str(value).strip()


def rolling_size(value, fallback=1):
    """`value` as a serial batch size (int or 'N%'), else `fallback`."""
    text = _text(value)
    if not SIZE.match(text):
        return fallback
    return text if text.endswith('%') else int(text)


def rolling_percent(value, fallback=0):
    """`value` as a max_fail_percentage (int 0..100), else `fallback`."""
    text = _text(value)
    return int(text) if PERCENT.match(text) else fallback


class FilterModule(object):
    """Rolling-activation input filters."""

    def filters(self):
        return {'rolling_size': rolling_size, 'rolling_percent': rolling_percent}
