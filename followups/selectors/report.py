"""Reads of the dropped-baton report, the manager dashboard and the weekly digest.

Everything here aggregates in SQL over the DroppedBaton and HandoffLatency snapshots
(see followups.services.report) with a fixed number of queries: one for totals and all
three tables of the current and the previous period (GROUPING SETS), one for the weekly
trend, two for the latency figures, one each for the names of people and teams.
Permissions are decided here: a manager sees their team (by the deal's sales team or
the delivery owner's team), an admin everything, anyone else nothing.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Account, Team, User
from followups.choices import CheckInStatus
from followups.models import CheckIn, DroppedBaton, HandoffLatency, Heartbeat
from followups.rules import DROP_CODES, RULES
from followups.services.report import REFRESH_HEARTBEAT
from handoffs.choices import HandoffStatus
from handoffs.models import Handoff

TREND_WEEKS = 12
LATENCY_METRICS = {
    "days_to_accept": "Close → owner accepted",
    "days_to_meeting": "Close → meeting held",
    "days_to_first_checkin": "Close → first check-in done",
}
WAITING_FOR_OWNER = [HandoffStatus.AWAITING_OWNER, HandoffStatus.DECLINED]


# --- scope -----------------------------------------------------------------------------


def report_allowed_teams(user: User) -> QuerySet[Team]:
    """The teams whose report the user may read: an admin all, a manager the teams they
    manage (else their own team). Anyone else may read no report (PermissionDenied)."""
    if user.is_admin_role:
        return Team.objects.all()
    if not user.is_manager:
        raise PermissionDenied("Only managers and admins see the dropped-baton report.")
    managed = Team.objects.filter(manager=user)
    if managed.exists():
        return managed
    return Team.objects.filter(pk=user.team_id)


def report_team_ids(user: User, *, team_id: int | None = None) -> list[int] | None:
    """The team ids a report covers (None: every team, for an admin with no filter).

    A team the user may not see is a 404, whether it exists or not, so that nobody can
    probe other teams' ids."""
    allowed = report_allowed_teams(user)
    if team_id is not None:
        if not allowed.filter(pk=team_id).exists():
            raise Http404("No such team in your report.")
        return [team_id]
    if user.is_admin_role:
        return None
    return list(allowed.values_list("pk", flat=True))


def _drop_scope(team_ids: list[int] | None) -> Q:
    if team_ids is None:
        return Q()
    return Q(team_id__in=team_ids) | Q(owner_team_id__in=team_ids)


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


def _compiled(queryset: QuerySet) -> tuple[str, list]:
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _breakdowns(team_ids: list[int] | None, period: Period, previous: Period) -> list[tuple]:
    """(code, rep, owner, team, grouping, current count, previous count) in one query."""
    inner_sql, params = _compiled(
        DroppedBaton.objects.filter(_drop_scope(team_ids), drop_date__range=(previous.start, period.end))
        .order_by()
        .values("code", "rep_id", "delivery_owner_id", "team_id", "drop_date")
    )
    sql = f"""
        SELECT code, rep_id, delivery_owner_id, team_id, GROUPING(rep_id, delivery_owner_id, team_id),
               COUNT(*) FILTER (WHERE drop_date >= %s), COUNT(*) FILTER (WHERE drop_date < %s)
        FROM ({inner_sql}) AS d
        GROUP BY GROUPING SETS ((code), (code, rep_id), (code, delivery_owner_id), (code, team_id))
    """  # noqa: S608 — SQL compiled by Django, values are params
    return _fetch(sql, [period.start, period.start, *params])


def _weekly_counts(team_ids: list[int] | None, weeks: list[datetime.date], extra: Q | None = None) -> dict:
    inner_sql, params = _compiled(
        DroppedBaton.objects.filter(
            _drop_scope(team_ids), extra or Q(), drop_date__range=(weeks[0], weeks[-1] + datetime.timedelta(days=6))
        )
        .order_by()
        .values("code", "drop_date")
    )
    sql = f"""
        SELECT date_trunc('week', drop_date)::date AS week, code, COUNT(*)
        FROM ({inner_sql}) AS d GROUP BY 1, 2
    """  # noqa: S608 — SQL compiled by Django, values are params
    counts: dict[tuple[datetime.date, str], int] = {}
    for week, code, count in _fetch(sql, params):
        counts[(week, code)] = count
    return counts


