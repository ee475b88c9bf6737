"""The DropRollup counts behind the report, and the pieces that make it portable: the
cutting of periods into months, weeks and days, the Python percentile and the latency
durations measured from the site's midnight."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
import time_machine
from django.test import override_settings

from followups.models import DroppedBaton, DropRollup, HandoffLatency
from followups.selectors.report import (
    DropFilters,
    Period,
    dashboard_for,
    drop_list,
    percentile_cont,
    period_named,
    period_parts,
    report_summary,
    report_team_ids,
    weekly_counts,
)
from tests.factories import HandoffFactory
from tests.followups.report_data import late_deals, refreshed, unowned_handoffs

NOW = datetime.datetime(2025, 4, 10, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


# --- percentile_cont: PostgreSQL's interpolation, in Python ------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([1, 2, 3, 10], 0.5, 2.5),
        ([1, 2, 3, 10], 0.9, 7.9),
        ([10, 3, 1, 2], 0.9, 7.9),
        ([0, 10], 0.25, 2.5),
        ([4], 0.9, 4),
        ([1, None, 3], 0.5, 2),
        ([1, 2, 3, 4, 5], 0.0, 1),
        ([1, 2, 3, 4, 5], 1.0, 5),
    ],
)
def test_the_python_percentile_interpolates_like_postgresql(values, fraction, expected):
    assert percentile_cont(values, fraction) == pytest.approx(expected)


def test_the_percentile_of_nothing_is_none():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([None, None], 0.9) is None


# --- periods cut into what the roll-up holds --------------------------------------------


def days_of(parts) -> list[datetime.date]:
    days = []
    for month in parts.months:
        day = month
        while day.month == month.month:
            days.append(day)
            day += datetime.timedelta(days=1)
    for monday in parts.weeks:
        days += [monday + datetime.timedelta(days=offset) for offset in range(7)]
    for first, last in parts.days:
        days += [first + datetime.timedelta(days=offset) for offset in range((last - first).days + 1)]
    return sorted(days)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-03-01", "2025-03-31"),
        ("2025-01-01", "2025-03-31"),
        ("2025-03-10", "2025-03-16"),
        ("2025-02-15", "2025-03-12"),
        ("2025-01-15", "2025-05-20"),
        ("2025-03-11", "2025-03-13"),
        ("2024-02-29", "2025-02-28"),
    ],
)
def test_a_period_is_cut_into_months_weeks_and_days_that_cover_each_day_once(start, end):
    # given
    period = Period(datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
    # when
    parts = period_parts(period)
    # then
    expected = [period.start + datetime.timedelta(days=offset) for offset in range(period.days)]
    assert days_of(parts) == expected
    assert all(monday.weekday() == 0 for monday in parts.weeks)
    assert len(parts.days) <= 4


def test_calendar_periods_need_no_odd_days():
    for name in ("week", "month", "quarter"):
        period = period_named(name, today=TODAY)
        assert period_parts(period).days == ()
        assert period_parts(period.previous()).days == ()


# --- the roll-up adds up to the snapshot --------------------------------------------------


@pytest.fixture
def spread_drops(rep, other_rep, outsider_team_rep, delivery_lead):
    """Dropped batons spread over four months, three reps of two teams and a delivery owner."""
    for days_late in (2, 6, 9, 16, 23, 31, 40, 47, 58, 66, 75, 90, 104, 118):
        late_deals(rep, 1 + days_late % 3, days_late=days_late)
        late_deals(other_rep, 1, days_late=days_late + 1)
        late_deals(outsider_team_rep, 2, days_late=days_late + 3)
    for closed_days_ago in (5, 12, 33, 61, 95):
        unowned_handoffs(rep, 1, closed_days_ago=closed_days_ago, proposed_owner=delivery_lead)
        unowned_handoffs(outsider_team_rep, 1, closed_days_ago=closed_days_ago + 2, proposed_owner=delivery_lead)
    refreshed()


def expected_summary(user, period: Period) -> dict:
    """The totals and tables counted straight from the DroppedBaton rows the drill-down lists."""
    drops = list(drop_list(user, filters=DropFilters(period=period)))
    return {
        "totals": dict(Counter(drop.code for drop in drops)),
        "by_rep": dict(Counter(drop.rep_id for drop in drops)),
        "by_owner": dict(Counter(drop.delivery_owner_id for drop in drops if drop.delivery_owner_id)),
        "by_team": dict(Counter(drop.team_id for drop in drops if drop.team_id)),
    }


PERIODS = [
    period_named("week", today=TODAY),
    period_named("month", today=TODAY),
    period_named("quarter", today=TODAY),
    Period(datetime.date(2025, 1, 15), datetime.date(2025, 3, 20), "custom"),
    Period(datetime.date(2025, 3, 4), datetime.date(2025, 3, 6), "custom"),
    Period(datetime.date(2025, 2, 12), datetime.date(2025, 4, 10), "custom"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("period", PERIODS, ids=lambda period: f"{period.start}..{period.end}")
@pytest.mark.parametrize("who", ["manager", "admin_user", "delivery_manager"])
def test_the_rollup_totals_equal_the_dropped_batons_counted_one_by_one(request, spread_drops, period, who):
    # given
    user = request.getfixturevalue(who)
    # when
    summary = report_summary(user, period=period)
    # then
    expected = expected_summary(user, period)
    previous = expected_summary(user, period.previous())
    assert summary.totals == expected["totals"]
    assert summary.previous_totals == previous["totals"]
    assert {row.key: row.total for row in summary.by_rep} == expected["by_rep"]
    assert {row.key: row.total for row in summary.by_owner} == expected["by_owner"]
    assert {row.key: row.total for row in summary.by_team} == expected["by_team"]
    assert {row.key: row.previous_total for row in summary.by_rep} == {
        key: previous["by_rep"].get(key, 0) for key in expected["by_rep"]
    }


@pytest.mark.django_db
def test_the_rollup_really_holds_the_counts(spread_drops):
    # the report must not be reading DroppedBaton behind the roll-up's back
    assert DropRollup.objects.exists()
    for bucket in DropRollup.Bucket.values:
        rows = DropRollup.objects.filter(bucket=bucket, grain=DropRollup.Grain.TEAM)
        assert sum(rows.values_list("count", flat=True)) == DroppedBaton.objects.count()
        assert sum(rows.values_list("open_count", flat=True)) == DroppedBaton.objects.filter(is_open=True).count()


@pytest.mark.django_db
def test_the_weekly_trend_and_open_counts_equal_the_dropped_batons(spread_drops, manager):
    # given
    weeks = [TODAY - datetime.timedelta(days=TODAY.weekday(), weeks=back) for back in range(15, -1, -1)]
    drops = list(drop_list(manager, filters=DropFilters()))
    # when
    counts = weekly_counts(report_team_ids(manager), weeks)
    dashboard = dashboard_for(manager, today=TODAY)
    # then
    by_week = Counter(
        (drop.drop_date - datetime.timedelta(days=drop.drop_date.weekday()), drop.code)
        for drop in drops
        if weeks[0] <= drop.drop_date
    )
    assert counts == dict(by_week)
    open_counts = Counter(drop.code for drop in drops if drop.is_open)
    assert {row["code"]: row["count"] for row in dashboard.open_drops if row["count"]} == dict(open_counts)


# --- latency: from the start of the close date in the site's time zone --------------------


@pytest.mark.django_db
@override_settings(TIME_ZONE="Europe/Berlin")
def test_latency_counts_from_the_sites_midnight_also_across_daylight_saving_time(rep, delivery_lead):
    # given: accepted at midnight in Berlin, one and two days after the close; the second
    # one across the night the clocks went forward (30 March 2025), so 47 hours
    berlin = datetime.timezone(datetime.timedelta(hours=1))
    summer = datetime.timezone(datetime.timedelta(hours=2))
    winter_handoff = HandoffFactory(
        deal__owner=rep,
        deal__closed_on=datetime.date(2025, 3, 1),
        delivery_owner=delivery_lead,
        status="accepted",
        accepted_at=datetime.datetime(2025, 3, 2, tzinfo=berlin),
    )
    dst_handoff = HandoffFactory(
        deal__owner=rep,
        deal__closed_on=datetime.date(2025, 3, 29),
        delivery_owner=delivery_lead,
        status="accepted",
        accepted_at=datetime.datetime(2025, 3, 31, tzinfo=summer),
    )
    # when
    refreshed()
    # then
    latency = {row.handoff_id: row.time_to_accept for row in HandoffLatency.objects.all()}
    assert latency[winter_handoff.pk] == datetime.timedelta(days=1)
    assert latency[dst_handoff.pk] == datetime.timedelta(hours=47)
