"""One submit of the open-work page: give some of what a person holds, of one kind, to
one new holder — all of it or none (issue 15).

The page lists the items it showed; every one must still be the person's when the
submit runs (each reassigning service checks it under a row lock), else the whole
submit rolls back with a message naming the item: a stale page never half-moves a list.

Reminders: a reminder queued for the old holder and not yet sent follows its item to
whoever owns it now under the reminder rules (followups.overdue), so the old holder is
not reminded of work they no longer hold and the new one is; the outbox allows one
reminder per item and level, so it is moved, not cancelled and written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from accounts.access import user_may_reassign_holdings_of
from accounts.models import Account, User
from followups import overdue
from followups.choices import MessagePurpose, MessageStatus, ReminderLevel
from followups.models import CheckIn, OutboxMessage
from followups.selectors.open_work import (
    KIND_ACCOUNTS,
    KIND_CHECKINS,
    KIND_DEALS,
    KIND_HANDOFFS_DELIVERY,
    KIND_HANDOFFS_REP,
    KIND_PROMISES,
    KIND_STEPS,
)
from followups.services.outbox import recipient_key_for
from followups.services.reassign import checkin_reassign
from handoffs.models import Deal, Handoff, HandoffStep, Promise
from handoffs.services.reassign import (
    account_reassign,
    deal_reassign,
    handoff_reassign_delivery,
    handoff_reassign_rep,
    promise_reassign,
    step_reassign,
)

# kind → (model, the service's keyword for the item, the service)
_REASSIGNERS = {
    KIND_ACCOUNTS: (Account, "account", account_reassign),
    KIND_DEALS: (Deal, "deal", deal_reassign),
    KIND_HANDOFFS_REP: (Handoff, "handoff", handoff_reassign_rep),
    KIND_HANDOFFS_DELIVERY: (Handoff, "handoff", handoff_reassign_delivery),
    KIND_STEPS: (HandoffStep, "step", step_reassign),
    KIND_PROMISES: (Promise, "promise", promise_reassign),
    KIND_CHECKINS: (CheckIn, "checkin", checkin_reassign),
}


@transaction.atomic
def open_work_reassign(*, actor: User, person: User, kind: str, item_ids: Iterable[int], to_user: User) -> int:
    """Give the items `item_ids` of `kind` that `person` holds to `to_user`; returns how
    many. Atomic: refused as a whole (ValidationError) if any is no longer theirs or may
    not go to `to_user`; PermissionDenied unless `actor` may reassign `person`'s work."""
    if not user_may_reassign_holdings_of(actor, person):
        raise PermissionDenied(f"Only an admin or {person}'s manager gives their work to someone else.")
    if kind not in _REASSIGNERS:
        raise ValidationError(f"Unknown kind of work: {kind!r}.")
    # Sorted: two submits lock their rows in the same order and cannot deadlock.
    ids = sorted(set(item_ids))
    if not ids:
        raise ValidationError({"items": "Tick at least one item to give."})
    model, keyword, reassign = _REASSIGNERS[kind]
    items = model.objects.in_bulk(ids)
    if len(items) != len(ids):
        raise ValidationError(
            "Some of these items no longer exist. Nothing was reassigned; reload the page and try again."
        )
    for item_id in ids:
        reassign(actor=actor, from_user=person, to_user=to_user, **{keyword: items[item_id]})
    reminders_follow_items(person=person)
    return len(ids)


def reminders_follow_items(*, person: User) -> int:
    """Move the reminders queued for `person` and not sent yet to the item's owner under
    the reminder rules now (followups.overdue), where that is someone else; returns how
    many moved. An item no longer overdue is left alone: the worker cancels it."""
    pending = OutboxMessage.objects.filter(
        purpose=MessagePurpose.REMINDER, version=ReminderLevel.OWNER, status=MessageStatus.PENDING, recipient=person
    )
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, item_id in pending.values_list("kind", "item_id"):
        by_kind[kind].append(item_id)
    moved = 0
    for rule in overdue.rules():
        if not by_kind.get(rule.kind):
            continue
        owners = rule.candidates(rule.queryset.filter(pk__in=by_kind[rule.kind]))
        for row in owners:
            owner_id = row["overdue_owner"]
            if owner_id is None or owner_id == person.pk:
                continue
            new_key = recipient_key_for(User(pk=owner_id))
            # The outbox's unique key allows one row per recipient: if the new owner has
            # one for this item and level already, theirs stands and this one is dropped.
            duplicate = OutboxMessage.objects.filter(
                purpose=OuterRef("purpose"),
                kind=OuterRef("kind"),
                item_id=OuterRef("item_id"),
                version=OuterRef("version"),
                recipient_key=new_key,
            )
            rows = pending.filter(kind=rule.kind, item_id=row["overdue_item"])
            moved += rows.exclude(Exists(duplicate)).update(recipient_id=owner_id, recipient_key=new_key)
            rows.update(status=MessageStatus.CANCELLED, last_error="The item was given to someone else.")
    return moved
