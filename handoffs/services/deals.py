"""Deals, the contacts named on them, and the close (the rep's side). Promises live in
handoffs.services.promises (promise_add is re-exported here for its callers).

Every service checks that the actor may make the change (handoffs.access),
locks the deal row, validates with full_clean() and writes its timeline event in the
same transaction; a failed call writes nothing.

A won close passes the close gate: the hand-off packet (handoffs.packet.deal_packet) is
complete, or the close carries a waiver with its reason (deal_close); "no promises were
made" is stated with deal_no_promises_set.

A close that comes from a CRM (handoffs.inbound) is not refused for its packet:
deal_close(packet_pending_ok=True) records it won with the packet pending
(handoffs.packet.packet_pending) and no hand-off, and the rep is told what is missing
(handoffs.signals.packet_pending). The services that change a part of the packet
(deal_update's context fields, deal_contact_add, deal_no_promises_set, promise_add)
accept such a deal and start its hand-off in their transaction once the packet is
complete (handoffs.services.packet_pending); a manager may instead waive what is missing
(deal_packet_pending_waive).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.access import account_users_assignable_by, user_may_reassign, user_sells
from accounts.choices import EventVerb
from accounts.common.edits import bump_version, refuse_unknown_fields
from accounts.models import Account, Contact, User
from accounts.services import event_record
from accounts.validators import user_today, validate_plausible_date
from handoffs.access import accounts_visible_to, deal_editable_by, deal_reopenable_by
from handoffs.choices import CLOSED_STAGES, OPEN_STAGES, ContactRole, HandoffStatus, LostReason, PromiseStatus, Stage
from handoffs.models import MAX_DEAL_AMOUNT, Deal, DealContact, Handoff
from handoffs.packet import PacketItem, deal_packet, packet_pending, packet_pending_waivable_by
from handoffs.services.handoffs import handoff_start
from handoffs.services.packet_pending import packet_pending_settle
from handoffs.services.promises import promise_add  # noqa: F401  (its home was here; callers import it from here)
from handoffs.signals import (
    EVENT_ABOUT_DEAL,
    EVENT_DEAL_WON,
    ITEM_KIND_NEXT_STEP_OVERDUE,
    overdue_item_resolved,
    send_domain_event,
)
from handoffs.signals import packet_pending as packet_pending_signal

DEAL_FIELDS = frozenset(
    {
        "title",
        "amount",
        "currency",
        "stage",
        "segment",
        "expected_close_date",
        "lead_source",
        "context_origin",
        "context_known",
        "context_talked_to",
        "context_needs",
        "next_step",
        "next_step_due",
    }
)
# The dates of a deal a person types (accounts.validators bounds them).
DEAL_DATE_FIELDS = ("expected_close_date", "next_step_due")
# The item kind of overdue_item_resolved for a deal's next step (see handoffs/signals.py).


def _check_can_change(actor: User, deal: Deal) -> None:
    if not deal_editable_by(actor, deal):
        raise PermissionDenied("You may not change this deal.")


def _lock(deal: Deal, *, expected_version: int | None) -> Deal:
    """Lock the deal's row and return it fresh; with `expected_version`, also take the
    optimistic lock (StaleEditError if someone saved since that version was read)."""
    if expected_version is not None:
        bump_version(Deal, pk=deal.pk, expected_version=expected_version, what="This deal")
    return Deal.objects.select_for_update().select_related("account", "owner").get(pk=deal.pk)


def _validate_amount(amount: Decimal | None, field: str = "amount") -> None:
    if amount is None:
        raise ValidationError({field: "Give the amount (0 if there is none)."})
    if amount < 0:
        raise ValidationError({field: "The amount cannot be negative."})
    if amount >= MAX_DEAL_AMOUNT:
        raise ValidationError({field: "This amount is not plausible: it must stay below 1,000,000,000,000."})


def _check_typed_dates(actor: User, **dates: datetime.date | None) -> None:
    """Refuse, keyed by field, the dates outside the plausible window around the actor's
    today (accounts.validators): 9999-12-31 would break every page and task after it."""
    today = user_today(actor)
    errors: dict[str, list[str]] = {}
    for field, value in dates.items():
        try:
            validate_plausible_date(value, field=field, today=today)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def _validate_open_next_step(deal: Deal, *, today: datetime.date) -> None:
    if deal.is_open and deal.next_step_due is not None and deal.next_step_due < today:
        raise ValidationError({"next_step_due": "The next step cannot be due in the past: when will it happen?"})


def _tell_next_step_resolved_on_commit(deal: Deal, *, was_overdue: bool, today: datetime.date) -> None:
    if was_overdue and not _is_overdue(deal, today):
        deal_id = deal.pk
        # robust: the edit is committed; the reminder is re-checked before sending anyway.
        transaction.on_commit(
            lambda: overdue_item_resolved.send(sender=Deal, item_kind=ITEM_KIND_NEXT_STEP_OVERDUE, item_id=deal_id),
            robust=True,
        )


def _is_overdue(deal: Deal, today: datetime.date) -> bool:
    return deal.is_open and deal.next_step_due is not None and deal.next_step_due < today


def _next_step_message(deal: Deal) -> str:
    return f"Next step: {deal.next_step} (due {deal.next_step_due:%d %b %Y})."


@transaction.atomic
def deal_create(*, actor: User, account: Account, owner: User | None = None, **fields: Any) -> Deal:
    """Open a deal on `account`, owned by `owner` (default: the actor). It starts in an
    open stage and needs a next step with a date that is not in the past."""
    if not user_sells(actor):
        raise PermissionDenied("Only reps, managers and admins open deals.")
    if not accounts_visible_to(actor).filter(pk=account.pk).exists():
        raise PermissionDenied("You may not open a deal on this account.")
    refuse_unknown_fields(fields, DEAL_FIELDS)
    owner = owner or actor
    if owner.pk != actor.pk and not account_users_assignable_by(actor).filter(pk=owner.pk).exists():
        raise ValidationError({"owner": "You may not give a deal to this person."})
    fields.setdefault("stage", Stage.QUALIFY)
    if fields["stage"] not in OPEN_STAGES:
        raise ValidationError({"stage": "A new deal starts open; log the close once it exists."})
    fields.setdefault("amount", Decimal("0"))
    _validate_amount(fields["amount"])
    deal = Deal(account=account, owner=owner, team=owner.team, **fields)
    deal.full_clean()
    _validate_open_next_step(deal, today=timezone.localdate())
    _check_typed_dates(actor, **{field: getattr(deal, field) for field in DEAL_DATE_FIELDS})
    deal.save()
    event_record(
        account=account,
        subject=deal,
        verb=EventVerb.DEAL_CREATED,
        message=f"Deal “{deal.title}” opened in {deal.get_stage_display()} for {deal.amount:,.2f} {deal.currency}, "
        f"owned by {owner}.",
        actor=actor,
        data={"stage": deal.stage, "amount": str(deal.amount), "currency": deal.currency},
    )
    event_record(
        account=account,
        subject=deal,
        verb=EventVerb.NEXT_STEP_SET,
        message=_next_step_message(deal),
        actor=actor,
        data={"next_step_due": deal.next_step_due.isoformat()},
    )
    return deal


@transaction.atomic
def deal_update(*, actor: User, deal: Deal, expected_version: int, owner: User | None = None, **fields: Any) -> Deal:
    """Change a deal's details, next step, open stage or (managers, admins) owner.

    Refused with StaleEditError if someone saved the deal since `expected_version`.
    """
    _check_can_change(actor, deal)
    refuse_unknown_fields(fields, DEAL_FIELDS)
    deal = _lock(deal, expected_version=expected_version)
    today = timezone.localdate()
    was_overdue = _is_overdue(deal, today)
    old_stage, old_owner = deal.stage, deal.owner
    stage_moves = "stage" in fields and fields["stage"] != deal.stage
    if stage_moves and (not deal.is_open or fields["stage"] not in OPEN_STAGES):
        raise ValidationError({"stage": "Won and lost go through “Log the close”; a closed deal is reopened."})
    if "amount" in fields:
        _validate_amount(fields["amount"])
    changed = [field for field, value in fields.items() if getattr(deal, field) != value]
    for field in changed:
        setattr(deal, field, fields[field])
    owner_changed = owner is not None and owner.pk != deal.owner_id
    if owner_changed:
        if not user_may_reassign(actor):
            raise ValidationError({"owner": "Only a manager or an admin gives a deal to someone else."})
        if not account_users_assignable_by(actor).filter(pk=owner.pk).exists():
            raise ValidationError({"owner": "You may not give a deal to this person."})
        deal.owner, deal.team = owner, owner.team
    deal.full_clean()
    _validate_open_next_step(deal, today=today)
    # Only the dates typed now: an old date kept as it was does not block other edits.
    _check_typed_dates(actor, **{field: getattr(deal, field) for field in DEAL_DATE_FIELDS if field in changed})
    deal.save()

    detail_fields = [field for field in changed if field not in {"stage", "next_step", "next_step_due"}]
    if detail_fields:
        labels = ", ".join(str(Deal._meta.get_field(field).verbose_name) for field in detail_fields)
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.DEAL_UPDATED,
            message=f"Deal details changed: {labels}.",
            actor=actor,
            data={"fields": detail_fields},
        )
    if "stage" in changed:
        _record_stage_move(deal, old_stage=old_stage, actor=actor)
    if {"next_step", "next_step_due"} & set(changed) and deal.is_open:
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.NEXT_STEP_SET,
            message=_next_step_message(deal),
            actor=actor,
            data={"next_step_due": deal.next_step_due.isoformat()},
        )
    if owner_changed:
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.OWNER_CHANGED,
            message=f"Deal owner changed from {old_owner} to {deal.owner}.",
            actor=actor,
            data={"from_user": old_owner.pk, "to_user": deal.owner_id},
        )
    packet_pending_settle(deal=deal, actor=actor)
    _tell_next_step_resolved_on_commit(deal, was_overdue=was_overdue, today=today)
    return deal


@transaction.atomic
def deal_next_step_set(
    *, actor: User, deal: Deal, next_step: str, next_step_due: datetime.date, expected_version: int
) -> Deal:
    """Set or move an open deal's next step (what and when): the inline edit of My day,
    the board and the deal page (issue 16).

    Goes through deal_update, so its rules hold unchanged: the date not in the past nor
    implausible, the optimistic version check (StaleEditError), the NEXT_STEP_SET event
    and, when an overdue next step is moved on, the reminder told it is resolved. A
    closed deal has no next step: refused, read on the locked row so that a close saved
    meanwhile is named as such rather than as a stale edit."""
    _check_can_change(actor, deal)
    deal = _lock(deal, expected_version=None)
    if not deal.is_open:
        raise ValidationError({"next_step": "This deal is closed: it has no next step any more."})
    return deal_update(
        actor=actor,
        deal=deal,
        expected_version=expected_version,
        next_step=(next_step or "").strip(),
        next_step_due=next_step_due,
    )


def _record_stage_move(deal: Deal, *, old_stage: str, actor: User) -> None:
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.STAGE_MOVED,
        message=f"Moved from {Stage(old_stage).label} to {deal.get_stage_display()}.",
        actor=actor,
        data={"from": old_stage, "to": deal.stage},
    )


@transaction.atomic
def deal_move_stage(*, actor: User, deal: Deal, stage: str, expected_version: int | None = None) -> Deal:
    """Move an open deal to another open stage (the board). Won and lost are reached
    only through deal_close, which asks for the close date, amount and reason."""
    _check_can_change(actor, deal)
    if stage not in Stage.values:
        raise ValidationError({"stage": "Unknown stage."})
    if stage in CLOSED_STAGES:
        raise ValidationError({"stage": "To mark a deal won or lost, log the close: it asks for the date and reason."})
    deal = _lock(deal, expected_version=expected_version)
    if not deal.is_open:
        raise ValidationError({"stage": "This deal is closed; a manager may reopen it."})
    if deal.stage == stage:
        return deal
    old_stage = deal.stage
    deal.stage = stage
    if expected_version is None:
        deal.version += 1
    deal.full_clean()
    deal.save(update_fields=["stage", "version", "updated_at"])
    _record_stage_move(deal, old_stage=old_stage, actor=actor)
    return deal


@transaction.atomic
def deal_contact_add(*, actor: User, deal: Deal, contact: Contact, role: str = ContactRole.OTHER) -> DealContact:
    """Name a contact of the deal's account on the deal, with their role on it."""
    _check_can_change(actor, deal)
    deal = _lock(deal, expected_version=None)
    if contact.account_id != deal.account_id:
        raise ValidationError({"contact": "This contact belongs to another account."})
    if DealContact.objects.filter(deal=deal, contact=contact).exists():
        raise ValidationError({"contact": f"{contact} is already on this deal."})
    deal_contact = DealContact(deal=deal, contact=contact, role=role)
    deal_contact.full_clean()
    deal_contact.save()
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_CONTACT_ADDED,
        message=f"{contact} added to the deal as {deal_contact.get_role_display().lower()}.",
        actor=actor,
        data={"contact_id": contact.pk, "role": role},
    )
    packet_pending_settle(deal=deal, actor=actor)
    return deal_contact


