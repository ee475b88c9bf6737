"""The in-app notification centre: writing notifications for a user."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from followups.models import Notification


@transaction.atomic
def notification_create(*, user: User, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Put a notification in the user's notification centre (the bell).

    Email delivery of notifications, where the user's preferences ask for it, is the
    reminder worker's job (followups.services.reminders), never the request's.
    """
    notification = Notification(user=user, kind=kind, title=title[:200], body=body, url=url[:500])
    notification.full_clean()
    notification.save()
    return notification
