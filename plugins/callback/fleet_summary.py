# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The per-box table at the end of an activation or rollback run, also when a failed batch stopped the rollout.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_summary
type: aggregate
short_description: Print a per-box summary table at the end of a run and write it as JSON
description:
  - At the end of the run prints one row per box of every rollout play (a play with C(serial), such as
    C(activate.yml)) and of every play whose boxes reported a row; box, version before, version after,
    outcome and duration, and a note (failed gate, rollback, bake window, incidents).
  - The rows come from C(ansible.builtin.set_stats) (per host, key C(hedge_summary)) set by the role
    C(gpt_hedge.activation.opslog), which runs in the C(always) section of the entry playbooks, so a box
    that failed its gate and was rolled back still reports its row.
  - Boxes of the play without a row are C(refused) when they failed before the ops log (input or lock gate),
    C(unreachable), C(stopped) when the rollout stopped them mid-way, or C(untouched) when their batch never
    started because an earlier batch failed (the play stops at C(max_fail_percentage)).
  - The same table is written as JSON (C(gpt-hedge.fleet-summary/v1)) to O(report_dir).
requirements:
  - enable in configuration (C(callbacks_enabled = gpt_hedge.activation.fleet_summary) in ansible.cfg)
options:
  report_dir:
    description: Directory of the JSON table C(fleet-summary-<UTC stamp>-<pid>.json) (created if missing).
    type: path
    default: reports
    env:
      - name: HEDGE_REPORT_DIR
    ini:
      - section: gpt_hedge_fleet_summary
        key: report_dir
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase
from ansible_collections.gpt_hedge.activation.plugins.filter.gates import access_reason, gate_failure, gate_next

SCHEMA = 'gpt-hedge.fleet-summary/v1'
ROW_KEY = 'hedge_summary'
COLUMNS = (('box', 'box'), ('before', 'version_before'), ('after', 'version_after'),
           ('outcome', 'outcome'), ('duration', 'duration'), ('note', 'note'))


def format_duration(seconds):
    """'23.4s', '2m05s'; '-' when the box never ran."""
    if seconds is None:
        return '-'
    if seconds < 60:
        return '%.1fs' % seconds
    minutes, rest = divmod(int(round(seconds)), 60)
    return '%dm%02ds' % (minutes, rest)


def _note(row):
    parts = []
    if row.get('failed_gate'):
        parts.append('gate ' + row['failed_gate'])
    if row.get('rollback') and row['rollback'] not in ('not_needed',):
        parts.append('rollback ' + row['rollback'])
    if row.get('bake') and row['bake'] != 'not run':
        parts.append('bake ' + row['bake'])
    if row.get('incidents'):
        parts.append('incidents: ' + ', '.join(row['incidents']))
    return '; '.join(parts)


def build_rows(targets, reported, failures=(), unreachable=(), processed=(), gates=None, timing=None, reasons=None):
    """One row per box: the ops log's row when the box reported one, else what the run saw of it.

    targets   -- box names in play order (every box the rollout plays aimed at)
    reported  -- box -> the opslog role's hedge_summary stat (outcome, version_before, version_after, ...)
    failures / unreachable / processed -- boxes with a failed task / unreachable / that ran any task
    gates     -- box -> the first gate named in a failed task of the box
    reasons   -- box -> the message of that failed task (its first line)
    timing    -- box -> seconds from its first task to its last result
    """
    gates = gates or {}
    reasons = reasons or {}
    timing = timing or {}
    rows = []
    names = list(targets) + [name for name in reported if name not in targets]
    for name in names:
        data = reported.get(name)
        if data:
            row = {
                'box': name,
                'version_before': data.get('version_before') or '',
                'version_after': data.get('version_after') or '',
                'outcome': data.get('outcome') or 'failed',
                'failed_gate': data.get('failed_gate') or '',
                'reason': data.get('reason') or '',
                'detail': list(data.get('detail') or []),
                'next': data.get('next') or '',
                'rollback': data.get('rollback') or '',
                'incidents': list(data.get('incidents') or []),
                'bake': data.get('bake') or '',
            }
        else:
            if name in unreachable:
                outcome = 'unreachable'
            elif name in failures:
                outcome = 'refused'
            elif name in processed:
                outcome = 'stopped'
            else:
                outcome = 'untouched'
            row = {'box': name, 'version_before': '', 'version_after': '', 'outcome': outcome,
                   'failed_gate': gates.get(name, '') if outcome == 'refused' else '',
                   'reason': reasons.get(name, '') if outcome == 'refused' else '',
                   'detail': [], 'next': '', 'rollback': '', 'incidents': [], 'bake': ''}
            if row['failed_gate']:
                row['next'] = gate_next(row['failed_gate'])
            if outcome == 'unreachable':
                # Nothing ran on the box: the run's access gate, with ansible's cause.
                row.update(failed_gate='access', reason=reasons.get(name) or access_reason('unreachable'),
                           next=gate_next('access'))
        seconds = timing.get(name)
        row['duration_s'] = None if seconds is None else round(seconds, 1)
        row['duration'] = format_duration(seconds)
        row['note'] = _note(row) or ('batch never started: the rollout stopped' if row['outcome'] == 'untouched' else '')
        rows.append(row)
    return rows


