# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The engine's state surfaces (logs/state/*.json) and their freshness evaluation.

Everything here only reads files; nothing is ever written to the state dir.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os
import time

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import (
    DEFAULT_MAX_BYTES,
    first_present,
    format_path,
    get_path,
    load_json_checked,
    path_segments,
    validate_path,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import (
    DEFAULT_MAX_SKEW,
    age_seconds,
    future_problem,
    parse_timestamp,
)

CADENCES = ('loop', 'intel')

STATUSES = ('ok', 'missing', 'unreadable', 'malformed', 'invalid_value', 'missing_keys', 'no_timestamp', 'future',
            'stale', 'not_updated')

# The contract's table.  keys: freshness key paths (a write time), first present
# wins.  start_keys: read only when no freshness key is present; a start time
# (engine_metadata's runbook shape) does not age while the engine runs, so it is
# checked against started_after (given right after a restart) and never against
# max_age or newer_than.
DEFAULT_SURFACES = [
    {'name': 'nav.json', 'keys': ['updated_ts'], 'cadence': 'loop', 'required': True,
     'required_keys': ['nav || nav_usd']},
    {'name': 'nav_state.json', 'keys': ['updated_ts', 'updated_at'], 'cadence': 'loop', 'required': True,
     'required_keys': ['nav_total || nav || nav_usd || total_equity']},
    {'name': 'positions_state.json', 'keys': ['updated_at'], 'cadence': 'loop', 'required': True,
     'required_keys': ['positions']},
    {'name': 'positions_ledger.json', 'keys': ['updated_at'], 'cadence': 'loop', 'required': True,
     'required_keys': ['entries']},
    {'name': 'kpis_v7.json', 'keys': ['updated_at'], 'cadence': 'loop', 'required': True,
     'required_keys': ['portfolio']},
    {'name': 'diagnostics.json', 'keys': ['runtime_diagnostics.exit_pipeline.last_exit_scan_ts'],
     'cadence': 'loop', 'required': True, 'required_keys': ['runtime_diagnostics.exit_pipeline']},
    {'name': 'risk_snapshot.json', 'keys': ['updated_ts'], 'cadence': 'loop', 'required': True,
     'required_keys': ['risk_mode']},
    {'name': 'router_health.json', 'keys': ['updated_ts'], 'cadence': 'loop', 'required': True,
     'required_keys': ['router_health.global || global || router_health_score']},
    {'name': 'engine_metadata.json', 'keys': ['updated_ts'], 'start_keys': ['started_ts'], 'cadence': 'loop',
     'required': True, 'required_keys': ['engine_version || version']},
    {'name': 'symbol_scores_v6.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': True,
     'required_keys': []},
    {'name': 'factor_diagnostics.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': True,
     'required_keys': ['weights || factor_weights.weights']},
    {'name': 'rv_momentum.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': False,
     'required_keys': []},
]

# Defaults for a surface that is not in DEFAULT_SURFACES.
_NEW_SURFACE_DEFAULTS = {'keys': [], 'start_keys': [], 'cadence': 'loop', 'required': True, 'required_keys': []}

# The early verdict: evidence that a failed surface will not turn ok, so the
# poll need not wait out its timeout (docs/gates.md, "Waits and the early
# verdict").  Only a file written after the restart (its mtime after
# newer_than) is judged early: the stopped release cannot have written it.
# * stale: the engine wrote this file after the restart with a write time older
#   than the age limit (the contract's freshness key is the file's last write):
#   conclusive at once.
# * malformed: the contract's engine writes atomically, but a writer that does
#   not may be caught mid-write, and the file's mtime moves on while it writes.
#   Conclusive once the malformed file has been left unchanged for ``settle``
#   seconds (one poll interval, at least MALFORMED_SETTLE_S): that write is
#   over.  A partial write that completes reads valid at a later poll.
MALFORMED_SETTLE_S = 0.5
EARLY_SUFFIX = 'not waiting out the timeout'

SURFACE_FIELDS = ('name', 'path', 'keys', 'start_keys', 'cadence', 'required', 'required_keys', 'max_age', 'enabled')


# Options of the state-file check: hedge_verify's `state`.
SURFACE_OPTIONS = dict(
    name=dict(type='str', required=True),
    path=dict(type='str'),
    keys=dict(type='list', elements='str', no_log=False),
    start_keys=dict(type='list', elements='str', no_log=False),
    cadence=dict(type='str', choices=list(CADENCES)),
    required=dict(type='bool'),
    required_keys=dict(type='list', elements='str', no_log=False),
    max_age=dict(type='float'),
    enabled=dict(type='bool'),
)
STATE_OPTIONS = dict(
    surfaces=dict(type='list', elements='dict', options=SURFACE_OPTIONS),
    replace_surfaces=dict(type='bool', default=False),
    max_age=dict(type='int', default=120),
    intel_max_age=dict(type='int', default=900),
    newer_than=dict(type='float'),
    started_after=dict(type='float'),
)


def default_surfaces():
    """A fresh copy of DEFAULT_SURFACES."""
    return copy.deepcopy(DEFAULT_SURFACES)


def _fmt(number):
    """Format a number for a reason line: no trailing .0 on integral values."""
    if number is None:
        return 'n/a'
    if float(number) == int(number):
        return '%d' % int(number)
    return '%s' % number


def merge_surfaces(overrides, replace=False, base=None):
    """Merge user surface entries over the defaults.

    Each entry is a dict with at least ``name``; fields that are None or absent
    are taken from the default entry of the same name (or generic defaults for
    a new name).  With ``replace`` false, defaults not mentioned are kept and
    new names are appended; with ``replace`` true only the given entries are
    used.  An entry with ``enabled: false`` removes the surface.

    Raises ValueError for an invalid entry.
    """
    base = default_surfaces() if base is None else copy.deepcopy(base)
    by_name = dict((s['name'], s) for s in base)
    order = [] if replace else [s['name'] for s in base]
    merged = {} if replace else dict((s['name'], dict(s)) for s in base)
    for entry in overrides or []:
        if not isinstance(entry, dict):
            raise ValueError('each surfaces entry must be a dict, got %r' % (entry,))
        name = entry.get('name')
        if not name or not isinstance(name, str):
            raise ValueError('each surfaces entry needs a name')
        unknown = sorted(set(entry) - set(SURFACE_FIELDS))
        if unknown:
            raise ValueError('surface %s: unknown field(s) %s' % (name, ', '.join(unknown)))
        current = merged.get(name) or dict(by_name.get(name) or dict(_NEW_SURFACE_DEFAULTS, name=name))
        for field, value in entry.items():
            if value is not None:
                current[field] = value
        merged[name] = current
        if name not in order:
            order.append(name)
    result = []
    for name in order:
        surface = merged[name]
        if surface.get('enabled') is False:
            continue
        result.append(normalize_surface(surface))
    return result


def normalize_surface(surface):
    """Validate one surface dict and fill generic defaults (ValueError if invalid)."""
    surface = dict(surface)
    name = surface.get('name')
    if not name or not isinstance(name, str):
        raise ValueError('each surface needs a name')
    for field in ('keys', 'start_keys', 'required_keys'):
        value = surface.get(field)
        if value is None:
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError('surface %s: %s must be a list of key paths' % (name, field))
        for expr in value:
            try:
                validate_path(expr)
            except ValueError as exc:
                raise ValueError('surface %s: %s: %s' % (name, field, exc))
        surface[field] = list(value)
    cadence = surface.get('cadence') or 'loop'
    if cadence not in CADENCES:
        raise ValueError('surface %s: cadence must be one of %s, got %r' % (name, ', '.join(CADENCES), cadence))
    surface['cadence'] = cadence
    surface['required'] = bool(surface.get('required', True))
    if surface.get('max_age') is not None:
        try:
            surface['max_age'] = float(surface['max_age'])
        except (TypeError, ValueError):
            raise ValueError('surface %s: max_age must be a number' % name)
    surface['path'] = surface.get('path') or name
    surface.pop('enabled', None)
    return surface


def _error_status(error):
    """The surface status for a load error of hedge_json.load_json_checked."""
    if error == 'missing':
        return 'missing'
    if error.startswith('malformed JSON') or error == 'not a JSON object':
        return 'malformed'
    return 'unreadable'  # not a regular file, too large, an OS error


def _read_paths(surface):
    """Key segments of every path the check reads (freshness, start and required keys)."""
    paths = []
    for expr in surface['keys'] + surface.get('start_keys', []) + surface['required_keys']:
        paths.extend(path_segments(expr))
    return paths


def _is_under(segments, paths):
    return any(tuple(segments[:len(p)]) == p for p in paths)


def _file_version(path):
    """``(inode, size, mtime_ns)`` of ``path``, or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _judge_early(fact, newer_than, now, settle):
    """Mark ``fact`` conclusive (the early verdict, see MALFORMED_SETTLE_S) and say why in its reason."""
    mtime = fact['mtime']
    if settle is None or newer_than is None or mtime is None or mtime <= float(newer_than):
        return fact
    if fact['status'] == 'stale' and fact['timestamp_kind'] == 'write':
        why = 'rewritten after the restart with this timestamp'
    elif fact['status'] == 'malformed' and now - mtime >= settle:
        why = 'rewritten after the restart and unchanged for %.1f s' % (now - mtime)
    else:
        return fact
    fact['conclusive'] = True
    fact['reason'] = '%s, %s: %s' % (fact['reason'], why, EARLY_SUFFIX)
    return fact


def evaluate_surface(state_dir, surface, max_age, intel_max_age, newer_than=None, now=None,
                     max_skew=DEFAULT_MAX_SKEW, max_bytes=DEFAULT_MAX_BYTES, started_after=None,
                     settle=None):
    """Evaluate one (normalized) surface; returns the per-surface fact dict.

    With ``settle`` (seconds) and ``newer_than``, a failure that is conclusive
    before the poll's timeout sets ``conclusive`` (see MALFORMED_SETTLE_S).
    """
    now = time.time() if now is None else float(now)
    fact = _evaluate(state_dir, surface, max_age, intel_max_age, newer_than, now, max_skew, max_bytes, started_after)
    return _judge_early(fact, newer_than, now, settle)


def _evaluate(state_dir, surface, max_age, intel_max_age, newer_than, now, max_skew, max_bytes, started_after):
    """The facts of one surface at ``now``, without the early verdict."""
    name = surface['name']
    path = surface['path']
    if not os.path.isabs(path):
        path = os.path.join(state_dir, path)
    limit = surface.get('max_age')
    if limit is None:
        limit = intel_max_age if surface['cadence'] == 'intel' else max_age
    fact = {
        'path': path,
        'present': os.path.exists(path),
        'valid': False,
        'required': surface['required'],
        'cadence': surface['cadence'],
        'missing_keys': [],
        'invalid_values': [],
        'timestamp_key': None,
        'timestamp_kind': None,
        'timestamp': None,
        'age_s': None,
        'max_age': limit,
        'fresh': False,
        'status': None,
        'reason': None,
        'mtime': None,
        'conclusive': False,
    }

    def done(status, detail):
        fact['status'] = status
        fact['reason'] = '%s: %s: %s' % (name, status, detail)
        return fact

    # The file version read: stat before and after the read agree, else (replaced
    # while read) its mtime is unknown and nothing is judged early.
    version = _file_version(path)
    data, error, invalid = load_json_checked(path, max_bytes)
    if version is not None and version == _file_version(path):
        fact['mtime'] = version[2] / 1e9
    if error:
        return done(_error_status(error), '%s does not exist' % path if error == 'missing' else error)
    fact['valid'] = True
    fact['invalid_values'] = ['%s: %s' % (format_path(seg), problem) for seg, problem in invalid]
    read_paths = _read_paths(surface)
    read_invalid = ['%s: %s' % (format_path(seg), problem) for seg, problem in invalid if _is_under(seg, read_paths)]

    fact['missing_keys'] = [expr for expr in surface['required_keys'] if get_path(data, expr) is None]

    kind = 'write'
    key, raw = first_present(data, surface['keys'])
    if key is None and surface.get('start_keys'):
        kind = 'start'
        key, raw = first_present(data, surface['start_keys'])
    ts = parse_timestamp(raw) if key else None
    age = age_seconds(ts, now)
    future = future_problem(ts, now, max_skew)
    fact['timestamp_key'] = key
    fact['timestamp_kind'] = kind if key else None
    fact['timestamp'] = ts
    fact['age_s'] = None if age is None else round(age, 1)
    if kind == 'start':
        bound = started_after
    else:
        bound = newer_than if surface['cadence'] == 'loop' else None
    not_updated = ts is not None and bound is not None and ts < float(bound) - 1
    aged = kind == 'write' and ts is not None and age > limit
    fact['fresh'] = ts is not None and not (future or aged or not_updated)

    if read_invalid:
        fact['fresh'] = False
        return done('invalid_value', '; '.join(read_invalid))
    if fact['missing_keys']:
        return done('missing_keys', 'missing key(s) %s' % ', '.join(fact['missing_keys']))
    if key is None:
        tried = surface['keys'] + surface.get('start_keys', [])
        if tried:
            return done('no_timestamp', 'none of %s present' % ', '.join(tried))
        return done('no_timestamp', 'no freshness key configured')
    if ts is None:
        return done('no_timestamp', 'unreadable timestamp %s (key %s)' % (repr(raw)[:80], key))
    if future:
        return done('future', '%s (key %s)' % (future, key))
    if aged:
        return done('stale', 'age %.1f s > %s s (key %s)' % (float(fact['age_s']), _fmt(limit), key))
    if not_updated:
        what = 'started before the restart at' if kind == 'start' else 'older than newer_than - 1 s'
        return done('not_updated', 'timestamp %s %s %s (key %s)'
                    % (_fmt(round(ts, 3)), what, _fmt(round(float(bound), 3)), key))
    if kind == 'start':
        return done('ok', 'started %.1f s ago, %s (key %s: a start time, not aged)'
                    % (float(fact['age_s']), 'after the restart' if bound is not None else 'no restart in this run', key))
    return done('ok', 'age %.1f s <= %s s (key %s)' % (float(fact['age_s']), _fmt(limit), key))


def evaluate_surfaces(state_dir, surfaces, max_age, intel_max_age, newer_than=None, now=None,
                      max_skew=DEFAULT_MAX_SKEW, max_bytes=DEFAULT_MAX_BYTES, started_after=None,
                      settle=None):
    """Evaluate all surfaces under ``state_dir``.

    ``surfaces`` must already be normalized (see merge_surfaces); None means
    DEFAULT_SURFACES.  Returns ``{now, surfaces, failed_surfaces,
    warned_surfaces, conclusive_surfaces, ok, oldest_age_s}`` (``oldest_age_s``
    over write timestamps only: a start time does not age;
    ``conclusive_surfaces``: the failed ones judged early, see
    evaluate_surface).
    """
    now = time.time() if now is None else float(now)
    if surfaces is None:
        surfaces = [normalize_surface(s) for s in DEFAULT_SURFACES]
    facts = {}
    failed = []
    warned = []
    ages = []
    for surface in surfaces:
        fact = evaluate_surface(state_dir, surface, max_age, intel_max_age, newer_than=newer_than, now=now,
                                max_skew=max_skew, max_bytes=max_bytes, started_after=started_after,
                                settle=settle)
        facts[surface['name']] = fact
        if fact['age_s'] is not None and fact['timestamp_kind'] == 'write':
            ages.append(fact['age_s'])
        if fact['status'] != 'ok':
            (failed if fact['required'] else warned).append(surface['name'])
    return {
        'now': now,
        'surfaces': facts,
        'failed_surfaces': failed,
        'warned_surfaces': warned,
        'conclusive_surfaces': [name for name in failed if facts[name]['conclusive']],
        'ok': not failed,
        'oldest_age_s': max(ages) if ages else None,
    }
