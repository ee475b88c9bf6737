"""One function per e-mail (and the bell entry of a reminder), healthchecks style.

Each e-mail renders `templates/emails/<name>-subject.txt`, `<name>-body.txt` and
`<name>-body.html`, and carries the Message-ID the outbox chose for it, so that a
duplicate delivery (after a worker died between SMTP and marking the row sent) can be
recognised by the mail server or the recipient's client.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.links import absolute_url
from accounts.models import User
from followups.choices import ReminderLevel
from followups.models import Notification, Reminder
from followups.overdue import ItemDescription


def _build(name: str, *, to: User, context: dict, message_id: str) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, "recipient": to, **context}
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to.email],
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"emails/{name}-body.html", context), "text/html")
    return message


@functools.cache
def _profile_path() -> str:
    # Every reminder e-mail links here; reverse() once per process, not per e-mail.
    return reverse("accounts:profile")


def _preferences_url() -> str:
    return absolute_url(_profile_path())


def reminder_email(reminder: Reminder, description: ItemDescription, *, message_id: str) -> EmailMultiAlternatives:
    """One overdue item, to its owner (level 1) or as an escalation (levels 2 and 3)."""
    return _build(
        "reminder",
        to=reminder.recipient,
        context={
            "reminder": reminder,
            "description": description,
            "is_escalation": reminder.level > ReminderLevel.OWNER,
            "url": absolute_url(description.path),
            "preferences_url": _preferences_url(),
        },
        message_id=message_id,
    )


def digest_email(
    recipient: User,
    reminders: list[Reminder],
    *,
    descriptions: dict[tuple[str, int], ItemDescription],
    notifications: dict[int, Notification],
    message_id: str,
) -> EmailMultiAlternatives:
    """The daily digest: every reminder (and notification) of one user in one e-mail."""
    entries = []
    for reminder in reminders:
        description = descriptions.get((reminder.kind, reminder.item_id))
        if description is not None:
            entries.append(
                {
                    "title": description.title,
                    "detail": description.detail,
                    "url": absolute_url(description.path),
                    "is_escalation": reminder.level > ReminderLevel.OWNER,
                }
            )
        elif reminder.item_id in notifications:
            notification = notifications[reminder.item_id]
            entries.append(
                {
                    "title": notification.title,
                    "detail": notification.body,
                    "url": absolute_url(notification.url or "/"),
                    "is_escalation": False,
                }
            )
    return _build(
        "digest",
        to=recipient,
        context={"entries": entries, "preferences_url": _preferences_url()},
        message_id=message_id,
    )


def notification_email(reminder: Reminder, notification: Notification, *, message_id: str) -> EmailMultiAlternatives:
    """The e-mail copy of an in-app notification that is not a reminder (an issue raised…)."""
    return _build(
        "reminder-notification",
        to=reminder.recipient,
        context={
            "notification": notification,
            "url": absolute_url(notification.url or reverse("followups:notifications")),
            "preferences_url": _preferences_url(),
        },
        message_id=message_id,
    )


def reminder_notification(reminder: Reminder, description: ItemDescription) -> Notification:
    """The bell entry of a reminder (unsaved; the caller saves it with the sent mark)."""
    title = description.title if reminder.level == ReminderLevel.OWNER else f"Escalation: {description.title}"
    return Notification(
        user_id=reminder.recipient_id,
        kind=reminder.kind,
        title=title[:200],
        body=description.detail,
        url=description.path[:500],
    )
