"""Receivers of the handoffs app's domain signals (documented in handoffs/signals.py)."""

from django.dispatch import receiver

from followups.services.checkins import checkins_schedule_for_handoff
from followups.services.notifications import (
    notification_handoff_proposed,
    notification_packet_pending,
    notifications_promise_broken,
)
from followups.services.outbox import outbox_enqueue
from followups.services.reminders import reminders_cancel_for_item
from followups.services.webhooks import webhook_domain_event
from handoffs.signals import (
    domain_event,
    handoff_accepted,
    handoff_proposed,
    message_requested,
    overdue_item_resolved,
    packet_pending,
    promise_broken,
)


@receiver(message_requested, dispatch_uid="followups.enqueue_requested_message")
def enqueue_requested_message(
    sender, *, purpose: str, about: str, item_id: int, version: int, recipients, supersedes, **kwargs
) -> None:
    # Inside the sender's transaction: the outbox rows are written with the change.
    outbox_enqueue(
        purpose=purpose, kind=about, item_id=item_id, version=version, recipients=recipients, supersedes=supersedes
    )


@receiver(handoff_proposed, dispatch_uid="followups.ring_bell_on_handoff_proposed")
def ring_bell_on_handoff_proposed(sender, *, handoff_id: int, owner_id: int, actor_id: int, **kwargs) -> None:
    notification_handoff_proposed(handoff_id=handoff_id, owner_id=owner_id, actor_id=actor_id)


@receiver(handoff_accepted, dispatch_uid="followups.schedule_checkins_on_handoff_accepted")
def schedule_checkins_on_handoff_accepted(sender, *, handoff_id: int, **kwargs) -> None:
    checkins_schedule_for_handoff(handoff_id=handoff_id)


@receiver(overdue_item_resolved, dispatch_uid="followups.cancel_reminders_on_overdue_item_resolved")
def cancel_reminders_on_overdue_item_resolved(sender, *, item_kind: str, item_id: int, **kwargs) -> None:
    reminders_cancel_for_item(item_kind=item_kind, item_id=item_id)


@receiver(promise_broken, dispatch_uid="followups.notify_rep_and_manager_on_promise_broken")
def notify_rep_and_manager_on_promise_broken(sender, *, promise_id: int, actor_id: int, **kwargs) -> None:
    notifications_promise_broken(promise_id=promise_id, actor_id=actor_id)


@receiver(packet_pending, dispatch_uid="followups.notify_rep_on_packet_pending")
def notify_rep_on_packet_pending(sender, *, deal_id: int, **kwargs) -> None:
    notification_packet_pending(deal_id=deal_id)


@receiver(domain_event, dispatch_uid="followups.enqueue_webhooks_on_domain_event")
def enqueue_webhooks_on_domain_event(sender, *, event: str, item_kind: str, item_id: int, occurred_at, data, **kwargs):
    # Inside the sender's transaction: the deliveries are written with the change.
    webhook_domain_event(event=event, item_kind=item_kind, item_id=item_id, occurred_at=occurred_at, data=data)
