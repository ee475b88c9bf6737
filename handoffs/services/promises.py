"""Promises: what the rep committed to the customer, from the sale through delivery.

- promise_add: before the close by whoever may change the deal (the rep, their
  managers); once the deal has a hand-off, by whoever works its promises
  (handoffs.access.user_may_work_promise: the delivery owner, the rep, their managers,
  admins). Once a delivery owner accepted, the promise is theirs unless another owner is
  named; one added after the hand-off meeting was held is confirmed at once (it was not
  there to be reviewed, so it is not an "unconfirmed" drop).
- promise_mark_kept: when (not after the actor's today) and how.
- promise_mark_broken: why (required), when (the actor's today) and what the customer
  was told; the rep and their manager are notified (handoffs.signals.promise_broken).
- promise_renegotiate: new wording and due date; the first wording is kept in
  original_description.
- promise_assign_owner: the delivery lead who keeps it.

Only a promise still to keep (open or confirmed) can be marked, renegotiated or given an
owner; a lost deal's promises are nobody's to keep. Each service locks the promise's row,
checks permission with the one predicate, validates with full_clean(), writes its timeline
event (PROMISE_ADDED / PROMISE_UPDATED / PROMISE_KEPT / PROMISE_BROKEN) on the deal and its
account in the same transaction, and on commit tells followups that the promise is no longer
overdue (overdue_item_resolved, re-checked there) — a failed call writes nothing.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.access import is_active_user
from accounts.choices import EventVerb, Role
from accounts.models import User
from accounts.services import event_record
from accounts.validators import user_today, validate_plausible_date
from handoffs.access import user_may_work_promise
from handoffs.choices import PromiseStatus, Stage
from handoffs.lateness import PROMISE_PENDING_STATUSES
from handoffs.models import Deal, Handoff, Promise
from handoffs.services.packet_pending import packet_pending_settle
from handoffs.signals import (
    EVENT_ABOUT_PROMISE,
    EVENT_PROMISE_BROKEN,
    ITEM_KIND_PROMISE_OVERDUE,
    overdue_item_resolved,
    promise_broken,
    send_domain_event,
)

__all__ = [
    "promise_add",
    "promise_assign_owner",
    "promise_mark_broken",
    "promise_mark_kept",
    "promise_renegotiate",
]


# --- shared steps --------------------------------------------------------------------


def _handoff_of(deal: Deal) -> Handoff | None:
    return Handoff.objects.select_related("rep__team", "delivery_owner__team").filter(deal_id=deal.pk).first()


def _lock_deal(deal: Deal) -> Deal:
    return Deal.objects.select_for_update(of=("self",)).select_related("account", "owner__team").get(pk=deal.pk)


def _lock_promise(promise: Promise) -> tuple[Promise, Deal, Handoff | None]:
    """The promise under a row lock (a double click marks it once), with its deal and
    the deal's hand-off, as user_may_work_promise reads them."""
    locked = (
        Promise.objects.select_for_update(of=("self",))
        .select_related("deal__account", "deal__owner__team", "owner__team")
        .get(pk=promise.pk)
    )
    return locked, locked.deal, _handoff_of(locked.deal)


def _check_may_work(actor: User, *, deal: Deal, handoff: Handoff | None, promise: Promise | None) -> None:
    if not user_may_work_promise(actor, deal=deal, handoff=handoff, promise=promise):
        raise PermissionDenied("Only the delivery owner, the rep or their managers work this deal's promises.")


def _check_still_to_keep(promise: Promise, deal: Deal) -> None:
    if deal.stage == Stage.LOST:
        raise ValidationError("This deal was lost: there is nobody to keep a promise to.")
    if promise.status not in PROMISE_PENDING_STATUSES:
        raise ValidationError(f"This promise is already {promise.get_status_display().lower()}.")


def _check_typed_date(actor: User, field: str, value: datetime.date | None) -> None:
    validate_plausible_date(value, field=field, today=user_today(actor))


def _check_owner(owner: User | None) -> None:
    if owner is not None and (not is_active_user(owner) or owner.role != Role.DELIVERY):
        raise ValidationError({"owner": "Give the promise to an active delivery lead: they keep it for the customer."})


def _record(promise: Promise, deal: Deal, *, actor: User, verb: str, message: str, **data: object) -> None:
    event_record(
        account=deal.account,
        subject=deal,
        verb=verb,
        message=message,
        actor=actor,
        data={"promise_id": promise.pk, **data},
    )


