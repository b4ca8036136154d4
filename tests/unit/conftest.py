# -*- coding: utf-8 -*-
"""Shared fixtures for the gpt_hedge.activation unit tests.

Modules are run the way Ansible runs them on the target: as a separate
python process reading ``{"ANSIBLE_MODULE_ARGS": {...}}`` from a file, with
the collections dir on PYTHONPATH, and their JSON answer parsed from stdout.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from hedge_test_support import (  # noqa: E402
    COLLECTIONS_DIR,
    MODULES_DIR,
    parse_module_output,
    v75_payloads,
    v76_payloads,
    write_state,
)

if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))


def _run_module(tmp_dir, name, args, check_mode=False, extra_pythonpath=(), timeout=120, popen=False):
    module_args = dict(args)
    if check_mode:
        module_args['_ansible_check_mode'] = True
    args_file = Path(tmp_dir) / ('args-%s-%d.json' % (name, os.getpid()))
    n = 0
    while args_file.exists():
        n += 1
        args_file = Path(tmp_dir) / ('args-%s-%d-%d.json' % (name, os.getpid(), n))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': module_args}))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(p) for p in extra_pythonpath] + [str(COLLECTIONS_DIR)])
    env.pop('PYTHONHOME', None)
    cmd = [sys.executable, str(MODULES_DIR / ('%s.py' % name)), str(args_file)]
    if popen:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return parse_module_output(proc.stdout, proc.stderr, proc.returncode)


@pytest.fixture
def run_module(tmp_path_factory):
    """run_module(name, args, check_mode=False, extra_pythonpath=()) -> dict (the module's result)."""
    args_dir = tmp_path_factory.mktemp('module-args')

    def runner(name, args, **kwargs):
        return _run_module(args_dir, name, args, **kwargs)

    return runner


@pytest.fixture
def no_jmespath_path(tmp_path_factory):
    """A dir that, put first on PYTHONPATH, makes ``import jmespath`` fail (stdlib-only target)."""
    root = tmp_path_factory.mktemp('no-jmespath')
    pkg = root / 'jmespath'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('raise ImportError("jmespath hidden for this test")\n')
    return root


@pytest.fixture
def state_dir(tmp_path):
    """Factory: state_dir(payloads=None, drop=(), raw=None, version='v7.6') -> Path of a populated state dir."""
    counter = {'n': 0}

    def make(payloads=None, drop=(), raw=None, version='v7.6', **kwargs):
        counter['n'] += 1
        if payloads is None:
            payloads = (v76_payloads if version == 'v7.6' else v75_payloads)(**kwargs)
        return write_state(tmp_path / ('state%d' % counter['n']) / 'logs' / 'state', copy.deepcopy(payloads),
                           drop=drop, raw=raw)

    return make


@pytest.fixture
def payloads_v76():
    return v76_payloads()


@pytest.fixture
def payloads_v75():
    return v75_payloads()
