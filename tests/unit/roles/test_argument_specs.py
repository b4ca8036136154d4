# -*- coding: utf-8 -*-
"""Every role's meta/argument_specs.yml mirrors its defaults/main.yml, so that
`ansible-doc -t role gpt_hedge.activation.<role>` shows the real defaults.

The spec's `default:` is documentation only (ansible-core takes a role variable's value from
defaults/main.yml), so it is compared with the defaults file as written: a templated string as
the same string."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent.name for p in (REPO / 'roles').glob('*/meta/argument_specs.yml'))


def role_files(role):
    defaults_file = REPO / 'roles' / role / 'defaults' / 'main.yml'
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    specs = yaml.safe_load((REPO / 'roles' / role / 'meta' / 'argument_specs.yml').read_text())['argument_specs']
    return defaults, specs


def test_every_role_has_a_spec():
    assert sorted(p.name for p in (REPO / 'roles').iterdir() if (p / 'defaults' / 'main.yml').exists()) == ROLES


@pytest.mark.parametrize('role', ROLES)
def test_public_defaults_are_in_the_spec_with_the_same_default(role):
    defaults, specs = role_files(role)
    public = {name: value for name, value in defaults.items() if not name.startswith('_')}
    # an option of one entry point only (ledger's finish: ledger_fields) counts too
    listed = {(entry_point, name): option for entry_point, spec in specs.items()
              for name, option in (spec.get('options') or {}).items()}
    missing = sorted(set(public) - {name for _entry_point, name in listed})
    assert not missing, '%s: defaults not in meta/argument_specs.yml: %s' % (role, ', '.join(missing))
    wrong = ['%s (%s): defaults/main.yml %r, spec %r' % (name, entry_point, public[name], option.get('default'))
             for (entry_point, name), option in sorted(listed.items())
             if name in public and option.get('default') != public[name]]
    assert not wrong, '%s: spec default differs:\n%s' % (role, '\n'.join(wrong))


@pytest.mark.parametrize('role', ROLES)
def test_spec_options_are_defaults_or_required(role):
    defaults, specs = role_files(role)
    for entry_point, spec in specs.items():
        for name, option in (spec.get('options') or {}).items():
            assert option.get('description'), '%s %s: %s has no description' % (role, entry_point, name)
            assert name in defaults or option.get('required') is True, (
                '%s %s: %s is neither in defaults/main.yml nor required' % (role, entry_point, name))


def test_ansible_doc_shows_the_verify_defaults():
    """What an operator sees: ansible-doc reads the spec, so the defaults it prints are the real ones."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / 'ansible.cfg'))
    proc = subprocess.run([str(Path(sys.executable).parent / 'ansible-doc'), '-t', 'role', '--json',
                           'gpt_hedge.activation.verify'], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    options = json.loads(proc.stdout)['gpt_hedge.activation.verify']['entry_points']['main']['options']
    defaults = role_files('verify')[0]
    assert options['verify_surface_max_age']['default'] == defaults['verify_surface_max_age'] == 120
    assert options['verify_sanity_script']['default'] == defaults['verify_sanity_script']
