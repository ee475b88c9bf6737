"""The reminder outbox: the scan that writes reminder rows, and the worker that sends them.

How it stays "never lost, never doubled":

- reminders_scan (beat, every minute) inserts one row per overdue item and level under
  the unique key (kind, item_id, level) with one INSERT … SELECT … ON CONFLICT DO NOTHING
  per rule and level: a re-run, or two scans at once, insert nothing new. Escalations
  (level 2 to the owner's manager, level 3 to an admin) are inserted the same way once
  the item is still overdue a configured number of hours after the previous level went out.
- reminders_claim takes due rows with SELECT … FOR UPDATE SKIP LOCKED and marks them
  `sending` with a lease, in one statement. Rows whose lease expired (their worker died)
  are claimed again. A digest user's rows are claimed all together, by one claimer at a
  time, so that they make one e-mail.
- reminders_deliver_due sends OUTSIDE the claim transaction, over one SMTP connection per
  batch, and marks a row `sent` only once the mail server accepted its message. Just
  before sending it re-checks that the item is still overdue (a step done a second ago
  is cancelled, not sent).
- Redis only carries "wake up" messages (reminders_wake_senders, on commit: one sender
  per due batch, up to settings.BATON_REMINDER_SENDERS, each claiming its own rows). If
  the broker is down, that is logged and the next beat tick wakes the senders instead.
- Transient SMTP failures (4xx, timeouts, dropped connections) back off exponentially;
  after settings.BATON_REMINDER_MAX_ATTEMPTS the row is `failed`, shown in the admin
  view with a retry button. Permanent failures (5xx) fail at once.
"""

from __future__ import annotations

import datetime
import json
import logging
import smtplib
import socket
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import BigIntegerField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import Role
from accounts.models import OrganisationSettings, User
from followups import emails, overdue
from followups.choices import ReminderKind, ReminderLevel, ReminderStatus
from followups.models import Heartbeat, Notification, NotificationPreference, Reminder

logger = logging.getLogger(__name__)

SCAN_HEARTBEAT = "reminder_scan"
# Backoff after a transient failure: 1 min, 2, 4, 8 … capped at an hour.
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
# Refusals of one message after which smtplib has reset the SMTP session itself.
MESSAGE_REFUSED = (smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)


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
    (kind, item_id, level, recipient_id, status, send_after, attempts, last_error, message_id, urgent, created_at)
SELECT %s, c.overdue_item, %s, c.overdue_owner, %s, {send_after}, 0, '', '', %s, %s
FROM ({rows}) AS c {join}
WHERE c.overdue_owner IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM {table} AS r WHERE r.kind = %s AND r.item_id = c.overdue_item AND r.level = %s)
ORDER BY c.overdue_item
ON CONFLICT (kind, item_id, level) DO NOTHING
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