def drop_trend(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict:
    """Weekly new drops per code, zero-filled, shaped for Chart.js."""
    counts = _weekly_counts(team_ids, weeks)
    return {
        "labels": [week.isoformat() for week in weeks],
        "datasets": [
            {"code": code, "label": RULES[code].label, "data": [counts.get((week, code), 0) for week in weeks]}
            for code in DROP_CODES
        ],
    }


def _latency_scope(team_ids: list[int] | None) -> Q:
    return Q() if team_ids is None else Q(team_id__in=team_ids)


def _latencies(team_ids: list[int] | None, period: Period) -> list[tuple]:
    inner_sql, params = _compiled(
        HandoffLatency.objects.filter(_latency_scope(team_ids), closed_on__range=(period.start, period.end))
        .order_by()
        .values("rep_id", "team_id", *LATENCY_METRICS)
    )
    figures = ", ".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {metric}), "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {metric}), COUNT({metric})"
        for metric in LATENCY_METRICS
    )
    sql = f"""
        SELECT rep_id, team_id, GROUPING(rep_id, team_id), {figures}
        FROM ({inner_sql}) AS l GROUP BY GROUPING SETS ((), (rep_id), (team_id))
    """  # noqa: S608 — SQL compiled by Django, values are params
    return _fetch(sql, params)


def _latency_trend(team_ids: list[int] | None, weeks: list[datetime.date]) -> dict:
    inner_sql, params = _compiled(
        HandoffLatency.objects.filter(
            _latency_scope(team_ids), closed_on__range=(weeks[0], weeks[-1] + datetime.timedelta(days=6))
        )
        .order_by()
        .values("closed_on", *LATENCY_METRICS)
    )
    medians = ", ".join(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {metric})" for metric in LATENCY_METRICS)
    sql = f"""
        SELECT date_trunc('week', closed_on)::date, {medians} FROM ({inner_sql}) AS l GROUP BY 1
    """  # noqa: S608 — SQL compiled by Django, values are params
    by_week = {row[0]: row[1:] for row in _fetch(sql, params)}
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


