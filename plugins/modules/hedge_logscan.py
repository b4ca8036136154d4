#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_logscan
short_description: Scan the GPT-Hedge executor logs for the boot line, errors and state_publish lines
description:
  - Reads the executor out log (and optionally a separate err log) from byte offsets recorded before a restart,
    and reports the boot line of the expected version, error and warning lines and C(state_publish) lines.
  - With O(expected_version), polls until the boot line is found and, with O(require_publish), at least one
    C(state_publish) line follows it, or until O(timeout). Without O(expected_version) one pass is made.
  - With O(record_offsets=true), only returns the current log sizes and the time (use before a restart).
  - An offset beyond the file size means the log was rotated or truncated; it is then read from the start and
    RV(rotated) is true. A missing log is a fact (RV(present=false)), not a failure.
  - The module only reads. It returns facts and does not decide gates.
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  path:
    description:
      - The executor out log, for example C(/var/log/hedge-executor.out.log).
    type: path
    required: true
  err_path:
    description:
      - The executor err log, for example C(/var/log/hedge-executor.err.log). Error and warning lines are searched
        in it; when not given (or equal to O(path)) they are searched in O(path).
      - C(state_publish) lines are counted in both logs.
    type: path
  offset:
    description: Byte offset in O(path) to scan from. Not given or null means V(0).
    type: int
  err_offset:
    description: Byte offset in O(err_path) to scan from. Not given or null means V(0).
    type: int
  record_offsets:
    description:
      - Only return RV(now), RV(present), RV(err_present), RV(out_size) and RV(err_size); no scanning or waiting.
    type: bool
    default: false
  expected_version:
    description:
      - Version whose boot line is expected, for example V(v7.6).
    type: str
  timeout:
    description: Seconds to wait for the boot line (and a following publish line).
    type: int
    default: 60
  poll_interval:
    description: Seconds between polls while waiting.
    type: float
    default: 0.5
  require_publish:
    description: Also wait for at least one C(state_publish) line after the boot line.
    type: bool
    default: true
  boot_pattern:
    description:
      - Regular expression of the boot line of O(expected_version). C({version}) in it is replaced by a regex matching
        exactly the version token (an optional leading C(v); C(v7.6) does not match C(v7.60) or C(v7.6.1)).
      - "Default is case-insensitive C(version) followed on the line by that token, as in C(Engine version: v7.6)."
    type: str
  boot_version_pattern:
    description:
      - Regular expression with one group capturing the version on any boot line, used for RV(other_boot_versions).
      - Default is case-insensitive C(version), up to three non-word characters, then a version token such as C(v7.5).
    type: str
  error_pattern:
    description:
      - Regular expression of error lines. Default matches the words C(ERROR), C(CRITICAL), C(FATAL)
        (case-insensitive), C(Traceback) and C(SomethingError:)/C(SomethingException:).
      - A line matching both O(error_pattern) and O(warning_pattern) counts as whichever matches first on the line.
    type: str
  warning_pattern:
    description: Regular expression of warning lines. Default matches the words C(WARN) and C(WARNING) (case-insensitive).
    type: str
  publish_pattern:
    description: Regular expression of publish lines.
    type: str
    default: state_publish
  publish_error_pattern:
    description:
      - Regular expression of failed publish lines. Default matches a line containing C(state_publish) and the word
        C(error), C(fail)/C(failed)/C(failure)/C(failing), C(exception) or C(traceback) (case-insensitive).
    type: str
  publish_error_limit:
    description: More publish errors than this is a repeated error (RV(publish_ok) false).
    type: int
    default: 1
  max_lines:
    description: Maximum number of lines returned in RV(error_lines) and RV(publish_error_lines).
    type: int
    default: 20
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
notes:
  - When the boot line is found, the publish counts cover the out log after the last boot line (plus the err log
    region); otherwise the whole scanned region. Error and warning counts cover the whole scanned region.
seealso:
  - module: gpt_hedge.activation.hedge_verify
'''

EXAMPLES = r'''
- name: Record the executor log offsets before the restart
  gpt_hedge.activation.hedge_logscan:
    path: /var/log/hedge-executor.out.log
    err_path: /var/log/hedge-executor.err.log
    record_offsets: true
  register: hedge_log_offsets

- name: Restart the engine
  community.general.supervisorctl:
    name: "hedge:"
    state: restarted

