"""The outbox: every message Baton sends, written as a row, claimed and sent by a worker.

How it keeps "never lost, never doubled":

- **Written with the change.** outbox_enqueue inserts one row per recipient in the
  caller's transaction, under the unique key (purpose, kind, item, version,
  recipient): a change that rolls back sends nothing, a retried request writes nothing
  new. The reminder scan inserts its rows set-based, under the same key
  (followups.services.reminders).
- **Claimed, not found.** outbox_claim takes due rows with SELECT … FOR UPDATE SKIP
  LOCKED and marks them `sending` with a lease and a token, in one statement. A row
  whose lease ran out (its worker died) is claimed again.
- **A short lease, kept alive.** While a batch is being sent a keeper thread renews its
  lease every third of it; a worker that dies stops renewing, and its rows return in
  seconds. Before each message the sender confirms (and extends) that the lease is
  still its own, and stops the batch if not: a batch that outlived its lease is never
  sent by two workers.
- **Marked as soon as accepted.** Each message is marked sent the moment the server
  accepted it (by token, so only the claim that holds the row marks it). If the
  database connection drops then, the mark is retried on a new connection for up to a
  minute — a message is never sent again because its mark failed.
- **Failures are per message, or per server.** A 5xx for one recipient fails that row
  alone; a 4xx backs that row off. When the server itself is the problem (connection
  refused, authentication, TLS, a dropped connection, a timeout, 421) the whole batch
  backs off and nothing is marked failed for it until the configured attempts are
  spent. A retry is woken when its backoff ends.
- Redis only carries "wake up" messages: beat pumps the outbox every few seconds, so a
  lost wake-up costs seconds, never a message.

What each message says is decided when it is sent, by followups.builders.

**Webhooks** (channel webhook) are rows of the same outbox, claimed in the same batches:
the sender POSTs each with `requests` (a keep-alive session per endpoint and batch,
short connect/read timeouts, BATON_WEBHOOK_TIMEOUT), signed (followups.webhooks), and
records the answer's status and the start of its body. 2xx: sent. A timeout, a refused
connection, 429 or 502–504 say the endpoint itself is down: that endpoint's remaining
rows in the batch back off together, without a wait each. 408 and other 5xx back that
row off; any other answer (4xx, a redirect) fails it. The batch's endpoints are served
side by side, each in a lane of its own (a thread with its own database connection,
alongside the batch's e-mails), so a slow endpoint delays only its own deliveries; one that
answers, but slowly, gets a share of the batch's time (twice a full timeout), and the rest
of its rows wait a few seconds behind what is due, not counted as attempts. The lease is
confirmed before each POST as before each e-mail, in the same statement as the previous
row's sent mark (one round trip a delivery).
"""

from __future__ import annotations

import datetime
import functools
import logging
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import requests
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Contact, User
from followups import builders, emails, webhooks
from followups.choices import MessageChannel, MessagePurpose, MessageStatus
from followups.models import Notification, OutboxMessage

logger = logging.getLogger(__name__)

# Backoff after a transient failure: 1 min, 2, 4, 8 … capped at an hour.
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600
# How long a mark that failed on a dropped database connection is retried.
MARK_RETRY_SECONDS = 60.0


# ---------------------------------------------------------------- writing


def recipient_key_for(person: User | Contact) -> str:
    return f"contact:{person.pk}" if isinstance(person, Contact) else f"user:{person.pk}"


def outbox_enqueue(
    *,
    purpose: str,
    kind: str,
    item_id: int,
    recipients: Iterable[User | Contact],
    version: int = 0,
    send_after: Callable[[User], datetime.datetime] | None = None,
    urgent: bool = False,
    supersedes: Iterable[str] = (),
    now: datetime.datetime | None = None,
) -> int:
    """Queue one message per recipient, in the caller's transaction; returns how many rows
    were offered (a row already there for the same key is left as it is).

    `send_after(user)` delays a user's message (working hours, digest); contacts and
    everyone else get it at once. `supersedes` names purposes whose pending messages
    about an older version of the same item are cancelled (a meeting moved twice before
    its first invite went out needs only the newest).
    """
    if purpose not in MessagePurpose.values:
        raise ValueError(f"Unknown message purpose {purpose!r}.")
    now = now or timezone.now()
    rows = []
    for person in recipients:
        is_contact = isinstance(person, Contact)
        if is_contact and (person.erased_at is not None or not person.email):
            # An erased contact (followups.services.personal_data) is never written to again;
            # one without an address cannot be.
            continue
        due = send_after(person) if (send_after is not None and not is_contact) else now
        rows.append(
            OutboxMessage(
                purpose=purpose,
                kind=kind,
                item_id=item_id,
                version=version,
                recipient=None if is_contact else person,
                contact=person if is_contact else None,
                recipient_key=recipient_key_for(person),
                send_after=due,
                first_due_at=due,
                urgent=urgent,
            )
        )
    supersedes = list(supersedes)
    if supersedes:
        OutboxMessage.objects.filter(
            purpose__in=supersedes, kind=kind, item_id=item_id, version__lt=version, status=MessageStatus.PENDING
        ).update(status=MessageStatus.CANCELLED, last_error=f"Superseded by version {version}.")
    if rows:
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(outbox_wake_senders)
    return len(rows)


# ---------------------------------------------------------------- waking the senders


def outbox_due_exist(*, now: datetime.datetime | None = None) -> bool:
    """Is there a message a sender should claim now (due, or with an expired lease)?"""
    now = now or timezone.now()
    return (
        OutboxMessage.objects.filter(status=MessageStatus.PENDING, send_after__lte=now).exists()
        or OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_expires_at__lte=now).exists()
    )


# The sender task by its registered name: services trigger tasks without importing the
# tasks module, which imports the services, so there is no import circle.
DELIVER_OUTBOX_TASK = "followups.tasks.deliver_outbox"


