"""The dropped-baton report's precomputed data: the DroppedBaton and HandoffLatency
snapshots, the DropRollup counts and each account's baton health, all rebuilt in
set-based SQL that Django compiles for the database at hand (PostgreSQL in production,
SQLite in the demo).

Why a snapshot: with 100k deals, 60k hand-offs and 1M check-ins, running the eleven
rules over all history takes seconds (the ghosted rule alone aggregates every check-in
per hand-off), far over the report's budget of a few tens of milliseconds. The worker
runs report_refresh every few minutes (beat), and anyone may run it on demand; the
pages then add up the small DropRollup table (and list DroppedBaton rows).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import Case, Count, ExpressionWrapper, F, Max, Min, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Account, User
from followups.builders import KIND_WEEK
from followups.choices import CheckInStatus, HeartbeatName, MessagePurpose, PulseAnswer
from followups.models import CheckIn, CustomerPulse, DroppedBaton, DropRollup, HandoffLatency, Heartbeat
from followups.rules import DROP_COLUMNS, RULES, RuleContext, three_way_meetings
from followups.services.outbox import outbox_enqueue
from followups.services.webhooks import webhooks_announce_new_drops
from handoffs.models import Handoff


@dataclass(frozen=True)
class RefreshResult:
    drops: int
    latencies: int
    accounts_changed: int
    rollup_rows: int = 0


def _compiled(queryset: models.QuerySet) -> tuple[str, list]:
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def _insert_select(table: str, columns: list[str], queryset: models.QuerySet, *, aliases: list[str]) -> int:
    """INSERT INTO table (columns) the rows of a queryset, its `aliases` in that order."""
    sql, params = _compiled(queryset)
    selected = ", ".join(f"r.{alias}" for alias in aliases)
    with connection.cursor() as cursor:
        # Only model table and column names are interpolated; values are parameters.
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {selected} FROM ({sql}) AS r", params)  # noqa: S608
        return cursor.rowcount


def _rules_sql(context: RuleContext) -> tuple[str, list]:
    """All rules' drops as one UNION ALL, columns in DROP_COLUMNS order."""
    parts, params = [], []
    for rule in RULES.values():
        sql, rule_params = _compiled(rule.drops(context))
        columns = ", ".join(f"r.drop_{column}" if column != "drop_date" else "r.drop_date" for column in DROP_COLUMNS)
        parts.append(f"SELECT {columns} FROM ({sql}) AS r")  # noqa: S608 — SQL compiled by Django, values are params
        params.extend(rule_params)
    return " UNION ALL ".join(parts), params


def _refresh_drops(context: RuleContext) -> int:
    table = DroppedBaton._meta.db_table
    select_sql, params = _rules_sql(context)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — table name from the model, values are params
        cursor.execute(f"INSERT INTO {table} ({', '.join(DROP_COLUMNS)}) {select_sql}", params)
        return cursor.rowcount


ROLLUP_BUCKETS = {DropRollup.Bucket.WEEK: TruncWeek, DropRollup.Bucket.MONTH: TruncMonth}
ROLLUP_GRAINS = {
    DropRollup.Grain.TEAM: None,
    DropRollup.Grain.REP: "rep_id",
    DropRollup.Grain.OWNER: "delivery_owner_id",
}


