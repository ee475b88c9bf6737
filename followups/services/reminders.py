"""Reminders and escalations: when an overdue item's owner is told, and who is told next.

- reminders_scan (beat, every minute) writes one outbox message per overdue item and
  level (purpose "reminder" for the owner, "escalation" for level 2, their manager, and
  level 3, an admin) with one INSERT … SELECT … ON CONFLICT DO NOTHING per rule and
  level: a re-run, or two scans at once, insert nothing new. An escalation is written
  once the previous level went out and its escalate_at passed with the item still
  overdue.
- Most scans read only what changed. Every overdue rule compares a date with the
  organisation's date, so an item becomes overdue either when that date moves on or
  when a row its rule reads is saved (the lateness `*_changes`). The first scan of each
  organisation day — or after the settings or the rules changed, or when the clock went
  back — is *full*: it reads every overdue item, finds those the new date made overdue,
  and catches anything an incremental scan missed. The scans in between read only the
  items changed since a little before the previous scan (ReminderScanMark), and only
  the escalations whose escalate_at has passed: a scan with nothing new reads a few
  empty index ranges.
- When a reminder may go out depends on its recipient: their working hours in their
  own time zone, their daily digest, the organisation's working days (send_after_for).
- Sending is the outbox's (followups.services.outbox): claimed, leased, re-checked just
  before it goes (a step done a second ago is cancelled, not sent), marked once accepted.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import BigIntegerField, CharField, Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from accounts.choices import Role
from accounts.models import OrganisationSettings, User
from followups import overdue
from followups.builders import KIND_NOTIFICATION, REMINDER_PURPOSES
from followups.choices import (
    HeartbeatName,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    ReminderKind,
    ReminderLevel,
)
from followups.models import Heartbeat, Notification, OutboxMessage, ReminderScanMark
from followups.services.outbox import outbox_enqueue, outbox_wake_senders
from followups.services.webhooks import webhooks_checkins_found_overdue

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- working hours


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))


def working_weekdays() -> frozenset[int]:
    """settings.BATON_WORKING_DAYS as date.weekday() numbers (Monday 0)."""
    names = [name.strip().lower()[:3] for name in settings.BATON_WORKING_DAYS]
    unknown = [name for name in names if name not in WEEKDAY_NAMES]
    if unknown or not names:
        raise ImproperlyConfigured(
            f"BATON_WORKING_DAYS={settings.BATON_WORKING_DAYS!r}: name days as mon,tue,wed,thu,fri,sat,sun."
        )
    return frozenset(WEEKDAY_NAMES.index(name) for name in names)


def _next_working_day(day: datetime.date, working_days: frozenset[int]) -> datetime.date:
    while day.weekday() not in working_days:
        day += datetime.timedelta(days=1)
    return day


def next_working_time(
    *,
    now: datetime.datetime,
    tz_name: str,
    start_hour: int,
    end_hour: int,
    working_days: frozenset[int] = EVERY_DAY,
) -> datetime.datetime:
    """The first instant at or after `now` inside the working hours [start, end) local time,
    on a working day.

    Built from the local calendar date and hour, then converted back to UTC by zoneinfo,
    so that a DST change moves the UTC instant, never the local 9 o'clock.
    """
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    working_today = local.weekday() in working_days
    if working_today and start_hour <= local.hour < end_hour:
        return now
    day = local.date() if working_today and local.hour < start_hour else local.date() + datetime.timedelta(days=1)
    day = _next_working_day(day, working_days)
    return datetime.datetime.combine(day, datetime.time(start_hour), tzinfo=tz).astimezone(datetime.UTC)


def next_digest_time(
    *, now: datetime.datetime, tz_name: str, start_hour: int, working_days: frozenset[int] = EVERY_DAY
) -> datetime.datetime:
    """When a digest user's next daily e-mail goes out: the next start of their working day."""
    tz = _zone(tz_name)
    local = now.astimezone(tz)
    day = local.date() if local.hour < start_hour else local.date() + datetime.timedelta(days=1)
    day = _next_working_day(day, working_days)
    return datetime.datetime.combine(day, datetime.time(start_hour), tzinfo=tz).astimezone(datetime.UTC)


def _zone(tz_name: str):
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def send_after_for(user: User, *, now: datetime.datetime, urgent: bool = False) -> datetime.datetime:
    """When a reminder to `user` may go out: at once if urgent, else in their working hours
    (and, for digest users, with their next daily digest)."""
    if urgent:
        return now
    return _send_after(user, now=now, working_days=working_weekdays())