def enqueue_delivery(**options) -> None:
    """Put one "wake up and deliver" message on the broker (options as apply_async's)."""
    current_app.send_task(DELIVER_OUTBOX_TASK, **options)


def outbox_wake_sender(*, countdown: float | None = None) -> bool:
    """Ask a worker to deliver due messages (now, or after `countdown` seconds). A lost
    wake-up costs seconds only (beat pumps the outbox), so a broker that is down is
    logged, not raised."""
    try:
        # One quick retry re-opens a pooled connection that a Redis restart closed; a
        # broker that is really down fails fast instead of holding up the request.
        enqueue_delivery(
            countdown=countdown,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
        )
    except Exception:  # the broker may be down in many ways (refused, DNS, timeout)
        logger.warning("Could not wake the outbox sender; beat's pump will.", exc_info=True)
        return False
    return True


def outbox_wake_senders(*, now: datetime.datetime | None = None) -> int:
    """Wake as many senders as the due backlog can keep busy: one per batch due, at most
    settings.BATON_OUTBOX_SENDERS. Each claims its own rows (SKIP LOCKED). Returns how
    many wake-ups were sent."""
    now = now or timezone.now()
    batch_size = settings.BATON_OUTBOX_BATCH_SIZE
    most = max(settings.BATON_OUTBOX_SENDERS, 1)
    # Counted through the claim's partial indexes, and no further than we need.
    due = (
        OutboxMessage.objects.filter(status=MessageStatus.PENDING, send_after__lte=now)
        .order_by()[: batch_size * most]
        .count()
    )
    expired = (
        OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_expires_at__lte=now)
        .order_by()[: batch_size * most]
        .count()
    )
    if not due and not expired:
        return 0
    wanted = min(most, max(1, -(-(due + expired) // batch_size)))
    woken = 0
    for _ in range(wanted):
        if not outbox_wake_sender():
            break
        woken += 1
    return woken


# ---------------------------------------------------------------- claiming


# The claim in one statement: rows whose lease expired first (their worker died), then
# due rows in send_after order, each through the partial index that matches its
# predicate exactly (outbox_lease_idx, outbox_pending_due_idx); rows another worker's
# claim holds are skipped, not waited for. A digest user's digestible rows are left to
# _CLAIM_DIGESTS_SQL, which takes all of a user's at once.
_CLAIM_SQL = """
WITH expired AS (
    SELECT id FROM followups_outboxmessage
    WHERE status = %(sending)s AND lease_expires_at <= %(now)s
    ORDER BY lease_expires_at LIMIT %(batch_size)s FOR UPDATE SKIP LOCKED
), pending AS (
    SELECT m.id FROM followups_outboxmessage AS m
    WHERE m.status = %(pending)s AND m.send_after <= %(now)s
        AND (m.urgent OR m.purpose <> ALL(%(digestible)s) OR NOT EXISTS (
            SELECT 1 FROM accounts_user AS u WHERE u.id = m.recipient_id AND u.wants_daily_digest
        ))
    ORDER BY m.send_after LIMIT (%(batch_size)s - (SELECT count(*) FROM expired)) FOR UPDATE SKIP LOCKED
)
UPDATE followups_outboxmessage
SET status = %(sending)s, lease_expires_at = %(lease)s, lease_token = %(token)s, attempts = attempts + 1
WHERE id = ANY(ARRAY(SELECT id FROM expired UNION ALL SELECT id FROM pending))
RETURNING id
"""

# Every due digestible row of up to `users` digest users, so that each gets one e-mail
# however many are due (more than a batch, or claimed by several workers at once). One
# claimer at a time (a transaction-scoped advisory lock, released when this statement
# commits): two workers never split one user's digest.
_CLAIM_DIGESTS_SQL = """
WITH gate AS (
    SELECT pg_try_advisory_xact_lock(%(lock)s) AS held
), recipients AS (
    SELECT u.id FROM accounts_user AS u, gate
    WHERE gate.held AND u.wants_daily_digest AND EXISTS (
        SELECT 1 FROM followups_outboxmessage AS m
        WHERE m.recipient_id = u.id AND m.status = %(pending)s AND m.send_after <= %(now)s AND NOT m.urgent
            AND m.purpose = ANY(%(digestible)s)
    )
    ORDER BY u.id LIMIT %(users)s
)
UPDATE followups_outboxmessage
SET status = %(sending)s, lease_expires_at = %(lease)s, lease_token = %(token)s, attempts = attempts + 1
WHERE recipient_id IN (SELECT id FROM recipients)
    AND status = %(pending)s AND send_after <= %(now)s AND NOT urgent AND purpose = ANY(%(digestible)s)
RETURNING id
"""
# An arbitrary constant naming the digest claim's advisory lock.
DIGEST_CLAIM_LOCK = 0x6261746F6E01


@dataclass(frozen=True)
class Claim:
    """A batch this worker holds: its rows' ids and the token that proves it."""

    ids: list[int]
    token: uuid.UUID


def _lease_seconds() -> int:
    return settings.BATON_OUTBOX_LEASE_SECONDS


def outbox_claim(*, now: datetime.datetime | None = None, batch_size: int | None = None) -> Claim:
    """Claim due messages for this worker: up to `batch_size` rows, plus every due
    digestible row of the digest users whose digest this claim takes on. Rows locked by
    another worker's claim are skipped, not waited for."""
    now = now or timezone.now()
    batch_size = batch_size or settings.BATON_OUTBOX_BATCH_SIZE
    lease = now + datetime.timedelta(seconds=_lease_seconds())
    token = uuid.uuid4()
    digestible = list(builders.DIGESTIBLE_PURPOSES)
    if connection.vendor == "postgresql":
        params = {
            "sending": MessageStatus.SENDING,
            "pending": MessageStatus.PENDING,
            "now": now,
            "lease": lease,
            "token": token,
            "batch_size": batch_size,
            "lock": DIGEST_CLAIM_LOCK,
            "users": batch_size,
            "digestible": digestible,
        }
        ids = []
        # Each statement is its own transaction, one round trip each.
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_DIGESTS_SQL, params)
            ids.extend(row[0] for row in cursor.fetchall())
            cursor.execute(_CLAIM_SQL, params)
            ids.extend(row[0] for row in cursor.fetchall())
        return Claim(sorted(ids), token)
    # SQLite (make run's default) serialises writers, so the same reads and updates in one
    # transaction claim as exclusively.
    with transaction.atomic():
        due_digest = Q(
            status=MessageStatus.PENDING,
            send_after__lte=now,
            urgent=False,
            purpose__in=digestible,
            recipient__wants_daily_digest=True,
        )
        digest_users = list(
            OutboxMessage.objects.filter(due_digest)
            .order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[:batch_size]
        )
        digest = list(
            OutboxMessage.objects.filter(due_digest, recipient_id__in=digest_users).values_list("id", flat=True)
        )
        expired = list(
            OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_expires_at__lte=now)
            .order_by("lease_expires_at")
            .values_list("id", flat=True)[:batch_size]
        )
        pending = list(
            OutboxMessage.objects.filter(status=MessageStatus.PENDING, send_after__lte=now)
            .exclude(urgent=False, purpose__in=digestible, recipient__wants_daily_digest=True)
            .order_by("send_after")
            .values_list("id", flat=True)[: max(batch_size - len(expired), 0)]
        )
        ids = digest + expired + pending
        if ids:
            OutboxMessage.objects.filter(id__in=ids).update(
                status=MessageStatus.SENDING, lease_expires_at=lease, lease_token=token, attempts=F("attempts") + 1
            )
    return Claim(sorted(ids), token)


def _held(ids: Iterable[int], token: uuid.UUID):
    return OutboxMessage.objects.filter(id__in=list(ids), status=MessageStatus.SENDING, lease_token=token)


# Before every message: one indexed statement, written out because the ORM's query
# building cost more than the statement itself on the sending path.
_EXTEND_SQL = """
UPDATE followups_outboxmessage SET lease_expires_at = %s
WHERE id = ANY(%s::bigint[]) AND status = %s AND lease_token = %s
"""


def outbox_lease_extend(*, claim: Claim, ids: Iterable[int] | None = None) -> int:
    """Push the lease of the rows this claim still holds (all, or `ids`) one lease further
    on; returns how many it still holds."""
    lease = timezone.now() + datetime.timedelta(seconds=_lease_seconds())
    ids = list(claim.ids if ids is None else ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_EXTEND_SQL, [lease, ids, MessageStatus.SENDING, claim.token])
            return cursor.rowcount
    return _held(ids, claim.token).update(lease_expires_at=lease)


# The keeper's renewal: the rows the claim still holds, skipping any row locked at this
# moment — only the sender's own mark of a message (which confirms the next message's
# lease in the same statement) locks them, and it renews what it locks. Waiting instead
# would deadlock with that statement (they lock two rows each, in orders of their own).
# Returns how many rows are still held (locked or not) and how many were renewed.
_KEEP_SQL = """
WITH held AS (
    SELECT id FROM followups_outboxmessage
    WHERE id = ANY(%(ids)s::bigint[]) AND status = %(sending)s AND lease_token = %(token)s
), renewed AS (
    UPDATE followups_outboxmessage SET lease_expires_at = %(lease)s
    WHERE id IN (
        SELECT id FROM followups_outboxmessage
        WHERE id IN (SELECT id FROM held) AND status = %(sending)s AND lease_token = %(token)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
)
SELECT (SELECT count(*) FROM held), (SELECT count(*) FROM renewed)
"""


def _lease_keep(claim: Claim) -> int:
    """The keeper's renewal (see _KEEP_SQL); returns how many rows the claim still holds."""
    if connection.vendor != "postgresql":
        return outbox_lease_extend(claim=claim)
    lease = timezone.now() + datetime.timedelta(seconds=_lease_seconds())
    with connection.cursor() as cursor:
        cursor.execute(
            _KEEP_SQL, {"ids": list(claim.ids), "sending": MessageStatus.SENDING, "token": claim.token, "lease": lease}
        )
        held, _renewed = cursor.fetchone()
    return held


class LeaseKeeper:
    """Renews a claim's lease every third of it, from a thread of its own, while the batch
    is being sent: the lease can then be short, so that a dead worker's rows come back
    in seconds, and a slow mail server never lets it run out under a live worker."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"outbox-lease-{claim.token}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = max(_lease_seconds() / 3, 0.5)
        try:
            while not self._stop.wait(interval):
                try:
                    if not _lease_keep(self.claim):
                        return
                except Exception:
                    # The database may be restarting: the sender notices on its own.
                    logger.warning("Could not renew the outbox lease %s.", self.claim.token, exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()


# ---------------------------------------------------------------- delivering


@dataclass
class DeliveryResult:
    sent: int = 0
    emailed: int = 0
    posted: int = 0  # webhook deliveries an endpoint accepted (2xx)
    cancelled: int = 0
    retried: int = 0
    failed: int = 0
    batches: int = 0
    lost_lease: int = 0

    def add(self, other: DeliveryResult) -> None:
        for name in ("sent", "emailed", "posted", "cancelled", "retried", "failed", "batches", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# How the sender treats a failed send.
PERMANENT = "permanent"  # this message, for good (5xx)
MESSAGE_TRANSIENT = "message"  # this message, later (4xx for it)
SERVER = "server"  # the server or the connection: the whole batch, later

# Replies about the session, not the message, wherever they come: the server is closing
# (421), or it wants a login it did not get (530, 534, 535), which some servers say at
# MAIL FROM rather than at AUTH — every message of the batch would get the same answer.
SERVER_REPLY_CODES = frozenset({421, 530, 534, 535})


def classify_failure(error: BaseException) -> str:
    """What a failed send says: about this message (for good or for now) or the server."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return PERMANENT if codes and all(code >= 500 for code in codes) else MESSAGE_TRANSIENT
    if isinstance(error, smtplib.SMTPAuthenticationError | smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        return SERVER
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code in SERVER_REPLY_CODES:
            return SERVER
        return PERMANENT if error.smtp_code >= 500 else MESSAGE_TRANSIENT
    if isinstance(
        error, smtplib.SMTPServerDisconnected | ssl.SSLError | socket.timeout | TimeoutError | ConnectionError | OSError
    ):
        return SERVER
    if isinstance(error, smtplib.SMTPException):
        return SERVER
    # Anything else (a bug rendering this message): this message, for good, with the error.
    return PERMANENT


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the `attempts`-th failed attempt."""
    return datetime.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def _error_text(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return text[:2000]


T = TypeVar("T")


def _with_reconnect(operation: Callable[[], T]) -> T:
    """Run a write that must not be lost on a dropped connection (the message is out
    already): on a connection error, reconnect and run it again, for up to a minute."""
    deadline = time.monotonic() + MARK_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            return operation()
        except (OperationalError, InterfaceError):
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("The database connection failed while recording a sent message; retrying.", exc_info=True)
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


# Marks the rows this claim still holds sent, with each reminder's next escalation time,
# and rings their recipients' bells, in one round trip: this is on every message's path.
# synchronous_commit off: a commit per accepted message would otherwise wait for a WAL
# flush each time. A clean restart flushes it; only a crash in the next few hundred
# milliseconds could lose a mark, and the message would then go again with the same
# Message-ID: at least once, never lost, recognisable.
_MARK_SENT_SQL = """
SET LOCAL synchronous_commit TO OFF;
WITH marked AS (
    UPDATE followups_outboxmessage AS m
    SET status = %(sent)s, sent_at = %(now)s, message_id = %(message_id)s, subject = %(subject)s,
        lease_expires_at = NULL, lease_token = NULL, last_error = '', escalate_at = v.escalate_at
    FROM unnest(%(ids)s::bigint[], %(escalate_at)s::timestamptz[]) AS v(id, escalate_at)
    WHERE m.id = v.id AND m.status = %(sending)s AND m.lease_token = %(token)s
    RETURNING m.id
), bell AS (
    INSERT INTO followups_notification (user_id, kind, title, body, url, created_at)
    SELECT n.user_id, n.kind, n.title, n.body, n.url, %(now)s
    FROM unnest(
        %(n_rows)s::bigint[], %(n_users)s::bigint[], %(n_kinds)s::text[],
        %(n_titles)s::text[], %(n_bodies)s::text[], %(n_urls)s::text[]
    ) AS n(outbox_id, user_id, kind, title, body, url)
    JOIN marked ON marked.id = n.outbox_id
), next_held AS (
    -- The lease check of the next message, in the same round trip (none: an empty array).
    UPDATE followups_outboxmessage SET lease_expires_at = %(lease)s
    WHERE id = ANY(%(next_ids)s::bigint[]) AND status = %(sending)s AND lease_token = %(token)s
    RETURNING id
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM next_held)
"""


def _mark_sent(
    envelope: builders.Envelope, claim: Claim, next_envelope: builders.Envelope | None = None
) -> tuple[int, bool]:
    """Mark `envelope`'s rows sent (with their bell entries); returns how many were marked
    and whether the lease of `next_envelope`'s rows was confirmed in the same statement
    (PostgreSQL only: one round trip per message instead of two)."""
    now = timezone.now()
    ids = [row.pk for row in envelope.rows]
    next_ids = [row.pk for row in next_envelope.rows] if next_envelope is not None else []
    bell = envelope.bell
    if connection.vendor == "postgresql" and envelope.on_sent is None:
        params = {
            "sent": MessageStatus.SENT,
            "sending": MessageStatus.SENDING,
            "now": now,
            "message_id": envelope.message_id,
            "subject": envelope.subject,
            "token": claim.token,
            "ids": ids,
            "escalate_at": [envelope.escalate_at.get(pk) for pk in ids],
            "n_rows": [row_id for row_id, _ in bell],
            "n_users": [entry.user_id for _, entry in bell],
            "n_kinds": [entry.kind for _, entry in bell],
            "n_titles": [entry.title for _, entry in bell],
            "n_bodies": [entry.body for _, entry in bell],
            "n_urls": [entry.url for _, entry in bell],
            "lease": now + datetime.timedelta(seconds=_lease_seconds()),
            "next_ids": next_ids,
        }

        def mark_in_one_statement() -> tuple[int, bool]:
            # One query string outside a transaction: PostgreSQL runs it as one transaction.
            with connection.cursor() as cursor:
                cursor.execute(_MARK_SENT_SQL, params)
                marked, next_held = cursor.fetchone()
                return marked, bool(next_ids) and next_held == len(next_ids)

        return _with_reconnect(mark_in_one_statement)

    def mark() -> int:
        with transaction.atomic():
            marked_ids = [
                pk
                for pk in ids
                if _held([pk], claim.token).update(
                    status=MessageStatus.SENT,
                    sent_at=now,
                    message_id=envelope.message_id,
                    subject=envelope.subject,
                    lease_expires_at=None,
                    lease_token=None,
                    last_error="",
                    escalate_at=envelope.escalate_at.get(pk),
                )
            ]
            entries = [entry for row_id, entry in bell if row_id in marked_ids]
            if entries:
                Notification.objects.bulk_create(entries)
            if marked_ids and envelope.on_sent is not None:
                envelope.on_sent()
            return len(marked_ids)

    return _with_reconnect(mark), False


def _cancel(rows: list, claim: Claim, reason: str) -> int:
    return _held([row.pk for row in rows], claim.token).update(
        status=MessageStatus.CANCELLED, lease_expires_at=None, lease_token=None, last_error=reason[:2000]
    )


def _fail(rows: list, claim: Claim, error: BaseException | str, escalate_at: dict | None = None) -> int:
    """Give up on rows for good (a failed reminder still escalates, as a sent one does)."""
    text = _error_text(error)
    escalate_at = escalate_at or {}
    failed = sum(
        _held([row.pk], claim.token).update(
            status=MessageStatus.FAILED,
            lease_expires_at=None,
            lease_token=None,
            last_error=text,
            escalate_at=escalate_at.get(row.pk),
        )
        for row in rows
    )
    if failed:
        logger.error("%s outbox message(s) failed for good: %s", failed, text)
    return failed


def _back_off(
    rows: list, claim: Claim, error: BaseException, escalate_at: dict | None = None
) -> tuple[int, int, datetime.timedelta | None]:
    """Back off, or give up after the configured attempts; returns (retried, failed,
    the soonest retry's delay)."""
    now = timezone.now()
    text = _error_text(error)
    retried = failed = 0
    soonest = None
    for row in rows:
        if row.attempts < settings.BATON_OUTBOX_MAX_ATTEMPTS:
            delay = retry_delay(row.attempts)
            retried += _held([row.pk], claim.token).update(
                status=MessageStatus.PENDING,
                send_after=now + delay,
                lease_expires_at=None,
                lease_token=None,
                last_error=text,
            )
            soonest = delay if soonest is None else min(soonest, delay)
        else:
            failed += _fail([row], claim, error, escalate_at)
    return retried, failed, soonest


def _close_quietly(mail) -> None:
    try:
        mail.close()
    except Exception:  # closing a broken connection may raise; it is being discarded anyway
        logger.debug("Closing the mail connection failed.", exc_info=True)


def outbox_deliver_claimed(*, claim: Claim, deadline: float | None = None) -> DeliveryResult:
    """Send the messages of a claim (outside any transaction: SMTP is slow): build them,
    then for each, confirm the lease, send, mark. Once `deadline` (time.monotonic()) has
    passed, the messages not yet tried go back to the outbox for the next run: a slow
    server must not let the task's time limit cut a send in half."""
    result = DeliveryResult()
    rows = list(_held(claim.ids, claim.token).select_related("recipient", "contact", "endpoint").order_by("id"))
    if not rows:
        return result
    emails = [row for row in rows if row.channel != MessageChannel.WEBHOOK]
    with LeaseKeeper(claim), WebhookLanes(rows, claim, result, deadline, alongside=bool(emails)):
        if emails:
            envelopes = _settle_unsendable(builders.build(emails), claim, result)
            _send_envelopes(envelopes, claim, result, deadline)
    return result


def _settle_unsendable(outcomes: list, claim: Claim, result: DeliveryResult) -> list[builders.Envelope]:
    """Cancel what no longer applies, fail what cannot be rendered; return the rest."""
    envelopes = []
    for outcome in outcomes:
        if isinstance(outcome, builders.Skip):
            result.cancelled += _cancel(outcome.rows, claim, outcome.reason)
        elif isinstance(outcome, builders.Broken):
            result.failed += _fail(outcome.rows, claim, outcome.error)
        else:
            envelopes.append(outcome)
    return envelopes


def _release(envelopes: list[builders.Envelope], claim: Claim) -> int:
    """Give back messages this claim did not try: due as before, and not counted as an attempt."""
    ids = [row.pk for envelope in envelopes for row in envelope.rows]
    return _held(ids, claim.token).update(
        status=MessageStatus.PENDING, lease_expires_at=None, lease_token=None, attempts=F("attempts") - 1
    )


# Django's address check and encoding, kept per address: it parses each address with the
# standard library's header parser, which cost as much as building the MIME message.
_sanitized_address = functools.lru_cache(maxsize=4096)(sanitize_address)


def _smtp_send(mail, email: EmailMessage) -> None:
    """Send one e-mail on an open connection: what `mail.send_messages([email])` does,
    without its per-message overheads when `mail` is Django's own SMTP backend (the same
    envelope and the same bytes, see emails.message_bytes; the same errors raised). Any
    other backend (the tests' locmem, the console) is used as it is."""
    if type(mail) is not SmtpBackend:
        email.connection = mail
        mail.send_messages([email])
        return
    recipients = email.recipients()
    if not recipients:
        return  # Django's backend sends nothing either
    encoding = email.encoding or settings.DEFAULT_CHARSET
    mail.connection.sendmail(
        _sanitized_address(email.from_email, encoding),
        [_sanitized_address(address, encoding) for address in recipients],
        emails.message_bytes(email),
    )


def _send_envelopes(
    envelopes: list[builders.Envelope], claim: Claim, result: DeliveryResult, deadline: float | None = None
) -> None:
    mail = None
    soonest_retry: datetime.timedelta | None = None
    # Whether this envelope's lease was confirmed by the previous one's mark (same round
    # trip); if not — the first message, or one after a failure — it is confirmed alone.
    confirmed = False
    try:
        for index, envelope in enumerate(envelopes):
            following = envelopes[index + 1] if index + 1 < len(envelopes) else None
            if deadline is not None and time.monotonic() >= deadline:
                released = _release(envelopes[index:], claim)
                logger.info("Outbox claim %s ran out of time; %s message(s) go to the next run.", claim.token, released)
                return
            if not confirmed and not _still_ours(envelope, claim):
                result.lost_lease += 1
                logger.warning("Outbox claim %s lost its lease; another worker sends the rest.", claim.token)
                return
            confirmed = False
            if envelope.email is None:
                marked, confirmed = _mark_sent(envelope, claim, following)
                result.sent += marked
                continue
            try:
                mail = mail or get_connection(fail_silently=False)
                mail.open()
                _smtp_send(mail, envelope.email)
            except SoftTimeLimitExceeded:
                # The task is being stopped mid-send: whether this one went out is unknown, so
                # it is neither failed nor backed off; its lease runs out and it is tried again.
                raise
            except Exception as error:
                verdict = classify_failure(error)
                if verdict == PERMANENT:
                    result.failed += _fail(envelope.rows, claim, error, envelope.escalate_at)
                    # smtplib reset the session (RSET) after a refusal: the connection goes on.
                    continue
                if verdict == MESSAGE_TRANSIENT:
                    retried, failed, delay = _back_off(envelope.rows, claim, error, envelope.escalate_at)
                    result.retried += retried
                    result.failed += failed
                    soonest_retry = _sooner(soonest_retry, delay)
                    continue
                # The server itself: this message and every one not yet tried wait together.
                _close_quietly(mail)
                mail = None
                for waiting in envelopes[index:]:
                    retried, failed, delay = _back_off(waiting.rows, claim, error, waiting.escalate_at)
                    result.retried += retried
                    result.failed += failed
                    soonest_retry = _sooner(soonest_retry, delay)
                return
            marked, confirmed = _mark_sent(envelope, claim, following)
            result.sent += marked
            result.emailed += 1
    finally:
        if mail is not None:
            _close_quietly(mail)
        if soonest_retry is not None:
            # Woken when the backoff ends, not at the next pump after it.
            outbox_wake_sender(countdown=soonest_retry.total_seconds())


def _sooner(current: datetime.timedelta | None, other: datetime.timedelta | None) -> datetime.timedelta | None:
    if other is None:
        return current
    return other if current is None else min(current, other)


def _still_ours(envelope: builders.Envelope, claim: Claim) -> bool:
    ids = [row.pk for row in envelope.rows]
    return outbox_lease_extend(claim=claim, ids=ids) == len(ids)


# ---------------------------------------------------------------- webhooks

# What a webhook's failure says, besides PERMANENT and MESSAGE_TRANSIENT: the endpoint
# itself is down or asks us to wait, so its other rows of the batch would fare the same.
ENDPOINT = "endpoint"
ENDPOINT_STATUS_CODES = frozenset({429, 502, 503, 504})
# How much of an answer is read (its start is kept for the delivery log).
RESPONSE_READ_BYTES = 4096
RESPONSE_EXCERPT_CHARS = 500


@dataclass(frozen=True)
class WebhookAttempt:
    """What one POST came to: verdict None when the endpoint accepted it."""

    verdict: str | None
    code: int | None = None
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None


def classify_webhook_status(code: int) -> str | None:
    """2xx: accepted (None). 429, 502–504: the endpoint (ENDPOINT). 408 and other 5xx: this
    delivery, later. Anything else — another 4xx, a redirect, which is not followed — for
    good."""
    if 200 <= code < 300:
        return None
    if code in ENDPOINT_STATUS_CODES:
        return ENDPOINT
    if code == 408 or code >= 500:
        return MESSAGE_TRANSIENT
    return PERMANENT


def _read_excerpt(response: requests.Response) -> str:
    content = b""
    for chunk in response.iter_content(1024):
        content += chunk
        if len(content) >= RESPONSE_READ_BYTES:
            break  # the rest is not ours to store; closing the response drops it
    return content.decode(response.encoding or "utf-8", errors="replace").strip()[:RESPONSE_EXCERPT_CHARS]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def webhook_post(session: requests.Session, row: OutboxMessage) -> WebhookAttempt:
    """POST one delivery to its endpoint and say what came of it (never raises for the
    endpoint's sake)."""
    endpoint = row.endpoint
    try:
        body = webhooks.render_body(row.payload, endpoint.format)
        headers = webhooks.request_headers(endpoint=endpoint, event=row.kind, delivery=row.message_id, body=body)
    except Exception as error:  # bad data in this row: it fails alone, with the error
        logger.exception("Webhook delivery %s could not be rendered.", row.pk)
        return WebhookAttempt(PERMANENT, error=_error_text(error))
    try:
        with session.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.BATON_WEBHOOK_TIMEOUT,
            allow_redirects=False,
            stream=True,
        ) as response:
            code = response.status_code
            excerpt = _read_excerpt(response)
            retry_after = _retry_after(response)
    except (requests.Timeout, requests.ConnectionError) as error:
        return WebhookAttempt(ENDPOINT, error=_error_text(error))
    except requests.RequestException as error:  # an address requests cannot use
        return WebhookAttempt(PERMANENT, error=_error_text(error))
    verdict = classify_webhook_status(code)
    error = "" if verdict is None else f"HTTP {code}: {excerpt[:300]}".strip()
    return WebhookAttempt(verdict, code, excerpt, error, retry_after)


# Marked sent in one statement, without waiting for a WAL flush (see _MARK_SENT_SQL).
# In the same round trip, the lease check of the lane's next row (none: next_id NULL).
_MARK_WEBHOOK_SENT_SQL = """
SET LOCAL synchronous_commit TO OFF;
WITH marked AS (
    UPDATE followups_outboxmessage
    SET status = %(sent)s, sent_at = %(now)s, response_code = %(code)s, response_excerpt = %(excerpt)s,
        lease_expires_at = NULL, lease_token = NULL, last_error = ''
    WHERE id = %(id)s AND status = %(sending)s AND lease_token = %(token)s
    RETURNING id
), next_held AS (
    UPDATE followups_outboxmessage SET lease_expires_at = %(lease)s
    WHERE id = %(next_id)s AND status = %(sending)s AND lease_token = %(token)s
    RETURNING id
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM next_held)
"""


def _mark_webhook_sent(
    row: OutboxMessage, claim: Claim, attempt: WebhookAttempt, next_row: OutboxMessage | None = None
) -> tuple[int, bool]:
    """Mark `row` sent with the endpoint's answer; returns (how many were marked, whether
    the lease of `next_row` was confirmed in the same statement)."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        params = {
            "sent": MessageStatus.SENT,
            "sending": MessageStatus.SENDING,
            "now": now,
            "code": attempt.code,
            "excerpt": attempt.excerpt,
            "id": row.pk,
            "token": claim.token,
            "lease": now + datetime.timedelta(seconds=_lease_seconds()),
            "next_id": next_row.pk if next_row is not None else None,
        }

        def mark_in_one_statement() -> tuple[int, bool]:
            with connection.cursor() as cursor:
                cursor.execute(_MARK_WEBHOOK_SENT_SQL, params)
                marked, next_held = cursor.fetchone()
                return marked, bool(next_held)

        return _with_reconnect(mark_in_one_statement)
    marked = _with_reconnect(
        lambda: _held([row.pk], claim.token).update(
            status=MessageStatus.SENT,
            sent_at=now,
            response_code=attempt.code,
            response_excerpt=attempt.excerpt,
            lease_expires_at=None,
            lease_token=None,
            last_error="",
        )
    )
    return marked, False


# The lease check before each POST, without waiting for a WAL flush: a lost extension
# (only a database crash loses one) just lets the lease end sooner, as a crash would anyway.
_EXTEND_WEBHOOK_SQL = """
SET LOCAL synchronous_commit TO OFF;
UPDATE followups_outboxmessage SET lease_expires_at = %s
WHERE id = %s AND status = %s AND lease_token = %s
RETURNING id
"""


def _webhook_lease_extend(row: OutboxMessage, claim: Claim) -> int:
    """Confirm (and extend) that this claim still holds `row`: 1 if so."""
    if connection.vendor != "postgresql":
        return outbox_lease_extend(claim=claim, ids=[row.pk])
    lease = timezone.now() + datetime.timedelta(seconds=_lease_seconds())
    with connection.cursor() as cursor:
        cursor.execute(_EXTEND_WEBHOOK_SQL, [lease, row.pk, MessageStatus.SENDING, claim.token])
        return len(cursor.fetchall())


def _settle_webhooks(
    rows: list[OutboxMessage], claim: Claim, attempt: WebhookAttempt, *, retry: bool
) -> tuple[int, int, datetime.timedelta | None]:
    """Back off (retry) or fail rows after `attempt`, keeping its answer for the log;
    returns (retried, failed, the soonest retry's delay)."""
    now = timezone.now()
    answer = {"response_code": attempt.code, "response_excerpt": attempt.excerpt, "last_error": attempt.error}
    retried = failed = 0
    soonest = None
    for row in rows:
        if retry and row.attempts < settings.BATON_OUTBOX_MAX_ATTEMPTS:
            delay = retry_delay(row.attempts)
            if attempt.retry_after:
                delay = max(delay, datetime.timedelta(seconds=min(attempt.retry_after, RETRY_MAX_SECONDS)))
            retried += _held([row.pk], claim.token).update(
                status=MessageStatus.PENDING, send_after=now + delay, lease_expires_at=None, lease_token=None, **answer
            )
            soonest = _sooner(soonest, delay)
        else:
            failed += _held([row.pk], claim.token).update(
                status=MessageStatus.FAILED, lease_expires_at=None, lease_token=None, **answer
            )
    if failed:
        logger.error("%s webhook deliveries failed for good: %s", failed, attempt.error)
    return retried, failed, soonest


@dataclass
class LaneOutcome:
    result: DeliveryResult
    soonest_retry: datetime.timedelta | None = None


def _deliver_lane(
    rows: list[OutboxMessage], claim: Claim, deadline: float | None, stop: threading.Event
) -> LaneOutcome:
    """Send one endpoint's rows of a batch, in order: confirm the lease, POST, record."""
    outcome = LaneOutcome(DeliveryResult())
    result = outcome.result
    if not rows[0].endpoint.is_active:
        result.cancelled += _cancel(rows, claim, "The endpoint is inactive.")
        return outcome
    # An endpoint that answers, but slowly, gets a share of the batch's time, not all of it:
    # the batch (and the worker's next claim) does not wait for its hundredth answer.
    lane_deadline = time.monotonic() + _lane_seconds()
    confirmed = False  # the lease of `row` was confirmed with the previous row's mark
    with requests.Session() as session:
        for index, row in enumerate(rows):
            if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                _release_rows(rows[index:], claim)
                return outcome
            if time.monotonic() >= lane_deadline:
                _release_rows(rows[index:], claim, delay=LANE_RELEASE_DELAY)
                logger.info(
                    "Webhook endpoint %s is slow; %s deliveries wait a moment.", row.endpoint_id, len(rows) - index
                )
                return outcome
            if not confirmed and _webhook_lease_extend(row, claim) != 1:
                result.lost_lease += 1
                logger.warning("Outbox claim %s lost its lease; another worker sends the rest.", claim.token)
                return outcome
            confirmed = False
            attempt = webhook_post(session, row)
            if attempt.verdict is None:
                next_row = rows[index + 1] if index + 1 < len(rows) else None
                marked, confirmed = _mark_webhook_sent(row, claim, attempt, next_row)
                result.sent += marked
                result.posted += 1
                continue
            # The endpoint is down: its remaining rows wait with this one, not a timeout each.
            waiting = rows[index:] if attempt.verdict == ENDPOINT else [row]
            retried, failed, delay = _settle_webhooks(waiting, claim, attempt, retry=attempt.verdict != PERMANENT)
            result.retried += retried
            result.failed += failed
            outcome.soonest_retry = _sooner(outcome.soonest_retry, delay)
            if attempt.verdict == ENDPOINT:
                return outcome
    return outcome


def _release_rows(rows: list[OutboxMessage], claim: Claim, delay: datetime.timedelta | None = None) -> int:
    """Give back rows this claim did not try, not counted as an attempt: due as before, or
    after `delay` (behind what is due now, so that other endpoints' rows are claimed first)."""
    due = {"send_after": timezone.now() + delay} if delay else {}
    return _held([row.pk for row in rows], claim.token).update(
        status=MessageStatus.PENDING, lease_expires_at=None, lease_token=None, attempts=F("attempts") - 1, **due
    )


# How long one endpoint's lane may take of a batch (twice a full timeout), and how long
# its untried rows then wait.
LANE_RELEASE_DELAY = datetime.timedelta(seconds=5)


def _lane_seconds() -> float:
    return 2 * sum(settings.BATON_WEBHOOK_TIMEOUT)


def _deliver_lane_in_thread(
    rows: list[OutboxMessage], claim: Claim, deadline: float | None, stop: threading.Event
) -> LaneOutcome:
    try:
        return _deliver_lane(rows, claim, deadline, stop)
    finally:
        connection.close()  # this thread's own connection


class WebhookLanes:
    """The webhook rows of a claimed batch, one lane per endpoint. On PostgreSQL, outside a
    transaction, the lanes run in threads of their own — side by side, and alongside the
    batch's e-mails, which the caller sends meanwhile — so that a slow endpoint delays
    only its own rows; otherwise (SQLite, a test's transaction, one lane and no e-mail)
    they run in turn when the block ends. Their results are added to `result` then."""

    def __init__(
        self,
        rows: list[OutboxMessage],
        claim: Claim,
        result: DeliveryResult,
        deadline: float | None,
        *,
        alongside: bool = False,
    ):
        lanes: dict[int, list[OutboxMessage]] = {}
        for row in rows:
            if row.channel == MessageChannel.WEBHOOK:
                lanes.setdefault(row.endpoint_id, []).append(row)
        self.lanes = list(lanes.values())
        self.claim, self.result, self.deadline = claim, result, deadline
        self.stop = threading.Event()
        self.threaded = (
            bool(self.lanes)
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
            and settings.BATON_WEBHOOK_LANES > 1
            and (len(self.lanes) > 1 or alongside)
        )
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list = []

    def __enter__(self) -> WebhookLanes:
        if self.threaded:
            self._pool = ThreadPoolExecutor(
                max_workers=min(len(self.lanes), settings.BATON_WEBHOOK_LANES), thread_name_prefix="outbox-webhooks"
            )
            self._futures = [
                self._pool.submit(_deliver_lane_in_thread, lane, self.claim, self.deadline, self.stop)
                for lane in self.lanes
            ]
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        outcomes: list[LaneOutcome] = []
        if exc_type is not None:
            # The batch is being stopped (a time limit, a crash): lanes finish the POST in
            # hand and leave the rest to the lease.
            self.stop.set()
        try:
            if self._pool is not None:
                outcomes = [future.result() for future in self._futures]
            elif exc_type is None:
                outcomes = [_deliver_lane(lane, self.claim, self.deadline, self.stop) for lane in self.lanes]
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        soonest = None
        for outcome in outcomes:
            self.result.add(outcome.result)
            soonest = _sooner(soonest, outcome.soonest_retry)
        if soonest is not None:
            outbox_wake_sender(countdown=soonest.total_seconds())


def outbox_deliver_due(
    *, time_budget_seconds: float = 40.0, max_batches: int | None = None, batch_size: int | None = None
) -> DeliveryResult:
    """Claim and deliver batches of due messages until none is due or the time is up."""
    result = DeliveryResult()
    deadline = time.monotonic() + time_budget_seconds
    while time.monotonic() < deadline and (max_batches is None or result.batches < max_batches):
        claim = outbox_claim(batch_size=batch_size)
        if not claim.ids:
            break
        result.add(outbox_deliver_claimed(claim=claim, deadline=deadline))
        result.batches += 1
    return result


# ---------------------------------------------------------------- admin


def _refuse_unless_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an admin may retry messages.")


@transaction.atomic
def outbox_retry(*, message_id: int, actor: User) -> OutboxMessage:
    """Put a failed message back in the outbox, due now (admins only)."""
    _refuse_unless_admin(actor)
    message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise ValidationError("This message does not exist.")
    if message.status != MessageStatus.FAILED:
        raise ValidationError("Only a failed message can be retried.")
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.send_after = timezone.now()
    message.lease_expires_at = None
    message.lease_token = None
    message.full_clean()
    # The outbox row is its own record (status, attempts, last error).
    message.save(update_fields=["status", "attempts", "send_after", "lease_expires_at", "lease_token"])
    logger.info("Outbox message %s retried by %s", message.pk, actor.pk)
    transaction.on_commit(outbox_wake_senders)
    return message


@transaction.atomic
def outbox_retry_failed(*, actor: User, purpose: str | None = None) -> int:
    """Put every failed message (of one purpose, or all) back in the outbox; returns how many."""
    _refuse_unless_admin(actor)
    failed = OutboxMessage.objects.filter(status=MessageStatus.FAILED)
    if purpose:
        failed = failed.filter(purpose=purpose)
    count = failed.update(
        status=MessageStatus.PENDING, attempts=0, send_after=timezone.now(), lease_expires_at=None, lease_token=None
    )
    logger.info("%s failed outbox message(s) retried by %s", count, actor.pk)
    if count:
        transaction.on_commit(outbox_wake_senders)
    return count