def render_table(rows):
    """The rows as aligned text lines: a header, a rule, one line per box, then a count by outcome."""
    cells = [[str(row.get(key) or '-') if key != 'note' else (row.get('note') or '') for _title, key in COLUMNS]
             for row in rows]
    titles = [title for title, _key in COLUMNS]
    widths = [max([len(titles[i])] + [len(line[i]) for line in cells]) for i in range(len(titles))]

    def line(values):
        return '  '.join(value.ljust(widths[i]) for i, value in enumerate(values)).rstrip()

    lines = [line(titles), line(['-' * width for width in widths])]
    lines.extend(line(values) for values in cells)
    counts = {}
    for row in rows:
        counts[row['outcome']] = counts.get(row['outcome'], 0) + 1
    lines.append('%d box%s: %s' % (len(rows), '' if len(rows) == 1 else 'es',
                                   ', '.join('%d %s' % (n, outcome) for outcome, n in sorted(counts.items()))))
    return lines


class CallbackModule(CallbackBase):
    """Per-box summary of a rollout, printed at the end and written as JSON."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'gpt_hedge.activation.fleet_summary'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self._targets = []          # boxes of the summarised plays, in play order
        self._play_targets = {}     # play uuid -> its boxes
        self._summarised = set()    # play uuids that get a table
        self._current = None
        self._started = {}
        self._ended = {}
        self._failed = set()
        self._gates = {}
        self._reasons = {}
        self._playbook = ''
        self._run_started = time.time()

    # -- collecting ---------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(getattr(playbook, '_file_name', '') or '')

    def v2_playbook_on_play_start(self, play):
        uuid = getattr(play, '_uuid', id(play))
        self._current = uuid
        if uuid not in self._play_targets:
            self._play_targets[uuid] = self._play_hosts(play)
        if getattr(play, 'serial', None):
            self._summarise(uuid)

    @staticmethod
    def _play_hosts(play):
        """Every box the play aims at (all batches, --limit respected)."""
        try:
            hosts = play.get_variable_manager().get_vars(play=play).get('ansible_play_hosts_all') or []
            return [str(host) for host in hosts]
        except Exception:  # pylint: disable=broad-except
            # no table is better than a crashed run
            return []

    def _summarise(self, uuid):
        if uuid in self._summarised:
            return
        self._summarised.add(uuid)
        for name in self._play_targets.get(uuid, []):
            if name not in self._targets:
                self._targets.append(name)

    def v2_runner_on_start(self, host, task):
        self._started.setdefault(host.get_name(), time.time())

    def _ended_now(self, result):
        self._ended[result._host.get_name()] = time.time()

    def v2_runner_on_ok(self, result):
        self._ended_now(result)
        stats = result._result.get('ansible_stats') or {}
        if ROW_KEY in (stats.get('data') or {}) and self._current is not None:
            self._summarise(self._current)

    def v2_runner_on_skipped(self, result):
        self._ended_now(result)

    def v2_runner_on_unreachable(self, result):
        self._ended_now(result)
        name = result._host.get_name()
        if name not in self._reasons:
            self._reasons[name] = access_reason(result._result.get('msg') or 'unreachable')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._ended_now(result)
        if ignore_errors:
            return
        name = result._host.get_name()
        self._failed.add(name)
        # The first failed gate of the box (a sudo refusal is GATE access: gates.gate_failure).
        failure = gate_failure(str(result._result.get('msg', '')), '')
        if failure['failed_gate'] and name not in self._gates:
            self._gates[name] = failure['failed_gate']
            self._reasons[name] = failure['reason'][failure['reason'].find('GATE '):]

    # -- reporting ----------------------------------------------------------
    def v2_playbook_on_stats(self, stats):
        custom = getattr(stats, 'custom', {}) or {}
        reported = {name: data[ROW_KEY] for name, data in custom.items()
                    if name != '_run' and isinstance(data, dict) and isinstance(data.get(ROW_KEY), dict)}
        if not self._summarised and not reported:
            return
        timing = {name: self._ended.get(name, start) - start for name, start in self._started.items()}
        rows = build_rows(self._targets, reported,
                          failures={name for name, n in stats.failures.items() if n} | self._failed,
                          unreachable={name for name, n in stats.dark.items() if n},
                          processed=set(stats.processed), gates=self._gates, timing=timing,
                          reasons=self._reasons)
        if not rows:
            return
        kinds = sorted({data.get('kind', '') for data in reported.values() if data.get('kind')})
        versions = sorted({data.get('target', '') for data in reported.values() if data.get('target')})
        title = 'FLEET SUMMARY: %s%s' % ('/'.join(kinds) or 'run', (' of ' + ', '.join(versions)) if versions else '')
        if any(row['outcome'] == 'untouched' for row in rows):
            title += ' (rollout stopped after a failed batch)'
        self._display.banner(title)
        for text in render_table(rows):
            self._display.display(text)
        path = self._write_json(title, rows)
        if path:
            self._display.display('Fleet summary JSON: %s' % path)

    def _write_json(self, title, rows):
        try:
            directory = self.get_option('report_dir')
        except KeyError:  # loaded without its configuration definitions (not through the plugin loader)
            directory = os.environ.get('HEDGE_REPORT_DIR')
        directory = directory or 'reports'
        now = time.time()
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
        path = os.path.join(os.path.abspath(directory), 'fleet-summary-%s-%d.json' % (stamp, os.getpid()))
        document = {
            'schema': SCHEMA,
            'title': title,
            'playbook': self._playbook,
            'started_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self._run_started)),
            'finished_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)),
            'rows': rows,
        }
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write('\n')
        except OSError as exc:
            self._display.warning('fleet_summary: could not write %s: %s' % (path, exc))
            return None
        return path
