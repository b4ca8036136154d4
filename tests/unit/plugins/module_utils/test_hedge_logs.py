# -*- coding: utf-8 -*-
from __future__ import annotations

import re

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import (
    LogReader,
    LogScan,
    boot_regex,
    version_token_regex,
)


@pytest.mark.parametrize('text, match', [
    ('v7.6', True), ('7.6', True), ('V7.6', True), ('(v7.6)', True), ('v7.6,', True), ('v7.6.', True),
    ('v7.60', False), ('v7.6.1', False), ('v7.6-rc1', False), ('v7.6+build', False), ('xv7.6', False),
    ('17.6', False), ('v7.61', False), ('v7_6', False), ('v7x6', False),
])
def test_version_token(text, match):
    assert bool(re.search(version_token_regex('v7.6'), text)) is match


def test_boot_regex_is_case_insensitive_and_ordered():
    rx = boot_regex('v7.6')
    assert rx.search('ENGINE VERSION: V7.6')
    assert not rx.search('v7.6 started (version unknown)')


@pytest.mark.parametrize('line, kind', [
    ('ERROR x', 'error'), ('error: y', 'error'), ('WARNING z', 'warning'), ('warn: z', 'warning'),
    ('WARNING: an error happened', 'warning'), ('ERROR: WARNING flag', 'error'), ('INFO fine', None),
    ('errors=0', None), ('Traceback (most recent call last):', 'error'), ('ValueError: bad', 'error'),
    ('valueerror: bad', None),
])
def test_classify(line, kind):
    assert LogScan().classify(line) == kind


def test_reader_handles_partial_lines_truncation_and_rotation(tmp_path):
    log = tmp_path / 'x.log'
    log.write_bytes(b'one\ntw')
    reader = LogReader(str(log), 0)
    assert list(reader.read_lines()) == ['one']
    with log.open('ab') as handle:
        handle.write(b'o\nthree')
    assert list(reader.read_lines()) == ['two']
    assert list(reader.read_lines(final=True)) == ['three']
    assert reader.rotated is False
    log.write_bytes(b'new\n')  # truncated and rewritten
    assert list(reader.read_lines()) == ['new']
    assert reader.rotated is True


def test_reader_offset_beyond_size(tmp_path):
    log = tmp_path / 'x.log'
    log.write_bytes(b'a\nb\n')
    reader = LogReader(str(log), 100)
    assert list(reader.read_lines()) == ['a', 'b']
    assert reader.rotated is True


def test_reader_replaced_file(tmp_path):
    log = tmp_path / 'x.log'
    log.write_bytes(b'a\n')
    reader = LogReader(str(log), 0)
    assert list(reader.read_lines()) == ['a']
    log.rename(tmp_path / 'x.log.1')
    log.write_bytes(b'b\nc\n')
    assert list(reader.read_lines()) == ['b', 'c']
    assert reader.rotated is True


def test_reader_missing_file(tmp_path):
    reader = LogReader(str(tmp_path / 'none.log'), 5)
    assert list(reader.read_lines(final=True)) == []
    assert reader.present is False


def test_undecodable_bytes_do_not_break(tmp_path):
    log = tmp_path / 'x.log'
    log.write_bytes(b'\xff\xfe ERROR bad bytes\nEngine version: v7.6\n')
    reader = LogReader(str(log), 0)
    scan = LogScan(expected_version='v7.6')
    for line in reader.read_lines(final=True):
        scan.feed_out(line, scan_errors=True)
    assert scan.boot_found
    assert scan.error_count == 1