def _send_after(user: User, *, now: datetime.datetime, working_days: frozenset[int]) -> datetime.datetime:
    if user.wants_daily_digest:
        return next_digest_time(
            now=now, tz_name=user.timezone, start_hour=user.working_hours_start, working_days=working_days
        )
    return next_working_time(
        now=now,
        tz_name=user.timezone,
        start_hour=user.working_hours_start,
        end_hour=user.working_hours_end,
        working_days=working_days,
    )


def _send_after_by_user(now: datetime.datetime) -> dict[int, datetime.datetime]:
    """send_after of a non-urgent reminder for every active user (a few thousand at most)."""
    working_days = working_weekdays()
    result = {}
    for user in User.objects.filter(is_active=True).only(
        "id", "timezone", "working_hours_start", "working_hours_end", "wants_daily_digest"
    ):
        result[user.pk] = _send_after(user, now=now, working_days=working_days)
    return result


# ---------------------------------------------------------------- the scan


@dataclass
class ScanResult:
    inserted: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    seconds: float = 0.0
    # Every overdue item read (the first scan of a day), or only the changed ones.
    full: bool = True

    @property
    def total(self) -> int:
        return sum(self.inserted.values()) + self.escalated


# One set-based statement per rule and level: the database reads the overdue items (through
# the partial index that matches the rule's filter), leaves out those already reminded at
# this level, looks up each recipient's next sending time in a small derived table
# w(user_id, send_after), and inserts. Nothing travels to Python and back.
#
# ORDER BY makes the statement read everything it needs before it writes its first row.
# Without it, on an outbox the planner believes small (a first scan, after a bulk import),
# the NOT EXISTS becomes a nested loop that rescans the outbox for every candidate while
# the INSERT grows it: quadratic, 2 s instead of 0.1 s for 20k check-ins. The sort also
# feeds the unique index in key order. ON CONFLICT stays the guarantee against duplicates
# (two scans at once); NOT EXISTS only saves an index probe and an id per old item.
# `WHERE … ON CONFLICT` (not `FROM … ON CONFLICT`) is how SQLite parses an upsert of a SELECT.
_INSERT_SQL = """
INSERT INTO {table}
    (purpose, channel, kind, item_id, version, recipient_id, recipient_key, status, send_after, first_due_at,
     attempts, last_error, message_id, subject, urgent, created_at)
SELECT %s, %s, %s, c.overdue_item, %s, c.overdue_owner, %s || c.overdue_owner, %s, {send_after}, {send_after},
     0, '', '', '', %s, %s
FROM ({rows}) AS c {join}
WHERE c.overdue_owner IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM {table} AS r
        WHERE r.kind = %s AND r.item_id = c.overdue_item AND r.version = %s AND r.purpose = %s
    )
ORDER BY c.overdue_item
ON CONFLICT (purpose, kind, item_id, version, recipient_key) DO NOTHING
"""


def _pg_array(values: Iterable[object]) -> str:
    # An array literal passed as one text parameter: adapts and plans in microseconds,
    # where a list parameter becomes an ARRAY[...] expression of one literal per value.
    return "{" + ",".join(str(value) for value in values) + "}"


@dataclass(frozen=True)
class _SendAfterTable:
    """Every active user's next sending time as a derived table w(user_id, send_after)."""

    sql: str
    params: list


def _send_after_table(send_after: dict[int, datetime.datetime]) -> _SendAfterTable:
    if connection.vendor == "postgresql":
        return _SendAfterTable(
            "unnest(%s::bigint[], %s::timestamptz[]) AS w(user_id, send_after)",
            [_pg_array(send_after), _pg_array(f'"{moment.isoformat()}"' for moment in send_after.values())],
        )
    # SQLite (the bare-machine demo): a JSON object {user id: send_after as stored}.
    stored = {str(user_id): connection.ops.adapt_datetimefield_value(moment) for user_id, moment in send_after.items()}
    return _SendAfterTable(
        "(SELECT CAST(key AS INTEGER) AS user_id, value AS send_after FROM json_each(%s)) AS w",
        [json.dumps(stored)],
    )


def _purpose_of(level: int) -> str:
    return MessagePurpose.REMINDER if level == ReminderLevel.OWNER else MessagePurpose.ESCALATION


