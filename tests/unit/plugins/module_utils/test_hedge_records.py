# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils import hedge_records
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_records import (
    create_json_exclusive,
    engine_state_dir_of,
    ensure_dir,
    read_json,
    refuse_engine_state_dir,
    remove_file,
    utc_iso,
    write_json_atomic,
)

LOCK = {'run_id': '20261125T110900Z-alice-4242', 'holder': {'operator': 'alice', 'controller_pid': 4242},
        'acquired_at': '2026-11-25T11:09:00Z', 'acquired_ts': 1795604940.0, 'heartbeat_ts': 1795604940.0,
        'box_pid': None}


@pytest.mark.parametrize('epoch, expected', [
    (1795604952.0, '2026-11-25T11:09:12Z'),
    (1795604952.999, '2026-11-25T11:09:12Z'),  # truncated to the second
    (1764067200, '2025-11-25T10:40:00Z'),
    (0, '1970-01-01T00:00:00Z'),
])
def test_utc_iso(epoch, expected):
    assert utc_iso(epoch) == expected


def test_utc_iso_default_is_now():
    import re
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', utc_iso())


def test_write_json_atomic_creates_and_replaces(tmp_path):
    path = tmp_path / 'lock'
    write_json_atomic(str(path), LOCK)
    assert json.loads(path.read_text()) == LOCK
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    inode = path.stat().st_ino
    write_json_atomic(str(path), dict(LOCK, heartbeat_ts=1795604999.0))
    assert json.loads(path.read_text())['heartbeat_ts'] == 1795604999.0
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert os.listdir(str(tmp_path)) == ['lock']


@pytest.mark.parametrize('failing', ['replace', 'fsync', 'write'])
def test_write_json_atomic_failure_keeps_old_content_and_no_temp(tmp_path, monkeypatch, failing):
    path = tmp_path / 'record.json'
    path.write_text(json.dumps(LOCK))
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(hedge_records.os, failing, boom)
    with pytest.raises(OSError):
        write_json_atomic(str(path), {'run_id': 'other'})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(str(tmp_path)) == ['record.json']


def test_write_json_atomic_fsyncs_file_and_dir(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.path.realpath('/proc/self/fd/%d' % fd))
        return real_fsync(fd)

    monkeypatch.setattr(hedge_records.os, 'fsync', spy)
    write_json_atomic(str(tmp_path / 'lock'), LOCK)
    assert str(tmp_path) in synced
    assert any(os.path.basename(p).startswith('.lock.') for p in synced)  # the temp file, before the rename


def test_create_json_exclusive(tmp_path):
    path = tmp_path / 'lock'
    create_json_exclusive(str(path), LOCK)
    assert json.loads(path.read_text()) == LOCK
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    with pytest.raises(FileExistsError):
        create_json_exclusive(str(path), {'run_id': 'other'})
    assert json.loads(path.read_text()) == LOCK


def test_remove_file(tmp_path):
    path = tmp_path / 'lock'
    path.write_text('{}')
    assert remove_file(str(path)) is True
    assert remove_file(str(path)) is False
    assert not path.exists()


@pytest.mark.parametrize('raw, data, error', [
    (json.dumps(LOCK).encode(), LOCK, None),
    (b'{"id": "20261125T110900Z-alice-4242", "outcome": "in_progress"}',
     {'id': '20261125T110900Z-alice-4242', 'outcome': 'in_progress'}, None),
    (b'', None, 'malformed JSON'),
    (b'{"run_id": ', None, 'malformed JSON'),
    (b'\xff\xfe', None, 'malformed JSON'),
    (b'[]', None, 'not a JSON object'),
    (b'"lock"', None, 'not a JSON object'),
])
def test_read_json(tmp_path, raw, data, error):
    path = tmp_path / 'f.json'
    path.write_bytes(raw)
    got, got_error, text = read_json(str(path))
    assert got == data
    if error is None:
        assert got_error is None
    else:
        assert got_error.startswith(error)
        assert text is not None


def test_read_json_missing(tmp_path):
    assert read_json(str(tmp_path / 'nope.json')) == (None, 'missing', None)


def test_ensure_dir_modes_ignore_umask(tmp_path):
    old = os.umask(0o077)
    try:
        created = ensure_dir(str(tmp_path / 'var' / 'lib' / 'gpt-hedge'))
    finally:
        os.umask(old)
    assert created == [str(tmp_path / 'var'), str(tmp_path / 'var' / 'lib'), str(tmp_path / 'var' / 'lib' / 'gpt-hedge')]
    for d in created:
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o750
    # existing dirs are left alone
    os.chmod(str(tmp_path / 'var'), 0o755)
    assert ensure_dir(str(tmp_path / 'var' / 'lib' / 'gpt-hedge')) == []
    assert stat.S_IMODE(os.stat(str(tmp_path / 'var')).st_mode) == 0o755


def test_ensure_dir_refuses_file_in_the_way(tmp_path):
    (tmp_path / 'var').write_text('')
    with pytest.raises(OSError):
        ensure_dir(str(tmp_path / 'var' / 'lib'))


@pytest.mark.parametrize('rel, inside', [
    ('hedge-fund/logs/state', True),
    ('hedge-fund/logs/state/activation', True),
    ('hedge-fund/logs/state/nav.json', True),
    ('hedge-fund/logs', False),
    ('hedge-fund/logs/state-archive', False),
    ('var/lib/gpt-hedge/activation', False),
    ('var/lib/gpt-hedge/state', False),
])
def test_engine_state_dir_of(tmp_path, rel, inside):
    path = str(tmp_path / rel)
    got = engine_state_dir_of(path)
    if inside:
        assert got == os.path.realpath(str(tmp_path / 'hedge-fund' / 'logs' / 'state'))
        with pytest.raises(ValueError):
            refuse_engine_state_dir(path)
    else:
        assert got is None
        refuse_engine_state_dir(path)