def _tell_no_longer_overdue_on_commit(promise: Promise) -> None:
    # followups re-checks the rule, so a promise still overdue keeps its reminders.
    promise_id = promise.pk
    transaction.on_commit(
        lambda: overdue_item_resolved.send(sender=Promise, item_kind=ITEM_KIND_PROMISE_OVERDUE, item_id=promise_id),
        robust=True,
    )


def _due(day: datetime.date | None) -> str:
    return f" by {day:%d %b %Y}" if day else ""


def _withdraw_no_promises(deal: Deal, *, actor: User) -> None:
    """A promise listed answers the hand-off packet's promises part (handoffs.packet):
    "no promises were made", said earlier, no longer holds; the timeline says so."""
    if not deal.no_promises_made:
        return
    deal.no_promises_made = False
    deal.save(update_fields=["no_promises_made", "updated_at"])
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_UPDATED,
        message="“No promises were made” withdrawn: a promise was added.",
        actor=actor,
        data={"fields": ["no_promises_made"], "no_promises_made": False},
    )


# --- services ------------------------------------------------------------------------


@transaction.atomic
def promise_add(
    *,
    actor: User,
    deal: Deal,
    description: str,
    target_date: datetime.date | None = None,
    owner: User | None = None,
) -> Promise:
    """Record what was committed to the customer; it travels into the hand-off, and
    once the hand-off has a delivery owner, it is theirs to keep (or `owner`'s)."""
    deal = _lock_deal(deal)
    handoff = _handoff_of(deal)
    _check_may_work(actor, deal=deal, handoff=handoff, promise=None)
    if deal.stage == Stage.LOST:
        raise ValidationError("This deal was lost: there is nobody to keep a promise to.")
    _check_owner(owner)
    owner = owner or (handoff.delivery_owner if handoff is not None else None)
    promise = Promise(
        deal=deal, description=description.strip(), target_date=target_date, created_by=actor, owner=owner
    )
    if handoff is not None and handoff.meeting_held_at is not None:
        promise.status = PromiseStatus.CONFIRMED
        promise.status_note = "Added after the hand-off meeting."
    promise.full_clean()
    _check_typed_date(actor, "target_date", promise.target_date)
    promise.save()
    kept_by = f", kept by {owner}" if owner else ""
    _record(
        promise,
        deal,
        actor=actor,
        verb=EventVerb.PROMISE_ADDED,
        message=f"Promise: {promise.description}{_due(target_date)}{kept_by}.",
        owner_id=owner.pk if owner else None,
    )
    _withdraw_no_promises(deal, actor=actor)
    # A won deal waiting for its packet (handoffs.packet.packet_pending): this promise may
    # complete it, and then its hand-off starts now.
    packet_pending_settle(deal=deal, actor=actor)
    return promise


@transaction.atomic
def promise_mark_kept(*, actor: User, promise: Promise, kept_on: datetime.date | None, note: str = "") -> Promise:
    """The promise was kept on `kept_on` (not later than the actor's today), and how."""
    locked, deal, handoff = _lock_promise(promise)
    _check_may_work(actor, deal=deal, handoff=handoff, promise=locked)
    _check_still_to_keep(locked, deal)
    if kept_on is None:
        raise ValidationError({"kept_on": "Say when the promise was kept."})
    _check_typed_date(actor, "kept_on", kept_on)
    if kept_on > user_today(actor):
        raise ValidationError({"kept_on": "A promise is kept on a day that has come: this date is in the future."})
    locked.status = PromiseStatus.KEPT
    locked.resolved_on = kept_on
    locked.resolution_note = note.strip()
    locked.customer_told = ""
    locked.resolved_by = actor
    locked.full_clean()
    locked.save()
    how = f": {locked.resolution_note}" if locked.resolution_note else "."
    _record(
        locked,
        deal,
        actor=actor,
        verb=EventVerb.PROMISE_KEPT,
        message=f"Promise kept on {kept_on:%d %b %Y} — “{locked.description}”{how}",
        kept_on=kept_on.isoformat(),
    )
    _tell_no_longer_overdue_on_commit(locked)
    promise.refresh_from_db()
    return locked