@transaction.atomic
def deal_close(
    *,
    actor: User,
    deal: Deal,
    outcome: str,
    closed_on: datetime.date,
    final_amount: Decimal,
    reason: str,
    lost_reason: str = "",
    packet_waiver_reason: str = "",
    expected_version: int | None = None,
    packet_pending_ok: bool = False,
) -> Deal:
    """Log the close. Won: the deal is marked won and its hand-off is created in the
    same transaction. Lost: needs a reason from the list and a note.

    A won close needs the hand-off packet (handoffs.packet): refused with a message per
    missing part, nothing written, unless `packet_waiver_reason` says why it closes
    without them; the waiver is then kept on the deal, with who and when.

    `packet_pending_ok` (a close from a CRM, which cannot be refused): a won close with
    parts missing and no waiver is recorded won with packet_pending_since=now and no
    hand-off yet; the timeline names what is missing and the rep is told on commit
    (handoffs.signals.packet_pending). The hand-off starts when the packet is complete
    (handoffs.services.packet_pending) or is waived (deal_packet_pending_waive)."""
    _check_can_change(actor, deal)
    _validate_close_input(
        actor, outcome=outcome, closed_on=closed_on, final_amount=final_amount, reason=reason, lost_reason=lost_reason
    )
    deal = _lock(deal, expected_version=expected_version)
    if not deal.is_open:
        raise ValidationError("This deal is already closed.")
    pending = _packet_left_pending(deal, outcome=outcome, waiver_reason=packet_waiver_reason, ok=packet_pending_ok)
    waived = [] if pending else _check_packet(deal, outcome=outcome, waiver_reason=packet_waiver_reason)
    today = timezone.localdate()
    was_overdue = _is_overdue(deal, today)
    stage_before = deal.stage
    _apply_close(
        deal,
        outcome=outcome,
        closed_on=closed_on,
        final_amount=final_amount,
        reason=reason,
        lost_reason=lost_reason,
        bump_version=expected_version is None,
    )
    if waived:
        _record_packet_waiver(deal, actor=actor, reason=packet_waiver_reason, waived=waived)
    _record_close(deal, actor=actor, stage_before=stage_before)
    if pending:
        _record_packet_pending(deal, actor=actor, missing=pending)
    elif outcome == Stage.WON:
        handoff_start(deal=deal, actor=actor)
    if outcome == Stage.WON:
        send_domain_event(Deal, event=EVENT_DEAL_WON, item_kind=EVENT_ABOUT_DEAL, item_id=deal.pk, actor_id=actor.pk)
    _tell_next_step_resolved_on_commit(deal, was_overdue=was_overdue, today=today)
    return deal


