"""BATON_TEST_CLOCK (tests/pinned_clock.py) pins the clock of a whole run: `make
test-clocks` relies on it to run the date-sensitive tests at chosen hours. Each case runs
a pytest of its own, without Django, with that plugin loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PINNED = "2026-03-29T00:20:00+00:00"

PINNED_RUN = """
import datetime
import threading
import time

import pytest
import time_machine

UTC = datetime.UTC
PINNED = datetime.datetime(2026, 3, 29, 0, 20, tzinfo=UTC)
READ_AT_COLLECTION = datetime.datetime.now(UTC)


def since_pinned(moment):
    return (moment - PINNED).total_seconds()


def test_collection_reads_the_pinned_clock():
    assert 0 <= since_pinned(READ_AT_COLLECTION) < 30


def test_the_pinned_clock_ticks_and_a_slow_test_takes_time():
    start = datetime.datetime.now(UTC)
    assert 0 <= since_pinned(start) < 2
    time.sleep(3)
    assert since_pinned(datetime.datetime.now(UTC)) >= 3


def test_the_next_test_starts_at_the_pinned_instant_again():
    assert 0 <= since_pinned(datetime.datetime.now(UTC)) < 2


def test_every_clock_reads_the_pinned_instant():
    assert 0 <= time.time() - PINNED.timestamp() < 2
    assert datetime.date.today() == datetime.date(2026, 3, 29)


def test_another_thread_reads_the_pinned_clock_as_the_live_server_does():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(datetime.datetime.now(UTC)))
    thread.start()
    thread.join()
    assert 0 <= since_pinned(seen[0]) < 2


def test_a_travel_inside_the_test_wins_and_then_gives_the_pinned_clock_back():
    elsewhere = datetime.datetime(2025, 6, 10, 23, 59, 59, tzinfo=UTC)
    with time_machine.travel(elsewhere, tick=False):
        assert datetime.datetime.now(UTC) == elsewhere
    assert 0 <= since_pinned(datetime.datetime.now(UTC)) < 2


def test_the_time_machine_fixture_moves_the_clock(time_machine):
    time_machine.move_to(datetime.datetime(2025, 1, 1, 9, tzinfo=UTC), tick=False)
    assert datetime.datetime.now(UTC) == datetime.datetime(2025, 1, 1, 9, tzinfo=UTC)


@pytest.mark.time_machine(datetime.datetime(2025, 3, 10, 12, tzinfo=UTC), tick=False)
def test_a_test_marked_with_its_own_clock_keeps_it():
    assert datetime.datetime.now(UTC) == datetime.datetime(2025, 3, 10, 12, tzinfo=UTC)
"""

REAL_RUN = """
import time


def test_the_clock_is_the_real_one(tmp_path):
    # the kernel stamps a new file with the real time, whatever Python's clock says
    stamped = tmp_path / "now"
    stamped.write_text("")
    assert abs(stamped.stat().st_mtime - time.time()) < 5
"""


@pytest.fixture
def run_with_clock(pytester, monkeypatch):
    """run_with_clock(clock, source) → the outcome of a pytest of that source, with
    BATON_TEST_CLOCK=clock (unset when None)."""

    def run(clock: str | None, source: str):
        monkeypatch.setenv("PYTHONPATH", str(ROOT))
        if clock is None:
            monkeypatch.delenv("BATON_TEST_CLOCK", raising=False)
        else:
            monkeypatch.setenv("BATON_TEST_CLOCK", clock)
        pytester.makepyfile(test_inner=source)
        return pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider", "-p", "tests.pinned_clock")

    return run


def test_a_pinned_run_starts_every_test_at_the_instant_and_travels_inside_tests_still_work(run_with_clock):
    # when
    result = run_with_clock(PINNED, PINNED_RUN)
    # then
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines([f"pinned clock: every test starts at {PINNED} (BATON_TEST_CLOCK)"])


def test_without_baton_test_clock_the_tests_read_the_real_clock(run_with_clock):
    # when
    result = run_with_clock(None, REAL_RUN)
    # then
    result.assert_outcomes(passed=1)
    assert "pinned clock" not in result.stdout.str()


def test_the_same_check_of_the_real_clock_fails_in_a_pinned_run(run_with_clock):
    # (so that the test above can tell a pinned clock from the real one)
    result = run_with_clock(PINNED, REAL_RUN)
    result.assert_outcomes(failed=1)


@pytest.mark.parametrize(
    ("clock", "message"),
    [("2026-03-29T00:20:00", "needs an offset"), ("tomorrow at noon", "is not an ISO 8601 instant")],
)
def test_a_malformed_clock_stops_the_run_before_any_test(run_with_clock, clock, message):
    # when
    result = run_with_clock(clock, REAL_RUN)
    # then
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "collected" not in result.stdout.str()
