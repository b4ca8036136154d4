# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Timestamp helpers for the GPT-Hedge state surfaces.

The engine writes timestamps in several forms; all of them are read here:
epoch seconds (int or float), epoch milliseconds (any number above 1e12),
strings of digits (optionally with a decimal part, same rules) and ISO-8601
text with ``Z`` or a numeric offset (naive ISO text is read as UTC).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import math
import re

# Any number above this is read as epoch milliseconds.
MS_THRESHOLD = 1e12

# Seconds a timestamp may be ahead of the box clock (clock skew between the
# writer and the reader, rounding) before it counts as written in the future.
DEFAULT_MAX_SKEW = 30.0

_NUMERIC_RE = re.compile(r'^[+]?\d+(?:\.\d*)?$')
_ISO_RE = re.compile(
    r'^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})'
    r'(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})'
    r'(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?'
    r'\s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?|UTC)?$'
)


def _from_number(value):
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the range of a float
        return None
    if math.isnan(value) or math.isinf(value) or value <= 0:
        return None
    if value > MS_THRESHOLD:
        value = value / 1000.0
    return value


def _from_iso(text):
    match = _ISO_RE.match(text)
    if not match:
        return None
    parts = match.groupdict()
    try:
        year, month, day = int(parts['year']), int(parts['month']), int(parts['day'])
        hour = int(parts['hour'] or 0)
        minute = int(parts['minute'] or 0)
        second = int(parts['second'] or 0)
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
            return None
        # validate the calendar date (e.g. 2025-02-30)
        if day > calendar.monthrange(year, month)[1]:
            return None
    except ValueError:
        return None
    epoch = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if parts['fraction']:
        epoch += float('0.' + parts['fraction'])
    tz = parts['tz']
    if tz and tz not in ('Z', 'z', 'UTC'):
        sign = -1 if tz[0] == '-' else 1
        digits = tz[1:].replace(':', '')
        offset_h = int(digits[:2])
        offset_m = int(digits[2:4] or 0)
        if offset_h > 23 or offset_m > 59:
            return None
        # local time = UTC + offset  ->  UTC = local - offset
        epoch -= sign * (offset_h * 3600 + offset_m * 60)
    return float(epoch)


def parse_timestamp(value):
    """Return ``value`` as epoch seconds (float), or None when it is not a timestamp.

    Booleans, None, non-positive numbers, NaN/inf and unparseable text give None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_number(value)
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _NUMERIC_RE.match(text):
        try:
            return _from_number(float(text))
        except ValueError:
            return None
    return _from_iso(text)


def age_seconds(ts, now):
    """Age of epoch timestamp ``ts`` at epoch ``now`` in seconds (None if either is unknown).

    A timestamp in the future gives a negative age.
    """
    if ts is None or now is None:
        return None
    return float(now) - float(ts)


def future_problem(ts, now, max_skew=DEFAULT_MAX_SKEW):
    """``written in the future: ...`` when epoch ``ts`` is more than ``max_skew``
    seconds ahead of epoch ``now``, else None (also when either is unknown)."""
    if ts is None or now is None:
        return None
    ahead = float(ts) - float(now)
    if ahead <= float(max_skew):
        return None
    return 'written in the future: %.1f s ahead of the box clock (skew allowance %s s)' % (
        ahead, ('%g' % float(max_skew)))
