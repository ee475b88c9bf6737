"""Reads of the reminder outbox and the notification centre."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from accounts.models import User
from followups.choices import NotificationKind, ReminderStatus
from followups.models import Heartbeat, Notification, NotificationPreference, Reminder
from followups.services.reminders import SCAN_HEARTBEAT

ADMIN_STATUS_TABS = [
    ReminderStatus.PENDING,
    ReminderStatus.SENDING,
    ReminderStatus.FAILED,
    ReminderStatus.SENT,
    ReminderStatus.CANCELLED,
]


def reminders_for_admin(*, status: str) -> QuerySet[Reminder]:
    """The outbox rows of one status, newest first, with their recipient (no per-row query)."""
    return Reminder.objects.filter(status=status).select_related("recipient").order_by("-created_at", "-id")


def reminder_status_counts() -> dict[str, int]:
    counts = dict(Reminder.objects.values_list("status").annotate(count=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in ADMIN_STATUS_TABS}


@dataclass(frozen=True)
class OutboxHealth:
    oldest_due_at: datetime.datetime | None
    oldest_due_age_seconds: int | None
    last_scan_at: datetime.datetime | None
    last_scan_age_seconds: int | None
    failed: int


def outbox_health(*, now: datetime.datetime | None = None) -> OutboxHealth:
    """For /health/: how long the oldest due, unsent reminder has waited, and the last scan."""
    now = now or timezone.now()
    # Two queries that each match a partial index of the claim.
    oldest_pending = Reminder.objects.filter(status=ReminderStatus.PENDING, send_after__lte=now).aggregate(
        oldest=Min("send_after")
    )["oldest"]
    oldest_sending = Reminder.objects.filter(status=ReminderStatus.SENDING).aggregate(oldest=Min("send_after"))[
        "oldest"
    ]
    candidates = [when for when in (oldest_pending, oldest_sending) if when is not None and when <= now]
    oldest = min(candidates) if candidates else None
    scan = Heartbeat.objects.filter(name=SCAN_HEARTBEAT).first()
    return OutboxHealth(
        oldest_due_at=oldest,
        oldest_due_age_seconds=round((now - oldest).total_seconds()) if oldest else None,
        last_scan_at=scan.last_seen_at if scan else None,
        last_scan_age_seconds=round((now - scan.last_seen_at).total_seconds()) if scan else None,
        failed=Reminder.objects.filter(status=ReminderStatus.FAILED).count(),
    )


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences_for(*, user: User) -> list[dict]:
    """Every kind the user may switch, with whether e-mail is on (on unless switched off)."""
    off = set(NotificationPreference.objects.filter(user=user, email=False).values_list("kind", flat=True))
    return [{"kind": kind, "label": label, "email": kind not in off} for kind, label in NotificationKind.choices]
