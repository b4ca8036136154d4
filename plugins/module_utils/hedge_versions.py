# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Comparing release versions: the one normaliser of the collection.

Every reader compares versions through it: a tag (v7.6), a VERSION file, a manifest's docs_version,
engine_metadata's engine_version, a boot line's version token, a history record. A value is its
text without surrounding whitespace and one leading v or V; nothing else is forgiven, so v7.6.1,
v7.60, v7.6-rc1 and v7.6. (a typo in a VERSION file) are not v7.6. The one place a trailing dot
is punctuation, a version at a sentence's end in a log line, is the log scanner's to drop
(hedge_logs), where it reads log text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def normalize_version(value):
    """Version token for comparison: stripped, one leading v/V removed; None stays None."""
    if value is None:
        return None
    text = str(value).strip()
    if text[:1] in ('v', 'V'):
        text = text[1:]
    return text


def same_version(left, right):
    """Whether two versions are the same release; false when either is None."""
    return left is not None and right is not None and normalize_version(left) == normalize_version(right)
