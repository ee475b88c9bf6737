"""Reads of the dropped-baton report, the manager dashboard and the weekly digest.

Counts add up the DropRollup table (followups.services.report refreshes it with the
DroppedBaton snapshot): a period's whole calendar months and weeks are a few hundred
roll-up rows; only the odd days at the ends of a custom period are counted from
DroppedBaton itself. Every page runs a fixed number of queries: one over the roll-up
for the totals and all three tables of the current and the previous period, one for
those odd days, one for the weekly trend, two for the latency figures, one each for
the names of people and teams.

The queries are Django ORM expressions, the same on PostgreSQL and SQLite, except the
latency percentiles: PostgreSQL computes them in SQL (percentile_cont), other
databases get the same rows and the same interpolation in Python (percentile_cont
below).

Who sees which teams, and which rows belong to a team (by the deal's sales team or the
delivery owner's team), is followups/access.py: a manager their teams, an admin
everything, anyone else nothing.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection, models
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.urls import reverse
from django.utils import timezone

from accounts.common.exports import person_lookups, person_name
from accounts.common.links import absolute_url
from accounts.models import Account, Team, User
from followups.access import (
    accounts_of_teams,
    checkins_of_teams,
    drops_of_teams,
    handoffs_of_teams,
    latencies_of_teams,
    promises_of_teams,
    pulses_of_teams,
    report_team_ids,
)
from followups.choices import HeartbeatName, PulseAnswer
from followups.lateness import PROMISE_PENDING_STATUSES, checkin_late
from followups.models import CheckIn, CustomerPulse, DroppedBaton, DropRollup, HandoffLatency, Heartbeat
from followups.rules import DROP_CODES, RULES
from handoffs.choices import HandoffStatus, PromiseStatus
from handoffs.models import Handoff, Promise

TREND_WEEKS = 12
LATENCY_METRICS = {
    "days_to_accept": "Close → owner accepted",
    "days_to_meeting": "Close → meeting held",
    "days_to_first_checkin": "Close → first check-in done",
}
# The HandoffLatency field behind each figure (a duration; the figures are in days).
LATENCY_FIELDS = {
    "days_to_accept": "time_to_accept",
    "days_to_meeting": "time_to_meeting",
    "days_to_first_checkin": "time_to_first_checkin",
}
WAITING_FOR_OWNER = [HandoffStatus.AWAITING_OWNER, HandoffStatus.DECLINED]


# --- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of days, both ends included."""

    start: datetime.date
    end: datetime.date
    label: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before: the previous calendar month or quarter for those,
        else the same number of days."""
        if self.label in {"month", "quarter"}:
            months = 1 if self.label == "month" else 3
            start = _add_months(self.start, -months)
            return Period(start, self.start - datetime.timedelta(days=1), self.label)
        return Period(self.start - datetime.timedelta(days=self.days), self.start - datetime.timedelta(days=1))


def period_instants(period: Period) -> tuple[datetime.datetime, datetime.datetime]:
    """The period as instants in the current time zone: from the first day's midnight
    (included) to the midnight after the last day (excluded). `created_at >= start AND
    created_at < end` is `created_at__date` between the days, in an index-able shape: the
    `__date` lookup converts every row's timestamp before comparing (a full scan)."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.datetime.combine(period.start, datetime.time.min), zone)
    end = timezone.make_aware(
        datetime.datetime.combine(period.end + datetime.timedelta(days=1), datetime.time.min), zone
    )
    return start, end


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.year * 12 + day.month - 1 + months
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