- name: Wait for the v7.6 boot line and state_publish lines
  gpt_hedge.activation.hedge_logscan:
    path: /var/log/hedge-executor.out.log
    err_path: /var/log/hedge-executor.err.log
    offset: "{{ hedge_log_offsets.out_size }}"
    err_offset: "{{ hedge_log_offsets.err_size }}"
    expected_version: v7.6
    timeout: 120
  register: hedge_logs

- name: Assert the boot line, a clean err log and publishing without repeated errors
  ansible.builtin.assert:
    that:
      - hedge_logs.boot_line_found
      - hedge_logs.error_count == 0
      - hedge_logs.publish_ok
    fail_msg: "{{ hedge_logs.error_lines + hedge_logs.publish_error_lines }}"
'''

RETURN = r'''
now:
  description: Epoch seconds on the target at the end of the scan (or when the offsets were recorded).
  returned: always
  type: float
present:
  description: Whether O(path) exists.
  returned: always
  type: bool
err_present:
  description: Whether O(err_path) exists; null without O(err_path).
  returned: always
  type: bool
out_size:
  description: Size of O(path) in bytes (0 when absent); the next O(offset).
  returned: always
  type: int
err_size:
  description: Size of O(err_path) in bytes (0 when absent or without O(err_path)); the next O(err_offset).
  returned: always
  type: int
expected_version:
  description: The O(expected_version) value.
  returned: unless O(record_offsets)
  type: str
boot_line_found:
  description: Whether the boot line of O(expected_version) (any boot line without it) was found.
  returned: unless O(record_offsets)
  type: bool
boot_line:
  description: The last such boot line, or null.
  returned: unless O(record_offsets)
  type: str
  sample: "2025-11-25 10:50:01 INFO Engine version: v7.6"
other_boot_versions:
  description: Versions seen on boot lines that are not O(expected_version).
  returned: unless O(record_offsets)
  type: list
  elements: str
  sample: [v7.5]
waited_s:
  description: Seconds spent scanning and waiting.
  returned: unless O(record_offsets)
  type: float
error_lines:
  description: Error lines, at most O(max_lines).
  returned: unless O(record_offsets)
  type: list
  elements: str
error_count:
  description: Number of error lines.
  returned: unless O(record_offsets)
  type: int
warning_count:
  description: Number of warning lines.
  returned: unless O(record_offsets)
  type: int
publish_count:
  description: Number of successful C(state_publish) lines (publish lines not matching O(publish_error_pattern)).
  returned: unless O(record_offsets)
  type: int
publish_error_count:
  description: Number of failed C(state_publish) lines.
  returned: unless O(record_offsets)
  type: int
publish_error_lines:
  description: Failed C(state_publish) lines, at most O(max_lines).
  returned: unless O(record_offsets)
  type: list
  elements: str
publish_ok:
  description: RV(publish_count) >= 1 and RV(publish_error_count) <= O(publish_error_limit).
  returned: unless O(record_offsets)
  type: bool
rotated:
  description: Whether a log was rotated or truncated (offset beyond its size, shrinking or replaced file).
  returned: unless O(record_offsets)
  type: bool
out_rotated:
  description: Whether O(path) was rotated or truncated.
  returned: unless O(record_offsets)
  type: bool
err_rotated:
  description: Whether O(err_path) was rotated or truncated; null without O(err_path).
  returned: unless O(record_offsets)
  type: bool
'''


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import (
    SCAN_OPTIONS,
    check_scan_options,
    record_offsets,
    scan_logs,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            SCAN_OPTIONS,
            record_offsets=dict(type='bool', default=False),
            expected_version=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['expected_version'] is not None and not p['expected_version'].strip():
        module.fail_json(msg='expected_version must not be empty')
    # A null offset (not given, or an explicit null passed through by a role) is the start of the log.
    error = check_scan_options(p, expected_version=p['expected_version'])
    if error:
        module.fail_json(msg=error)

    if p['record_offsets']:
        module.exit_json(changed=False, **record_offsets(p['path'], p['err_path']))

    result = scan_logs(
        p['path'], err_path=p['err_path'], offset=p['offset'], err_offset=p['err_offset'],
        expected_version=p['expected_version'], timeout=p['timeout'], poll_interval=p['poll_interval'],
        require_publish=p['require_publish'], publish_error_limit=p['publish_error_limit'],
        max_lines=p['max_lines'], boot_pattern=p['boot_pattern'], boot_version_pattern=p['boot_version_pattern'],
        error_pattern=p['error_pattern'], warning_pattern=p['warning_pattern'],
        publish_pattern=p['publish_pattern'], publish_error_pattern=p['publish_error_pattern'],
    )
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
