# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Shared documentation of the options of the modules that read the engine's state surfaces.
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The read options of the state readers (hedge_incidents,
    hedge_verify): module_utils.hedge_json.READ_OPTIONS."""

    DOCUMENTATION = r'''
options:
  max_skew:
    description:
      - Seconds a timestamp may be ahead of the box clock. A surface timestamp further ahead is written in the
        future (surface status V(future)), never fresh; a NAV timestamp further ahead gives no age and is listed
        among the invalid values.
    type: float
    default: 30
  max_bytes:
    description:
      - Largest surface file read, in bytes. A larger file is not parsed; its load error (C(too large)) is reported.
      - Only regular files are read; a named pipe, device, socket or directory in place of a surface is reported
        (C(not a regular file)) from its C(stat), without being opened.
    type: int
    default: 8388608
'''
