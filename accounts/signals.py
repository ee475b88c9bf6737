"""Signals of the accounts app: the way it (and handoffs, which re-exports it) asks the
app above for a message, which only followups can send (through the one outbox).

- message_requested(sender=Model, purpose: str, about: str, item_id: int, version: int,
  recipients: list[User | Contact], supersedes: tuple[str, ...])
  Sent INSIDE the transaction of the change that calls for a message, so that the message
  is written with the change or not at all; followups writes one outbox row per recipient
  (followups.services.outbox.outbox_enqueue) and renders it when it sends it. See
  handoffs/signals.py for the hand-off messages; accounts sends it for a user's invitation
  and a password reset. A receiver that fails fails the change.
"""

from django.dispatch import Signal

message_requested = Signal()

# What `about` (the outbox row's kind) says for the accounts app's messages.
MESSAGE_ABOUT_USER = "user"
