"""Webhooks and chat alerts: the events written into the outbox, the endpoints, replays.

- **An event is written with the change.** `webhook_events_enqueue` writes one outbox row
  (purpose and channel webhook, kind the event name, item the event's item, version the
  event's version, recipient `endpoint:<id>`) per event and active endpoint subscribed
  to it, in the caller's transaction: a change that rolls back sends nothing. The
  event's payload is read then and frozen on the row (followups.webhooks), with its
  deterministic delivery id in `message_id`. Sending is the outbox's
  (followups.services.outbox): claimed, leased, retried with backoff, logged.
- **Where events come from**: the hand-off side sends handoffs.signals.domain_event inside
  its transaction (followups.receivers → `webhook_domain_event`); the reminder scan calls
  `webhooks_checkins_found_overdue` for the check-ins it has just found overdue; a pulse
  answered "at risk" calls `webhook_pulse_at_risk`; the report's refresh announces the
  drops that were not in its previous snapshot (`webhooks_announce_new_drops`). Events
  found by a scan are named by the state found, so a re-run writes nothing twice, and are
  written in a savepoint of their own: a webhook's bug is logged and never stops the
  reminders or the report. An event of the hand-off side fails its change instead, like
  message_requested: nothing is changed without its deliveries.
- **Endpoints** are an admin's: created, edited, deactivated (pending deliveries are
  cancelled; nothing is deleted), their secret rotated, a test event sent.
- **Replay**: a delivery that was sent or failed is queued again for its endpoint as a new
  row (next version) with the same payload and the same delivery id, so the receiver can
  recognise it; the new row names who replayed it and what (requested_by, replay_of).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from followups import webhooks
from followups.choices import (
    WEBHOOK_TEST_EVENT,
    HeartbeatName,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    ReminderKind,
    ReminderLevel,
    WebhookEvent,
)
from followups.models import (
    CheckIn,
    CustomerPulse,
    DroppedBaton,
    Heartbeat,
    OutboxMessage,
    WebhookEndpoint,
    webhook_secret,
)
from followups.services.outbox import outbox_wake_senders
from followups.webhooks import EventItem

logger = logging.getLogger(__name__)

# The fields of an endpoint an admin edits.
ENDPOINT_FIELDS = ("name", "url", "format", "events", "is_active")


# ---------------------------------------------------------------- events


def subscribed_endpoints(event: str) -> list[WebhookEndpoint]:
    """The active endpoints subscribed to `event` (a small table, filtered here so that
    the same code runs on SQLite, which has no JSON containment)."""
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(is_active=True) if endpoint.subscribes_to(event)]


def webhook_events_enqueue(
    *,
    event: str,
    item_kind: str,
    items: list[EventItem],
    endpoints: list[WebhookEndpoint] | None = None,
    requested_by: User | None = None,
) -> int:
    """Queue the deliveries of `event` for each of `items` to every active endpoint
    subscribed to it (or to `endpoints`), in the caller's transaction; returns how many
    rows were offered (one already there for the same key is left as it is)."""
    endpoints = subscribed_endpoints(event) if endpoints is None else endpoints
    if not endpoints or not items:
        return 0
    now = timezone.now()
    rows = []
    for item, payload in zip(items, webhooks.event_payloads(event, item_kind, items), strict=True):
        subject = webhooks.subject_line(payload)
        rows.extend(
            OutboxMessage(
                purpose=MessagePurpose.WEBHOOK,
                channel=MessageChannel.WEBHOOK,
                kind=event,
                item_id=item.item_id,
                version=item.version,
                endpoint=endpoint,
                recipient_key=endpoint.recipient_key,
                send_after=now,
                first_due_at=now,
                payload=payload,
                message_id=webhooks.delivery_id(payload["id"], endpoint.pk),
                subject=subject,
                requested_by=requested_by,
            )
            for endpoint in endpoints
        )
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    transaction.on_commit(outbox_wake_senders)
    return len(rows)


def webhook_domain_event(
    *, event: str, item_kind: str, item_id: int, occurred_at: datetime.datetime, data: dict | None = None
) -> int:
    """One event of handoffs.signals.domain_event, inside the sender's transaction."""
    if event not in WebhookEvent.values:
        logger.warning("domain_event with an unknown event %r is not sent to webhooks.", event)
        return 0
    endpoints = subscribed_endpoints(event)
    if not endpoints:
        return 0
    item = EventItem(item_id, occurred_at, _moment_version(event, item_id, occurred_at), data or {})
    return webhook_events_enqueue(event=event, item_kind=item_kind, items=[item], endpoints=endpoints)