def period_named(name: str, *, today: datetime.date | None = None) -> Period:
    """This week (Monday to Sunday), this calendar month or this calendar quarter."""
    today = today or timezone.localdate()
    if name == "week":
        start = today - datetime.timedelta(days=today.weekday())
        return Period(start, start + datetime.timedelta(days=6), "week")
    if name == "month":
        start = today.replace(day=1)
        return Period(start, _add_months(start, 1) - datetime.timedelta(days=1), "month")
    if name == "quarter":
        start = datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period(start, _add_months(start, 3) - datetime.timedelta(days=1), "quarter")
    raise ValueError(f"Unknown period {name!r}")


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def trend_weeks(period: Period) -> list[datetime.date]:
    """The Mondays of the weekly trend: the period's weeks, and at least the TREND_WEEKS
    weeks up to the period's end."""
    last = monday_of(period.end)
    first = min(monday_of(period.start), last - datetime.timedelta(weeks=TREND_WEEKS - 1))
    return [first + datetime.timedelta(weeks=index) for index in range((last - first).days // 7 + 1)]


@dataclass(frozen=True)
class PeriodParts:
    """A period cut into what the roll-up holds: whole calendar months, whole weeks
    (Monday to Sunday) around them, and the odd days left at either end."""

    months: tuple[datetime.date, ...] = ()
    weeks: tuple[datetime.date, ...] = ()
    days: tuple[tuple[datetime.date, datetime.date], ...] = ()

    def rollup_filter(self) -> Q:
        """DropRollup rows of these months and weeks (matches nothing if none): one
        `starts_on IN (…)` per bucket that has any, so that PostgreSQL reads the teams'
        rows through the (team, bucket, grain, starts_on) indexes (issue 17: an OR of a
        bucket's months one by one read every team's rows of them, 2.5× the pages)."""
        arms = [
            Q(bucket=bucket, starts_on__in=days)
            for bucket, days in ((DropRollup.Bucket.MONTH, self.months), (DropRollup.Bucket.WEEK, self.weeks))
            if days
        ]
        if not arms:
            return Q(pk__in=[])
        return arms[0] if len(arms) == 1 else arms[0] | arms[1]

    def __or__(self, other: PeriodParts) -> PeriodParts:
        """Both periods' parts together (for one query over a period and the one before)."""
        return PeriodParts(self.months + other.months, self.weeks + other.weeks, self.days + other.days)

    def days_filter(self) -> Q | None:
        """DroppedBaton rows dated on the odd days (None if there are none)."""
        if not self.days:
            return None
        query = Q()
        for first, last in self.days:
            query |= Q(drop_date__range=(first, last))
        return query


def period_parts(period: Period) -> PeriodParts:
    """Cut a period into whole months, whole weeks and odd days (see PeriodParts)."""
    one_day = datetime.timedelta(days=1)
    months: list[datetime.date] = []
    weeks: list[datetime.date] = []
    days: list[tuple[datetime.date, datetime.date]] = []

    def weeks_and_days(first: datetime.date, last: datetime.date) -> None:
        if first > last:
            return
        first_monday = first + datetime.timedelta(days=(7 - first.weekday()) % 7)
        last_sunday = last - datetime.timedelta(days=(last.weekday() + 1) % 7)
        if first_monday + datetime.timedelta(days=6) > last_sunday:
            days.append((first, last))
            return
        if first < first_monday:
            days.append((first, first_monday - one_day))
        monday = first_monday
        while monday + datetime.timedelta(days=6) <= last_sunday:
            weeks.append(monday)
            monday += datetime.timedelta(weeks=1)
        if last_sunday < last:
            days.append((last_sunday + one_day, last))

    first_month = period.start if period.start.day == 1 else _add_months(period.start, 1)
    after_last_month = (period.end + one_day).replace(day=1)
    if first_month < after_last_month:
        weeks_and_days(period.start, first_month - one_day)
        month = first_month
        while month < after_last_month:
            months.append(month)
            month = _add_months(month, 1)
        weeks_and_days(after_last_month, period.end)
    else:
        weeks_and_days(period.start, period.end)
    return PeriodParts(months=tuple(months), weeks=tuple(weeks), days=tuple(days))


# --- the report ------------------------------------------------------------------------


@dataclass
class BreakdownRow:
    """One line of a table by rep, delivery owner or team: counts per drop code."""

    key: int
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    previous_total: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def change(self) -> int:
        return self.total - self.previous_total


@dataclass
class LatencyRow:
    key: int | None
    name: str
    figures: dict[str, tuple[float | None, float | None, int]]  # metric → (median, p90, count)


@dataclass
class ReportSummary:
    period: Period
    previous_period: Period
    totals: dict[str, int]
    previous_totals: dict[str, int]
    by_rep: list[BreakdownRow]
    by_owner: list[BreakdownRow]
    by_team: list[BreakdownRow]
    trend: dict  # for Chart.js: {"labels": [...], "datasets": [{"code", "label", "data"}]}
    latency_overall: LatencyRow
    latency_by_rep: list[LatencyRow]
    latency_by_team: list[LatencyRow]
    latency_trend: dict
    refreshed_at: datetime.datetime | None

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def previous_total(self) -> int:
        return sum(self.previous_totals.values())

    @property
    def rows_by_code(self) -> list[dict]:
        return [
            {
                "code": code,
                "label": RULES[code].label,
                "description": RULES[code].description,
                "count": self.totals.get(code, 0),
                "previous": self.previous_totals.get(code, 0),
                "change": self.totals.get(code, 0) - self.previous_totals.get(code, 0),
            }
            for code in DROP_CODES
        ]


def _breakdowns(team_ids: list[int] | None, period: Period, previous: Period) -> tuple[Iterable, Iterable]:
    """Counts of the current and the previous period per roll-up group, as two sets of
    rows: the whole months and weeks from DropRollup, (grain, code, person_id, team_id,
    current, previous) (one query); and the odd days at the ends of custom periods from
    DroppedBaton, (code, rep_id, delivery_owner_id, team_id, current, previous) (one more
    query, only when there are any). Tuples, not dicts: a manager's month is ~450 groups."""
    scope = drops_of_teams(team_ids)
    current_parts, previous_parts = period_parts(period), period_parts(previous)
    in_current = Q(starts_on__gte=period.start)
    whole = (
        DropRollup.objects.filter(
            scope, (current_parts | previous_parts).rollup_filter(), grain__in=DropRollup.Grain.values
        )
        .order_by()
        .values_list("grain", "code", "person_id", "team_id")
        .annotate(current=Sum("count", filter=in_current), previous=Sum("count", filter=~in_current))
    )
    day_filters = [query for query in (current_parts.days_filter(), previous_parts.days_filter()) if query]
    if not day_filters:
        return whole, ()
    odd_days = Q()
    for query in day_filters:
        odd_days |= query
    in_current = Q(drop_date__gte=period.start)
    days = (
        DroppedBaton.objects.filter(scope, odd_days)
        .order_by()
        .values_list("code", "rep_id", "delivery_owner_id", "team_id")
        .annotate(current=Count("id", filter=in_current), previous=Count("id", filter=~in_current))
    )
    return whole, days


def weekly_counts(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict[tuple[datetime.date, str], int]:
    """New drops per (Monday, code) of the given weeks, from the roll-up."""
    rows = (
        DropRollup.objects.filter(
            drops_of_teams(team_ids),
            bucket=DropRollup.Bucket.WEEK,
            grain=DropRollup.Grain.TEAM,
            starts_on__range=(weeks[0], weeks[-1]),
        )
        .order_by()
        .values_list("starts_on", "code")
        .annotate(count=Sum("count"))
    )
    return {(week, code): count for week, code, count in rows}


def drop_trend(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict:
    """Weekly new drops per code, zero-filled, shaped for Chart.js."""
    counts = weekly_counts(team_ids, weeks)
    return {
        "labels": [week.isoformat() for week in weeks],
        "datasets": [
            {"code": code, "label": RULES[code].label, "data": [counts.get((week, code), 0) for week in weeks]}
            for code in DROP_CODES
        ],
    }


# --- latency figures: percentiles -------------------------------------------------------


def percentile_cont(values: Iterable[float | None], fraction: float) -> float | None:
    """The `fraction` percentile of the values, interpolated linearly between the two
    nearest ranks, exactly as PostgreSQL's percentile_cont (NULLs ignored; None if
    there is no value)."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _days(value: datetime.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 86400


def _figures(columns: list[list[float | None]]) -> dict[str, tuple[float | None, float | None, int]]:
    """metric → (median, p90, count) of one group's days, in LATENCY_METRICS order."""
    return {
        metric: (
            percentile_cont(values, 0.5),
            percentile_cont(values, 0.9),
            sum(value is not None for value in values),
        )
        for metric, values in zip(LATENCY_METRICS, columns, strict=True)
    }


def _latency_rows(team_ids: list[int] | None, first: datetime.date, last: datetime.date) -> QuerySet:
    """The HandoffLatency rows of hand-offs closed from `first` to `last`: rep, team,
    the Monday of the close and the three durations."""
    return (
        HandoffLatency.objects.filter(latencies_of_teams(team_ids), closed_on__range=(first, last))
        .order_by()
        .annotate(close_week=TruncWeek("closed_on", output_field=models.DateField()))
        .values_list("rep_id", "team_id", "close_week", *LATENCY_FIELDS.values())
    )


def _percentile_sql(fraction: float, column: str) -> str:
    return f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY {column})"


# A latency group: ("all", None), ("rep", rep id) or ("team", team id).
LatencyGroups = dict[tuple[str, int | None], dict[str, tuple[float | None, float | None, int]]]


def _latencies(team_ids: list[int] | None, period: Period) -> LatencyGroups:
    """Median, p90 and count of each metric: over everyone, per rep and per team."""
    rows = _latency_rows(team_ids, period.start, period.end)
    if connection.vendor == "postgresql":
        inner_sql, params = rows.query.get_compiler(connection=connection).as_sql()
        columns = [f"l.{name}" for name in LATENCY_FIELDS.values()]
        figures = ", ".join(
            f"{_percentile_sql(0.5, column)}, {_percentile_sql(0.9, column)}, COUNT({column})" for column in columns
        )
        sql = f"""
            SELECT l.rep_id, l.team_id, GROUPING(l.rep_id, l.team_id), {figures}
            FROM ({inner_sql}) AS l GROUP BY GROUPING SETS ((), (l.rep_id), (l.team_id))
        """  # noqa: S608 — SQL compiled by Django, values are params
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        groups: LatencyGroups = {}
        # GROUPING(rep, team) is a bitmask of the columns *not* grouped by.
        for rep_id, row_team_id, grouping, *values in fetched:
            key = {0b11: ("all", None), 0b01: ("rep", rep_id), 0b10: ("team", row_team_id)}[grouping]
            groups[key] = {
                metric: (_days(values[index * 3]), _days(values[index * 3 + 1]), values[index * 3 + 2])
                for index, metric in enumerate(LATENCY_METRICS)
            }
        return groups
    # Other databases: the same rows, the same percentiles, in Python.
    columns_by_group: dict[tuple[str, int | None], list[list[float | None]]] = defaultdict(
        lambda: [[] for _ in LATENCY_METRICS]
    )
    for rep_id, row_team_id, _week, *durations in rows:
        for key in (("all", None), ("rep", rep_id), ("team", row_team_id)):
            for column, duration in zip(columns_by_group[key], durations, strict=True):
                column.append(_days(duration))
    return {key: _figures(columns) for key, columns in columns_by_group.items()}


def _latency_medians_by_week(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict[datetime.date, list]:
    """Monday → the median days of each metric over the hand-offs closed that week."""
    rows = _latency_rows(team_ids, weeks[0], weeks[-1] + datetime.timedelta(days=6))
    if connection.vendor == "postgresql":
        inner_sql, params = rows.query.get_compiler(connection=connection).as_sql()
        medians = ", ".join(_percentile_sql(0.5, f"l.{name}") for name in LATENCY_FIELDS.values())
        sql = f"SELECT l.close_week, {medians} FROM ({inner_sql}) AS l GROUP BY 1"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        return {_as_date(week): [_days(value) for value in values] for week, *values in fetched}
    by_week: dict[datetime.date, list[list[float | None]]] = defaultdict(lambda: [[] for _ in LATENCY_METRICS])
    for _rep_id, _team_id, week, *durations in rows:
        for column, duration in zip(by_week[week], durations, strict=True):
            column.append(_days(duration))
    return {week: [percentile_cont(column, 0.5) for column in columns] for week, columns in by_week.items()}


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _latency_trend(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict:
    by_week = _latency_medians_by_week(team_ids, weeks)
    return {
        "labels": [week.isoformat() for week in weeks],
        "datasets": [
            {
                "code": metric,
                "label": label,
                "data": [_round(by_week[week][index]) if week in by_week else None for week in weeks],
            }
            for index, (metric, label) in enumerate(LATENCY_METRICS.items())
        ],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _user_names(user_ids: Iterable[int]) -> dict[int, str]:
    """id → the user's name as the pages show it (str(user)), read as three columns."""
    rows = User.objects.filter(pk__in=user_ids).order_by().values_list("pk", "first_name", "last_name", "username")
    return {pk: person_name(first, last, username) for pk, first, last, username in rows}


def _names(user_ids: set[int], team_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    users = _user_names(user_ids) if user_ids else {}
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name")) if team_ids else {}
    return users, teams


def report_refreshed_at() -> datetime.datetime | None:
    return Heartbeat.objects.filter(name=HeartbeatName.REPORT_REFRESH).values_list("last_seen_at", flat=True).first()


@dataclass
class _Breakdowns:
    """The drops of a period (and the one before) counted in total and per rep, delivery
    owner and team."""

    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    previous_totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tables: dict[str, dict[int, BreakdownRow]] = field(default_factory=lambda: {"rep": {}, "owner": {}, "team": {}})

    def count(self, dimension: str, key: int | None, code: str, current: int, before: int) -> None:
        if key is None:
            return
        row = self.tables[dimension].setdefault(key, BreakdownRow(key=key, name=""))
        if current:
            row.counts[code] = row.counts.get(code, 0) + current
        row.previous_total += before

    def finished(self, dimension: str, names: dict[int, str]) -> list[BreakdownRow]:
        rows = [row for row in self.tables[dimension].values() if row.total]
        for row in rows:
            row.name = names.get(row.key, f"#{row.key}")
        return sorted(rows, key=lambda row: (-row.total, row.name))


def _count_breakdowns(team_ids: list[int] | None, period: Period, previous: Period) -> _Breakdowns:
    counted = _Breakdowns()
    count, totals, previous_totals = counted.count, counted.totals, counted.previous_totals
    whole, odd_days = _breakdowns(team_ids, period, previous)
    for grain, code, person_id, team_id, current, before in whole:
        current, before = current or 0, before or 0
        if grain == DropRollup.Grain.TEAM:
            totals[code] += current
            previous_totals[code] += before
            count("team", team_id, code, current, before)
        elif grain == DropRollup.Grain.REP:
            count("rep", person_id, code, current, before)
        elif grain == DropRollup.Grain.OWNER:
            count("owner", person_id, code, current, before)
    for code, rep_id, owner_id, team_id, current, before in odd_days:
        current, before = current or 0, before or 0
        totals[code] += current
        previous_totals[code] += before
        count("team", team_id, code, current, before)
        count("rep", rep_id, code, current, before)
        count("owner", owner_id, code, current, before)
    return counted


@dataclass
class _Latencies:
    overall: LatencyRow
    by_rep: list[LatencyRow]
    by_team: list[LatencyRow]


def _named_latencies(latency_groups: dict, user_names: dict[int, str], team_names: dict[int, str]) -> _Latencies:
    def rounded(figures: dict) -> dict:
        return {metric: (_round(median), _round(p90), count) for metric, (median, p90, count) in figures.items()}

    overall = LatencyRow(None, "Everyone", dict.fromkeys(LATENCY_METRICS, (None, None, 0)))
    by_rep, by_team = [], []
    for (kind, key), figures in latency_groups.items():
        if kind == "all":
            overall = LatencyRow(None, "Everyone", rounded(figures))
        elif kind == "rep" and key is not None:
            by_rep.append(LatencyRow(key, user_names.get(key, f"#{key}"), rounded(figures)))
        elif kind == "team" and key is not None:
            by_team.append(LatencyRow(key, team_names.get(key, f"#{key}"), rounded(figures)))
    return _Latencies(overall, sorted(by_rep, key=lambda row: row.name), sorted(by_team, key=lambda row: row.name))


def report_summary(user: User, *, period: Period, team_id: int | None = None) -> ReportSummary:
    """Everything the report page shows, in a fixed number of queries: the drops counted
    per rep, owner and team, the latencies, the names of everyone in them, the trends."""
    return report_summary_of(report_team_ids(user, team_id=team_id), period=period)


def report_summary_of(team_ids: list[int] | None, *, period: Period) -> ReportSummary:
    """report_summary for the teams the caller has already asked followups.access for
    (report_team_ids: None is every team)."""
    previous = period.previous()
    weeks = trend_weeks(period)
    counted = _count_breakdowns(team_ids, period, previous)
    latency_groups = _latencies(team_ids, period)
    user_ids = set(counted.tables["rep"]) | set(counted.tables["owner"])
    user_ids |= {key for kind, key in latency_groups if kind == "rep"}
    team_ids_named = set(counted.tables["team"]) | {key for kind, key in latency_groups if kind == "team"}
    user_names, team_names = _names({pk for pk in user_ids if pk}, {pk for pk in team_ids_named if pk})
    latencies = _named_latencies(latency_groups, user_names, team_names)
    return ReportSummary(
        period=period,
        previous_period=previous,
        totals={code: count for code, count in counted.totals.items() if count},
        previous_totals={code: count for code, count in counted.previous_totals.items() if count},
        by_rep=counted.finished("rep", user_names),
        by_owner=counted.finished("owner", user_names),
        by_team=counted.finished("team", team_names),
        trend=drop_trend(team_ids, weeks),
        latency_overall=latencies.overall,
        latency_by_rep=latencies.by_rep,
        latency_by_team=latencies.by_team,
        latency_trend=_latency_trend(team_ids, weeks),
        refreshed_at=report_refreshed_at(),
    )


# --- the drill-down --------------------------------------------------------------------


@dataclass(frozen=True)
class DropFilters:
    """What a number of the report counted: a code (None: all), a period, and at most
    one of a rep, a delivery owner, a sales team, an account; or only open drops."""

    code: str | None = None
    period: Period | None = None
    rep_id: int | None = None
    owner_id: int | None = None
    by_team_id: int | None = None
    account_id: int | None = None
    open_only: bool = False


def drop_list(user: User, *, filters: DropFilters, team_id: int | None = None) -> QuerySet[DroppedBaton]:
    """The drops behind one number of the report, the dashboard or an account panel:
    the same rows the count counted, with what the list shows joined in."""
    drops = drops_of(report_team_ids(user, team_id=team_id), filters=filters)
    return drops.select_related("deal", "account", "rep", "delivery_owner", "team")


def drops_of(team_ids: list[int] | None, *, filters: DropFilters) -> QuerySet[DroppedBaton]:
    """drop_list for the teams the caller has already asked followups.access for
    (report_team_ids), newest first, nothing joined."""
    drops = DroppedBaton.objects.filter(drops_of_teams(team_ids))
    if filters.code:
        drops = drops.filter(code=filters.code)
    if filters.period:
        drops = drops.filter(drop_date__range=(filters.period.start, filters.period.end))
    if filters.rep_id:
        drops = drops.filter(rep_id=filters.rep_id)
    if filters.owner_id:
        drops = drops.filter(delivery_owner_id=filters.owner_id)
    if filters.by_team_id:
        drops = drops.filter(team_id=filters.by_team_id)
    if filters.account_id:
        drops = drops.filter(account_id=filters.account_id)
    if filters.open_only:
        drops = drops.filter(is_open=True)
    return drops.order_by("-drop_date", "-id")


@dataclass(frozen=True)
class DropRow:
    """One line of the drill-down: what its table shows of a drop."""

    drop_date: datetime.date
    code: str
    is_open: bool
    deal_id: int
    deal_title: str
    account_id: int
    account_name: str
    health_score: int | None
    rep_name: str
    owner_name: str | None  # None: no delivery owner
    team_name: str | None  # None: no sales team


def _person_name_columns(relation: str) -> dict[str, Subquery]:
    """The first name, last name and username of the user in column `relation`_id, as
    scalar subqueries: for a grouped query, whose groups then need no join to the users
    (dashboard_for's overdue check-ins)."""
    users = User.objects.filter(pk=OuterRef(f"{relation}_id")).order_by()  # one row: no sort
    return {f"{relation}_{name}": Subquery(users.values(name)) for name in ("first_name", "last_name", "username")}


def drop_rows(drops: QuerySet[DroppedBaton]) -> list[DropRow]:
    """The rows of `drops` (a page of drops_of) as the drill-down shows them, in two
    queries: the drops with their deal and account joined (inner joins, as select_related
    did: a drop whose deal is gone until the next refresh is not listed) and the team's
    name by a scalar subquery; then the names of the people on the page. Joined all five
    at once, PostgreSQL spent 17–35 ms *planning* the six-table join (each join a choice
    among the drops' thirteen indexes) to run it in ~1 ms; the two users alone cost 9 ms
    of planning, and as six scalar subqueries more to compile than a query of their names
    (issue 17)."""
    rows = list(
        drops.annotate(
            team_name=Subquery(Team.objects.filter(pk=OuterRef("team_id")).order_by().values("name"))
        ).values_list(
            "drop_date",
            "code",
            "is_open",
            "deal_id",
            "deal__title",
            "account_id",
            "account__name",
            "account__health_score",
            "rep_id",
            "delivery_owner_id",
            "team_name",
        )
    )
    # The page's reps and delivery owners (the 9th and 10th columns).
    names = _user_names({row[8] for row in rows} | {row[9] for row in rows if row[9] is not None})
    return [
        DropRow(
            drop_date=drop_date,
            code=code,
            is_open=is_open,
            deal_id=deal_id,
            deal_title=deal_title,
            account_id=account_id,
            account_name=account_name,
            health_score=health_score,
            rep_name=names.get(rep_id, ""),
            owner_name=names.get(owner_id),  # None: no owner (or their row gone, as the left join said)
            team_name=team_name,
        )
        for (
            drop_date,
            code,
            is_open,
            deal_id,
            deal_title,
            account_id,
            account_name,
            health_score,
            rep_id,
            owner_id,
            team_name,
        ) in rows
    ]


# --- the account's health panel --------------------------------------------------------


def account_open_drops(account: Account) -> list[dict]:
    """The account's open drops by code, worst first (one query)."""
    rows = (
        DroppedBaton.objects.filter(account=account, is_open=True).order_by().values("code").annotate(count=Count("id"))
    )
    found = [
        {"code": row["code"], "label": RULES[row["code"]].label, "count": row["count"]}
        for row in rows
        if row["code"] in RULES
    ]
    return sorted(found, key=lambda row: (-RULES[row["code"]].severity * row["count"], row["label"]))


# --- the manager dashboard -------------------------------------------------------------


@dataclass
class Dashboard:
    open_drops: list[dict]
    waiting_for_owner: list[WaitingHandoff]
    waiting_for_owner_count: int
    overdue_checkins_by_rep: list[dict]
    trend: dict
    least_healthy_accounts: list[Account]
    refreshed_at: datetime.datetime | None
    # Accounts whose customer's latest pulse says "at risk" (pulse_at_risk_accounts).
    pulse_at_risk: list[CustomerPulse] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(row["count"] for row in self.open_drops)


WAITING_LIMIT = 15


@dataclass(frozen=True)
class WaitingHandoff:
    """A hand-off waiting for an owner, as the dashboard lists it."""

    pk: int
    status: str
    closed_on: datetime.date
    decline_reason: str
    deal_title: str
    account_name: str
    rep_name: str
    declined_by_name: str | None  # None: nobody declined it


def waiting_handoffs(handoffs: QuerySet[Handoff], *, limit: int = WAITING_LIMIT) -> list[WaitingHandoff]:
    """The first `limit` of `handoffs`, oldest close first: only what the dashboard shows
    (one query, rows rather than five model instances each)."""
    rows = handoffs.order_by("closed_on", "id").values_list(
        "pk",
        "status",
        "closed_on",
        "decline_reason",
        "deal__title",
        "deal__account__name",
        *person_lookups("rep"),
        "declined_by_id",
        *person_lookups("declined_by"),
    )[:limit]
    return [
        WaitingHandoff(
            pk=pk,
            status=status,
            closed_on=closed_on,
            decline_reason=decline_reason,
            deal_title=deal_title,
            account_name=account_name,
            rep_name=person_name(rep_first, rep_last, rep_username),
            declined_by_name=None if declined_by_id is None else person_name(*declined_by),
        )
        for (
            pk,
            status,
            closed_on,
            decline_reason,
            deal_title,
            account_name,
            rep_first,
            rep_last,
            rep_username,
            declined_by_id,
            *declined_by,
        ) in rows
    ]


LEAST_HEALTHY_LIMIT = 10


def least_healthy_accounts(team_ids: list[int] | None, *, limit: int = LEAST_HEALTHY_LIMIT) -> list[Account]:
    """The accounts of the teams with the lowest baton health, worst first: their name,
    health and owner (what the dashboard and the weekly digest show)."""
    accounts = Account.objects.filter(accounts_of_teams(team_ids), health_score__lt=100).select_related("owner")
    accounts = accounts.only("name", "health_score", *person_lookups("owner"))
    return list(accounts.order_by("health_score", "name")[:limit])


def _open_rollup(team_ids: list[int] | None) -> QuerySet[DropRollup]:
    """The roll-up rows whose open counts add up to the teams' open drops: every month's
    rows (at the team grain) hold all drops, each in the month it was dropped."""
    return DropRollup.objects.filter(
        drops_of_teams(team_ids), bucket=DropRollup.Bucket.MONTH, grain=DropRollup.Grain.TEAM
    ).order_by()


def open_drop_count(team_ids: list[int] | None, *, code: str | None = None) -> int:
    """How many of the teams' drops are open (of one code, or of all), from the roll-up
    (one small query): what the dashboard's open counts link to. Counting DroppedBaton
    instead read ~700 of its pages for a team's 2,000 (issue 17)."""
    rows = _open_rollup(team_ids)
    if code:
        rows = rows.filter(code=code)
    return rows.aggregate(count=Sum("open_count"))["count"] or 0


def dashboard_for(user: User, *, today: datetime.date | None = None) -> Dashboard:
    """The manager's home page, in a fixed number of queries."""
    today = today or timezone.localdate()
    team_ids = report_team_ids(user)
    open_counts = dict(_open_rollup(team_ids).values_list("code").annotate(count=Sum("open_count")))
    open_drops = [{"code": code, "label": RULES[code].label, "count": open_counts.get(code, 0)} for code in DROP_CODES]

    handoffs = Handoff.objects.filter(status__in=WAITING_FOR_OWNER)
    checkins = CheckIn.objects.filter(checkin_late(today))
    handoffs = handoffs.filter(handoffs_of_teams(team_ids))
    checkins = checkins.filter(checkins_of_teams(team_ids))
    waiting = waiting_handoffs(handoffs)
    overdue = list(
        checkins.order_by()
        .values("rep_id")
        # COUNT(*), not COUNT(id): the index on (rep, status, due_on) then answers alone.
        # Grouped by the rep's id only, their name read once per rep afterwards (scalar
        # subqueries): grouping by the joined names hashed a user's text columns for each
        # of a team's ~3,400 overdue check-ins (6 ms; 1.5 ms now).
        .annotate(count=Count("*"), oldest_due=Min("due_on"))
        # A second annotate(): in the first, Django would group by these subqueries too.
        .annotate(**_person_name_columns("rep"))
        .order_by("-count", "rep_first_name")
    )
    for row in overdue:
        row["name"] = person_name(row["rep_first_name"], row["rep_last_name"], row["rep_username"])
        row["days_late"] = (today - row["oldest_due"]).days

    return Dashboard(
        open_drops=open_drops,
        waiting_for_owner=waiting,
        waiting_for_owner_count=handoffs.count(),
        overdue_checkins_by_rep=overdue,
        trend=drop_trend(team_ids, trend_weeks(Period(today, today))),
        least_healthy_accounts=least_healthy_accounts(team_ids),
        refreshed_at=report_refreshed_at(),
        pulse_at_risk=pulse_at_risk_accounts(team_ids),
    )


# --- the weekly digest -----------------------------------------------------------------


@dataclass
class WeeklyDigestData:
    week: Period
    new_drops: list[dict]
    new_total: int
    previous_total: int
    worst_accounts: list[Account]
    trend: list[dict]  # [{"week": date, "count": int}] oldest first


DIGEST_TREND_WEEKS = 8


def weekly_digest_data(manager: User, *, week_start: datetime.date) -> WeeklyDigestData:
    """The week's new drops (with the week before), the worst accounts and the weekly
    totals of the last weeks, for one manager's teams."""
    team_ids = report_team_ids(manager)
    week = Period(week_start, week_start + datetime.timedelta(days=6), "week")
    weeks = [week_start - datetime.timedelta(weeks=back) for back in range(DIGEST_TREND_WEEKS - 1, -1, -1)]
    counts = weekly_counts(team_ids, weeks)
    previous_week = week_start - datetime.timedelta(weeks=1)
    new_drops = [
        {
            "code": code,
            "label": RULES[code].label,
            "count": counts.get((week_start, code), 0),
            "previous": counts.get((previous_week, code), 0),
        }
        for code in DROP_CODES
    ]
    return WeeklyDigestData(
        week=week,
        new_drops=[row for row in new_drops if row["count"] or row["previous"]],
        new_total=sum(row["count"] for row in new_drops),
        previous_total=sum(row["previous"] for row in new_drops),
        worst_accounts=least_healthy_accounts(team_ids, limit=5),
        trend=[
            {"week": monday, "count": sum(counts.get((monday, code), 0) for code in DROP_CODES)} for monday in weeks
        ],
    )


def weekly_digest_context(manager: User, *, week_start: datetime.date) -> dict:
    """What the weekly digest e-mail shows: the week's new drops (with the week before),
    the worst accounts and the trend, every number linking to the report on the site."""
    data = weekly_digest_data(manager, week_start=week_start)
    week_query = urlencode({"period": "custom", "start": data.week.start, "end": data.week.end})
    largest = max([week["count"] for week in data.trend] + [1])
    return {
        "manager": manager,
        "data": data,
        "report_url": absolute_url(reverse("followups:report")) + f"?{week_query}",
        "drop_links": {
            row["code"]: absolute_url(reverse("followups:report_drilldown", args=[row["code"]])) + f"?{week_query}"
            for row in data.new_drops
        },
        "account_links": {
            account.pk: absolute_url(reverse("followups:report_drilldown", args=["all"]))
            + f"?{urlencode({'account': account.pk, 'open': 1})}"
            for account in data.worst_accounts
        },
        "trend_bars": [
            {"week": week["week"], "count": week["count"], "bar": "█" * round(20 * week["count"] / largest)}
            for week in data.trend
        ],
    }


# --- the customer pulse ----------------------------------------------------------------


def latest_pulses() -> QuerySet[CustomerPulse]:
    """Each account's latest answered pulse (a later answer elsewhere on the account
    replaces it), as it stands now."""
    later = CustomerPulse.objects.filter(
        account_id=models.OuterRef("account_id"),
        answered_at__isnull=False,
        answered_at__gt=models.OuterRef("answered_at"),
    )
    return CustomerPulse.objects.filter(answered_at__isnull=False).exclude(models.Exists(later))


PULSE_AT_RISK_LIMIT = 10
# What the dashboard shows of an at-risk pulse (the contact and the rep: their str()).
PULSE_AT_RISK_COLUMNS = (
    "account_id",
    "comment",
    "answered_at",
    "changed_at",
    "account__name",
    "contact__first_name",
    "contact__last_name",
    "checkin__handoff_id",
    *person_lookups("checkin__rep"),
)


def pulse_at_risk_accounts(team_ids: list[int] | None, *, limit: int = PULSE_AT_RISK_LIMIT) -> list[CustomerPulse]:
    """The latest pulses that say "at risk", newest first, with their account, contact and
    rep: the accounts whose customers said so (one query)."""
    pulses = latest_pulses().filter(pulses_of_teams(team_ids), answer=PulseAnswer.AT_RISK)
    return list(
        pulses.select_related("account", "contact", "checkin__rep")
        .only(*PULSE_AT_RISK_COLUMNS)
        .alias(said_at=Coalesce("changed_at", "answered_at"))
        .order_by("-said_at", "-id")[:limit]
    )


@dataclass
class PulseSummary:
    """The customers' answers given in a period: totals, and per rep (one query)."""

    totals: dict[str, int]
    by_rep: list[dict]  # {"name", "counts": {answer: n}, "total"}, most "at risk" first
    answers: list[tuple[str, str]] = field(default_factory=lambda: list(PulseAnswer.choices))

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def pulse_summary(team_ids: list[int] | None, *, period: Period) -> PulseSummary:
    """How customers answered the pulse in the period (by the day of the first answer,
    the answer as it stands now), for the report's teams (followups.access.report_team_ids)."""
    since, until = period_instants(period)
    rows = (
        CustomerPulse.objects.filter(pulses_of_teams(team_ids), answered_at__gte=since, answered_at__lt=until)
        .order_by()
        .values(
            "checkin__rep_id", "checkin__rep__first_name", "checkin__rep__last_name", "checkin__rep__username", "answer"
        )
        .annotate(count=Count("id"))
    )
    totals = dict.fromkeys(PulseAnswer.values, 0)
    reps: dict[int, dict] = {}
    for row in rows:
        totals[row["answer"]] += row["count"]
        name = f"{row['checkin__rep__first_name']} {row['checkin__rep__last_name']}".strip()
        rep = reps.setdefault(
            row["checkin__rep_id"],
            {"name": name or row["checkin__rep__username"], "counts": dict.fromkeys(PulseAnswer.values, 0), "total": 0},
        )
        rep["counts"][row["answer"]] += row["count"]
        rep["total"] += row["count"]
    by_rep = sorted(reps.values(), key=lambda rep: (-rep["counts"][PulseAnswer.AT_RISK], -rep["total"], rep["name"]))
    return PulseSummary(totals=totals, by_rep=by_rep)


# --- the close gate: waived hand-off packets -------------------------------------------


@dataclass
class PacketWaivers:
    """Won closes of the period that went through without the full hand-off packet
    (handoffs.packet), out of all won closes, in total and per rep (those with a waiver)."""

    waived: int
    closes: int
    by_rep: list[dict]  # [{"name", "waived", "closes"}], most waivers first


def packet_waivers(team_ids: list[int] | None, *, period: Period) -> PacketWaivers:
    """The waivers of the hand-off packet among the hand-offs closed in the period, for
    the report's teams (followups.access.handoffs_of_teams). One query."""
    rows = (
        Handoff.objects.filter(handoffs_of_teams(team_ids), closed_on__gte=period.start, closed_on__lte=period.end)
        .order_by()
        .values("rep_id", "rep__first_name", "rep__last_name", "rep__username")
        .annotate(closes=Count("id"), waived=Count("id", filter=Q(deal__packet_waived_at__isnull=False)))
    )
    by_rep = []
    waived = closes = 0
    for row in rows:
        waived += row["waived"]
        closes += row["closes"]
        if row["waived"]:
            name = f"{row['rep__first_name']} {row['rep__last_name']}".strip() or row["rep__username"]
            by_rep.append({"name": name, "waived": row["waived"], "closes": row["closes"]})
    by_rep.sort(key=lambda rep: (-rep["waived"], rep["name"]))
    return PacketWaivers(waived=waived, closes=closes, by_rep=by_rep)


# --- promise-keeping by rep ------------------------------------------------------------


@dataclass
class PromiseKeepingRow:
    """What became of the promises one person made (recorded) in the period."""

    name: str
    made: int
    kept: int
    broken: int
    renegotiated: int
    still_open: int
    dropped: int

    @property
    def kept_share(self) -> int | None:
        """Kept, in percent of those settled either way (kept or broken)."""
        settled = self.kept + self.broken
        return round(100 * self.kept / settled) if settled else None


def promise_keeping_by_rep(team_ids: list[int] | None, *, period: Period) -> list[PromiseKeepingRow]:
    """Of the promises made in the period (created_at) on the teams' deals, per person who
    made them — Promise.created_by, the one who recorded the commitment (the rep before the
    close; a delivery owner's own promises after the hand-off count as theirs), else the
    deal's owner for rows without one — how many were kept, broken, renegotiated (their
    first wording kept in original_description, whatever became of them since), are still
    open (open or confirmed) or were dropped. Most broken first, so a manager sees who
    over-promises. Two queries, whatever the number of promises."""
    since, until = period_instants(period)
    rows = list(
        Promise.objects.filter(promises_of_teams(team_ids), created_at__gte=since, created_at__lt=until)
        .annotate(maker_id=Coalesce("created_by_id", "deal__owner_id"))
        .order_by()
        .values("maker_id")
        .annotate(
            made=Count("id"),
            kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
            renegotiated=Count("id", filter=~Q(original_description="")),
            still_open=Count("id", filter=Q(status__in=PROMISE_PENDING_STATUSES)),
            dropped=Count("id", filter=Q(status=PromiseStatus.DROPPED)),
        )
    )
    names = _user_names([row["maker_id"] for row in rows])
    table = [
        PromiseKeepingRow(
            name=names.get(row["maker_id"], "Someone no longer here"),
            **{key: row[key] for key in ("made", "kept", "broken", "renegotiated", "still_open", "dropped")},
        )
        for row in rows
    ]
    table.sort(key=lambda row: (-row.broken, -row.renegotiated, row.name))
    return table
