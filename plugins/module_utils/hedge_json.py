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

import errno
import json
import math
import os
import re
import stat

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - depends on the target
    jmespath = None
    JMESPathError = ValueError
    HAS_JMESPATH = False

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import DEFAULT_MAX_SKEW

_SEGMENT_RE = re.compile(r'\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|"(?P<quoted>(?:[^"\\]|\\.)*)")\s*')


# Read at most this many bytes of one surface (the engine's surfaces are a few
# KB; a runaway writer's 50 MB file took seconds and hundreds of MB to parse).
DEFAULT_MAX_BYTES = 8 * 1024 * 1024

# Options every state reader takes (hedge_incidents, hedge_verify).
READ_OPTIONS = dict(
    max_skew=dict(type='float', default=DEFAULT_MAX_SKEW),
    max_bytes=dict(type='int', default=DEFAULT_MAX_BYTES),
)

_FILE_KINDS = (
    (stat.S_ISFIFO, 'a named pipe (FIFO)'),
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
    (stat.S_ISSOCK, 'a socket'),
)


def check_read_options(max_skew, max_bytes):
    """One-line error for invalid max_skew / max_bytes, else None."""
    if max_skew is None or not math.isfinite(max_skew) or max_skew < 0:
        return 'max_skew must be a number of seconds >= 0'
    if max_bytes is None or max_bytes <= 0:
        return 'max_bytes must be a positive number of bytes'
    return None


def _not_regular(mode):
    """None for a regular file, else 'not a regular file (<kind>)'."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in _FILE_KINDS:
        if test(mode):
            return 'not a regular file (%s)' % kind
    return 'not a regular file'


def _too_large(size, max_bytes):
    return 'too large: %d bytes, more than max_bytes %d' % (size, max_bytes)


def read_regular_file(path, max_bytes=DEFAULT_MAX_BYTES):
    """Read a regular file of at most ``max_bytes`` bytes without ever blocking.

    Returns ``(raw bytes, error)``. A FIFO, device, socket or directory is
    refused from its stat, before it is opened; the open is non-blocking as a
    belt (a FIFO swapped in between is refused from fstat).
    """
    try:
        info = os.stat(path)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, 'missing'
        return None, 'unreadable: %s' % (exc.strerror or exc)
    problem = _not_regular(info.st_mode)
    if problem:
        return None, problem
    if info.st_size > max_bytes:
        return None, _too_large(info.st_size, max_bytes)
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, 'missing'
        return None, 'unreadable: %s' % (exc.strerror or exc)
    try:
        info = os.fstat(fd)
        problem = _not_regular(info.st_mode)
        if problem:
            return None, problem
        chunks = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(65536, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (IOError, OSError) as exc:
        return None, 'unreadable: %s' % (exc.strerror or exc)
    finally:
        os.close(fd)
    if size > max_bytes:  # it grew after the stat
        return None, _too_large(size, max_bytes)
    return b''.join(chunks), None


def number_problem(value):
    """Why a JSON number is not a usable value (None when it is, or is no number).

    NaN and +/-Infinity are not finite; an integer beyond the range of a
    float (e.g. 400 digits) is out of range.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return 'NaN is not a finite number'
        if math.isinf(value):
            return '%s is not a finite number' % ('Infinity' if value > 0 else '-Infinity')
        return None
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return 'a %d-digit integer is out of range' % len(str(abs(value)))
    return None


def format_path(segments):
    """Key segments -> ``a.b[0].c``."""
    text = ''
    for segment in segments:
        if isinstance(segment, int):
            text += '[%d]' % segment
        else:
            text += ('.' if text else '') + segment
    return text


def scrub_invalid_numbers(data, prefix=()):
    """Replace every unusable number in ``data`` (nested dicts/lists) by None, in place.

    Returns ``[(segments, problem)]`` in document order, so readers can name
    the key; no NaN, infinity or huge integer reaches a computation or a result.
    """
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in list(items):
        path = prefix + (key,)
        if isinstance(value, (dict, list)):
            found.extend(scrub_invalid_numbers(value, path))
            continue
        problem = number_problem(value)
        if problem:
            data[key] = None
            found.append((path, problem))
    return found


def load_json_checked(path, max_bytes=DEFAULT_MAX_BYTES):
    """Load a JSON object from ``path``: ``(data, error, invalid)``.

    ``error`` is None on success, else one of ``missing``, ``not a regular
    file (<kind>)``, ``too large: ...``, ``unreadable: <detail>``,
    ``malformed JSON: <detail>`` or ``not a JSON object``. ``invalid`` lists
    ``(key segments, problem)`` of the numbers replaced by None (see
    ``scrub_invalid_numbers``).
    """
    raw, error = read_regular_file(path, max_bytes)
    if error:
        return None, error, []
    try:
        text = raw.decode('utf-8')
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        return None, 'malformed JSON: %s' % exc, []
    except ValueError as exc:  # also Python's limit on the digits of an integer
        return None, 'malformed JSON: %s' % exc, []
    except RecursionError:
        return None, 'malformed JSON: nested too deeply', []
    if not isinstance(data, dict):
        return None, 'not a JSON object', []
    return data, None, scrub_invalid_numbers(data)


def load_json(path, max_bytes=DEFAULT_MAX_BYTES):
    """Load a JSON object from ``path``: ``(data, error)`` as ``load_json_checked``
    (unusable numbers already replaced by None)."""
    data, error, _invalid = load_json_checked(path, max_bytes)
    return data, error


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
    parts = expr.split('||')
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


def path_segments(expr):
    """The key segments of each ``||`` alternative of ``expr`` (ValueError if invalid)."""
    return [tuple(_parse_path(alternative)) for alternative in _split_alternatives(expr)]


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