def _moment_version(event: str, item_id: int, moment: datetime.datetime) -> int:
    """The version of an event that happened at `moment`; a second event of the same name
    about the same item is a new one even when the clock stood still (or went back) in
    between: it takes the next free version."""
    version = webhooks.event_version(moment)
    latest = (
        OutboxMessage.objects.filter(purpose=MessagePurpose.WEBHOOK, kind=event, item_id=item_id, version__gte=version)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return version if latest is None else latest + 1


@contextmanager
def _isolated(event: str) -> Iterator[None]:
    """Around what a scan (the reminders, the report) writes for webhooks: in a savepoint,
    so that a webhook's bug is logged and rolled back alone, and never stops the reminders
    or the report."""
    try:
        with transaction.atomic():
            yield
    except Exception:
        logger.exception("The %s webhook events of this run could not be written.", event)


# How far before the scan's own clock its reminder rows may be stamped.
SCAN_CLOCK_MARGIN = datetime.timedelta(seconds=5)


def webhooks_checkins_found_overdue(*, since: datetime.datetime) -> int:
    """checkin.overdue for each check-in whose first reminder the reminder scan has just
    written (call it in the scan's transaction, `since` the scan's clock). Named by the
    check-in's due date: a re-run writes nothing new, a check-in moved and overdue again
    is a new event."""
    endpoints = subscribed_endpoints(WebhookEvent.CHECKIN_OVERDUE)
    if not endpoints:
        return 0
    found = OutboxMessage.objects.filter(
        status=MessageStatus.PENDING,
        created_at__gte=since - SCAN_CLOCK_MARGIN,
        purpose=MessagePurpose.REMINDER,
        kind=ReminderKind.CHECKIN_OVERDUE,
        version=ReminderLevel.OWNER,
    ).values("item_id")
    with _isolated("checkin.overdue"):
        items = [
            EventItem(pk, since, due_on.toordinal())
            for pk, due_on in CheckIn.objects.filter(pk__in=found).order_by("pk").values_list("pk", "due_on")
        ]
        return webhook_events_enqueue(
            event=WebhookEvent.CHECKIN_OVERDUE, item_kind=webhooks.ITEM_CHECKIN, items=items, endpoints=endpoints
        )
    return 0


def webhook_pulse_at_risk(*, pulse: CustomerPulse) -> int:
    """pulse.at_risk, when a customer answers "at risk" (in the answer's transaction)."""
    moment = pulse.changed_at or pulse.answered_at or timezone.now()
    item = EventItem(pulse.pk, moment, _moment_version(WebhookEvent.PULSE_AT_RISK, pulse.pk, moment))
    return webhook_events_enqueue(event=WebhookEvent.PULSE_AT_RISK, item_kind=webhooks.ITEM_PULSE, items=[item])


@contextmanager
def webhooks_announce_new_drops() -> Iterator[None]:
    """Around the rebuild of the DroppedBaton snapshot (in its transaction): baton.dropped
    for each open drop that the previous snapshot did not have. Nothing on the first
    refresh ever (everything would look new), nor when no endpoint listens."""
    endpoints = subscribed_endpoints(WebhookEvent.BATON_DROPPED)
    if not endpoints or not Heartbeat.objects.filter(name=HeartbeatName.REPORT_REFRESH).exists():
        yield
        return
    before = set(DroppedBaton.objects.filter(is_open=True).values_list("code", "subject_id"))
    yield
    with _isolated("baton.dropped"):
        _announce_drops(before, endpoints)


def _announce_drops(before: set[tuple[str, int]], endpoints: list[WebhookEndpoint]) -> None:
    now = timezone.now()
    items = [
        EventItem(
            subject_id,
            now,
            webhooks.state_version(code, drop_date),
            {
                "code": code,
                "deal_id": deal_id,
                "delivery_owner_id": delivery_owner_id,
                "drop_date": drop_date.isoformat(),
            },
        )
        for code, subject_id, deal_id, delivery_owner_id, drop_date in DroppedBaton.objects.filter(is_open=True)
        .order_by("id")
        .values_list("code", "subject_id", "deal_id", "delivery_owner_id", "drop_date")
        if (code, subject_id) not in before
    ]
    webhook_events_enqueue(
        event=WebhookEvent.BATON_DROPPED, item_kind=webhooks.ITEM_DROP, items=items, endpoints=endpoints
    )


# ---------------------------------------------------------------- endpoints (admins)


def _refuse_unless_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an admin may manage webhooks.")


def _lock(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def webhook_endpoint_create(
    *, actor: User, name: str, url: str, format: str, events: list[str], is_active: bool = True
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is generated."""
    _refuse_unless_admin(actor)
    endpoint = WebhookEndpoint(
        name=name.strip(), url=url.strip(), format=format, events=list(events), is_active=is_active, created_by=actor
    )
    endpoint.full_clean()
    endpoint.save()
    logger.info("Webhook endpoint %s created by %s", endpoint.pk, actor.pk)
    return endpoint


def _cancel_pending(endpoint: WebhookEndpoint, reason: str) -> int:
    return OutboxMessage.objects.filter(endpoint=endpoint, status=MessageStatus.PENDING).update(
        status=MessageStatus.CANCELLED, last_error=reason
    )


@transaction.atomic
def webhook_endpoint_update(
    *, actor: User, endpoint: WebhookEndpoint, name: str, url: str, format: str, events: list[str], is_active: bool
) -> WebhookEndpoint:
    """Change an endpoint. Deliveries already queued go to its new address in its new
    format, with what they said when they happened; deactivating cancels them."""
    _refuse_unless_admin(actor)
    locked = _lock(endpoint)
    locked.name, locked.url, locked.format = name.strip(), url.strip(), format
    locked.events, locked.is_active = list(events), is_active
    locked.full_clean()
    locked.save()
    if not is_active:
        _cancel_pending(locked, "The endpoint was deactivated.")
    logger.info("Webhook endpoint %s changed by %s", locked.pk, actor.pk)
    return locked


@transaction.atomic
def webhook_endpoint_set_active(*, actor: User, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Switch an endpoint on or off; off cancels what is queued for it (replay it later)."""
    _refuse_unless_admin(actor)
    locked = _lock(endpoint)
    locked.is_active = active
    locked.save(update_fields=["is_active", "updated_at"])
    if not active:
        _cancel_pending(locked, "The endpoint was deactivated.")
    logger.info("Webhook endpoint %s %s by %s", locked.pk, "activated" if active else "deactivated", actor.pk)
    return locked


@transaction.atomic
def webhook_endpoint_rotate_secret(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret, in force at once: every attempt from now on, retries
    included, is signed with it (the old one stops verifying)."""
    _refuse_unless_admin(actor)
    locked = _lock(endpoint)
    locked.secret = webhook_secret()
    locked.secret_rotated_at = timezone.now()
    locked.save(update_fields=["secret", "secret_rotated_at", "updated_at"])
    logger.info("Webhook endpoint %s secret rotated by %s", locked.pk, actor.pk)
    return locked


@transaction.atomic
def webhook_send_test(*, actor: User, endpoint: WebhookEndpoint) -> OutboxMessage:
    """Queue a test event (webhook.test) for one endpoint, whatever it subscribes to."""
    _refuse_unless_admin(actor)
    locked = _lock(endpoint)
    if not locked.is_active:
        raise ValidationError("Activate the endpoint before sending it a test event.")
    now = timezone.now()
    item = EventItem(locked.pk, now, _moment_version(WEBHOOK_TEST_EVENT, locked.pk, now), {"actor_id": actor.pk})
    webhook_events_enqueue(
        event=WEBHOOK_TEST_EVENT,
        item_kind=webhooks.ITEM_ENDPOINT,
        items=[item],
        endpoints=[locked],
        requested_by=actor,
    )
    return OutboxMessage.objects.get(
        purpose=MessagePurpose.WEBHOOK,
        kind=WEBHOOK_TEST_EVENT,
        item_id=locked.pk,
        version=item.version,
        recipient_key=locked.recipient_key,
    )


REPLAYABLE_STATUSES = (MessageStatus.SENT, MessageStatus.FAILED)


@transaction.atomic
def webhook_delivery_replay(*, actor: User, delivery_id: int) -> OutboxMessage:
    """Send a delivery again: a new outbox row for the same event and endpoint (the next
    free version), with the same payload and X-Baton-Delivery id, due now."""
    _refuse_unless_admin(actor)
    original = (
        OutboxMessage.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .filter(pk=delivery_id, channel=MessageChannel.WEBHOOK)
        .first()
    )
    if original is None:
        raise ValidationError("This delivery does not exist.")
    if original.status not in REPLAYABLE_STATUSES:
        raise ValidationError("Only a delivery that was sent or failed can be replayed.")
    if not original.endpoint.is_active:
        raise ValidationError("The endpoint is inactive: activate it before replaying its deliveries.")
    key = {"purpose": original.purpose, "kind": original.kind, "item_id": original.item_id}
    taken = set(
        OutboxMessage.objects.filter(**key, recipient_key=original.recipient_key, version__gt=original.version)
        .values_list("version", flat=True)
        .order_by()
    )
    version = original.version + 1
    while version in taken:
        version += 1
    now = timezone.now()
    replay = OutboxMessage(
        **key,
        channel=original.channel,
        version=version,
        endpoint=original.endpoint,
        recipient_key=original.recipient_key,
        send_after=now,
        first_due_at=now,
        payload=original.payload,
        message_id=original.message_id,
        subject=original.subject,
        replay_of=original,
        requested_by=actor,
    )
    replay.full_clean()
    replay.save()
    logger.info("Webhook delivery %s replayed by %s as %s", original.pk, actor.pk, replay.pk)
    transaction.on_commit(outbox_wake_senders)
    return replay