def _insert_reminders(
    rows: QuerySet,
    *,
    kind: str,
    level: int,
    now: datetime.datetime,
    send_after: _SendAfterTable | None,
    urgent: bool = False,
) -> int:
    """INSERT … SELECT one outbox message per row of `rows` (a values() queryset of
    overdue_item and overdue_owner, the recipient); returns how many were new.

    With `send_after` the reminder waits for the recipient's working hours (or digest);
    without, it is due at once."""
    rows_sql, rows_params = rows.query.sql_with_params()
    now_param = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    if send_after is None:
        join, join_params, send_after_sql, send_after_params = "", [], "%s", [now_param]
    else:
        join = f"LEFT JOIN {send_after.sql} ON w.user_id = c.overdue_owner"
        join_params = send_after.params
        send_after_sql, send_after_params = "COALESCE(w.send_after, %s)", [now_param]
    sql = _INSERT_SQL.format(
        table=connection.ops.quote_name(OutboxMessage._meta.db_table),
        send_after=send_after_sql,
        rows=rows_sql,
        join=join,
    )
    purpose = _purpose_of(level)
    params = [
        purpose,
        MessageChannel.EMAIL,
        kind,
        level,
        "user:",
        MessageStatus.PENDING,
        *send_after_params,
        *send_after_params,
        urgent,
        now_param,
        *rows_params,
        *join_params,
        kind,
        level,
        purpose,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _insert_level1(rule: overdue.OverdueRule, *, now: datetime.datetime, send_after: _SendAfterTable) -> int:
    return _insert_reminders(
        rule.candidates(), kind=rule.kind, level=ReminderLevel.OWNER, now=now, send_after=send_after
    )


def _first_admin_id() -> int | None:
    return (
        User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )


def _escalation_eligible(now: datetime.datetime) -> QuerySet:
    # Reminders and escalations that went out (or failed for good) and whose escalate_at
    # has passed: read from the small partial index outbox_escalate_idx.
    return OutboxMessage.objects.filter(
        purpose__in=REMINDER_PURPOSES,
        status__in=[MessageStatus.SENT, MessageStatus.FAILED],
        escalate_at__lte=now,
    ).order_by()


def _escalations_due(now: datetime.datetime) -> set[tuple[str, int]]:
    """(kind, level) of every level with a message eligible for escalation: one probe for
    every rule and level, usually answering nothing."""
    return set(_escalation_eligible(now).values_list("kind", "version").distinct())


def _insert_escalations(
    rule: overdue.OverdueRule,
    *,
    from_level: int,
    now: datetime.datetime,
    send_after: _SendAfterTable,
    admin_id: int | None,
) -> int:
    """Level `from_level + 1` for the items still overdue whose level `from_level` became
    eligible for escalation (its escalate_at, written when it went out, has passed).

    Each eligible row is looked at once: its escalate_at is cleared after this, whether it
    escalated or its item is no longer overdue, so that a scan with nothing new reads an
    empty index range instead of every item ever reminded."""
    to_level = from_level + 1
    eligible = _escalation_eligible(now).filter(purpose=_purpose_of(from_level), kind=rule.kind, version=from_level)
    previous = eligible.filter(item_id__in=rule.queryset.values("pk"))
    inserted = 0
    if to_level == ReminderLevel.MANAGER:
        # The owner's manager, unless the owner has none, is their own manager, or the
        # manager was deactivated (issue 15: nobody inactive is reminded).
        rows = (
            previous.filter(recipient__team__manager_id__isnull=False, recipient__team__manager__is_active=True)
            .exclude(recipient__team__manager_id=F("recipient_id"))
            .values(overdue_item=F("item_id"), overdue_owner=F("recipient__team__manager_id"))
        )
        inserted = _insert_reminders(rows, kind=rule.kind, level=to_level, now=now, send_after=send_after)
    elif admin_id is not None:
        # The last resort does not wait for working hours or a digest.
        rows = previous.values(overdue_item=F("item_id"), overdue_owner=Value(admin_id, output_field=BigIntegerField()))
        inserted = _insert_reminders(rows, kind=rule.kind, level=to_level, now=now, send_after=None, urgent=True)
    eligible.update(escalate_at=None)
    return inserted


# How far before the previous scan an incremental one looks for changes. A save is stamped
# when it is made but seen by the scan only once its transaction commits, and the clocks
# of two machines differ a little: a change stamped up to this long before the previous
# scan, and committed after it, is still found. One held open longer across a scan waits
# for the next full scan (the next organisation day).
CHANGE_LOOKBACK = datetime.timedelta(minutes=5)


def _settings_digest(org: OrganisationSettings) -> str:
    # Any change of the settings (the thresholds are among them) makes the next scan full.
    values = {field.attname: getattr(org, field.attname) for field in org._meta.concrete_fields}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


# Stands for `since` while the incremental read is compiled (see _ScanPlan).
_SINCE_PLACEHOLDER = datetime.datetime(1970, 1, 1, 0, 0, 0, 424242, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class _ScanPlan:
    """The rules of one organisation day under one version of the settings, and what an
    incremental scan reads for them, compiled once.

    The read is one statement for every rule: of the items a row of which changed after
    `since` (each part through an index on updated_at), those overdue, with an owner and
    not yet reminded. Building it with the ORM (a part per rule and table) takes longer
    than the database takes to answer it, and between two full scans only `since`
    changes: the statement is built once with a placeholder, and each scan puts its
    `since` in the placeholder's places."""

    key: str
    rules: list[overdue.OverdueRule]
    changed_sql: str
    changed_params: tuple
    since_positions: tuple[int, ...]

    def changed_overdue_items(self, since: datetime.datetime) -> dict[str, list[int]]:
        params = list(self.changed_params)
        for position in self.since_positions:
            params[position] = since if params[position] == _SINCE_PLACEHOLDER else _adapted(since)
        found: dict[str, list[int]] = {}
        with connection.cursor() as cursor:
            cursor.execute(self.changed_sql, params)
            for kind, item_id in cursor.fetchall():
                found.setdefault(kind, []).append(item_id)
        return found


def _adapted(moment: datetime.datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _changed_overdue_query(rules: list[overdue.OverdueRule], *, since: datetime.datetime) -> QuerySet:
    """(kind, item id) of the items changed after `since` that are overdue, with an owner
    and not yet reminded (see _ScanPlan)."""
    parts = []
    for rule in rules:
        reminded = OutboxMessage.objects.filter(
            purpose=MessagePurpose.REMINDER, kind=rule.kind, version=ReminderLevel.OWNER, item_id=OuterRef("pk")
        )
        for changed in rule.changed_since(since):
            parts.append(
                rule.candidates(changed.exclude(Exists(reminded))).values_list(
                    Value(rule.kind, output_field=CharField()), "overdue_item"
                )
            )
    return parts[0].union(*parts[1:], all=True)


_plans: dict[tuple[str, str], _ScanPlan] = {}


def _scan_plan(today: datetime.date, org: OrganisationSettings) -> _ScanPlan:
    """The plan of `today` under `org`'s settings, built once per process and day (and
    settings version)."""
    digest = _settings_digest(org)
    cache_key = (connection.vendor, f"{today.isoformat()} {digest}")
    plan = _plans.get(cache_key)
    if plan is None:
        rules = overdue.rules(today, org=org)
        sql, params = _changed_overdue_query(rules, since=_SINCE_PLACEHOLDER).query.sql_with_params()
        placeholders = (_SINCE_PLACEHOLDER, _adapted(_SINCE_PLACEHOLDER))
        since_positions = tuple(index for index, value in enumerate(params) if value in placeholders)
        if len(since_positions) != sum(len(rule.changes(_SINCE_PLACEHOLDER)) for rule in rules):
            # Still correct (a place left with the placeholder reads more, never less), but slow.
            logger.warning("The reminder scan's incremental read did not find `since` in every part.")
        plan = _ScanPlan(
            key=f"{today.isoformat()} {digest} {','.join(rule.kind for rule in rules)}",
            rules=rules,
            changed_sql=sql,
            changed_params=tuple(params),
            since_positions=since_positions,
        )
        if len(_plans) > 8:  # a day or two, a settings change or two
            _plans.clear()
        _plans[cache_key] = plan
    return plan


def _scan_mark() -> ReminderScanMark | None:
    return ReminderScanMark.objects.filter(pk=1).first()


def _record_scan_mark(mark: ReminderScanMark | None, *, now: datetime.datetime, full: bool, key: str) -> None:
    if mark is None:
        # The first scan ever (or two at once: update_or_create settles which writes it).
        ReminderScanMark.objects.update_or_create(
            pk=1, defaults={"scanned_at": now, "full_scan_at": now, "full_scan_key": key}
        )
    elif full:
        ReminderScanMark.objects.filter(pk=1).update(scanned_at=now, full_scan_at=now, full_scan_key=key)
    else:
        ReminderScanMark.objects.filter(pk=1).update(scanned_at=now)


def _insert_level1_changed(
    plan: _ScanPlan,
    *,
    since: datetime.datetime,
    now: datetime.datetime,
    send_after: Callable[[], _SendAfterTable],
) -> dict[str, int]:
    """Level 1 for the items changed since `since` that are overdue: the same INSERT as a
    full scan's (which re-checks the rule, and ON CONFLICT), restricted to those items."""
    inserted = dict.fromkeys((rule.kind for rule in plan.rules), 0)
    found = plan.changed_overdue_items(since)
    for rule in plan.rules:
        if found.get(rule.kind):
            rows = rule.candidates().filter(pk__in=found[rule.kind])
            inserted[rule.kind] = _insert_reminders(
                rows, kind=rule.kind, level=ReminderLevel.OWNER, now=now, send_after=send_after()
            )
    return inserted


@transaction.atomic
def reminders_scan(*, now: datetime.datetime | None = None) -> ScanResult:
    """Insert the reminders of every newly overdue item, and the escalations that are due.

    Full on the first scan of an organisation day (or after the settings changed),
    otherwise only over the items changed since the previous scan (see the module
    docstring). Idempotent and safe to run concurrently (the outbox's unique key
    decides). Records the scan time for /health/ and, on commit, wakes the senders if
    anything is due.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    org = OrganisationSettings.load()
    plan = _scan_plan(today, org)
    rules = plan.rules
    mark = _scan_mark()
    # The clock going back (a corrected clock, a test) would hide changes: read everything.
    full = mark is None or mark.full_scan_key != plan.key or now < mark.scanned_at
    # Every active user's next sending time, computed only if something is to be inserted.
    send_after = functools.cache(lambda: _send_after_table(_send_after_by_user(now)))
    result = ScanResult(full=full)
    if full:
        for rule in rules:
            result.inserted[rule.kind] = _insert_level1(rule, now=now, send_after=send_after())
    else:
        result.inserted = _insert_level1_changed(
            plan, since=mark.scanned_at - CHANGE_LOOKBACK, now=now, send_after=send_after
        )
    due = _escalations_due(now)
    if due:
        admin_id = _first_admin_id() if org.escalate_to_admin_after_hours else None
        for rule in rules:
            for from_level in (ReminderLevel.OWNER, ReminderLevel.MANAGER):
                if (rule.kind, from_level) in due:
                    result.escalated += _insert_escalations(
                        rule, from_level=from_level, now=now, send_after=send_after(), admin_id=admin_id
                    )
    webhooks_checkins_found_overdue(since=now)  # checkin.overdue for the check-ins first reminded just now
    _record_scan_mark(mark, now=now, full=full, key=plan.key)
    if not Heartbeat.objects.filter(name=HeartbeatName.REMINDER_SCAN).update(last_seen_at=now):
        Heartbeat.objects.update_or_create(name=HeartbeatName.REMINDER_SCAN, defaults={"last_seen_at": now})
    transaction.on_commit(outbox_wake_senders)
    result.seconds = time.perf_counter() - started
    return result


@transaction.atomic
def reminders_cancel_for_item(*, item_kind: str, item_id: int) -> int:
    """Cancel the pending reminders of an item that stopped being overdue; returns how many.

    `item_kind` is a ReminderKind value (handoffs.signals.ITEM_KINDS are a subset).
    Re-checks the rule first, so a signal sent for an item that is in fact still overdue
    cancels nothing.
    """
    if item_kind not in ReminderKind.values or item_kind == ReminderKind.NOTIFICATION:
        logger.warning("overdue_item_resolved with an unknown item kind %r", item_kind)
        return 0
    if item_id in overdue.still_overdue_ids(item_kind, [item_id]):
        return 0
    return OutboxMessage.objects.filter(
        purpose__in=REMINDER_PURPOSES, kind=item_kind, item_id=item_id, status=MessageStatus.PENDING
    ).update(status=MessageStatus.CANCELLED, last_error="The item was resolved.")


def reminder_enqueue_notification(*, notification: Notification, now: datetime.datetime | None = None) -> int:
    """Queue the e-mail copy of an in-app notification in the outbox (in the caller's
    transaction); the worker applies the user's per-kind preference when it sends."""
    now = now or timezone.now()
    return outbox_enqueue(
        purpose=MessagePurpose.NOTIFICATION,
        kind=KIND_NOTIFICATION,
        item_id=notification.pk,
        recipients=[notification.user],
        send_after=lambda user: send_after_for(user, now=now),
        now=now,
    )