def _packet_left_pending(deal: Deal, *, outcome: str, waiver_reason: str, ok: bool) -> list[PacketItem]:
    """The missing parts a won close leaves pending: only with `ok` (a close from a CRM),
    no waiver reason written and something missing; [] otherwise."""
    if not ok or outcome != Stage.WON or (waiver_reason or "").strip():
        return []
    return deal_packet(deal).missing


def _record_packet_pending(deal: Deal, *, actor: User, missing: list[PacketItem]) -> None:
    deal.packet_pending_since = timezone.now()
    deal.save(update_fields=["packet_pending_since", "updated_at"])
    parts = "; ".join(item.label.lower() for item in missing)
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_UPDATED,
        message=f"Won with the hand-off packet pending (missing: {parts}): the hand-off starts once it is complete "
        "or a manager waives it.",
        actor=actor,
        data={"fields": ["packet_pending_since"], "packet_pending": True, "missing": [item.key for item in missing]},
    )
    deal_id, actor_id = deal.pk, actor.pk
    transaction.on_commit(
        lambda: packet_pending_signal.send(sender=Deal, deal_id=deal_id, actor_id=actor_id), robust=True
    )


@transaction.atomic
def deal_packet_pending_recheck(*, actor: User, deal: Deal) -> Handoff:
    """Start the hand-off of a deal whose pending packet is complete although none of its
    parts changed (the organisation's gate was relaxed since the close); refused with a
    message per part while something is still missing."""
    _check_can_change(actor, deal)
    deal = _lock(deal, expected_version=None)
    if not packet_pending(deal):
        raise ValidationError("This deal's hand-off packet is not pending any more.")
    handoff = packet_pending_settle(deal=deal, actor=actor)
    if handoff is None:
        raise ValidationError(deal_packet(deal).errors())
    return handoff