@transaction.atomic
def promise_mark_broken(*, actor: User, promise: Promise, reason: str, customer_told: str = "") -> Promise:
    """The promise will not be kept: why (required), and what the customer was told.
    The rep and their manager are notified once this commits."""
    locked, deal, handoff = _lock_promise(promise)
    _check_may_work(actor, deal=deal, handoff=handoff, promise=locked)
    _check_still_to_keep(locked, deal)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the promise is broken: the rep and their manager will ask."})
    locked.status = PromiseStatus.BROKEN
    locked.resolved_on = user_today(actor)
    locked.resolution_note = reason.strip()
    locked.customer_told = (customer_told or "").strip()
    locked.resolved_by = actor
    locked.full_clean()
    locked.save()
    told = f" The customer was told: {locked.customer_told}" if locked.customer_told else ""
    _record(
        locked,
        deal,
        actor=actor,
        verb=EventVerb.PROMISE_BROKEN,
        message=f"Promise broken — “{locked.description}”: {locked.resolution_note}.{told}",
    )
    promise_id, actor_id = locked.pk, actor.pk
    transaction.on_commit(
        lambda: promise_broken.send(sender=Promise, promise_id=promise_id, actor_id=actor_id), robust=True
    )
    send_domain_event(
        Promise, event=EVENT_PROMISE_BROKEN, item_kind=EVENT_ABOUT_PROMISE, item_id=promise_id, actor_id=actor_id
    )
    _tell_no_longer_overdue_on_commit(locked)
    promise.refresh_from_db()
    return locked


@transaction.atomic
def promise_renegotiate(*, actor: User, promise: Promise, new_wording: str, new_due: datetime.date | None) -> Promise:
    """The customer agreed to a new wording or due date (not in the past). The first
    wording stays in original_description; the change is on the timeline."""
    locked, deal, handoff = _lock_promise(promise)
    _check_may_work(actor, deal=deal, handoff=handoff, promise=locked)
    _check_still_to_keep(locked, deal)
    wording = (new_wording or "").strip()
    if not wording:
        raise ValidationError({"new_wording": "Give the wording the customer agreed to."})
    _check_typed_date(actor, "new_due", new_due)
    if new_due is not None and new_due < user_today(actor):
        raise ValidationError({"new_due": "A renegotiated promise cannot be due in the past."})
    if wording == locked.description and new_due == locked.target_date:
        raise ValidationError("Nothing changed: give a new wording or a new due date.")
    old_wording, old_due = locked.description, locked.target_date
    if not locked.original_description:
        locked.original_description = old_wording
    locked.description = wording
    locked.target_date = new_due
    locked.full_clean()
    locked.save()
    _record(
        locked,
        deal,
        actor=actor,
        verb=EventVerb.PROMISE_UPDATED,
        message=f"Promise renegotiated: “{old_wording}”{_due(old_due)} is now “{wording}”{_due(new_due)}.",
        renegotiated=True,
        from_due=old_due.isoformat() if old_due else None,
        to_due=new_due.isoformat() if new_due else None,
    )
    _tell_no_longer_overdue_on_commit(locked)
    promise.refresh_from_db()
    return locked


@transaction.atomic
def promise_assign_owner(*, actor: User, promise: Promise, owner: User) -> Promise:
    """Name the delivery lead who keeps the promise."""
    locked, deal, handoff = _lock_promise(promise)
    _check_may_work(actor, deal=deal, handoff=handoff, promise=locked)
    _check_still_to_keep(locked, deal)
    _check_owner(owner)
    if locked.owner_id == owner.pk:
        raise ValidationError({"owner": f"{owner} already keeps this promise."})
    old_owner = locked.owner
    locked.owner = owner
    locked.full_clean()
    locked.save()
    was = f" (was {old_owner})" if old_owner else ""
    _record(
        locked,
        deal,
        actor=actor,
        verb=EventVerb.PROMISE_UPDATED,
        message=f"{owner} now keeps the promise “{locked.description}”{was}.",
        owner_id=owner.pk,
        from_owner_id=old_owner.pk if old_owner else None,
    )
    promise.refresh_from_db()
    return locked


def promises_take_over(*, handoff: Handoff, owner: User) -> int:
    """Give the deal's promises still to keep, and not yet given to anyone, to the
    delivery owner who just accepted the hand-off (called inside handoff_accept's
    transaction); returns how many."""
    return Promise.objects.filter(
        deal_id=handoff.deal_id, status__in=PROMISE_PENDING_STATUSES, owner__isnull=True
    ).update(owner=owner)
