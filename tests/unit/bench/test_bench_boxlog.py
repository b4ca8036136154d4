"""bench/boxlog.py: the moments of a restart read from a box's supervisord and executor logs."""
import calendar
import time

import benchpath  # noqa: F401  pylint: disable=unused-import
import pytest
from boxlog import all_running, downtime, first, publishes, supervisord_events

PROGRAMS = ["hedge-executor", "hedge-dashboard", "hedge-sync_state"]

# An activation that rolled back: install, the activation's restart (v7.5 -> v7.6), the rollback's restart.
SUPERVISORD_LOG = """\
2026-12-03 15:39:01,650 CRIT Supervisor is running as root.  Privileges were not dropped because no user is specified
2026-12-03 15:39:01,671 INFO supervisord started with pid 23640
2026-12-03 15:39:02,013 INFO spawned: 'hedge-executor' with pid 23662
2026-12-03 15:39:02,026 INFO spawned: 'hedge-dashboard' with pid 23663
2026-12-03 15:39:02,046 INFO spawned: 'hedge-sync_state' with pid 23664
2026-12-03 15:39:04,430 INFO success: hedge-executor entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:04,430 INFO success: hedge-dashboard entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:04,430 INFO success: hedge-sync_state entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:06,808 INFO waiting for hedge-executor to stop
2026-12-03 15:39:06,814 INFO waiting for hedge-dashboard to stop
2026-12-03 15:39:06,814 INFO waiting for hedge-sync_state to stop
2026-12-03 15:39:06,866 INFO stopped: hedge-executor (exit status 0)
2026-12-03 15:39:06,868 INFO stopped: hedge-sync_state (exit status 0)
2026-12-03 15:39:06,874 INFO stopped: hedge-dashboard (exit status 0)
2026-12-03 15:39:07,879 INFO spawned: 'hedge-executor' with pid 23871
2026-12-03 15:39:07,896 INFO spawned: 'hedge-dashboard' with pid 23872
2026-12-03 15:39:07,905 INFO spawned: 'hedge-sync_state' with pid 23873
2026-12-03 15:39:10,344 INFO success: hedge-executor entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:10,344 INFO success: hedge-dashboard entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:10,344 INFO success: hedge-sync_state entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:31,200 INFO waiting for hedge-executor to stop
2026-12-03 15:39:31,201 INFO waiting for hedge-dashboard to stop
2026-12-03 15:39:31,201 INFO waiting for hedge-sync_state to stop
2026-12-03 15:39:31,260 INFO stopped: hedge-executor (exit status 0)
2026-12-03 15:39:31,262 INFO stopped: hedge-dashboard (exit status 0)
2026-12-03 15:39:31,270 INFO stopped: hedge-sync_state (exit status 0)
2026-12-03 15:39:32,290 INFO spawned: 'hedge-executor' with pid 24410
2026-12-03 15:39:32,301 INFO spawned: 'hedge-dashboard' with pid 24411
2026-12-03 15:39:32,305 INFO spawned: 'hedge-sync_state' with pid 24412
2026-12-03 15:39:34,700 INFO success: hedge-executor entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:34,700 INFO success: hedge-sync_state entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
2026-12-03 15:39:35,950 INFO success: hedge-dashboard entered RUNNING state, process has stayed up for > than 2 seconds (startsecs)
"""

EXECUTOR_OUT_LOG = """\
Engine version: v7.5
state_publish ok surfaces=11 ts=2026-12-03T15:39:02.405Z
state_publish ok surfaces=8 ts=2026-12-03T15:39:06.605Z
Engine version: v7.6
state_publish ok surfaces=11 ts=2026-12-03T15:39:08.135Z
state_publish ok surfaces=8 ts=2026-12-03T15:39:09.262Z
state_publish ERROR write failed: simulated I/O error (fault publish_errors)
Engine version: v7.5
state_publish ok surfaces=11 ts=2026-12-03T15:39:32.700Z
state_publish ok surfaces=8 ts=2026-12-03T15:39:33.000Z
"""


def local(stamp):
    """Epoch of a supervisord (local time) stamp `YYYY-mm-dd HH:MM:SS,mmm`."""
    whole, ms = stamp.split(",")
    return time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000


def utc(stamp):
    whole, _dot, frac = stamp.partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def test_supervisord_events_read_every_transition_and_skip_other_lines():
    events = supervisord_events(SUPERVISORD_LOG)
    assert len(events) == 30
    assert events[0] == (local("2026-12-03 15:39:02,013"), "spawned", "hedge-executor")
    assert events[6] == (local("2026-12-03 15:39:06,808"), "stopping", "hedge-executor")
    assert events[9] == (local("2026-12-03 15:39:06,866"), "stopped", "hedge-executor")
    assert [kind for _t, kind, _p in events].count("running") == 9


def test_publishes_are_the_ok_lines_only():
    assert publishes(EXECUTOR_OUT_LOG) == [utc("2026-12-03T15:39:02.405"), utc("2026-12-03T15:39:06.605"),
                                           utc("2026-12-03T15:39:08.135"), utc("2026-12-03T15:39:09.262"),
                                           utc("2026-12-03T15:39:32.700"), utc("2026-12-03T15:39:33.000")]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # the activation's restart: stop signal 06.808 -> v7.6's first publish 08.135
        (local("2026-12-03 15:39:05,000"), utc("2026-12-03T15:39:08.135") - local("2026-12-03 15:39:06,808")),
        # the rollback's restart, after the failed gate: 31.200 -> 32.700
        (local("2026-12-03 15:39:20,000"), utc("2026-12-03T15:39:32.700") - local("2026-12-03 15:39:31,200")),
        # no stop after that moment
        (local("2026-12-03 15:39:40,000"), None),
    ],
)
def test_downtime_is_stop_signal_to_next_publish(after, expected):
    got = downtime(supervisord_events(SUPERVISORD_LOG), publishes(EXECUTOR_OUT_LOG), "hedge-executor", after)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_downtime_without_a_publish_after_the_stop_is_none():
    only_old = "\n".join(EXECUTOR_OUT_LOG.splitlines()[:3])
    assert downtime(supervisord_events(SUPERVISORD_LOG), publishes(only_old), "hedge-executor", 0) is None


@pytest.mark.parametrize(
    ("programs", "after", "expected"),
    [
        # the rollback's restart is complete when the last program (the dashboard, 35.950) is RUNNING
        (PROGRAMS, local("2026-12-03 15:39:20,000"), local("2026-12-03 15:39:35,950")),
        (PROGRAMS[:1], local("2026-12-03 15:39:20,000"), local("2026-12-03 15:39:34,700")),
        (PROGRAMS, local("2026-12-03 15:39:05,000"), local("2026-12-03 15:39:10,344")),
        # a program that never entered RUNNING after that moment: not restarted
        (PROGRAMS + ["hedge-intel"], local("2026-12-03 15:39:05,000"), None),
        (PROGRAMS, local("2026-12-03 15:39:36,000"), None),
    ],
)
def test_all_running_waits_for_every_program(programs, after, expected):
    assert all_running(supervisord_events(SUPERVISORD_LOG), programs, after) == expected


def test_first_names_the_program():
    events = supervisord_events(SUPERVISORD_LOG)
    assert first(events, "stopping", "hedge-dashboard", 0) == local("2026-12-03 15:39:06,814")
    assert first(events, "stopping", "hedge-intel", 0) is None
