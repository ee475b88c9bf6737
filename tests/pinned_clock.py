"""A pytest plugin that runs the session at a pinned instant: BATON_TEST_CLOCK.

BATON_TEST_CLOCK=2026-03-29T00:20:00+00:00 (an ISO 8601 instant with its offset) starts
every test at that instant, the clock ticking from there, and collection too. `make
test-clocks` runs the date-sensitive tests at hours where a user's date and UTC's
differ (and on daylight-saving change days), so that a test confusing the two fails on
every run instead of only when the suite happens to run between midnight and 05:00.

Python's clock is pinned for the whole process, so the live server and the in-process
Celery worker (threads of this process) follow it. Other processes do not: PostgreSQL's
now(), a worker started as a subprocess, Chromium's JavaScript clock (no page script
reads the date).

tests/conftest.py loads it; tests/test_pinned_clock.py proves it in a pytest of its own.
"""

from __future__ import annotations

import datetime
import os

import pytest
import time_machine

ENV_VAR = "BATON_TEST_CLOCK"

_session_travel: time_machine.travel | None = None


def pinned_clock() -> datetime.datetime | None:
    """The instant BATON_TEST_CLOCK pins the tests to, or None (the real clock)."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    try:
        instant = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"{ENV_VAR}={value!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        # A naive instant would be read in whatever zone the machine is in.
        raise pytest.UsageError(f"{ENV_VAR}={value!r} needs an offset, e.g. 2026-03-29T00:20:00+00:00")
    return instant


def pytest_configure(config: pytest.Config) -> None:
    # Collection runs at the pinned instant too: a parametrize or module constant that
    # reads the clock sees the tests' day, as it would on a real run at that hour.
    global _session_travel
    instant = pinned_clock()  # a malformed value stops the run before any test
    if instant is not None:
        _session_travel = time_machine.travel(instant, tick=True)
        _session_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session_travel
    if _session_travel is not None:
        _session_travel.stop()
        _session_travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    instant = pinned_clock()
    return f"pinned clock: every test starts at {instant.isoformat()} ({ENV_VAR})" if instant else None


@pytest.fixture(autouse=True)
def _pinned_clock(request: pytest.FixtureRequest):
    """Starts each test at the pinned instant (so that the last test of a run started
    at 23:50 is still at 23:50, not past midnight), ticking.

    A test that travels itself (time_machine.travel, the time_machine fixture) nests
    inside this travel and wins while it lasts; a test marked @pytest.mark.time_machine
    has its own clock from the start, so it is left alone.
    """
    instant = pinned_clock()
    if instant is None or request.node.get_closest_marker("time_machine") is not None:
        yield
        return
    with time_machine.travel(instant, tick=True):
        yield