def _insert_reminders(
    rows: QuerySet,
    *,
    kind: str,
    level: int,
    now: datetime.datetime,
    send_after: _SendAfterTable | None,
    urgent: bool = False,
) -> int:
    """INSERT … SELECT one reminder per row of `rows` (a values() queryset of
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
        table=connection.ops.quote_name(Reminder._meta.db_table), send_after=send_after_sql, rows=rows_sql, join=join
    )
    params = [
        kind,
        level,
        ReminderStatus.PENDING,
        *send_after_params,
        urgent,
        now_param,
        *rows_params,
        *join_params,
        kind,
        level,
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


def _insert_escalations(
    rule: overdue.OverdueRule,
    *,
    from_level: int,
    after_hours: int,
    now: datetime.datetime,
    send_after: _SendAfterTable,
    admin_id: int | None,
) -> int:
    """Level `from_level + 1` for items still overdue `after_hours` after `from_level` went out."""
    to_level = from_level + 1
    # Items already escalated are left out by the INSERT's NOT EXISTS.
    previous = (
        Reminder.objects.filter(
            kind=rule.kind, level=from_level, status__in=[ReminderStatus.SENT, ReminderStatus.FAILED]
        )
        .annotate(went_out_at=Coalesce("sent_at", "created_at"))
        .filter(went_out_at__lte=now - datetime.timedelta(hours=after_hours))
        .filter(item_id__in=rule.queryset.values("pk"))
        .order_by()
    )
    if to_level == ReminderLevel.MANAGER:
        # The owner's manager, unless the owner has none or is their own manager.
        rows = (
            previous.filter(recipient__team__manager_id__isnull=False)
            .exclude(recipient__team__manager_id=F("recipient_id"))
            .values(overdue_item=F("item_id"), overdue_owner=F("recipient__team__manager_id"))
        )
        return _insert_reminders(rows, kind=rule.kind, level=to_level, now=now, send_after=send_after)
    if admin_id is None:
        return 0
    # The last resort does not wait for working hours or a digest.
    rows = previous.values(overdue_item=F("item_id"), overdue_owner=Value(admin_id, output_field=BigIntegerField()))
    return _insert_reminders(rows, kind=rule.kind, level=to_level, now=now, send_after=None, urgent=True)


@transaction.atomic
def reminders_scan(*, now: datetime.datetime | None = None) -> ScanResult:
    """Insert the reminders of every newly overdue item, and the escalations that are due.

    Idempotent and safe to run concurrently (the unique key decides). Records the scan
    time for /health/ and, on commit, wakes the sender if anything is due.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    org = OrganisationSettings.load()
    send_after = _send_after_table(_send_after_by_user(now))
    result = ScanResult()
    admin_id = _first_admin_id() if org.escalate_to_admin_after_hours else None
    for rule in overdue.rules(today):
        result.inserted[rule.kind] = _insert_level1(rule, now=now, send_after=send_after)
        result.escalated += _insert_escalations(
            rule,
            from_level=ReminderLevel.OWNER,
            after_hours=org.escalate_after_hours,
            now=now,
            send_after=send_after,
            admin_id=admin_id,
        )
        if admin_id is not None:
            result.escalated += _insert_escalations(
                rule,
                from_level=ReminderLevel.MANAGER,
                after_hours=org.escalate_to_admin_after_hours,
                now=now,
                send_after=send_after,
                admin_id=admin_id,
            )
    Heartbeat.objects.update_or_create(name=SCAN_HEARTBEAT, defaults={"last_seen_at": now})
    if result.total or reminders_due_exist(now=now):
        transaction.on_commit(reminders_wake_senders)
    result.seconds = time.perf_counter() - started
    return result


def reminders_due_exist(*, now: datetime.datetime | None = None) -> bool:
    """Is there a reminder the sender should claim now (due, or with an expired lease)?"""
    now = now or timezone.now()
    return (
        Reminder.objects.filter(status=ReminderStatus.PENDING, send_after__lte=now).exists()
        or Reminder.objects.filter(status=ReminderStatus.SENDING, lease_expires_at__lte=now).exists()
    )


def reminders_wake_sender() -> bool:
    """Ask a worker to deliver due reminders. A lost or failed wake-up costs latency only:
    the next scan wakes the sender again, so a broker that is down is logged, not raised."""
    from followups.tasks import deliver_reminders

    try:
        # One quick retry re-opens a pooled connection that a Redis restart closed; a
        # broker that is really down fails fast instead of holding up the request.
        deliver_reminders.apply_async(
            retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
        )
    except Exception:  # the broker may be down in many ways (refused, DNS, timeout)
        logger.warning("Could not wake the reminder sender; the next scan will.", exc_info=True)
        return False
    return True