@transaction.atomic
def deal_packet_pending_waive(*, actor: User, deal: Deal, reason: str) -> Handoff:
    """A manager of the deal (or an admin) waives what its pending packet still lacks:
    the waiver is kept on the deal with who and when, as a waiver at the close, and the
    hand-off starts in the same transaction."""
    if not packet_pending_waivable_by(actor, deal):
        raise PermissionDenied("Only a manager of this deal's team or an admin waives a pending packet.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the hand-off starts without the full packet."})
    deal = _lock(deal, expected_version=None)
    if not packet_pending(deal):
        raise ValidationError("This deal's hand-off packet is not pending any more.")
    missing = deal_packet(deal).missing
    deal.packet_pending_since = None
    deal.version += 1
    deal.save(update_fields=["packet_pending_since", "version", "updated_at"])
    if missing:
        _record_packet_waiver(deal, actor=actor, reason=reason, waived=missing)
    return handoff_start(deal=deal, actor=actor)


def _validate_close_input(
    actor: User,
    *,
    outcome: str,
    closed_on: datetime.date | None,
    final_amount: Decimal | None,
    reason: str,
    lost_reason: str,
) -> None:
    """Refuse, keyed by field, a close whose outcome, date, amount or reasons are wrong."""
    errors: dict[str, str] = {}
    if outcome not in (Stage.WON, Stage.LOST):
        errors["outcome"] = "Choose won or lost."
    if closed_on is None:
        errors["closed_on"] = "Give the close date."
    elif closed_on > timezone.localdate():
        errors["closed_on"] = "A deal cannot close in the future; log the close on the day."
    else:
        try:
            _check_typed_dates(actor, closed_on=closed_on)
        except ValidationError as error:
            errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    if not (reason or "").strip():
        errors["reason"] = "Say why the deal was won or lost." if outcome != Stage.LOST else "Add a note on the loss."
    if outcome == Stage.LOST and lost_reason not in LostReason.values:
        errors["lost_reason"] = "Choose why the deal was lost."
    try:
        _validate_amount(final_amount, "final_amount")
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)


