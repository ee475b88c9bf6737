"""The in-app notification centre: writing notifications, reading them, e-mail preferences."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from followups.choices import NotificationKind
from followups.models import Notification, NotificationPreference
from followups.services.reminders import reminder_enqueue_notification
from handoffs.choices import PromiseStatus
from handoffs.models import Deal, Handoff, Promise
from handoffs.packet import deal_packet, packet_pending


@transaction.atomic
def notification_create(
    *, user: User, kind: str, title: str, body: str = "", url: str = "", email_copy: bool = True
) -> Notification:
    """Put a notification in the user's notification centre (the bell).

    Its e-mail copy goes through the outbox in the same transaction (so it is
    never lost, and never sent if this transaction rolls back); the worker sends it
    unless the user switched e-mail off for this kind. Never sent from the request.
    email_copy=False for news that has its own e-mail already (a hand-off proposal).
    """
    notification = Notification(user=user, kind=kind, title=title[:200], body=body, url=url[:500])
    notification.full_clean()
    notification.save()
    if email_copy:
        reminder_enqueue_notification(notification=notification)
    return notification


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (someone else's does not exist for them)."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise Notification.DoesNotExist("No such notification for this user.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, user: User, email_by_kind: dict[str, bool]) -> None:
    """Switch e-mail on or off per notification kind for the user (the bell is always on)."""
    unknown = set(email_by_kind) - set(NotificationKind.values)
    if unknown:
        raise ValidationError({"kind": f"Unknown notification kind(s): {', '.join(sorted(unknown))}."})
    for kind, email in email_by_kind.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": bool(email)})


def notification_handoff_proposed(*, handoff_id: int, owner_id: int, actor_id: int) -> Notification | None:
    """Ring the bell of the delivery lead a hand-off was proposed to, with a link to
    accept or decline it. No e-mail copy: handoffs e-mails the proposal itself. None when
    the proposal is no longer theirs (someone else was proposed since)."""
    handoff = (
        Handoff.objects.select_related("deal__account", "proposed_owner")
        .filter(pk=handoff_id, proposed_owner_id=owner_id)
        .first()
    )
    if handoff is None:
        return None
    actor = User.objects.filter(pk=actor_id).first()
    who = str(actor) if actor is not None else "A manager"
    return notification_create(
        user=handoff.proposed_owner,
        kind=NotificationKind.HANDOFF,
        title=f"Hand-off proposed to you: {handoff.deal}",
        body=f"{who} proposed you as the delivery owner of {handoff.deal.account}. Accept or decline it.",
        url=reverse("handoffs:handoff_detail", args=[handoff.pk]),
        email_copy=False,
    )


@transaction.atomic
def notifications_promise_broken(*, promise_id: int, actor_id: int | None) -> list[Notification]:
    """Ring the bell of the deal's rep and of the rep's manager when a promise was marked
    broken, each with an e-mail copy through the outbox: why, and what the customer was
    told. Whoever marked it is not told their own news. None if the promise is no longer
    broken (marked by mistake and corrected since)."""
    promise = (
        Promise.objects.select_related("deal__account", "deal__owner__team__manager", "resolved_by")
        .filter(pk=promise_id, status=PromiseStatus.BROKEN)
        .first()
    )
    if promise is None:
        return []
    rep = promise.deal.owner
    people = {person.pk: person for person in (rep, rep.manager) if person is not None and person.is_active}
    people.pop(actor_id, None)
    who = str(promise.resolved_by) if promise.resolved_by else "Someone"
    why = promise.resolution_note.rstrip(". ")
    told = (promise.customer_told or "nothing recorded yet").rstrip(". ")
    return [
        notification_create(
            user=person,
            kind=NotificationKind.PROMISE_BROKEN,
            title=f"Promise broken: {promise.description} ({promise.deal.account})",
            body=f"{who} marked the promise “{promise.description}” to {promise.deal.account} broken "
            f"({promise.deal}). Why: {why}. What the customer was told: {told}.",
            url=f"{reverse('handoffs:deal_detail', args=[promise.deal_id])}#promise-{promise.pk}",
        )
        for person in people.values()
    ]


@transaction.atomic
def notification_packet_pending(*, deal_id: int) -> Notification | None:
    """Ring the bell of the deal's rep, with an e-mail copy through the outbox, when a
    close from a CRM recorded the deal won with its hand-off packet incomplete: what is
    missing, and a link to the deal page where each part is fixed. The rep is told even
    when the close was logged in their name (the CRM did it, not them). None when the
    packet is no longer pending (completed or waived meanwhile)."""
    deal = (
        Deal.objects.select_related("account", "owner")
        .prefetch_related("deal_contacts", "promises")
        .filter(pk=deal_id)
        .first()
    )
    if deal is None or not packet_pending(deal) or not deal.owner.is_active:
        return None
    missing = deal_packet(deal).missing
    if not missing:
        return None
    what = " ".join(item.message for item in missing)
    return notification_create(
        user=deal.owner,
        kind=NotificationKind.HANDOFF,
        title=f"Won, hand-off waiting for its packet: {deal} ({deal.account})",
        body=f"{deal} was recorded won from your CRM, but its hand-off packet is incomplete, so the hand-off "
        f"has not started. {what} The hand-off starts as soon as the packet is complete.",
        url=f"{reverse('handoffs:deal_detail', args=[deal.pk])}#packet-pending",
    )
