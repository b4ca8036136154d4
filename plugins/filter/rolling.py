# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The rolling-activation inputs (serial / max_fail_percentage) made safe to template.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Each filter's documentation is in its own file beside this one (ansible-doc -t filter reads it):
# rolling_size.yml and rolling_percent.yml.


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
