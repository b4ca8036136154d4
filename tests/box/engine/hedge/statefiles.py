"""State-file helpers shared by the simulated engine's writers.

* atomic writes: temp file in the same directory, then ``os.replace``; temp
  names start with ``.`` and end in ``.tmp`` so they never look like a surface;
* the timestamp forms of the state contract (every one of them is used by
  some surface, so readers get exercised on all of them);
* ``parse_ts`` reads any of those forms back to epoch seconds.
"""
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

STATE_DIR = os.path.join("logs", "state")


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        _record_write(path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _record_write(path):
    """Note (inode, mtime_ns, size) of the file the engine just wrote in the
    write ledger ``logs/.engine_writes/<name>`` (outside ``logs/state``), so a
    test can prove that every file in the state dir was written by the engine
    and by nothing else (see ``engine_writes_check``)."""
    st = os.stat(path)
    ledger_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), ".engine_writes")
    os.makedirs(ledger_dir, exist_ok=True)
    entry = os.path.join(ledger_dir, os.path.basename(path))
    tmp = entry + ".%d.tmp" % os.getpid()
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("%d %d %d\n" % (st.st_ino, st.st_mtime_ns, st.st_size))
    os.replace(tmp, entry)


def engine_writes_check(state_dir, attempts=20):
    """Return the files in ``state_dir`` whose (inode, mtime, size) is not
    the engine's last recorded write: [] means the engine wrote every file.
    Retries a few times, since the engine may be mid-write."""
    ledger_dir = os.path.join(os.path.dirname(os.path.abspath(state_dir)), ".engine_writes")
    bad = []
    for _ in range(attempts):
        bad = []
        for name in sorted(os.listdir(state_dir)):
            path = os.path.join(state_dir, name)
            if name.startswith(".") and name.endswith(".tmp"):
                continue  # the engine's own temp file, mid-write
            try:
                st = os.stat(path)
                with open(os.path.join(ledger_dir, name), encoding="utf-8") as fh:
                    recorded = tuple(int(x) for x in fh.read().split())
            except (OSError, ValueError):
                bad.append(name)
                continue
            if recorded != (st.st_ino, st.st_mtime_ns, st.st_size):
                bad.append(name)
        if not bad:
            return []
        time.sleep(0.05)  # back off: the engine may be between rename and ledger update
    return bad


def atomic_write_json(path, obj):
    """Serialise ``obj`` and write it atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path):
    """Return the parsed JSON at ``path`` or None when missing or malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


# --- timestamp forms -------------------------------------------------------

def ts_float(t):
    """Epoch seconds, float."""
    return round(float(t), 3)


def ts_int(t):
    """Epoch seconds, int."""
    return int(t)


def ts_ms(t):
    """Epoch milliseconds, int (> 1e12)."""
    return int(t * 1000)


def ts_digits(t):
    """Epoch seconds as a string of digits."""
    return str(int(t))


def ts_iso_z(t):
    """ISO-8601 UTC with a ``Z`` suffix."""
    dt = datetime.fromtimestamp(t, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def ts_iso_offset(t):
    """ISO-8601 UTC with a ``+00:00`` offset."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def parse_ts(value):
    """Return epoch seconds for any contract timestamp form, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            value = int(text)
        else:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return dt.timestamp()
    if isinstance(value, (int, float)):
        return value / 1000.0 if value > 1e12 else float(value)
    return None


if __name__ == "__main__":
    # python3 hedge/statefiles.py logs/state: exit 1 and name the files that
    # the engine did not write (or that were changed after it wrote them).
    unexpected = engine_writes_check(sys.argv[1] if len(sys.argv) > 1 else STATE_DIR)
    print("\n".join(unexpected) if unexpected else "all state files written by the engine")
    sys.exit(1 if unexpected else 0)