def _check_packet(deal: Deal, *, outcome: str, waiver_reason: str) -> list[PacketItem]:
    """The missing parts a won close waives ([] when nothing is missing, or it is lost);
    without a written waiver reason, a ValidationError with a message per missing part.

    Read on the locked row: a contact removed meanwhile cannot slip through."""
    if outcome != Stage.WON:
        return []
    missing = deal_packet(deal).missing
    if missing and not (waiver_reason or "").strip():
        raise ValidationError({item.key: item.message for item in missing})
    return missing


def _apply_close(
    deal: Deal,
    *,
    outcome: str,
    closed_on: datetime.date,
    final_amount: Decimal,
    reason: str,
    lost_reason: str,
    bump_version: bool,
) -> None:
    deal.stage = outcome
    deal.closed_on = closed_on
    deal.amount = final_amount
    deal.close_reason = reason.strip()
    deal.lost_reason = lost_reason if outcome == Stage.LOST else ""
    # A closed deal has no next step: the hand-off (won) or nothing (lost) follows.
    deal.next_step, deal.next_step_due = "", None
    if bump_version:
        deal.version += 1
    deal.full_clean()
    deal.save()


def _record_packet_waiver(deal: Deal, *, actor: User, reason: str, waived: list[PacketItem]) -> None:
    deal.packet_waiver_reason = reason.strip()
    deal.packet_waived_by = actor
    deal.packet_waived_at = timezone.now()
    deal.full_clean()
    deal.save(update_fields=["packet_waiver_reason", "packet_waived_by", "packet_waived_at", "updated_at"])
    parts = "; ".join(item.label.lower() for item in waived)
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.PACKET_WAIVED,
        message=f"Closed without the full hand-off packet (missing: {parts}): {deal.packet_waiver_reason}",
        actor=actor,
        data={"missing": [item.key for item in waived]},
    )


