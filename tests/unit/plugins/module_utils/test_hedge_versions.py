# -*- coding: utf-8 -*-
"""hedge_versions: the one version normaliser (hedge_logs and hedge_runtime_facts each had one, and
hedge_logs' also dropped trailing dots)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import boot_regex
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_release import match_facts
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import (
    normalize_version,
    same_version,
)

PLUGINS = Path(__file__).resolve().parents[4] / 'plugins'


@pytest.mark.parametrize('value, expected', [
    ('v7.6', '7.6'),                # a tag
    ('V7.6', '7.6'),
    ('v7.6\n', '7.6'),              # a VERSION file
    ('  v7.5 ', '7.5'),
    ('7.6', '7.6'),                 # engine_metadata.json {"engine_version": "7.6"}
    ('v7.6.1', '7.6.1'),
    ('v7.6-rc1', '7.6-rc1'),
    ('vv7.6', 'v7.6'),              # one leading v only
    ('v7.6.', '7.6.'),              # a typo in a VERSION file is not v7.6 (hedge_logs' copy said it was)
    (7.6, '7.6'),                   # an unquoted YAML/JSON number
    ('', ''),
    (None, None),
])
def test_normalize_version(value, expected):
    assert normalize_version(value) == expected


@pytest.mark.parametrize('left, right, same', [
    ('v7.6', '7.6', True),
    ('v7.6\n', 'V7.6', True),
    ('v7.6', 'v7.60', False),
    ('v7.6', 'v7.6.1', False),
    ('v7.6.', 'v7.6', False),
    (None, 'v7.6', False),
    ('v7.6', None, False),
])
def test_same_version(left, right, same):
    assert same_version(left, right) is same


@pytest.mark.parametrize('version_file, docs_version, expected, facts', [
    ('v7.6\n', 'v7.6', 'v7.6', (True, True)),
    ('7.6', 'v7.6', 'v7.6', (True, True)),
    ('v7.6.', 'v7.6', 'v7.6', (False, False)),
    ('v7.5', 'v7.6', 'v7.6', (False, False)),
    ('v7.6', None, 'v7.6', (True, None)),
    ('v7.6', 'v7.6', None, (None, True)),
])
def test_preflight_version_facts(version_file, docs_version, expected, facts):
    assert match_facts(version_file, docs_version, expected) == facts


@pytest.mark.parametrize('line, boots', [
    ('2025-11-25 10:50:01 INFO Engine version: v7.6', True),
    ('2025-11-25 10:50:01 INFO Engine version: v7.6.', True),    # a sentence's end in a log line
    ('2025-11-25 10:50:01 INFO Engine version: 7.6 (build 1badaae)', True),
    ('2025-11-25 10:50:01 INFO Engine version: v7.6.1', False),
    ('2025-11-25 10:50:01 INFO Engine version: v7.60', False),
])
def test_boot_line_of_v76(line, boots):
    assert bool(boot_regex('v7.6').search(line)) is boots


def test_one_definition():
    defining = sorted(str(p.relative_to(PLUGINS)) for p in PLUGINS.rglob('*.py')
                      if 'def normalize_version(' in p.read_text())
    assert defining == ['module_utils/hedge_versions.py']
