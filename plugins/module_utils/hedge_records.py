# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Small JSON record files for the activation bookkeeping on the runtime box.

Used by the ``hedge_lock`` and ``hedge_history`` modules.  Every write is
atomic: the data goes to a temp file in the same dir, which is fsync'ed and
then moved over the target with ``os.replace``; the dir is fsync'ed after the
rename.  A reader therefore sees the old or the new content, never a part.

Nothing here ever writes into the engine's own state dir (``.../logs/state``);
see :func:`refuse_engine_state_dir`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import json
import os
import tempfile
import time

DIR_MODE = 0o750
FILE_MODE = 0o640


def utc_iso(epoch=None):
    """Epoch seconds (default: now) as ISO-8601 UTC text with second precision, e.g. ``2026-11-25T11:09:12Z``."""
    if epoch is None:
        epoch = time.time()
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(float(epoch)))


def engine_state_dir_of(path):
    """Return the engine state dir (a ``logs/state`` dir) that ``path`` is in or under, else None.

    Symlinks are resolved for the part of ``path`` that exists.
    """
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    for i in range(len(parts) - 1):
        if parts[i] == 'logs' and parts[i + 1] == 'state':
            return os.sep.join(parts[:i + 2]) or os.sep
    return None


def refuse_engine_state_dir(directory):
    """Raise ValueError when ``directory`` is the engine's state dir or under it."""
    state_dir = engine_state_dir_of(directory)
    if state_dir is not None:
        raise ValueError('refusing to write under the engine state dir %s (%s)' % (state_dir, directory))


def fsync_dir(directory):
    """fsync a directory so a rename/create/unlink in it is durable (best effort where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # pragma: no cover - filesystems that cannot fsync a dir
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def ensure_dir(directory, mode=DIR_MODE):
    """Create ``directory`` and missing parents with ``mode`` (not reduced by the umask).

    Existing dirs are left as they are.  Returns the list of dirs created (outermost first).
    """
    directory = os.path.abspath(directory)
    missing = []
    current = directory
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise OSError(errno.ENOTDIR, 'not a directory', current)
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    created = []
    for item in reversed(missing):
        try:
            os.mkdir(item, mode)
        except OSError as exc:
            if exc.errno != errno.EEXIST or not os.path.isdir(item):
                raise
            continue
        os.chmod(item, mode)
        created.append(item)
        fsync_dir(os.path.dirname(item))
    return created


def dumps(data):
    """The JSON text written to record files (stable key order, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def _write_fd(fd, data, mode):
    """Write all of ``data`` to ``fd`` with ``mode``, fsync it, and close it."""
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path, data, mode=FILE_MODE):
    """Write ``data`` as JSON to ``path`` atomically (temp file in the same dir, fsync, os.replace, fsync dir).

    On any error the temp file is removed and the previous content of ``path`` is left untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    text = dumps(data).encode('utf-8')
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        _write_fd(fd, text, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(directory)


def create_json_exclusive(path, data, mode=FILE_MODE):
    """Create ``path`` with ``os.open(O_CREAT | O_EXCL)`` and write ``data`` to it (fsync file and dir).

    Raises ``FileExistsError`` when ``path`` already exists.  If the write fails the new file is removed.
    """
    text = dumps(data).encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0), mode)
    try:
        _write_fd(fd, text, mode)
    except BaseException:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def reserve_space(path, size, mode=FILE_MODE):
    """Create ``path`` holding ``size`` zero bytes, fsync'ed (file and dir): proof that the dir's filesystem takes
    that much, kept as room for later writes (free it with :func:`remove_file` right before them).

    Raises OSError (e.g. ENOSPC) after removing a partial file.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, 'O_CLOEXEC', 0), mode)
    try:
        os.fchmod(fd, mode)
        chunk = b'\0' * 65536
        left = int(size)
        while left > 0:
            left -= os.write(fd, chunk[:left])
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def remove_file(path):
    """Remove ``path`` and fsync its dir.  Returns False when it did not exist."""
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def read_json(path):
    """Read a JSON object from ``path``.

    Returns ``(data, error, raw)``:

    - ``(dict, None, text)`` on success,
    - ``(None, 'missing', None)`` when the file does not exist,
    - ``(None, '<reason>', text-or-None)`` when it cannot be read, is not valid UTF-8/JSON or is not an object.
    """
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, 'missing', None
        return None, 'unreadable: %s' % (exc.strerror or exc), None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        return None, 'malformed JSON: %s' % exc, raw.decode('utf-8', 'replace')
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, 'malformed JSON: %s' % exc, text
    if not isinstance(data, dict):
        return None, 'not a JSON object', text
    return data, None, text
