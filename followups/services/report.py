"""The dropped-baton report's precomputed data: the DroppedBaton and HandoffLatency
snapshots and each account's baton health, all rebuilt in set-based SQL.

Why a snapshot: with 100k deals, 60k hand-offs and 1M check-ins, running the eleven
rules over all history takes seconds (the ghosted rule alone aggregates every check-in
per hand-off), far over the report's budget of a few tens of milliseconds. The worker
runs report_refresh every few minutes (beat), and anyone may run it on demand; the
pages then aggregate one indexed table.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from followups.models import DroppedBaton, HandoffLatency, Heartbeat
from followups.rules import DROP_COLUMNS, RULES, RuleContext, three_way_meetings

REFRESH_HEARTBEAT = "report_refresh"


@dataclass(frozen=True)
class RefreshResult:
    drops: int
    latencies: int
    accounts_changed: int


def _rules_sql(context: RuleContext) -> tuple[str, list]:
    """All rules' drops as one UNION ALL, columns in DROP_COLUMNS order."""
    parts, params = [], []
    for rule in RULES.values():
        sql, rule_params = rule.drops(context).query.get_compiler(connection=connection).as_sql()
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


def _refresh_latencies(context: RuleContext) -> int:
    table = HandoffLatency._meta.db_table
    meeting_sql, meeting_params = (
        three_way_meetings()
        .order_by()
        .values("handoff_id")
        .annotate(first_held=Min(Coalesce("held_at", "starts_at")))
        .query.get_compiler(connection=connection)
        .as_sql()
    )
    # Days from the start of the close date (in the site's time zone) to each milestone.
    sql = f"""
        INSERT INTO {table} (handoff_id, closed_on, rep_id, team_id, days_to_accept, days_to_meeting,
                             days_to_first_checkin)
        SELECT h.id, h.closed_on, h.rep_id, h.team_id,
               EXTRACT(EPOCH FROM (h.accepted_at - (h.closed_on::timestamp AT TIME ZONE %s))) / 86400.0,
               EXTRACT(EPOCH FROM (m.first_held - (h.closed_on::timestamp AT TIME ZONE %s))) / 86400.0,
               EXTRACT(EPOCH FROM (c.first_done - (h.closed_on::timestamp AT TIME ZONE %s))) / 86400.0
        FROM handoffs_handoff h
        LEFT JOIN ({meeting_sql}) m ON m.handoff_id = h.id
        LEFT JOIN (
            SELECT handoff_id, MIN(done_at) AS first_done FROM followups_checkin
            WHERE status = 'done' GROUP BY handoff_id
        ) c ON c.handoff_id = h.id
    """  # noqa: S608 — only model table names are interpolated
    zone = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute(sql, [zone, zone, zone, *meeting_params])
        return cursor.rowcount


def _refresh_health() -> int:
    """Account.health_score = 100 minus the severity of each open drop, floored at 0.

    One UPDATE over all accounts, writing only the rows whose score changes; it leaves
    the account's version and updated_at alone, since no person edited the account.
    """
    weights = ", ".join(["(%s, %s)"] * len(RULES))
    weight_params: list = []
    for rule in RULES.values():
        weight_params.extend([rule.code, rule.severity])
    sql = f"""
        UPDATE accounts_account AS a SET health_score = s.score
        FROM (
            SELECT a2.id, GREATEST(0, 100 - COALESCE(SUM(w.weight), 0))::smallint AS score
            FROM accounts_account a2
            LEFT JOIN {DroppedBaton._meta.db_table} d ON d.account_id = a2.id AND d.is_open
            LEFT JOIN (VALUES {weights}) AS w(code, weight) ON w.code = d.code
            GROUP BY a2.id
        ) AS s
        WHERE a.id = s.id AND a.health_score IS DISTINCT FROM s.score
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, weight_params)
        return cursor.rowcount


@transaction.atomic
def report_refresh(*, context: RuleContext | None = None) -> RefreshResult:
    """Rebuild the DroppedBaton and HandoffLatency snapshots and every account's health.

    Readers keep seeing the previous snapshot until this commits (MVCC). The EXCLUSIVE
    lock (which still lets readers read) makes two overlapping refreshes — beat and an
    on-demand one — run one after the other instead of both inserting their rows.
    """
    context = context or RuleContext.now()
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {DroppedBaton._meta.db_table} IN EXCLUSIVE MODE")
    drops = _refresh_drops(context)
    latencies = _refresh_latencies(context)
    accounts_changed = _refresh_health()
    Heartbeat.objects.update_or_create(name=REFRESH_HEARTBEAT, defaults={"last_seen_at": timezone.now()})
    return RefreshResult(drops=drops, latencies=latencies, accounts_changed=accounts_changed)
