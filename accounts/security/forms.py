"""The password-reset request form: its e-mail goes through the outbox."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.signals import MESSAGE_ABOUT_USER, message_requested

# followups.choices.MessagePurpose.PASSWORD_RESET (accounts cannot import followups).
PASSWORD_RESET_PURPOSE = "password_reset"  # noqa: S105 — a message purpose, not a password


@transaction.atomic
def password_reset_request(*, users: list[User]) -> None:
    """Ask for a password-reset e-mail to each of `users`, in the outbox (sent by the
    worker, retried if the mail server fails, rendered with a fresh link when it goes).

    The version is the request's time in milliseconds: a second request is a new
    message, and it cancels an earlier one still waiting (one link is enough). Nothing
    is recorded on the timeline: a request changes nothing until the link is used."""
    version = int(timezone.now().timestamp() * 1000)
    for user in users:
        message_requested.send(
            sender=User,
            purpose=PASSWORD_RESET_PURPOSE,
            about=MESSAGE_ABOUT_USER,
            item_id=user.pk,
            version=version,
            recipients=[user],
            supersedes=(PASSWORD_RESET_PURPOSE,),
        )


class PasswordResetRequestForm(PasswordResetForm):
    """Django's form (which finds the active users with that address and a usable
    password, and says nothing about whether there are any), sending through the outbox."""

    def save(self, *args, **kwargs) -> None:
        # Django's arguments (templates, domain, token generator) belong to its own
        # sending; the outbox builder (followups.builders) makes the e-mail instead.
        password_reset_request(users=list(self.get_users(self.cleaned_data["email"])))
