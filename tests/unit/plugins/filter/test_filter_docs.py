# -*- coding: utf-8 -*-
"""Every filter of plugins/filter/*.py has its own documentation: `ansible-doc -t filter
gpt_hedge.activation.<name>` shows that filter's name, its options are the function's arguments,
and its examples use it (not a sibling's documentation from the same plugin file)."""
from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
FILTERS = {name: function
           for path in sorted((REPO / 'plugins' / 'filter').glob('*.py'))
           for name, function in importlib.import_module(
               'ansible_collections.gpt_hedge.activation.plugins.filter.' + path.stem).FilterModule().filters().items()}


@pytest.fixture(scope='module')
def docs():
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / 'ansible.cfg'))
    proc = subprocess.run([str(Path(sys.executable).parent / 'ansible-doc'), '-t', 'filter', '--json']
                          + ['gpt_hedge.activation.' + name for name in sorted(FILTERS)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_plugin_files_have_filters():
    assert {'one_line', 'rolling_percent', 'rolling_size', 'failed_gate'} <= set(FILTERS)


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_each_filter_shows_its_own_doc(docs, name):
    entry = docs['gpt_hedge.activation.' + name]
    doc = entry['doc']
    assert doc['name'] == name
    assert doc['short_description'] and doc['description']
    assert 'gpt_hedge.activation.%s' % name in entry['examples']
    assert entry['return']['_value']['description']
    options = set(doc['options']) - {'_input'}
    parameters = list(inspect.signature(FILTERS[name]).parameters.values())
    named = {p.name for p in parameters[1:] if p.kind is not p.VAR_KEYWORD}
    assert named <= options, 'arguments of %s without documentation: %s' % (name, sorted(named - options))
    if not any(p.kind is p.VAR_KEYWORD for p in parameters):
        assert options <= named, 'documented options %s has no argument for: %s' % (name, sorted(options - named))