def _refresh_rollup() -> int:
    """Count the fresh DroppedBaton rows into DropRollup: per week and per month, at each
    grain (one INSERT … SELECT … GROUP BY each)."""
    table = DropRollup._meta.db_table
    columns = ["bucket", "starts_on", "grain", "code", "team_id", "owner_team_id", "person_id", "count", "open_count"]
    aliases = [f"rollup_{column}" for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — table name from the model
    inserted = 0
    for bucket, truncate in ROLLUP_BUCKETS.items():
        for grain, person in ROLLUP_GRAINS.items():
            drops = DroppedBaton.objects.order_by()
            if person:
                drops = drops.filter(**{f"{person}__isnull": False})
            rows = drops.values(
                rollup_bucket=Value(bucket.value, output_field=models.CharField()),
                rollup_starts_on=truncate("drop_date", output_field=models.DateField()),
                rollup_grain=Value(grain.value, output_field=models.CharField()),
                rollup_code=F("code"),
                rollup_team_id=F("team_id"),
                rollup_owner_team_id=F("owner_team_id"),
                rollup_person_id=F(person) if person else Cast(Value(None), models.BigIntegerField()),
            ).annotate(rollup_count=Count("id"), rollup_open_count=Count("id", filter=Q(is_open=True)))
            # Written in the order a manager reads them (their team's weeks side by side).
            rows = rows.order_by("rollup_team_id", "rollup_owner_team_id", "rollup_starts_on")
            inserted += _insert_select(table, columns, rows, aliases=aliases)
    return inserted


def _utc_offsets(first: datetime.date, last: datetime.date) -> Case | Value:
    """The site's UTC offset at the start of each day from `first` to `last`, as an
    expression of a row's closed_on: a constant, or one When per change of offset
    (daylight saving time) in those days."""
    zone = timezone.get_current_timezone()

    def offset_on(day: datetime.date) -> datetime.timedelta:
        return datetime.datetime.combine(day, datetime.time(), tzinfo=zone).utcoffset() or datetime.timedelta()

    whens = []
    current = offset_on(first)
    day = first + datetime.timedelta(days=1)
    while day <= last:
        offset = offset_on(day)
        if offset != current:
            whens.append(When(closed_on__lt=day, then=Value(current)))
            current = offset
        day += datetime.timedelta(days=1)
    if not whens:
        return Value(current, output_field=models.DurationField())
    return Case(*whens, default=Value(current), output_field=models.DurationField())


def _refresh_latencies() -> int:
    """Each hand-off's time from the start of its close date (in the site's time zone)
    to the owner's acceptance, the three-way meeting and the first check-in done."""
    table = HandoffLatency._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 — table name from the model
    span = Handoff.objects.aggregate(first=Min("closed_on"), last=Max("closed_on"))
    if span["first"] is None:
        return 0
    # Midnight UTC of the close date (the connection's time zone is UTC), moved to the
    # site's midnight by the offset of that day.
    close_start = ExpressionWrapper(
        Cast("closed_on", models.DateTimeField()) - _utc_offsets(span["first"], span["last"]),
        output_field=models.DateTimeField(),
    )
    first_meeting = Subquery(
        three_way_meetings()
        .filter(handoff=OuterRef("pk"))
        .order_by()
        .values("handoff")
        .annotate(first=Min(Coalesce("held_at", "starts_at")))
        .values("first")
    )
    first_checkin = Subquery(
        CheckIn.objects.filter(handoff=OuterRef("pk"), status=CheckInStatus.DONE)
        .order_by()
        .values("handoff")
        .annotate(first=Min("done_at"))
        .values("first")
    )

    def since_close(milestone) -> ExpressionWrapper:
        return ExpressionWrapper(milestone - F("latency_close_start"), output_field=models.DurationField())

    rows = (
        Handoff.objects.order_by()
        .alias(latency_close_start=close_start)
        .values(
            latency_handoff_id=F("pk"),
            latency_closed_on=F("closed_on"),
            latency_rep_id=F("rep_id"),
            latency_team_id=F("team_id"),
            latency_accept=since_close(F("accepted_at")),
            latency_meeting=since_close(first_meeting),
            latency_checkin=since_close(first_checkin),
        )
    )
    columns = [
        "handoff_id",
        "closed_on",
        "rep_id",
        "team_id",
        "time_to_accept",
        "time_to_meeting",
        "time_to_first_checkin",
    ]
    aliases = [
        "latency_handoff_id",
        "latency_closed_on",
        "latency_rep_id",
        "latency_team_id",
        "latency_accept",
        "latency_meeting",
        "latency_checkin",
    ]
    return _insert_select(table, columns, rows, aliases=aliases)


# What the customer's own latest pulse answer takes off an account's health, on top of
# any open drop (an "at risk" left without follow-up is also the pulse_at_risk drop).
PULSE_HEALTH_PENALTY = {PulseAnswer.AT_RISK: 15, PulseAnswer.SOME_CONCERNS: 5}


def _latest_pulse_penalty() -> Subquery:
    """The penalty of the account's latest answered pulse (its answer as it stands now)."""
    penalty = Case(
        *(When(answer=answer, then=Value(points)) for answer, points in PULSE_HEALTH_PENALTY.items()),
        default=Value(0),
        output_field=models.IntegerField(),
    )
    return Subquery(
        CustomerPulse.objects.filter(account_id=OuterRef("pk"), answered_at__isnull=False)
        .order_by("-answered_at", "-id")
        .annotate(penalty=penalty)
        .values("penalty")[:1],
        output_field=models.IntegerField(),
    )


def _refresh_health() -> int:
    """Account.health_score = 100 minus the severity of each open drop and the weight of
    the customer's latest pulse answer (PULSE_HEALTH_PENALTY), floored at 0.

    One UPDATE over all accounts, writing only the rows whose score changes; it leaves
    the account's version and updated_at alone, since no person edited the account.
    """
    severity = Case(
        *(When(code=rule.code, then=Value(rule.severity)) for rule in RULES.values()),
        default=Value(0),
        output_field=models.IntegerField(),
    )
    penalty = Subquery(
        DroppedBaton.objects.filter(account_id=OuterRef("pk"), is_open=True)
        .order_by()
        .values("account_id")
        .annotate(penalty=Sum(severity))
        .values("penalty"),
        output_field=models.IntegerField(),
    )
    score = Greatest(
        Value(0),
        Value(100) - Coalesce(penalty, Value(0)) - Coalesce(_latest_pulse_penalty(), Value(0)),
        output_field=models.IntegerField(),
    )
    return Account.objects.alias(new_score=score).exclude(health_score=F("new_score")).update(health_score=score)


@transaction.atomic
def report_refresh(*, context: RuleContext | None = None) -> RefreshResult:
    """Rebuild the DroppedBaton, DropRollup and HandoffLatency snapshots and every
    account's health, in one transaction.

    Readers keep seeing the previous snapshot until this commits. On PostgreSQL the
    EXCLUSIVE lock (which still lets readers read) makes two overlapping refreshes —
    beat and an on-demand one — run one after the other instead of both inserting their
    rows; SQLite's write transaction (IMMEDIATE, see the settings) already does.
    """
    context = context or RuleContext.now()
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {DroppedBaton._meta.db_table} IN EXCLUSIVE MODE")
    with webhooks_announce_new_drops():  # baton.dropped for the drops this refresh finds first
        drops = _refresh_drops(context)
    rollup_rows = _refresh_rollup()
    latencies = _refresh_latencies()
    accounts_changed = _refresh_health()
    if postgresql:
        tables = ", ".join(model._meta.db_table for model in (DroppedBaton, DropRollup, HandoffLatency))
        with connection.cursor() as cursor:
            # Fresh statistics: the planner must know the new spread of codes and dates, or a
            # drill-down page sorts a whole period instead of reading 50 index entries.
            cursor.execute(f"ANALYZE {tables}")
    Heartbeat.objects.update_or_create(name=HeartbeatName.REPORT_REFRESH, defaults={"last_seen_at": timezone.now()})
    return RefreshResult(drops=drops, latencies=latencies, accounts_changed=accounts_changed, rollup_rows=rollup_rows)


# --- the weekly digest ---------------------------------------------------------------


def weekly_digest_recipients() -> list[User]:
    """The managers who get a digest: active, with an e-mail address."""
    return list(User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email=""))


@transaction.atomic
def weekly_digests_enqueue(*, week_start: datetime.date) -> int:
    """Queue every manager's digest of the week starting `week_start` in the outbox: one
    message per manager and week (the outbox's key), however often this runs."""
    return outbox_enqueue(
        purpose=MessagePurpose.WEEKLY_DIGEST,
        kind=KIND_WEEK,
        item_id=week_start.toordinal(),
        recipients=weekly_digest_recipients(),
    )


def last_week_start(today: datetime.date | None = None) -> datetime.date:
    """The Monday of the last full week (Monday to Sunday) before today."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=today.weekday() + 7)
