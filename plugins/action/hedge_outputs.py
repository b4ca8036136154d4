# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of gpt_hedge.activation.hedge_outputs: write the run's output
files (ops log, incident report) on the controller, in the worker process.

A delegated ansible.builtin.file + copy + template costs three module runs
(~0.2 s each, a Python process per run) per box; this writes the same files
directly, each atomically (temporary file in the same directory, then rename).
Nothing is sent to the box.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

_ARGS = frozenset(('dir', 'files', 'mode', 'dir_mode'))


def _octal(value, name):
    try:
        return int(str(value), 8)
    except ValueError:
        raise AnsibleActionFail("%s must be an octal mode such as '0640', got %r" % (name, value))


def write_atomically(path, content, mode):
    """Write content to path through a temporary file in the same directory."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(content))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = _ARGS
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # ActionBase.run refused any argument outside _VALID_ARGS.
        args = self._task.args
        directory = args.get('dir')
        files = args.get('files')
        if not directory or not isinstance(directory, str):
            raise AnsibleActionFail('dir is required: the controller directory to write into')
        if not isinstance(files, dict) or not files:
            raise AnsibleActionFail('files is required: a mapping of file name to content')
        mode = _octal(args.get('mode', '0640'), 'mode')
        dir_mode = _octal(args.get('dir_mode', '0750'), 'dir_mode')
        directory = os.path.abspath(os.path.expanduser(directory))
        paths = {}
        for name in files:
            name = to_text(name)
            if not name or os.path.basename(name) != name or name in ('.', '..'):
                raise AnsibleActionFail('file names must be plain names inside dir, got %r' % name)
            paths[name] = os.path.join(directory, name)
        result.update(changed=False, dir=directory, paths=paths, written=[])
        if self._task.check_mode:
            result['msg'] = 'check mode: %d file(s) not written' % len(paths)
            return result
        try:
            os.makedirs(directory, mode=dir_mode, exist_ok=True)
            for name, content in files.items():
                text = content if isinstance(content, str) else to_text(content)
                # Text files end with a newline.
                write_atomically(paths[to_text(name)], text if text.endswith('\n') else text + '\n', mode)
                result['written'].append(paths[to_text(name)])
        except OSError as exc:
            raise AnsibleActionFail('cannot write the run outputs in %s: %s' % (directory, exc))
        result['msg'] = 'wrote %s' % ', '.join(result['written'])
        # The run's output on the controller, not a change of the box.
        return result