def reminders_wake_senders(*, now: datetime.datetime | None = None) -> int:
    """Wake as many senders as the due backlog can keep busy: one per batch due, at most
    settings.BATON_REMINDER_SENDERS. Each claims its own rows (SKIP LOCKED), so after a
    burst (a first scan, a morning's digests) several batches go out at once, on as many
    worker processes as there are. Returns how many wake-ups were sent."""
    now = now or timezone.now()
    batch_size = settings.BATON_REMINDER_BATCH_SIZE
    most = max(settings.BATON_REMINDER_SENDERS, 1)
    # Counted through the claim's partial indexes, and no further than we need.
    due = (
        Reminder.objects.filter(status=ReminderStatus.PENDING, send_after__lte=now)
        .order_by()[: batch_size * most]
        .count()
    )
    expired = (
        Reminder.objects.filter(status=ReminderStatus.SENDING, lease_expires_at__lte=now)
        .order_by()[: batch_size * most]
        .count()
    )
    wanted = min(most, max(1, -(-(due + expired) // batch_size)))
    woken = 0
    for _ in range(wanted):
        if not reminders_wake_sender():
            break
        woken += 1
    return woken


# ---------------------------------------------------------------- claim and deliver


# The claim in one statement: rows whose lease expired first (their worker died), then
# due rows in send_after order, each through the partial index that matches its
# predicate exactly (reminder_lease_idx, reminder_pending_due_idx); rows another
# worker's claim holds are skipped, not waited for. A digest user's non-urgent rows are
# left to _CLAIM_DIGESTS_SQL, which takes all of a user's at once.
_CLAIM_SQL = """
WITH expired AS (
    SELECT id FROM followups_reminder
    WHERE status = %(sending)s AND lease_expires_at <= %(now)s
    ORDER BY lease_expires_at LIMIT %(batch_size)s FOR UPDATE SKIP LOCKED
), pending AS (
    SELECT r.id FROM followups_reminder AS r
    WHERE r.status = %(pending)s AND r.send_after <= %(now)s
        AND (r.urgent OR NOT EXISTS (
            SELECT 1 FROM accounts_user AS u WHERE u.id = r.recipient_id AND u.wants_daily_digest
        ))
    ORDER BY r.send_after LIMIT (%(batch_size)s - (SELECT count(*) FROM expired)) FOR UPDATE SKIP LOCKED
)
UPDATE followups_reminder
SET status = %(sending)s, lease_expires_at = %(lease)s, attempts = attempts + 1
WHERE id = ANY(ARRAY(SELECT id FROM expired UNION ALL SELECT id FROM pending))
RETURNING id
"""

# Every due non-urgent reminder of up to `users` digest users, so that each gets one
# e-mail however many reminders are due (more than a batch, or claimed by several
# workers at once). One claimer at a time (a transaction-scoped advisory lock, released
# when this statement commits): two workers never split one user's digest.
_CLAIM_DIGESTS_SQL = """
WITH gate AS (
    SELECT pg_try_advisory_xact_lock(%(lock)s) AS held
), recipients AS (
    SELECT u.id FROM accounts_user AS u, gate
    WHERE gate.held AND u.wants_daily_digest AND EXISTS (
        SELECT 1 FROM followups_reminder AS r
        WHERE r.recipient_id = u.id AND r.status = %(pending)s AND r.send_after <= %(now)s AND NOT r.urgent
    )
    ORDER BY u.id LIMIT %(users)s
)
UPDATE followups_reminder
SET status = %(sending)s, lease_expires_at = %(lease)s, attempts = attempts + 1
WHERE recipient_id IN (SELECT id FROM recipients)
    AND status = %(pending)s AND send_after <= %(now)s AND NOT urgent
RETURNING id
"""
# An arbitrary constant naming the digest claim's advisory lock.
DIGEST_CLAIM_LOCK = 0x6261746F6E01


def reminders_claim(
    *, now: datetime.datetime | None = None, batch_size: int | None = None, lease_seconds: int | None = None
) -> tuple[list[int], datetime.datetime]:
    """Claim due reminders for this worker; returns their ids and the lease.

    Up to `batch_size` rows, plus every due reminder of the digest users whose digest
    this claim takes on. Rows locked by another worker's claim are skipped, not waited
    for. The lease's expiry time doubles as this claim's token: a row is marked sent
    only if it still holds it.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.BATON_REMINDER_BATCH_SIZE
    lease = now + datetime.timedelta(seconds=lease_seconds or settings.BATON_REMINDER_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        params = {
            "sending": ReminderStatus.SENDING,
            "pending": ReminderStatus.PENDING,
            "now": now,
            "lease": lease,
            "batch_size": batch_size,
            "lock": DIGEST_CLAIM_LOCK,
            "users": batch_size,
        }
        ids = []
        # Each statement is its own transaction, one round trip each.
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_DIGESTS_SQL, params)
            ids.extend(row[0] for row in cursor.fetchall())
            cursor.execute(_CLAIM_SQL, params)
            ids.extend(row[0] for row in cursor.fetchall())
        return sorted(ids), lease
    # SQLite serialises writers, so the same reads and updates in one transaction claim
    # as exclusively.
    with transaction.atomic():
        due_digest = Q(
            status=ReminderStatus.PENDING, send_after__lte=now, urgent=False, recipient__wants_daily_digest=True
        )
        digest_users = list(
            Reminder.objects.filter(due_digest)
            .order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[:batch_size]
        )
        digest = list(Reminder.objects.filter(due_digest, recipient_id__in=digest_users).values_list("id", flat=True))
        expired = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.SENDING, lease_expires_at__lte=now)
            .order_by("lease_expires_at")
            .values_list("id", flat=True)[:batch_size]
        )
        pending = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, send_after__lte=now)
            .exclude(urgent=False, recipient__wants_daily_digest=True)
            .order_by("send_after")
            .values_list("id", flat=True)[: batch_size - len(expired)]
        )
        ids = digest + expired + pending
        if ids:
            Reminder.objects.filter(id__in=ids).update(
                status=ReminderStatus.SENDING, lease_expires_at=lease, attempts=F("attempts") + 1
            )
    return sorted(ids), lease


@dataclass
class DeliveryResult:
    sent: int = 0
    emailed: int = 0
    cancelled: int = 0
    retried: int = 0
    failed: int = 0
    batches: int = 0

    def add(self, other: DeliveryResult) -> None:
        for name in ("sent", "emailed", "cancelled", "retried", "failed", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def reminders_deliver_due(
    *, time_budget_seconds: float = 45.0, max_batches: int | None = None, batch_size: int | None = None
) -> DeliveryResult:
    """Claim and deliver batches of due reminders until none is due or the time is up."""
    result = DeliveryResult()
    deadline = time.monotonic() + time_budget_seconds
    while time.monotonic() < deadline and (max_batches is None or result.batches < max_batches):
        ids, lease = reminders_claim(batch_size=batch_size)
        if not ids:
            break
        result.add(reminders_deliver_claimed(ids=ids, lease=lease))
        result.batches += 1
    return result


def _preference_kind(reminder: Reminder, notifications: dict[int, Notification]) -> str:
    if reminder.kind == ReminderKind.NOTIFICATION:
        notification = notifications.get(reminder.item_id)
        return notification.kind if notification else ReminderKind.NOTIFICATION
    return reminder.kind


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    # Timeouts, refused or dropped connections: the server may be back in a minute.
    return isinstance(error, socket.timeout | TimeoutError | ConnectionError | OSError | smtplib.SMTPServerDisconnected)


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the `attempts`-th failed attempt."""
    return datetime.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def _record_failure(reminders: list[Reminder], *, lease: datetime.datetime, error: BaseException) -> tuple[int, int]:
    """Back off, or give up; returns (retried, failed)."""
    now = timezone.now()
    message = f"{type(error).__name__}: {error}"[:2000]
    retried = failed = 0
    transient = _is_transient(error)
    for reminder in reminders:
        held = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING, lease_expires_at=lease)
        if transient and reminder.attempts < settings.BATON_REMINDER_MAX_ATTEMPTS:
            retried += held.update(
                status=ReminderStatus.PENDING,
                send_after=now + retry_delay(reminder.attempts),
                lease_expires_at=None,
                last_error=message,
            )
        else:
            failed += held.update(status=ReminderStatus.FAILED, lease_expires_at=None, last_error=message)
            logger.error("Reminder %s failed for good after %s attempt(s): %s", reminder.pk, reminder.attempts, message)
    return retried, failed


# Marks the rows this claim still holds sent and rings their recipients' bells, in one
# round trip (the e-mail is out: this is on every message's critical path).
_MARK_SENT_SQL = """
SET LOCAL synchronous_commit TO OFF;
WITH marked AS (
    UPDATE followups_reminder
    SET status = %(sent)s, sent_at = %(now)s, message_id = %(message_id)s, lease_expires_at = NULL, last_error = ''
    WHERE id = ANY(%(ids)s::bigint[]) AND status = %(sending)s AND lease_expires_at = %(lease)s
    RETURNING id
), bell AS (
    INSERT INTO followups_notification (user_id, kind, title, body, url, created_at)
    SELECT n.user_id, n.kind, n.title, n.body, n.url, %(now)s
    FROM unnest(
        %(n_reminders)s::bigint[], %(n_users)s::bigint[], %(n_kinds)s::text[],
        %(n_titles)s::text[], %(n_bodies)s::text[], %(n_urls)s::text[]
    ) AS n(reminder_id, user_id, kind, title, body, url)
    JOIN marked ON marked.id = n.reminder_id
)
SELECT count(*) FROM marked
"""


def _mark_sent(
    reminders: list[Reminder],
    *,
    lease: datetime.datetime,
    message_id: str,
    descriptions: dict[tuple[str, int], overdue.ItemDescription],
) -> int:
    """Mark delivered rows sent and, for reminders, put them in the recipient's bell.

    Only rows this claim still holds are marked; one re-claimed by another worker after
    our lease expired is theirs to finish, so no second notification is written.
    """
    now = timezone.now()
    bell: list[tuple[int, Notification]] = []
    for reminder in reminders:
        if reminder.kind != ReminderKind.NOTIFICATION:
            description = descriptions.get((reminder.kind, reminder.item_id))
            if description is not None:
                bell.append((reminder.pk, emails.reminder_notification(reminder, description)))
    if connection.vendor == "postgresql":
        # One round trip: outside a transaction, PostgreSQL runs the statements of one
        # query string as one transaction. synchronous_commit off: a commit per
        # accepted e-mail would otherwise wait for a WAL flush each time. If the database crashes in the next few hundred
        # milliseconds, a row may lose its `sent` mark and be sent again, recognisably,
        # with the same Message-ID: at least once, never lost, the outbox's promise.
        with connection.cursor() as cursor:
            cursor.execute(
                _MARK_SENT_SQL,
                {
                    "sent": ReminderStatus.SENT,
                    "sending": ReminderStatus.SENDING,
                    "now": now,
                    "message_id": message_id,
                    "ids": [reminder.pk for reminder in reminders],
                    "lease": lease,
                    "n_reminders": [reminder_id for reminder_id, _ in bell],
                    "n_users": [notification.user_id for _, notification in bell],
                    "n_kinds": [notification.kind for _, notification in bell],
                    "n_titles": [notification.title for _, notification in bell],
                    "n_bodies": [notification.body for _, notification in bell],
                    "n_urls": [notification.url for _, notification in bell],
                },
            )
            return cursor.fetchone()[0]
    with transaction.atomic():
        return _mark_sent_orm(reminders, bell, now=now, lease=lease, message_id=message_id)


def _mark_sent_orm(
    reminders: list[Reminder],
    bell: list[tuple[int, Notification]],
    *,
    now: datetime.datetime,
    lease: datetime.datetime,
    message_id: str,
) -> int:
    marked_ids = set()
    for reminder in reminders:
        if Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING, lease_expires_at=lease).update(
            status=ReminderStatus.SENT, sent_at=now, message_id=message_id, lease_expires_at=None, last_error=""
        ):
            marked_ids.add(reminder.pk)
    notifications = [notification for reminder_id, notification in bell if reminder_id in marked_ids]
    if notifications:
        Notification.objects.bulk_create(notifications)
    return len(marked_ids)


def reminders_deliver_claimed(*, ids: Iterable[int], lease: datetime.datetime) -> DeliveryResult:
    """Deliver reminders this worker claimed (outside any transaction: SMTP is slow)."""
    result = DeliveryResult()
    reminders = list(
        Reminder.objects.filter(id__in=list(ids), status=ReminderStatus.SENDING, lease_expires_at=lease)
        .select_related("recipient")
        .order_by("id")
    )
    if not reminders:
        return result

    # An item resolved since the scan (a step done a second ago) is cancelled, not sent.
    by_kind: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_kind[reminder.kind].append(reminder)
    live: list[Reminder] = []
    stale_ids: list[int] = []
    descriptions: dict[tuple[str, int], overdue.ItemDescription] = {}
    for kind, group in by_kind.items():
        still = overdue.still_overdue_ids(kind, [r.item_id for r in group])
        for reminder in group:
            if reminder.item_id in still:
                live.append(reminder)
            else:
                stale_ids.append(reminder.pk)
        if kind != ReminderKind.NOTIFICATION:
            for item_id, description in overdue.describe_items(kind, still).items():
                descriptions[(kind, item_id)] = description
    if stale_ids:
        result.cancelled += Reminder.objects.filter(
            id__in=stale_ids, status=ReminderStatus.SENDING, lease_expires_at=lease
        ).update(status=ReminderStatus.CANCELLED, lease_expires_at=None, last_error="The item was no longer overdue.")

    notifications = Notification.objects.in_bulk([r.item_id for r in live if r.kind == ReminderKind.NOTIFICATION])
    email_off = set(
        NotificationPreference.objects.filter(user_id__in={r.recipient_id for r in live}, email=False).values_list(
            "user_id", "kind"
        )
    )

    in_app_only: list[Reminder] = []
    singles: list[Reminder] = []
    digests: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in live:
        wants_email = bool(reminder.recipient.email) and (
            (reminder.recipient_id, _preference_kind(reminder, notifications)) not in email_off
        )
        if reminder.kind == ReminderKind.NOTIFICATION and reminder.item_id not in notifications:
            wants_email = False
        if reminder.kind != ReminderKind.NOTIFICATION and (reminder.kind, reminder.item_id) not in descriptions:
            wants_email = False
        if not wants_email:
            in_app_only.append(reminder)
        elif reminder.recipient.wants_daily_digest and not reminder.urgent:
            digests[reminder.recipient_id].append(reminder)
        else:
            singles.append(reminder)

    if in_app_only:
        result.sent += _mark_sent(in_app_only, lease=lease, message_id="", descriptions=descriptions)

    outgoing: list[tuple[list[Reminder], object, str]] = []
    for reminder in singles:
        message_id = reminder.deterministic_message_id
        if reminder.kind == ReminderKind.NOTIFICATION:
            message = emails.notification_email(reminder, notifications[reminder.item_id], message_id=message_id)
        else:
            message = emails.reminder_email(
                reminder, descriptions[(reminder.kind, reminder.item_id)], message_id=message_id
            )
        outgoing.append(([reminder], message, message_id))
    for group in digests.values():
        message_id = f"<digest-{group[0].pk}.{len(group)}@baton>"
        message = emails.digest_email(
            group[0].recipient, group, descriptions=descriptions, notifications=notifications, message_id=message_id
        )
        outgoing.append((group, message, message_id))

    if outgoing:
        # One connection for the whole batch; each message is sent, and marked, on its own,
        # so one refused message fails alone and an accepted one is marked at once.
        mail = get_connection(fail_silently=False)
        try:
            for group, message, message_id in outgoing:
                try:
                    mail.open()
                    message.connection = mail
                    mail.send_messages([message])
                except MESSAGE_REFUSED as error:
                    # The server refused this message and smtplib reset the session (RSET):
                    # the connection goes on with the next one.
                    retried, failed = _record_failure(group, lease=lease, error=error)
                    result.retried += retried
                    result.failed += failed
                    continue
                except Exception as error:
                    # Whatever happened, the connection's state is unknown: start afresh.
                    _close_quietly(mail)
                    retried, failed = _record_failure(group, lease=lease, error=error)
                    result.retried += retried
                    result.failed += failed
                    continue
                marked = _mark_sent(group, lease=lease, message_id=message_id, descriptions=descriptions)
                result.sent += marked
                result.emailed += 1
        finally:
            _close_quietly(mail)
    return result


def _close_quietly(mail) -> None:
    try:
        mail.close()
    except Exception:  # closing a broken connection may raise; it is being discarded anyway
        logger.debug("Closing the mail connection failed.", exc_info=True)


# ---------------------------------------------------------------- admin and signals


@transaction.atomic
def reminder_retry(*, reminder_id: int, actor: User) -> Reminder:
    """Put a failed reminder back in the outbox, due now (admins only)."""
    if not actor.is_admin_role:
        raise PermissionDenied("Only an admin may retry reminders.")
    reminder = Reminder.objects.select_for_update().filter(pk=reminder_id).first()
    if reminder is None:
        raise ValidationError("This reminder does not exist.")
    if reminder.status != ReminderStatus.FAILED:
        raise ValidationError("Only a failed reminder can be retried.")
    reminder.status = ReminderStatus.PENDING
    reminder.attempts = 0
    reminder.send_after = timezone.now()
    reminder.lease_expires_at = None
    reminder.full_clean()
    # The outbox row is its own record (status, attempts, last error); reminders have no
    # account to put a timeline event on.
    reminder.save(update_fields=["status", "attempts", "send_after", "lease_expires_at"])
    logger.info("Reminder %s retried by %s", reminder.pk, actor.pk)
    transaction.on_commit(reminders_wake_sender)
    return reminder


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
    kind = item_kind
    if item_id in overdue.still_overdue_ids(kind, [item_id]):
        return 0
    return Reminder.objects.filter(kind=kind, item_id=item_id, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error="The item was resolved."
    )


def reminder_enqueue_notification(*, notification: Notification, now: datetime.datetime | None = None) -> Reminder:
    """Queue the e-mail copy of an in-app notification in the outbox (in the caller's
    transaction); the worker applies the user's per-kind preference when it sends."""
    now = now or timezone.now()
    reminder = Reminder(
        kind=ReminderKind.NOTIFICATION,
        item_id=notification.pk,
        level=ReminderLevel.OWNER,
        recipient=notification.user,
        send_after=send_after_for(notification.user, now=now),
    )
    reminder.full_clean()
    reminder.save()
    transaction.on_commit(reminders_wake_sender)
    return reminder
