# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Reading a failed task's message as the collection's gates write it.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Each filter's documentation is in its own file beside this one (ansible-doc -t filter reads it):
# failed_gate.yml, one_line.yml, gate_failure.yml, gate_message.yml, gate_next.yml,
# failure_summary.yml and pytest_failure.yml.


GATE_FAILED = re.compile(r'GATE (\S+) FAILED')
# A task that failed before its module ran because privilege escalation (sudo) refused: ansible-core's own
# messages. Such a failure is the run's `access` gate, whatever task met it first.
BECOME_FAILED = re.compile(r'(Incorrect|Missing) sudo password|is not in the sudoers file|a password is required'
                           r'|Timeout \(\d+s\) waiting for privilege escalation prompt|Privilege escalation failed')
# ansible-core's wording around an unreachable host's cause ('... reached over ssh: <cause>').
UNREACHABLE_PREFIX = re.compile(r'^(Task failed: )?(Failed to connect to the host via ssh: |Data could not be sent'
                                r' to remote host "[^"]*"\. Make sure this host can be reached over ssh: )')
# Bounds of a failure's detail (BRIEF vocabulary: at most ~10 lines / 1000 characters).
DETAIL_LINES = 10
DETAIL_CHARS = 1000
LINE_CHARS = 240

# The runbook's next step, by failed gate (or gate prefix ending in '.'), for a run that changed nothing
# (outcome refused). Placeholders: {version} target, {previous} release live before, {log} the executor's
# log, {opslog} this run's ops log, {gate} the failed gate.
NEXT_REFUSED = {
    'input.': 'fix the value named above (inventory or -e) and run again; nothing was changed',
    'access': "check the login user's SSH key, the box's host key in known_hosts and the sudo rights of "
              "docs/real-box.md (--ask-become-pass when sudo asks for a password), then run again",
    'lock': 'let the run named above finish (a holder that is gone is taken over by the next run), then run again',
    'preflight.supervisor': 'start supervisord on the box (or fix box_supervisorctl / box_supervisor_conf), then run again',
    'preflight.docker': 'start the Docker engine on the box (or fix box_docker_host), then run again',
    'preflight.registry': 'check the registry and its credentials (box_docker_registry_*), then run again',
    'preflight.image': 'push the image of {version} to the registry (or fix -e version), then run again',
    'preflight.image_version': 'rebuild the image of {version} with the right version label and push it again',
    'preflight.checkout': 'restore the live checkout as a clone with its origin remote (git remote -v), then run again',
    'preflight.tag_exists': 'push tag {version} to origin (or fix -e version), then run again',
    'preflight.version_file': 'fix VERSION in {version} and re-tag',
    'preflight.docs_version': 'bump docs_version in the manifest of {version} and re-tag',
    'preflight.ci_status': 'get CI green for the commit of {version} (or re-tag a green commit), then run again',
    'preflight.pretag': "run `make pretag-{version}` in a clone of the tag with the box's venv; fix or re-tag",
    'preflight.sanity_script': 'add the runtime sanity script to {version} and re-tag',
    'preflight.sanity': "run {version}'s sanity script against the live state by hand; fix the release or the state",
    'preflight.rollback_ready': 'bring {previous} back onto the box (git: git fetch origin tag {previous} in the live '
                                'checkout; docker: pull its image), or roll back to a release that is there, then run again',
    'deploy.clean_checkout': 'commit, stash or discard the local changes of the live checkout (git status), then run again',
    'rollback.target': 'name the release to return to: ansible-playbook rollback.yml -e version=<tag>',
    'input.bake': 'give hedge_bake_seconds as whole seconds (0 for no bake) and hedge_bake_interval as 1..the window, then run again; nothing was changed',
    # playbooks/bake.yml: a watch of the live release failed (it changes nothing, so the outcome is refused).
    'bake.': '{version} is live and failed {gate} while watched (nothing was changed): inspect {log}; '
             'if it does not recover, ansible-playbook rollback.yml',
}
# After the box was changed, the next step depends on how the run ended.
NEXT_BY_OUTCOME = {
    'rolled_back': '{previous} is live and verified; inspect {log} and {opslog} for why {gate} failed on {version}',
    'rollback_failed': 'page the on-call: the box is in an unknown state (automatic rollback to {previous} failed); '
                       'see {opslog}',
    'failed': '{version} is left in place for inspection (auto_rollback off): inspect {log}, '
              'then ansible-playbook rollback.yml',
    # rollback.yml: a gate failed after the rollback changed the box.
    'rollback_unverified': 'page the on-call: the box was changed and {version} is not verified; inspect {log}',
}
NEXT_DEFAULT = 'inspect the output above, {log} and {opslog}; then run again'


def failed_gate(message, default='unknown'):
    """Gate named in `message` ("GATE verify.boot_line FAILED: ..."), else `default`."""
    match = GATE_FAILED.search('' if message is None else str(message))
    return match.group(1) if match else default


def one_line(text):
    """`text` as one line: every run of whitespace folded to a single space."""
    return ' '.join(str('' if text is None else text).split())


