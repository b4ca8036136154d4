"""State-file helpers shared by the simulated engine's writers.

* atomic writes: temp file in the same directory, then ``os.replace``; temp
  names start with ``.`` and end in ``.tmp`` so they never look like a surface;
* the timestamp forms of the state contract (every one of them is used by
  some surface, so readers get exercised on all of them);
* ``parse_ts`` reads any of those forms back to epoch seconds.
"""
import json
import os
import tempfile
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
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
