# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an activation or rollback meant to leave live, and whether the box shows it.

After a refusal or a verified automatic rollback the release that should be
live is the previous one, not the run's target; after a success it is the
target; after ``failed``, ``rollback_failed`` or ``interrupted`` no release is
verified and the box is never called healthy.  Pure functions over the run's
facts (from activate.yml / rollback.yml) and what the incident check read.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import same_version

KINDS = ('activation', 'rollback')
# The run outcome words of the history record, ops log and fleet summary.
OUTCOMES = ('success', 'refused', 'rolled_back', 'rollback_failed', 'failed', 'interrupted')
# Outcomes after which no release is verified: never reported healthy.
UNVERIFIED = ('rollback_failed', 'failed', 'interrupted')

# Options of hedge_incidents' ``run``.
RUN_OPTIONS = dict(
    kind=dict(type='str', required=True, choices=list(KINDS)),
    outcome=dict(type='str', required=True, choices=list(OUTCOMES)),
    version=dict(type='str', default=''),
    previous_version=dict(type='str', default=''),
    failed_gate=dict(type='str', default=''),
)


def expected_release(run):
    """The release that should be live after ``run``, or None when no release can be
    expected (the box is in an unknown state)."""
    outcome = run['outcome']
    if outcome in ('refused', 'rolled_back'):
        return run.get('previous_version') or None
    if outcome == 'success':
        return run.get('version') or None
    if outcome == 'failed' and run['kind'] == 'activation':
        return run.get('version') or None  # auto_rollback off: left in place for inspection
    return None


def headline(run):
    """'activation of v7.6 refused at preflight.pretag' and the like: what the run did."""
    version = run.get('version') or '?'
    gate = run.get('failed_gate') or ''
    outcome = run['outcome']
    if run['kind'] == 'rollback':
        what = 'rollback to %s' % version
    else:
        what = 'activation of %s' % version
    if outcome == 'success':
        return '%s succeeded' % what
    if outcome == 'refused':
        return '%s refused%s' % (what, ' at %s' % gate if gate else '')
    if outcome == 'rolled_back':
        return '%s rolled back%s' % (what, ' after %s' % gate if gate else '')
    if outcome == 'interrupted':
        return '%s interrupted' % what
    text = '%s failed%s' % (what, ' at %s' % gate if gate else '')
    if outcome == 'rollback_failed':
        return '%s; automatic rollback to %s FAILED' % (text, run.get('previous_version') or 'the previous release')
    if run['kind'] == 'activation':
        return '%s; automatic rollback off' % text
    return text


def verdict(run, live_version, problems):
    """The verdict on the box after ``run``.

    ``live_version`` is what the engine reports (None when unreadable),
    ``problems`` one-line health problems seen by the incident check (healthz,
    stale surfaces, incidents of severity fail).  Returns the run's facts with
    ``expected_version``, ``live_version``, ``as_intended`` (the expected release
    is live; None when no release can be expected or the engine's version is
    unreadable), ``healthy`` and a one-line ``statement``.
    """
    expected = expected_release(run)
    head = headline(run)
    as_intended = None
    healthy = False
    engine = 'engine reports %s' % (live_version or 'no version')
    if run['outcome'] in UNVERIFIED:
        if run['outcome'] == 'failed' and expected:
            tail = '%s left live for inspection, not verified (%s)' % (expected, engine)
        else:
            tail = 'box in an unknown state (%s): page an operator' % engine
        if expected:
            as_intended = same_version(live_version, expected)
    elif expected is None:
        tail = 'no release to expect (%s)' % engine
    elif live_version is None:
        tail = '%s should be live but the engine reports no version' % expected
    elif not same_version(live_version, expected):
        as_intended = False
        tail = '%s should be live but the engine reports %s' % (expected, live_version)
    else:
        as_intended = True
        if problems:
            tail = '%s %slive but NOT healthy: %s' % (
                expected, 'still ' if run['outcome'] == 'refused' else '', '; '.join(problems))
        else:
            healthy = True
            tail = {'refused': '%s still live and healthy', 'rolled_back': '%s live and verified'}.get(
                run['outcome'], '%s live and healthy') % expected
    result = dict(run)
    result.update(expected_version=expected, live_version=live_version, as_intended=as_intended, healthy=healthy,
                  headline=head, statement='%s; %s' % (head, tail))
    return result
