#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_outputs
short_description: Write the run's output files (ops log, incident report) on the controller
description:
  - Writes each of O(files) into O(dir) on the controller, creating O(dir) first. Each file is written atomically
    (a temporary file in O(dir), then a rename), so a reader never sees half a file.
  - Runs entirely in the action plugin on the controller; nothing is sent to or run on the box. It replaces a
    delegated M(ansible.builtin.file), M(ansible.builtin.copy) and M(ansible.builtin.template), which cost a
    module process each per box.
  - The files are the run's output, not a change of the box, so C(changed) is always false.
version_added: 0.3.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  dir:
    description: Controller directory to write into; created with O(dir_mode) if absent.
    type: path
    required: true
  files:
    description: File name (a plain name, no directory part) to content (text). A newline is added to content that does not end with one.
    type: dict
    required: true
  mode:
    description: Octal mode of the written files.
    type: str
    default: '0640'
  dir_mode:
    description: Octal mode of O(dir) when it is created.
    type: str
    default: '0750'
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: In check mode nothing is written; RV(paths) still names the files.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
'''

EXAMPLES = r'''
- name: Write the ops log as JSON and Markdown
  gpt_hedge.activation.hedge_outputs:
    dir: /var/log/gpt-hedge/opslog
    files:
      box1-20261201T120000Z.json: "{{ opslog_entry | to_nice_json }}"
      box1-20261201T120000Z.md: "{{ lookup('ansible.builtin.template', 'opslog.md.j2') }}"
'''

RETURN = r'''
dir:
  description: The absolute directory written into.
  returned: always
  type: str
paths:
  description: File name to the absolute path of the file.
  returned: always
  type: dict
  sample: {box1-20261201T120000Z.json: /var/log/gpt-hedge/opslog/box1-20261201T120000Z.json}
written:
  description: Paths written (empty in check mode).
  returned: always
  type: list
  elements: str
'''
