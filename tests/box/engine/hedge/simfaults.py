"""Fault switches of the simulated GPT-Hedge engine.

Where the switches live
-----------------------
The faults directory is found, in this order:

1. env ``HEDGE_SIM_FAULTS_DIR``;
2. ``<sys.prefix>/hedge-sim.json`` -> ``{"faults_dir": "..."}``. ``sys.prefix``
   is the box's venv, so the engine processes and ``make pretag-*`` (run with
   the venv's python) find it without any environment plumbing;
3. neither -> no faults.

The file ``<faults_dir>/<VERSION>`` (e.g. ``faults/v7.6``) lists the active
fault names, one per line; ``#`` starts a comment. The engine re-reads it every
loop (the dashboard on every request), so faults can be toggled on a live box.
Faults keyed by a version only act while that version is checked out.

What each fault does
--------------------
=======================  ==============================================================
fault                    behaviour
=======================  ==============================================================
``crash_at_boot``        executor raises before the boot line: traceback on stderr,
                         exit status 1 (supervisor: BACKOFF -> FATAL, ``restart`` errors)
``no_boot_line``         executor skips the ``Engine version: ...`` line, otherwise normal
``no_publish``           executor prints the boot line, then writes nothing and prints
                         no ``state_publish`` lines; sync_state stops writing too
``stale_timestamps``     every timestamp written (all surfaces, all forms, nav_state
                         too) is 3600 s in the past; ``nav_age_s`` >= 3600
``malformed_json``       ``nav.json`` and ``risk_snapshot.json`` are written as truncated,
                         invalid JSON (still atomically); sync_state keeps its last NAV
``long_uptime``          ``engine_metadata.json``'s ``started_ts`` (runbook shape, v7.5)
                         is 600 s before the engine's start: a box whose engine has run
                         for 10 minutes (not a fault of the engine; a condition to test)
``wrong_engine_version`` ``engine_metadata.json`` reports ``v7.4`` (both shapes); the boot
                         line still shows the real VERSION
``nav_jump``             ``risk_snapshot.anomalies.nav_jump`` true, ``nav_jump_pct`` 12.5
                         (a v7.5 writer gains an ``anomalies`` block for this)
``dd_flap``              ``anomalies.dd_flap`` true; ``dd_state`` (risk_snapshot and
                         nav_state) alternates DRAWDOWN / RECOVERY every loop
``router_degraded``      router global quality 0.3; BTCUSDT 0.35 and ETHUSDT 0.42
                         per-symbol (v7.5 shape: ``global.quality_score`` and
                         ``router_health_score`` 0.3)
``router_idle``          ``diagnostics...liveness.idle_router`` true and router global
                         ``idle`` true
``exit_coverage_low``    ``tp_sl_coverage_pct`` 0.6, ``underwater_without_tp_sl_count`` 2,
                         ``mismatch_breakdown.missing_tp_sl_entries`` 3 (v7.6)
``publish_errors``       every loop also prints ``state_publish ERROR write failed: ...``
                         to stdout
``error_log``            every loop writes ``ERROR ...`` to stderr
``dashboard_down``       dashboard ``/healthz`` answers 503 ``unavailable``
``pretag_fail``          the engine's pytest suite (``make pretag-<VERSION>``) fails
``pretag_slow``          the engine's pytest suite takes ``PRETAG_SLOW_SECONDS`` (20 s)
                         longer, then passes (a long ``make pretag-<VERSION>``)
``sanity_fail``          the runtime sanity script exits 1 (a ``FAIL`` line) against the
                         state dir of a checkout at this VERSION
``exit_after_start``     executor exits with status 1 ``EXIT_AFTER_START_S`` (4 s) after each
                         start, past supervisor's ``startsecs``: RUNNING, then EXITED and
                         started again by supervisor (a crash loop ``status`` shows as RUNNING)
``slow_stop``            executor takes ``SLOW_STOP_S`` (3 s) to exit on SIGTERM (supervisor
                         shows STOPPING meanwhile)
=======================  ==============================================================

Delayed faults
--------------
An entry ``<fault>@+<N>s`` (e.g. ``publish_errors@+20s``) acts only once the
process reading it has run for N seconds: the executor, sync_state and the
dashboard count from their own start, so a release passes its verification
right after a restart and starts failing N s later (a bake window's case).
"""
import json
import os
import re
import sys
import time

FAULTS = (
    "crash_at_boot",
    "no_boot_line",
    "no_publish",
    "stale_timestamps",
    "malformed_json",
    "wrong_engine_version",
    "long_uptime",
    "nav_jump",
    "dd_flap",
    "router_degraded",
    "router_idle",
    "exit_coverage_low",
    "publish_errors",
    "error_log",
    "dashboard_down",
    "pretag_fail",
    "pretag_slow",
    "sanity_fail",
    "exit_after_start",
    "slow_stop",
)
EXIT_AFTER_START_S = 4.0
SLOW_STOP_S = 3.0

POINTER_FILE = "hedge-sim.json"
# How much longer the engine's tests take with pretag_slow (long enough for a progress line every 15 s).
PRETAG_SLOW_SECONDS = 20
ENV_FAULTS_DIR = "HEDGE_SIM_FAULTS_DIR"
# A delayed entry: the fault acts once the reading process has run for N seconds.
DELAYED = re.compile(r"^(?P<name>[a-z_]+)@\+(?P<seconds>[0-9]+(?:\.[0-9]+)?)s$")
# When this process started (imported at start by the executor, sync_state and the dashboard).
STARTED = time.time()


def faults_dir():
    """Return the faults directory, or None when no fault switches exist."""
    env = os.environ.get(ENV_FAULTS_DIR)
    if env:
        return env
    pointer = os.path.join(sys.prefix, POINTER_FILE)
    try:
        with open(pointer, encoding="utf-8") as fh:
            return json.load(fh).get("faults_dir") or None
    except (OSError, ValueError, AttributeError):
        return None


def split_entry(entry):
    """A faults file entry as ``(name, delay_s)``: ``publish_errors@+20s`` -> ``("publish_errors", 20.0)``,
    ``nav_jump`` -> ``("nav_jump", 0.0)``; an entry that is not ``<name>@+<N>s`` is a name as it is."""
    match = DELAYED.match(entry)
    return (match.group("name"), float(match.group("seconds"))) if match else (entry, 0.0)


def parse_faults(text, elapsed=None):
    """Parse a faults file: one entry per line, ``#`` comments, blanks ignored. Returns the fault names;
    with ``elapsed`` (seconds the reading process has run) a delayed entry only once its delay has passed."""
    names = set()
    for line in text.splitlines():
        name, delay = split_entry(line.split("#", 1)[0].strip())
        if name and (elapsed is None or elapsed >= delay):
            names.add(name)
    return names


def active_faults(version, directory=None, now=None):
    """Return the set of fault names active for ``version`` (re-read each call); a delayed entry counts
    from this process's start (``STARTED``)."""
    directory = directory or faults_dir()
    if not directory or not version:
        return set()
    try:
        with open(os.path.join(directory, version), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return set()
    return parse_faults(text, elapsed=(time.time() if now is None else now) - STARTED)
