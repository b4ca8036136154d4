# -*- coding: utf-8 -*-
"""hedge_process.run_sanity_script: the one runner of the release's sanity script, used by
hedge_release_check (preflight, scratch clone) and hedge_verify (live checkout)."""
from __future__ import annotations

import json
import sys

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_process
from ansible_collections.gpt_hedge.activation.plugins.modules import hedge_release_check, hedge_verify

NAME = 'scripts/runtime_sanity_check_v7_6.py'
# Reads nav_state.json like the engine's script (runbook summary line last).
READER = '''\
import argparse, json, os, sys
p = argparse.ArgumentParser(); p.add_argument("--state-dir", required=True); a = p.parse_args()
print("cwd=%s" % os.getcwd())
nav = json.load(open(os.path.join(a.state_dir, "nav_state.json")))
ok = nav.get("nav_total", 0) > 0
print("RESULT: %s (1 checks)" % ("PASS" if ok else "FAIL"), file=sys.stdout if ok else sys.stderr)
sys.exit(0 if ok else 1)
'''


@pytest.fixture
def release(tmp_path):
    """A release checkout and a state dir with a real-looking nav_state.json."""
    tree, state = tmp_path / 'hedge-fund', tmp_path / 'state'
    (tree / 'scripts').mkdir(parents=True)
    state.mkdir()
    (state / 'nav_state.json').write_text(json.dumps({'nav_total': 10423.17, 'updated_at': 1764067193.0}))
    return tree, state


@pytest.mark.parametrize('script, nav, rc, last_line, ran', [
    pytest.param(READER, 10423.17, 0, 'RESULT: PASS (1 checks)', True, id='passes'),
    pytest.param(READER, 0, 1, 'RESULT: FAIL (1 checks)', True, id='fails-on-stderr'),
    pytest.param('raise KeyError("nav_total")\n', 1, 1, "KeyError: 'nav_total'", True, id='traceback'),
    pytest.param(None, 1, None, NAME + ' is missing', False, id='missing'),
])
def test_run_sanity_script(release, script, nav, rc, last_line, ran):
    tree, state = release
    if script is not None:
        (tree / NAME).write_text(script)
    (state / 'nav_state.json').write_text(json.dumps({'nav_total': nav}))
    before = (state / 'nav_state.json').read_bytes()
    facts = hedge_process.run_sanity_script(sys.executable, NAME, str(state), chdir=str(tree))
    assert (facts['ran'], facts['rc'], facts['exists']) == (ran, rc, script is not None)
    assert last_line in facts['last_line']
    assert facts['cmd'] == [sys.executable, NAME, '--state-dir', str(state)]
    assert facts['path'] == str(tree / NAME)
    if script == READER:
        assert facts['output_tail'][0] == 'cwd=%s' % tree
    assert (state / 'nav_state.json').read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == ['nav_state.json']


def test_interpreter_missing(release):
    tree, state = release
    (tree / NAME).write_text(READER)
    facts = hedge_process.run_sanity_script(str(tree / 'venv/bin/python'), NAME, str(state), chdir=str(tree))
    assert (facts['ran'], facts['rc']) == (False, 127)
    assert facts['last_line'] == 'cannot run %s: No such file or directory' % (tree / 'venv/bin/python')


def test_timeout_stops_the_script_and_its_children(release):
    tree, state = release
    (tree / NAME).write_text('import subprocess, sys, time\nprint("checking", flush=True)\n'
                             'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])\n'
                             'time.sleep(60)\n')
    facts = hedge_process.run_sanity_script(sys.executable, NAME, str(state), chdir=str(tree), timeout=1)
    assert (facts['ran'], facts['rc'], facts['timed_out']) == (True, hedge_process.TIMEOUT_RC, True)
    assert facts['last_line'] == 'killed after 1 s: checking'
    assert facts['output_tail'] == ['checking']


def test_both_modules_use_the_one_runner():
    """Neither module keeps a runner of its own (the check-mode disagreement came from two)."""
    assert hedge_release_check.run_sanity_script is hedge_process.run_sanity_script
    assert hedge_verify.run_sanity_script is hedge_process.run_sanity_script
    for module in (hedge_release_check, hedge_verify):
        assert not hasattr(module, 'subprocess')
