"""The dropped-baton report's precomputed data: the DroppedBaton and HandoffLatency
snapshots and each account's baton health, all rebuilt in set-based SQL.

Why a snapshot: with 100k deals, 60k hand-offs and 1M check-ins, running the eleven
rules over all history takes seconds (the ghosted rule alone aggregates every check-in
per hand-off), far over the report's budget of a few tens of milliseconds. The worker
runs report_refresh every few minutes (beat), and anyone may run it on demand; the
pages then aggregate one indexed table.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from followups.models import DroppedBaton, HandoffLatency, Heartbeat, WeeklyDigest
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
    with connection.cursor() as cursor:
        # Fresh statistics: the planner must know the new spread of codes and dates, or a
        # drill-down page sorts a whole period instead of reading 50 index entries.
        cursor.execute(f"ANALYZE {DroppedBaton._meta.db_table}, {HandoffLatency._meta.db_table}")
    Heartbeat.objects.update_or_create(name=REFRESH_HEARTBEAT, defaults={"last_seen_at": timezone.now()})
    return RefreshResult(drops=drops, latencies=latencies, accounts_changed=accounts_changed)


# --- the weekly digest -------------------------------------------------------------------

# A claim older than this whose e-mail never went out (its worker died) may be taken over.
DIGEST_CLAIM_STALE_AFTER = datetime.timedelta(minutes=30)


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def weekly_digest_email(manager: User, *, week_start: datetime.date) -> EmailMultiAlternatives:
    """The week's new drops (with the week before), the worst accounts and the trend,
    every number linking to the report on the site."""
    # Imported here: the report's selectors import this module (for REFRESH_HEARTBEAT).
    from followups.selectors.report import weekly_digest_data

    data = weekly_digest_data(manager, week_start=week_start)
    week_query = urlencode({"period": "custom", "start": data.week.start, "end": data.week.end})
    largest = max([week["count"] for week in data.trend] + [1])
    context = {
        "manager": manager,
        "data": data,
        "report_url": _absolute(reverse("followups:report")) + f"?{week_query}",
        "drop_links": {
            row["code"]: _absolute(reverse("followups:report_drilldown", args=[row["code"]])) + f"?{week_query}"
            for row in data.new_drops
        },
        "account_links": {
            account.pk: _absolute(reverse("followups:report_drilldown", args=["all"]))
            + f"?{urlencode({'account': account.pk, 'open': 1})}"
            for account in data.worst_accounts
        },
        "trend_bars": [
            {"week": week["week"], "count": week["count"], "bar": "█" * round(20 * week["count"] / largest)}
            for week in data.trend
        ],
        "site_url": settings.SITE_URL,
    }
    subject = " ".join(render_to_string("emails/weekly-digest-subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/weekly-digest-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[manager.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("emails/weekly-digest-body.html", context), "text/html")
    return message


def _digest_claim(manager: User, week_start: datetime.date) -> WeeklyDigest | None:
    """Take this manager's digest of this week for sending, or None if another run has
    (or already sent it). The unique (manager, week) row is the claim."""
    try:
        with transaction.atomic():
            return WeeklyDigest.objects.create(manager=manager, week_start=week_start)
    except IntegrityError:
        pass
    stale = timezone.now() - DIGEST_CLAIM_STALE_AFTER
    taken_over = WeeklyDigest.objects.filter(
        manager=manager, week_start=week_start, sent_at__isnull=True, created_at__lt=stale
    ).update(created_at=timezone.now())
    if taken_over != 1:
        return None
    return WeeklyDigest.objects.get(manager=manager, week_start=week_start)


def weekly_digest_send(*, manager: User, week_start: datetime.date) -> bool:
    """E-mail the manager their digest of the week starting `week_start`, once.

    Returns False when it was sent (or is being sent) already, or the manager has no
    address. A failed send gives the claim back, so that the task's retry sends it.
    """
    if not manager.email or not manager.is_active:
        return False
    claim = _digest_claim(manager, week_start)
    if claim is None:
        return False
    try:
        weekly_digest_email(manager, week_start=week_start).send()
    except Exception:
        WeeklyDigest.objects.filter(pk=claim.pk, sent_at__isnull=True).delete()
        raise
    WeeklyDigest.objects.filter(pk=claim.pk).update(sent_at=timezone.now())
    return True


def weekly_digest_recipients() -> list[int]:
    """The managers who get a digest: active, with an e-mail address."""
    return list(User.objects.filter(role=Role.MANAGER, is_active=True).exclude(email="").values_list("pk", flat=True))


def last_week_start(today: datetime.date | None = None) -> datetime.date:
    """The Monday of the last full week (Monday to Sunday) before today."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=today.weekday() + 7)
