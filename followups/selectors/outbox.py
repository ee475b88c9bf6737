"""Reads of the outbox: the admins' list of messages, and the figures /health/ reports."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.common.pagination import COUNT_CAP, capped_count
from followups.choices import HeartbeatName, MessagePurpose, MessageStatus
from followups.models import Heartbeat, OutboxMessage

ADMIN_STATUS_TABS = [
    MessageStatus.PENDING,
    MessageStatus.SENDING,
    MessageStatus.FAILED,
    MessageStatus.SENT,
    MessageStatus.CANCELLED,
]


def outbox_messages_for_admin(*, status: str | None, purpose: str | None = None) -> QuerySet[OutboxMessage]:
    """The outbox rows of one status (None: every status) and purpose, newest first,
    with their recipient (no per-row query)."""
    messages = OutboxMessage.objects.all()
    if status:
        messages = messages.filter(status=status)
    if purpose:
        messages = messages.filter(purpose=purpose)
    return messages.select_related("recipient", "contact", "endpoint").order_by("-created_at", "-id")


def outbox_status_counts(*, purpose: str | None = None, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many messages each tab holds, counted up to `cap` + 1 (more: "2,000+"). Nothing
    purges sent messages, so an exact GROUP BY status read the whole outbox on every visit
    (issue 17); a LIMITed count per tab reads at most cap + 1 entries of its status index.
    One query per tab, whatever the rows."""
    messages = OutboxMessage.objects.all()
    if purpose:
        messages = messages.filter(purpose=purpose)
    return {status: capped_count(messages.filter(status=status), cap=cap) for status in ADMIN_STATUS_TABS}


def outbox_purpose_choices() -> list[tuple[str, str]]:
    return list(MessagePurpose.choices)


@dataclass(frozen=True)
class OutboxHealth:
    """What monitoring needs to page on: a backlog that grows, a message that waits, a scan
    that stopped."""

    due_unsent: int
    retrying: int
    failed: int
    oldest_due_at: datetime.datetime | None
    oldest_due_age_seconds: int | None
    last_scan_at: datetime.datetime | None
    last_scan_age_seconds: int | None


def outbox_health(*, now: datetime.datetime | None = None) -> OutboxHealth:
    """The backlog (due and unsent, retrying, failed) and the age of the oldest message
    still unsent, counted from when it FIRST became due: a retry moves send_after, not
    first_due_at, so an outage shows as a growing age, not as a fresh message."""
    now = now or timezone.now()
    unsent = OutboxMessage.objects.filter(status__in=[MessageStatus.PENDING, MessageStatus.SENDING])
    figures = unsent.filter(first_due_at__lte=now).aggregate(
        due_unsent=Count("id"),
        retrying=Count("id", filter=Q(status=MessageStatus.PENDING, attempts__gt=0)),
        oldest=Min("first_due_at"),
    )
    oldest = figures["oldest"]
    scan = Heartbeat.objects.filter(name=HeartbeatName.REMINDER_SCAN).first()
    return OutboxHealth(
        due_unsent=figures["due_unsent"],
        retrying=figures["retrying"],
        failed=OutboxMessage.objects.filter(status=MessageStatus.FAILED).count(),
        oldest_due_at=oldest,
        oldest_due_age_seconds=round((now - oldest).total_seconds()) if oldest else None,
        last_scan_at=scan.last_seen_at if scan else None,
        last_scan_age_seconds=round((now - scan.last_seen_at).total_seconds()) if scan else None,
    )
