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
    first_present,
    get_path,
    load_json,
    validate_path,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import (
    age_seconds,
    parse_timestamp,
)

CADENCES = ('loop', 'intel')

STATUSES = ('ok', 'missing', 'malformed', 'missing_keys', 'no_timestamp', 'stale', 'not_updated')

# The contract's table.  keys: freshness key paths, first present wins.
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
    {'name': 'engine_metadata.json', 'keys': ['updated_ts', 'started_ts'], 'cadence': 'loop', 'required': True,
     'required_keys': ['engine_version || version']},
    {'name': 'symbol_scores_v6.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': True,
     'required_keys': []},
    {'name': 'factor_diagnostics.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': True,
     'required_keys': ['weights || factor_weights.weights']},
    {'name': 'rv_momentum.json', 'keys': ['updated_ts'], 'cadence': 'intel', 'required': False,
     'required_keys': []},
]

# Defaults for a surface that is not in DEFAULT_SURFACES.
_NEW_SURFACE_DEFAULTS = {'keys': [], 'cadence': 'loop', 'required': True, 'required_keys': []}

SURFACE_FIELDS = ('name', 'path', 'keys', 'cadence', 'required', 'required_keys', 'max_age', 'enabled')


# Options of the state-file check: hedge_state's, and hedge_verify's `state`.
SURFACE_OPTIONS = dict(
    name=dict(type='str', required=True),
    path=dict(type='str'),
    keys=dict(type='list', elements='str', no_log=False),
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
    for field in ('keys', 'required_keys'):
        value = surface.get(field)
        if value is None:
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
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


def evaluate_surface(state_dir, surface, max_age, intel_max_age, newer_than=None, now=None):
    """Evaluate one (normalized) surface; returns the per-surface fact dict."""
    now = time.time() if now is None else float(now)
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
        'timestamp_key': None,
        'timestamp': None,
        'age_s': None,
        'max_age': limit,
        'fresh': False,
        'status': None,
        'reason': None,
    }

    def done(status, detail):
        fact['status'] = status
        fact['reason'] = '%s: %s: %s' % (name, status, detail)
        return fact

    data, error = load_json(path)
    if error == 'missing':
        return done('missing', '%s does not exist' % path)
    if error:
        return done('malformed', error)
    fact['valid'] = True

    fact['missing_keys'] = [expr for expr in surface['required_keys'] if get_path(data, expr) is None]

    key, raw = first_present(data, surface['keys'])
    ts = parse_timestamp(raw) if key else None
    age = age_seconds(ts, now)
    fact['timestamp_key'] = key
    fact['timestamp'] = ts
    fact['age_s'] = None if age is None else round(age, 1)
    not_updated = (ts is not None and newer_than is not None and surface['cadence'] == 'loop'
                   and ts < float(newer_than) - 1)
    fact['fresh'] = ts is not None and age <= limit and not not_updated

    if fact['missing_keys']:
        return done('missing_keys', 'missing key(s) %s' % ', '.join(fact['missing_keys']))
    if key is None:
        if surface['keys']:
            return done('no_timestamp', 'none of %s present' % ', '.join(surface['keys']))
        return done('no_timestamp', 'no freshness key configured')
    if ts is None:
        return done('no_timestamp', 'unreadable timestamp %s (key %s)' % (repr(raw)[:80], key))
    if age > limit:
        return done('stale', 'age %.1f s > %s s (key %s)' % (fact['age_s'], _fmt(limit), key))
    if not_updated:
        return done('not_updated', 'timestamp %s older than newer_than %s - 1 s (key %s)'
                    % (_fmt(round(ts, 3)), _fmt(round(float(newer_than), 3)), key))
    return done('ok', 'age %.1f s <= %s s (key %s)' % (fact['age_s'], _fmt(limit), key))


def evaluate_surfaces(state_dir, surfaces, max_age, intel_max_age, newer_than=None, now=None):
    """Evaluate all surfaces under ``state_dir``.

    ``surfaces`` must already be normalized (see merge_surfaces); None means
    DEFAULT_SURFACES.  Returns ``{now, surfaces, failed_surfaces,
    warned_surfaces, ok, oldest_age_s}``.
    """
    now = time.time() if now is None else float(now)
    if surfaces is None:
        surfaces = [normalize_surface(s) for s in DEFAULT_SURFACES]
    facts = {}
    failed = []
    warned = []
    ages = []
    for surface in surfaces:
        fact = evaluate_surface(state_dir, surface, max_age, intel_max_age, newer_than=newer_than, now=now)
        facts[surface['name']] = fact
        if fact['age_s'] is not None:
            ages.append(fact['age_s'])
        if fact['status'] != 'ok':
            (failed if fact['required'] else warned).append(surface['name'])
    return {
        'now': now,
        'surfaces': facts,
        'failed_surfaces': failed,
        'warned_surfaces': warned,
        'ok': not failed,
        'oldest_age_s': max(ages) if ages else None,
    }