def bounded(lines, max_lines=DETAIL_LINES, max_chars=DETAIL_CHARS):
    """At most `max_lines` lines (each folded, cut at LINE_CHARS) and `max_chars` characters in all."""
    result, total = [], 0
    for line in lines:
        line = one_line(line)
        if not line:
            continue
        if len(line) > LINE_CHARS:
            line = line[:LINE_CHARS - 3] + '...'
        if len(result) == max_lines or total + len(line) > max_chars:
            break
        result.append(line)
        total += len(line)
    return result


def gate_message(reason, detail=None):
    """A gate's failure message: the one-line reason, then each detail line indented by two spaces
    (bounded); gate_failure() reads it back."""
    return '\n'.join([one_line(reason)] + ['  ' + line for line in bounded(detail or [])])


def gate_failure(message, default='unknown'):
    """A failed task's message as {failed_gate, reason, detail}: the line naming the gate (else the first
    line) is the reason, the other lines are the detail (bounded)."""
    lines = [line for line in str('' if message is None else message).splitlines() if line.strip()]
    index = next((i for i, line in enumerate(lines) if GATE_FAILED.search(line)), 0)
    reason = one_line(lines[index]) if lines else ''
    if not GATE_FAILED.search(reason) and BECOME_FAILED.search(reason):
        reason = access_reason('sudo on the box refused: ' + re.sub(r'^Task failed: ', '', reason))
    return {
        'failed_gate': failed_gate(reason, default),
        'reason': reason,
        'detail': bounded(lines[:index] + lines[index + 1:]),
    }


def access_reason(cause):
    """The reason of GATE access: the box cannot be reached, or become (sudo) refuses."""
    return 'GATE access FAILED: ' + one_line(UNREACHABLE_PREFIX.sub('', one_line(cause)))


def gate_next(gate, outcome='refused', **values):
    """The runbook's next step for a run that ended `outcome` at `gate` (placeholders from `values`)."""
    gate = str(gate or '')
    if outcome in NEXT_BY_OUTCOME:
        text = NEXT_BY_OUTCOME[outcome]
    else:
        text = NEXT_REFUSED.get(gate) or next(
            (value for key, value in NEXT_REFUSED.items() if key.endswith('.') and gate.startswith(key)), NEXT_DEFAULT)
    fields = {'version': '?', 'previous': '?', 'log': 'the executor log', 'opslog': 'the ops log'}
    fields.update((key, value) for key, value in values.items() if value not in (None, ''))
    fields['gate'] = gate or 'a gate'
    return text.format(**fields)


OUTCOME_WORDS = {
    'refused': 'refused at gate {gate}: nothing was changed',
    'rolled_back': 'rolled back after gate {gate}: {previous} restored and verified',
    'rollback_failed': 'FAILED at gate {gate} and the automatic rollback to {previous} FAILED: the box needs an operator',
    'failed': 'failed at gate {gate}: automatic rollback is off, {version} left in place',
}


def failure_summary(failure, kind='activation', outcome='refused', version='?', previous='?', box=''):
    """The closing message of a failed run: one line naming the run, its outcome and the failed gate, then
    the `next:` line of `failure` (a dict as gate_failure returns it, plus next). The gate's reason is not
    repeated: the gate's own task printed it."""
    failure = failure or {}
    fields = {'gate': failure.get('failed_gate') or 'unknown', 'version': version or '?',
              'previous': previous or '?'}
    words = OUTCOME_WORDS.get(outcome, outcome + ' at gate {gate}').format(**fields)
    lines = ['%s of %s%s %s' % (kind, fields['version'], (' on ' + box) if box else '', words)]
    if failure.get('next'):
        lines.append('next: ' + failure['next'])
    return '\n'.join(lines)


PYTEST_SUMMARY = re.compile(r'^=*\s*(\d+ (failed|passed|error|errors)\b.*?)\s*=*$')
PYTEST_FAILED = re.compile(r'^(FAILED|ERROR) (\S+)')


def pytest_failure(facts, max_ids=8):
    """From a test run's facts (stdout_tail, stderr_tail, last_line): {summary, detail}. summary: pytest's
    last counts line ("1 failed, 8 passed in 0.19s"), else the last line; detail: the failing test ids
    of the short summary and the first error line ("E   ...") of the run, bounded."""
    facts = facts or {}
    lines = list(facts.get('stdout_tail') or []) + list(facts.get('stderr_tail') or [])
    summary = ''
    ids, first_error = [], ''
    for line in lines:
        text = line.strip()
        match = PYTEST_SUMMARY.match(text)
        if match:
            summary = match.group(1)
        match = PYTEST_FAILED.match(text)
        if match and match.group(2) not in ids:
            ids.append(match.group(2))
        if not first_error and line.startswith('E ') and text[1:].strip():
            first_error = text[1:].strip()
    detail = ['failed: ' + test_id for test_id in ids[:max_ids]]
    if len(ids) > max_ids:
        detail.append('... and %d more failed tests' % (len(ids) - max_ids))
    if first_error:
        detail.append('first error: ' + first_error)
    return {'summary': summary or one_line(facts.get('last_line', '')), 'detail': bounded(detail)}


class FilterModule(object):
    """Gate message filters."""

    def filters(self):
        return {'failed_gate': failed_gate, 'one_line': one_line, 'gate_failure': gate_failure,
                'gate_next': gate_next, 'pytest_failure': pytest_failure, 'failure_summary': failure_summary,
                'gate_message': gate_message}
