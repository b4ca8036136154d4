"""Simulated GPT-Hedge state sync: mirrors NAV into ``logs/state/nav_state.json``.

Every ``HEDGE_SIM_LOOP_S`` seconds it reads ``nav.json`` (and the DD state of
``risk_snapshot.json``) written by the executor and writes atomically::

    v7.6: {nav_total, nav_age_s, dd_state: {"state": ...}, drawdown: {dd_pct}, updated_ts: <epoch ms>}
    v7.5: {nav_total, nav_age_s, dd_state: "...",          drawdown: {dd_pct}, updated_at: <ISO Z>}

Faults (see ``simfaults``): ``no_publish`` stops the writes,
``stale_timestamps`` back-dates ``updated_ts``/``updated_at`` by 3600 s,
``dd_flap`` alternates ``dd_state`` DRAWDOWN / RECOVERY. When ``nav.json`` is
missing or malformed the last good NAV is kept (nothing is written before the
first good read).
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simfaults  # noqa: E402
from executor import STALE_AGE_S, read_version, version_tuple  # noqa: E402
from statefiles import STATE_DIR, atomic_write_json, parse_ts, read_json, ts_iso_z, ts_ms  # noqa: E402


def build_nav_state(version, nav, nav_ts, faults=(), now=None, loop=0):
    """Return the nav_state object for ``version`` from a NAV read at ``nav_ts``."""
    now = time.time() if now is None else now
    stale = "stale_timestamps" in faults
    t = now - STALE_AGE_S if stale else now
    age = max(0.0, now - nav_ts) if nav_ts is not None else 0.0
    if stale:
        age = max(age, float(STALE_AGE_S))
    if "dd_flap" in faults:
        state, dd_pct = ("DRAWDOWN" if loop % 2 == 0 else "RECOVERY"), 6.4
    else:
        state, dd_pct = "NORMAL", 1.25
    obj = {"nav_total": round(nav, 2), "nav_age_s": round(age, 3), "drawdown": {"dd_pct": dd_pct}}
    if version_tuple(version) >= (7, 6):
        obj.update(dd_state={"state": state}, updated_ts=ts_ms(t))
    else:
        obj.update(dd_state=state, updated_at=ts_iso_z(t))
    return obj


def _terminate(signum, frame):
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    version = read_version()
    loop_s = float(os.environ.get("HEDGE_SIM_LOOP_S", "1.0"))
    print("sync_state: mirroring NAV for %s" % version, flush=True)
    nav = nav_ts = None
    loop = 0
    while True:
        faults = simfaults.active_faults(version)
        nav_obj = read_json(os.path.join(STATE_DIR, "nav.json"))
        if isinstance(nav_obj, dict) and isinstance(nav_obj.get("nav"), (int, float)):
            nav, nav_ts = float(nav_obj["nav"]), parse_ts(nav_obj.get("updated_ts"))
        elif nav is not None:
            print("WARNING sync_state: nav.json unreadable, keeping last NAV", flush=True)
        if nav is not None and "no_publish" not in faults:
            atomic_write_json(os.path.join(STATE_DIR, "nav_state.json"),
                              build_nav_state(version, nav, nav_ts, faults, loop=loop))
        loop += 1
        time.sleep(loop_s)


if __name__ == "__main__":
    main()
