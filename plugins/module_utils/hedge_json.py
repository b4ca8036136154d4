# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""JSON loading and key-path lookup for the GPT-Hedge state surfaces.

Key paths are JMESPath expressions of the simple form used throughout the
collection: dotted paths (``a.b.c``) joined by ``||`` alternatives
(``nav_total || nav || nav_usd``).  ``jmespath`` is used when it is
importable on the target; otherwise a small resolver with the same semantics
for that subset is used (``||`` returns the first alternative that is not
JMESPath-false, i.e. not null, false, empty string, empty list or empty
object; otherwise the value of the last alternative).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - depends on the target
    jmespath = None
    JMESPathError = ValueError
    HAS_JMESPATH = False

_SEGMENT_RE = re.compile(r'\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|"(?P<quoted>(?:[^"\\]|\\.)*)")\s*')


def load_json(path):
    """Load a JSON object from ``path``.

    Returns ``(data, error)``; ``error`` is None on success, else one of
    ``missing``, ``malformed JSON: <detail>``, ``not a JSON object`` or
    ``unreadable: <detail>`` (for an existing file that cannot be read).
    """
    if not os.path.exists(path):
        return None, 'missing'
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        return None, 'unreadable: %s' % (exc.strerror or exc)
    try:
        text = raw.decode('utf-8')
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        return None, 'malformed JSON: %s' % exc
    except ValueError as exc:
        return None, 'malformed JSON: %s' % exc
    if not isinstance(data, dict):
        return None, 'not a JSON object'
    return data, None


def _is_false(value):
    """JMESPath truthiness: null, false, '' , [] and {} are false; numbers are true."""
    if value is None or value is False:
        return True
    if isinstance(value, (str, list, dict)) and len(value) == 0:
        return True
    return False


def _parse_path(path):
    """Split one dotted alternative into key segments (ValueError if invalid)."""
    segments = []
    pos = 0
    length = len(path)
    while True:
        match = _SEGMENT_RE.match(path, pos)
        if not match or match.end() == pos:
            raise ValueError('invalid key path %r' % path)
        if match.group('ident') is not None:
            segments.append(match.group('ident'))
        else:
            segments.append(json.loads('"%s"' % match.group('quoted')))
        pos = match.end()
        if pos >= length:
            break
        if path[pos] != '.':
            raise ValueError('invalid key path %r' % path)
        pos += 1
    return segments


def _split_alternatives(expr):
    parts = [p for p in expr.split('||')]
    if any(not p.strip() for p in parts):
        raise ValueError('invalid key path %r' % expr)
    return parts


def fallback_get_path(data, expr):
    """Resolve ``expr`` (dotted paths and ``||``) without jmespath."""
    value = None
    for alternative in _split_alternatives(expr):
        value = data
        for key in _parse_path(alternative):
            if isinstance(value, dict):
                value = value.get(key)
            else:
                value = None
                break
        if not _is_false(value):
            return value
    return value


def validate_path(expr):
    """Raise ValueError when ``expr`` is not a supported key path."""
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError('invalid key path %r' % (expr,))
    for alternative in _split_alternatives(expr):
        _parse_path(alternative)


def get_path(data, expr):
    """Return the value at key path ``expr`` in ``data`` (None when absent).

    Raises ValueError for an invalid expression.
    """
    validate_path(expr)
    if data is None:
        return None
    if HAS_JMESPATH:
        try:
            return jmespath.search(expr, data)
        except JMESPathError as exc:
            raise ValueError('invalid key path %r: %s' % (expr, exc))
    return fallback_get_path(data, expr)


def first_present(data, exprs):
    """Return ``(expr, value)`` for the first expression whose value is not None.

    Returns ``(None, None)`` when none is present.
    """
    for expr in exprs or []:
        value = get_path(data, expr)
        if value is not None:
            return expr, value
    return None, None
