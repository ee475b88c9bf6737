"""Reads of the notification centre (the bell) and the e-mail preferences."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from followups.choices import NotificationKind
from followups.models import Notification, NotificationPreference


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences_for(*, user: User) -> list[dict]:
    """Every kind the user may switch, with whether e-mail is on (on unless switched off)."""
    off = set(NotificationPreference.objects.filter(user=user, email=False).values_list("kind", flat=True))
    return [{"kind": kind, "label": label, "email": kind not in off} for kind, label in NotificationKind.choices]