def _names(user_ids: set[int], team_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    users = {user.pk: str(user) for user in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name")) if team_ids else {}
    return users, teams


def report_refreshed_at() -> datetime.datetime | None:
    return Heartbeat.objects.filter(name=REFRESH_HEARTBEAT).values_list("last_seen_at", flat=True).first()


def report_summary(user: User, *, period: Period, team_id: int | None = None) -> ReportSummary:
    """Everything the report page shows, in a fixed number of queries."""
    team_ids = report_team_ids(user, team_id=team_id)
    previous = period.previous()
    weeks = trend_weeks(period)

    totals: dict[str, int] = defaultdict(int)
    previous_totals: dict[str, int] = defaultdict(int)
    tables: dict[str, dict[int, BreakdownRow]] = {"rep": {}, "owner": {}, "team": {}}
    # GROUPING(rep, owner, team) is a bitmask of the columns *not* grouped by.
    dimension_by_grouping = {0b011: "rep", 0b101: "owner", 0b110: "team"}
    for code, rep_id, owner_id, row_team_id, grouping, current, before in _breakdowns(team_ids, period, previous):
        if grouping == 0b111:
            totals[code] += current
            previous_totals[code] += before
            continue
        dimension = dimension_by_grouping[grouping]
        key = {"rep": rep_id, "owner": owner_id, "team": row_team_id}[dimension]
        if key is None:
            continue
        row = tables[dimension].setdefault(key, BreakdownRow(key=key, name=""))
        if current:
            row.counts[code] = row.counts.get(code, 0) + current
        row.previous_total += before

    latency_rows = _latencies(team_ids, period)
    user_ids = set(tables["rep"]) | set(tables["owner"]) | {row[0] for row in latency_rows if row[2] == 0b01}
    names_of_team_ids = set(tables["team"]) | {row[1] for row in latency_rows if row[2] == 0b10}
    user_names, team_names = _names({pk for pk in user_ids if pk}, {pk for pk in names_of_team_ids if pk})

    def finished(dimension: str, names: dict[int, str]) -> list[BreakdownRow]:
        rows = [row for row in tables[dimension].values() if row.total]
        for row in rows:
            row.name = names.get(row.key, f"#{row.key}")
        return sorted(rows, key=lambda row: (-row.total, row.name))

    latency_overall = LatencyRow(None, "Everyone", dict.fromkeys(LATENCY_METRICS, (None, None, 0)))
    latency_by_rep, latency_by_team = [], []
    for row in latency_rows:
        rep_id, row_team_id, grouping, *values = row
        figures = {
            metric: (_round(values[index * 3]), _round(values[index * 3 + 1]), values[index * 3 + 2])
            for index, metric in enumerate(LATENCY_METRICS)
        }
        if grouping == 0b11:
            latency_overall = LatencyRow(None, "Everyone", figures)
        elif grouping == 0b01 and rep_id is not None:
            latency_by_rep.append(LatencyRow(rep_id, user_names.get(rep_id, f"#{rep_id}"), figures))
        elif grouping == 0b10 and row_team_id is not None:
            latency_by_team.append(LatencyRow(row_team_id, team_names.get(row_team_id, f"#{row_team_id}"), figures))

    return ReportSummary(
        period=period,
        previous_period=previous,
        totals=dict(totals),
        previous_totals=dict(previous_totals),
        by_rep=finished("rep", user_names),
        by_owner=finished("owner", user_names),
        by_team=finished("team", team_names),
        trend=drop_trend(team_ids, weeks),
        latency_overall=latency_overall,
        latency_by_rep=sorted(latency_by_rep, key=lambda row: row.name),
        latency_by_team=sorted(latency_by_team, key=lambda row: row.name),
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
    team_ids = report_team_ids(user, team_id=team_id)
    drops = DroppedBaton.objects.filter(_drop_scope(team_ids))
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
    return drops.select_related("deal", "account", "rep", "delivery_owner", "team").order_by("-drop_date", "-id")


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
    waiting_for_owner: list[Handoff]
    waiting_for_owner_count: int
    overdue_checkins_by_rep: list[dict]
    trend: dict
    least_healthy_accounts: list[Account]
    refreshed_at: datetime.datetime | None

    @property
    def open_total(self) -> int:
        return sum(row["count"] for row in self.open_drops)


WAITING_LIMIT = 15
LEAST_HEALTHY_LIMIT = 10


def least_healthy_accounts(team_ids: list[int] | None, *, limit: int = LEAST_HEALTHY_LIMIT) -> list[Account]:
    accounts = Account.objects.filter(health_score__lt=100).select_related("owner")
    if team_ids is not None:
        accounts = accounts.filter(Q(team_id__in=team_ids) | Q(owner__team_id__in=team_ids))
    return list(accounts.order_by("health_score", "name")[:limit])


def dashboard_for(user: User, *, today: datetime.date | None = None) -> Dashboard:
    """The manager's home page, in a fixed number of queries."""
    today = today or timezone.localdate()
    team_ids = report_team_ids(user)
    open_counts = dict(
        DroppedBaton.objects.filter(_drop_scope(team_ids), is_open=True)
        .order_by()
        .values_list("code")
        .annotate(count=Count("id"))
    )
    open_drops = [{"code": code, "label": RULES[code].label, "count": open_counts.get(code, 0)} for code in DROP_CODES]

    handoffs = Handoff.objects.filter(status__in=WAITING_FOR_OWNER)
    checkins = CheckIn.objects.filter(status=CheckInStatus.SCHEDULED, due_on__lt=today)
    if team_ids is not None:
        handoffs = handoffs.filter(
            Q(team_id__in=team_ids) | Q(proposed_owner__team_id__in=team_ids) | Q(declined_by__team_id__in=team_ids)
        )
        checkins = checkins.filter(Q(rep__team_id__in=team_ids) | Q(handoff__team_id__in=team_ids))
    waiting = list(
        handoffs.select_related("deal__account", "rep", "proposed_owner", "declined_by").order_by("closed_on", "id")[
            :WAITING_LIMIT
        ]
    )
    overdue = list(
        checkins.order_by()
        .values("rep_id", "rep__first_name", "rep__last_name", "rep__username")
        .annotate(count=Count("id"), oldest_due=Min("due_on"))
        .order_by("-count", "rep__first_name")
    )
    for row in overdue:
        row["name"] = f"{row['rep__first_name']} {row['rep__last_name']}".strip() or row["rep__username"]
        row["days_late"] = (today - row["oldest_due"]).days

    return Dashboard(
        open_drops=open_drops,
        waiting_for_owner=waiting,
        waiting_for_owner_count=handoffs.count(),
        overdue_checkins_by_rep=overdue,
        trend=drop_trend(team_ids, trend_weeks(Period(today, today))),
        least_healthy_accounts=least_healthy_accounts(team_ids),
        refreshed_at=report_refreshed_at(),
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
    counts = _weekly_counts(team_ids, weeks)
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