def _record_close(deal: Deal, *, actor: User, stage_before: str) -> None:
    if deal.stage == Stage.WON:
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.DEAL_WON,
            message=f"Won on {deal.closed_on:%d %b %Y} for {deal.amount:,.2f} {deal.currency}: {deal.close_reason}",
            actor=actor,
            data={"stage_before": stage_before, "amount": str(deal.amount)},
        )
    else:
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.DEAL_LOST,
            message=f"Lost on {deal.closed_on:%d %b %Y} ({deal.get_lost_reason_display()}): {deal.close_reason}",
            actor=actor,
            data={"stage_before": stage_before, "lost_reason": deal.lost_reason},
        )


@transaction.atomic
def deal_no_promises_set(*, actor: User, deal: Deal, no_promises_made: bool) -> Deal:
    """State (or withdraw) that no promises were made on an open deal: the packet's
    explicit answer when there is no promise to list. Refused while promises are listed;
    promise_add withdraws it."""
    _check_can_change(actor, deal)
    deal = _lock(deal, expected_version=None)
    if not deal.is_open and not packet_pending(deal):
        raise ValidationError({"no_promises_made": "This deal is closed: its packet was settled at the close."})
    if deal.no_promises_made == no_promises_made:
        return deal
    if no_promises_made and deal.promises.exclude(status=PromiseStatus.DROPPED).exists():
        raise ValidationError({"no_promises_made": "This deal lists promises: they were made."})
    deal.no_promises_made = no_promises_made
    deal.version += 1
    deal.full_clean()
    deal.save(update_fields=["no_promises_made", "version", "updated_at"])
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_UPDATED,
        message="Stated that no promises were made." if no_promises_made else "Withdrew “no promises were made”.",
        actor=actor,
        data={"fields": ["no_promises_made"], "no_promises_made": no_promises_made},
    )
    packet_pending_settle(deal=deal, actor=actor)
    return deal


@transaction.atomic
def deal_reopen(
    *,
    actor: User,
    deal: Deal,
    reason: str,
    next_step: str = "",
    next_step_due: datetime.date | None = None,
) -> Deal:
    """Reopen a closed deal (managers and admins), back in the stage it closed from.

    A won deal is reopened only while its hand-off still awaits an owner; that hand-off
    (and its steps) is withdrawn, so that a later won close starts a fresh one.
    """
    if not deal_reopenable_by(actor, deal):
        raise PermissionDenied("Only a manager of this deal's team or an admin reopens a closed deal.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the deal is reopened."})
    deal = _lock(deal, expected_version=None)
    if deal.is_open:
        raise ValidationError("This deal is open already.")
    today = timezone.localdate()
    withdrawn_handoff_id = None
    if deal.stage == Stage.WON:
        handoff = Handoff.objects.select_for_update().filter(deal=deal).first()
        if handoff is not None:
            if handoff.status != HandoffStatus.AWAITING_OWNER:
                raise ValidationError(
                    f"The hand-off of this deal is already under way ({handoff.get_status_display().lower()}): "
                    "it cannot be reopened any more."
                )
            withdrawn_handoff_id = handoff.pk
            try:
                handoff.delete()
            except ProtectedError:
                raise ValidationError(
                    "Work has already been recorded against this deal's hand-off: it cannot be reopened."
                ) from None
    close_event = deal.events.filter(verb__in=[EventVerb.DEAL_WON, EventVerb.DEAL_LOST]).order_by("-created_at").first()
    stage_before = (close_event.data.get("stage_before") if close_event else None) or Stage.NEGOTIATE
    closed_as = deal.get_stage_display()
    deal.stage = stage_before if stage_before in OPEN_STAGES else Stage.NEGOTIATE
    deal.closed_on = None
    deal.close_reason = ""
    deal.lost_reason = ""
    # A waiver was for that close; the next one meets the gate again (the timeline keeps it).
    deal.packet_waiver_reason, deal.packet_waived_by, deal.packet_waived_at = "", None, None
    deal.packet_pending_since = None
    deal.next_step = next_step.strip() or "Decide the next move after the reopening"
    deal.next_step_due = next_step_due or today
    deal.version += 1
    deal.full_clean()
    _validate_open_next_step(deal, today=today)
    _check_typed_dates(actor, next_step_due=deal.next_step_due)
    deal.save()
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.DEAL_REOPENED,
        message=f"Reopened (was {closed_as.lower()}) into {deal.get_stage_display()}: {reason.strip()}",
        actor=actor,
        data={"withdrawn_handoff_id": withdrawn_handoff_id, "stage": deal.stage},
    )
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.NEXT_STEP_SET,
        message=_next_step_message(deal),
        actor=actor,
        data={"next_step_due": deal.next_step_due.isoformat()},
    )
    return deal
