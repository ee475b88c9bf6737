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
"""

from __future__ import annotations

import datetime
import logging
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Contact, User
from followups import builders
from followups.choices import MessagePurpose, MessageStatus
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
                    if not outbox_lease_extend(claim=self.claim):
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
    cancelled: int = 0
    retried: int = 0
    failed: int = 0
    batches: int = 0
    lost_lease: int = 0

    def add(self, other: DeliveryResult) -> None:
        for name in ("sent", "emailed", "cancelled", "retried", "failed", "batches", "lost_lease"):
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


def _with_reconnect(operation: Callable[[], int]) -> int:
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
)
SELECT count(*) FROM marked
"""


def _mark_sent(envelope: builders.Envelope, claim: Claim) -> int:
    now = timezone.now()
    ids = [row.pk for row in envelope.rows]
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
        }

        def mark_in_one_statement() -> int:
            # One query string outside a transaction: PostgreSQL runs it as one transaction.
            with connection.cursor() as cursor:
                cursor.execute(_MARK_SENT_SQL, params)
                return cursor.fetchone()[0]

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

    return _with_reconnect(mark)


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
    rows = list(_held(claim.ids, claim.token).select_related("recipient", "contact").order_by("id"))
    if not rows:
        return result
    with LeaseKeeper(claim):
        envelopes = _settle_unsendable(builders.build(rows), claim, result)
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


def _send_envelopes(
    envelopes: list[builders.Envelope], claim: Claim, result: DeliveryResult, deadline: float | None = None
) -> None:
    mail = None
    soonest_retry: datetime.timedelta | None = None
    try:
        for index, envelope in enumerate(envelopes):
            if deadline is not None and time.monotonic() >= deadline:
                released = _release(envelopes[index:], claim)
                logger.info("Outbox claim %s ran out of time; %s message(s) go to the next run.", claim.token, released)
                return
            if not _still_ours(envelope, claim):
                result.lost_lease += 1
                logger.warning("Outbox claim %s lost its lease; another worker sends the rest.", claim.token)
                return
            if envelope.email is None:
                result.sent += _mark_sent(envelope, claim)
                continue
            try:
                mail = mail or get_connection(fail_silently=False)
                mail.open()
                envelope.email.connection = mail
                mail.send_messages([envelope.email])
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
            result.sent += _mark_sent(envelope, claim)
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
