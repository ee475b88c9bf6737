"""Hand-offs: started by a won close, then proposed, accepted or declined, met, completed."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import EventVerb, Role
from accounts.models import Contact, User
from accounts.services import account_change_owner, event_record
from accounts.validators import user_today, validate_plausible_datetime
from handoffs.access import (
    user_may_answer_proposal,
    user_may_complete_handoff,
    user_may_propose_owner,
    user_may_work_handoff,
    user_may_work_step,
)
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, StepOwnerRole, StepStatus
from handoffs.models import Deal, Handoff, HandoffStep, Meeting, MeetingAttendee, Promise
from handoffs.services.handoff_start import handoff_start, playbook_for_deal  # noqa: F401  (re-exported)
from handoffs.services.promises import promises_take_over
from handoffs.signals import (
    EVENT_ABOUT_HANDOFF,
    EVENT_ABOUT_MEETING,
    EVENT_HANDOFF_ACCEPTED,
    EVENT_HANDOFF_DECLINED,
    EVENT_HANDOFF_PROPOSED,
    EVENT_MEETING_HELD,
    EVENT_MEETING_SCHEDULED,
    ITEM_KIND_MEETING_NOT_SCHEDULED,
    ITEM_KIND_OWNER_NOT_ACCEPTED,
    ITEM_KIND_PROMISE_OVERDUE,
    ITEM_KIND_STEP_OVERDUE,
    MESSAGE_ABOUT_HANDOFF,
    MESSAGE_ABOUT_MEETING,
    MESSAGE_CANCELLATION,
    MESSAGE_CUSTOMER_SUMMARY,
    MESSAGE_DECLINE_NOTICE,
    MESSAGE_HANDOFF_PROPOSED,
    MESSAGE_INVITE,
    handoff_accepted,
    handoff_event_version,
    handoff_proposed,
    message_requested,
    overdue_item_resolved,
    send_domain_event,
)


def _refuse(message: str, field: str | None = None) -> None:
    raise ValidationError({field: message} if field else message)


def _lock(handoff: Handoff) -> Handoff:
    """Re-read the hand-off under a row lock: two concurrent requests (a double-click)
    then run one after the other, and the second sees the first one's status."""
    return Handoff.objects.select_for_update(of=("self",)).select_related("deal__account", "rep").get(pk=handoff.pk)


def _save_and_record(locked: Handoff, *, actor: User, verb: str, message: str, **data: object) -> None:
    """Validate and save a locked hand-off, and put the change on its deal's timeline."""
    locked.full_clean()
    locked.save()
    deal = locked.deal
    event_record(
        account=deal.account,
        subject=deal,
        verb=verb,
        message=message,
        actor=actor,
        data={"handoff_id": locked.pk, **data},
    )


def _send_on_commit(signal: Any, **kwargs: Any) -> None:
    # robust: the change is committed already; a failing receiver is logged and must not
    # turn the user's success into an error page (followups sweeps make up for it).
    transaction.on_commit(lambda: signal.send(**kwargs), robust=True)


def _resolved_on_commit(sender: type, item_kind: str, item_id: int) -> None:
    _send_on_commit(overdue_item_resolved, sender=sender, item_kind=item_kind, item_id=item_id)


def _request_messages(
    sender: type,
    *,
    purpose: str,
    about: str,
    item_id: int,
    recipients: Iterable[User | Contact],
    version: int = 0,
    supersedes: tuple[str, ...] = (),
) -> None:
    """Ask for a message to each recipient with an e-mail address, inside the caller's
    transaction (see handoffs.signals.message_requested): written with the change, or
    not at all."""
    recipients = [person for person in recipients if person is not None and person.email]
    if not recipients:
        return
    message_requested.send(
        sender=sender,
        purpose=purpose,
        about=about,
        item_id=item_id,
        version=version,
        recipients=recipients,
        supersedes=supersedes,
    )


def _request_meeting_messages(meeting: Meeting, *, purpose: str) -> None:
    """The meeting's invite (or cancellation) at its current SEQUENCE to every attendee; an
    older one not sent yet is superseded, so a meeting moved twice before the senders ran
    sends only the newest."""
    attendees = meeting.attendees.select_related("user", "contact").order_by("id")
    _request_messages(
        Meeting,
        purpose=purpose,
        about=MESSAGE_ABOUT_MEETING,
        item_id=meeting.pk,
        version=meeting.sequence,
        recipients=[attendee.user or attendee.contact for attendee in attendees],
        supersedes=(MESSAGE_INVITE, MESSAGE_CANCELLATION),
    )


def decline_notice_recipients(handoff: Handoff) -> list[User]:
    """Who hears that a proposed owner declined: the deal team's manager and whoever
    proposed the decliner; the admins if neither."""
    people: dict[int, User] = {}
    for person in (handoff.team.manager if handoff.team else None, handoff.rep.manager, handoff.proposed_by):
        if person is not None and person.is_active and person.pk != handoff.declined_by_id:
            people[person.pk] = person
    if not people:
        people = {admin.pk: admin for admin in User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id")}
    return list(people.values())


# --- ownership ---------------------------------------------------------------------

PROPOSABLE_STATUSES = (HandoffStatus.AWAITING_OWNER, HandoffStatus.OWNER_PROPOSED, HandoffStatus.DECLINED)


@transaction.atomic
def handoff_propose_owner(*, actor: User, handoff: Handoff, owner: User) -> Handoff:
    """Name the delivery lead who should take the account; they are e-mailed to accept."""
    locked = _lock(handoff)
    if not user_may_propose_owner(actor, locked):
        raise PermissionDenied("Only a manager (or an admin) may propose the delivery owner.")
    if locked.status not in PROPOSABLE_STATUSES:
        _refuse(f"{locked.delivery_owner} already accepted this hand-off; it cannot be proposed again.")
    if not owner.is_active or owner.role != Role.DELIVERY:
        _refuse("Propose a delivery lead: only they can own a customer after the sale.", "owner")
    if locked.status == HandoffStatus.OWNER_PROPOSED and locked.proposed_owner_id == owner.pk:
        _refuse(f"{owner} is already the proposed owner.", "owner")
    if locked.status == HandoffStatus.DECLINED and locked.declined_by_id == owner.pk:
        _refuse(f"{owner} declined this hand-off; propose someone else.", "owner")
    locked.proposed_owner = owner
    locked.proposed_by = actor
    locked.proposed_at = timezone.now()
    locked.status = HandoffStatus.OWNER_PROPOSED
    _save_and_record(
        locked,
        actor=actor,
        verb=EventVerb.OWNER_PROPOSED,
        message=f"{actor} proposed {owner} as the delivery owner.",
        proposed_owner=owner.pk,
    )
    _request_messages(
        Handoff,
        purpose=MESSAGE_HANDOFF_PROPOSED,
        about=MESSAGE_ABOUT_HANDOFF,
        item_id=locked.pk,
        version=handoff_event_version(locked.proposed_at),
        recipients=[owner],
    )
    _send_on_commit(handoff_proposed, sender=Handoff, handoff_id=locked.pk, owner_id=owner.pk, actor_id=actor.pk)
    send_domain_event(
        Handoff, event=EVENT_HANDOFF_PROPOSED, item_kind=EVENT_ABOUT_HANDOFF, item_id=locked.pk, actor_id=actor.pk
    )
    handoff.refresh_from_db()
    return locked


@transaction.atomic
def handoff_accept(*, actor: User, handoff: Handoff) -> Handoff:
    """The proposed delivery lead takes the account: they become its owner (kept in the
    ownership history), and the delivery steps and the promises still to keep are theirs."""
    locked = _lock(handoff)
    if locked.status != HandoffStatus.OWNER_PROPOSED:
        if locked.delivery_owner_id == actor.pk:
            _refuse("You already accepted this hand-off.")
        _refuse(f"This hand-off is not waiting for an answer ({locked.get_status_display().lower()}).")
    if not user_may_answer_proposal(actor, locked):
        _refuse("This hand-off was proposed to someone else; only they can accept it.")
    now = timezone.now()
    deal = locked.deal
    locked.delivery_owner = actor
    locked.accepted_at = now
    locked.status = HandoffStatus.ACCEPTED
    locked.full_clean()
    locked.save()
    account_change_owner(
        account=deal.account,
        new_owner=actor,
        changed_by=actor,
        reason=f"Accepted the hand-off of {deal}",
        subject=deal,
    )
    locked.steps.filter(owner_role=StepOwnerRole.DELIVERY, status=StepStatus.OPEN).update(assignee=actor)
    promises_take_over(handoff=locked, owner=actor)
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.OWNERSHIP_ACCEPTED,
        message=f"{actor} accepted the hand-off and now owns {deal.account}.",
        actor=actor,
        data={"handoff_id": locked.pk},
    )
    _send_on_commit(handoff_accepted, sender=Handoff, handoff_id=locked.pk, actor_id=actor.pk)
    send_domain_event(
        Handoff, event=EVENT_HANDOFF_ACCEPTED, item_kind=EVENT_ABOUT_HANDOFF, item_id=locked.pk, actor_id=actor.pk
    )
    _resolved_on_commit(Handoff, ITEM_KIND_OWNER_NOT_ACCEPTED, locked.pk)
    handoff.refresh_from_db()
    return locked


@transaction.atomic
def handoff_decline(*, actor: User, handoff: Handoff, reason: str) -> Handoff:
    """The proposed delivery lead refuses, saying why; the manager is e-mailed to
    propose someone else, and the hand-off waits as "declined — needs a new owner"."""
    locked = _lock(handoff)
    if locked.status != HandoffStatus.OWNER_PROPOSED:
        _refuse(f"This hand-off is not waiting for an answer ({locked.get_status_display().lower()}).")
    if not user_may_answer_proposal(actor, locked):
        _refuse("This hand-off was proposed to someone else; only they can decline it.")
    if not reason.strip():
        _refuse("Say why you decline, so your manager can find the right owner.", "reason")
    locked.status = HandoffStatus.DECLINED
    locked.declined_by = actor
    locked.declined_at = timezone.now()
    locked.decline_reason = reason.strip()
    _save_and_record(
        locked,
        actor=actor,
        verb=EventVerb.OWNERSHIP_DECLINED,
        message=f"{actor} declined the hand-off: {reason.strip()}",
    )
    _request_messages(
        Handoff,
        purpose=MESSAGE_DECLINE_NOTICE,
        about=MESSAGE_ABOUT_HANDOFF,
        item_id=locked.pk,
        version=handoff_event_version(locked.declined_at),
        recipients=decline_notice_recipients(locked),
    )
    send_domain_event(
        Handoff, event=EVENT_HANDOFF_DECLINED, item_kind=EVENT_ABOUT_HANDOFF, item_id=locked.pk, actor_id=actor.pk
    )
    handoff.refresh_from_db()
    return locked


@transaction.atomic
def handoff_complete(*, actor: User, handoff: Handoff) -> Handoff:
    """Close the hand-off once the three-way meeting was held and every required step is
    done or skipped."""
    locked = _lock(handoff)
    if not user_may_complete_handoff(actor, locked):
        raise PermissionDenied("Only the delivery owner or a manager may complete the hand-off.")
    if locked.status != HandoffStatus.MEETING_HELD:
        _refuse("A hand-off is complete only after its three-way meeting was held.")
    open_required = list(locked.steps.filter(required=True, status=StepStatus.OPEN).values_list("title", flat=True))
    if open_required:
        _refuse("These required steps are still open: " + "; ".join(open_required) + ".")
    locked.status = HandoffStatus.COMPLETE
    locked.completed_at = timezone.now()
    _save_and_record(locked, actor=actor, verb=EventVerb.HANDOFF_COMPLETED, message=f"{actor} completed the hand-off.")
    handoff.refresh_from_db()
    return locked


# --- steps -------------------------------------------------------------------------


def _lock_step(*, actor: User, step: HandoffStep) -> tuple[HandoffStep, Handoff]:
    handoff = _lock(step.handoff)
    locked_step = HandoffStep.objects.select_for_update().get(pk=step.pk)
    if not user_may_work_step(actor, locked_step, handoff):
        raise PermissionDenied("You do not work on this hand-off.")
    if handoff.status == HandoffStatus.DECLINED:
        _refuse("This hand-off was declined: steps wait until a new owner is proposed.")
    if handoff.status == HandoffStatus.COMPLETE:
        _refuse("This hand-off is complete; its steps can no longer change.")
    return locked_step, handoff


# What each change of a step's status records on the timeline.
_STEP_EVENTS = {
    StepStatus.DONE: (EventVerb.STEP_DONE, "{actor} completed the step “{title}”."),
    StepStatus.SKIPPED: (EventVerb.STEP_SKIPPED, "{actor} skipped the step “{title}”: {reason}"),
    StepStatus.OPEN: (EventVerb.STEP_REOPENED, "{actor} reopened the step “{title}”."),
}


def _step_set_status(*, actor: User, step: HandoffStep, status: str, skip_reason: str = "") -> HandoffStep:
    """Close (done, skipped) or reopen a step, under the hand-off's lock, on the timeline."""
    locked, handoff = _lock_step(actor=actor, step=step)
    closing = status != StepStatus.OPEN
    if closing and locked.status != StepStatus.OPEN:
        _refuse(f"“{locked.title}” is already {locked.get_status_display().lower()}.")
    if not closing and locked.status == StepStatus.OPEN:
        _refuse(f"“{locked.title}” is already open.")
    locked.status = status
    locked.done_by = actor if closing else None
    locked.done_at = timezone.now() if closing else None
    locked.skip_reason = skip_reason
    locked.full_clean()
    locked.save()
    verb, message = _STEP_EVENTS[status]
    event_record(
        account=handoff.deal.account,
        subject=handoff.deal,
        verb=verb,
        message=message.format(actor=actor, title=locked.title, reason=skip_reason),
        actor=actor,
        data={"handoff_id": handoff.pk, "step_id": locked.pk},
    )
    if closing and locked.due_on < timezone.localdate():
        _resolved_on_commit(HandoffStep, ITEM_KIND_STEP_OVERDUE, locked.pk)
    return locked


@transaction.atomic
def handoff_step_complete(*, actor: User, step: HandoffStep) -> HandoffStep:
    """Mark a step done, by the actor, now."""
    return _step_set_status(actor=actor, step=step, status=StepStatus.DONE)


@transaction.atomic
def handoff_step_skip(*, actor: User, step: HandoffStep, reason: str) -> HandoffStep:
    """Skip a step on purpose, saying why (the record keeps who and when)."""
    if not reason.strip():
        _refuse("Say why this step is skipped.", "reason")
    return _step_set_status(actor=actor, step=step, status=StepStatus.SKIPPED, skip_reason=reason.strip()[:300])


@transaction.atomic
def handoff_step_reopen(*, actor: User, step: HandoffStep) -> HandoffStep:
    """Put a done or skipped step back to open (ticked by mistake)."""
    return _step_set_status(actor=actor, step=step, status=StepStatus.OPEN)


# --- the three-way meeting ---------------------------------------------------------


def _check_meeting_time(*, actor: User, starts_at: datetime.datetime, duration_minutes: int, location: str) -> None:
    errors: dict[str, str] = {}
    if timezone.is_naive(starts_at):
        errors["starts_at"] = "Give the meeting's time with its time zone."
    elif starts_at <= timezone.now():
        errors["starts_at"] = "The meeting must be in the future."
    else:
        # 9999-12-31 23:30 would be saved, then no invite or calendar feed could be built.
        try:
            validate_plausible_datetime(starts_at, today=user_today(actor), tz=actor.tzinfo)
        except ValidationError as error:
            errors["starts_at"] = error.messages[0]
    if not 5 <= duration_minutes <= 8 * 60:
        errors["duration_minutes"] = "A meeting lasts between 5 minutes and 8 hours."
    if not location.strip():
        errors["location"] = "Say where the meeting is: a room, an address or a video link."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def meeting_schedule(
    *,
    actor: User,
    handoff: Handoff,
    starts_at: datetime.datetime,
    duration_minutes: int,
    location: str,
    contacts: list[Contact],
) -> Meeting:
    """Schedule the three-way meeting: the rep, the delivery owner and at least one
    contact of the customer. Each attendee is e-mailed a calendar invite after commit."""
    locked = _lock(handoff)
    if not user_may_work_handoff(actor, locked):
        raise PermissionDenied("Only the rep, the delivery owner or their managers schedule the meeting.")
    if locked.status in (HandoffStatus.AWAITING_OWNER, HandoffStatus.OWNER_PROPOSED, HandoffStatus.DECLINED):
        _refuse("A delivery owner must accept the hand-off before the meeting can be scheduled.")
    if locked.status == HandoffStatus.MEETING_SCHEDULED:
        _refuse("A meeting is already scheduled: reschedule or cancel it instead.")
    if locked.status != HandoffStatus.ACCEPTED:
        _refuse("The three-way meeting of this hand-off was already held.")
    _check_meeting_time(actor=actor, starts_at=starts_at, duration_minutes=duration_minutes, location=location)
    if not contacts:
        _refuse("Invite at least one contact of the customer: a hand-off meeting has three sides.", "contacts")
    account = locked.deal.account
    foreign = [str(contact) for contact in contacts if contact.account_id != account.pk]
    if foreign:
        _refuse(f"{', '.join(foreign)} is not a contact of {account}.", "contacts")
    without_email = [str(contact) for contact in contacts if not contact.email]
    if without_email:
        _refuse(f"{', '.join(without_email)} has no e-mail address for the invite; add one first.", "contacts")
    if locked.rep_id == locked.delivery_owner_id:
        _refuse("The rep and the delivery owner are the same person: a hand-off meeting needs both sides.")

    meeting = Meeting(
        handoff=locked,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        location=location.strip(),
        organizer=actor,
    )
    meeting.full_clean()
    meeting.save()
    MeetingAttendee.objects.bulk_create(
        [
            MeetingAttendee(meeting=meeting, user_id=locked.rep_id),
            MeetingAttendee(meeting=meeting, user_id=locked.delivery_owner_id),
        ]
        + [MeetingAttendee(meeting=meeting, contact=contact) for contact in dict.fromkeys(contacts)]
    )
    locked.status = HandoffStatus.MEETING_SCHEDULED
    locked.save(update_fields=["status", "updated_at"])
    deal = locked.deal
    event_record(
        account=account,
        subject=deal,
        verb=EventVerb.MEETING_SCHEDULED,
        message=f"{actor} scheduled the hand-off meeting for {_when(starts_at)} ({meeting.location}).",
        actor=actor,
        data={"handoff_id": locked.pk, "meeting_id": meeting.pk},
    )
    _request_meeting_messages(meeting, purpose=MESSAGE_INVITE)
    send_domain_event(
        Meeting, event=EVENT_MEETING_SCHEDULED, item_kind=EVENT_ABOUT_MEETING, item_id=meeting.pk, actor_id=actor.pk
    )
    _resolved_on_commit(Handoff, ITEM_KIND_MEETING_NOT_SCHEDULED, locked.pk)
    handoff.refresh_from_db()
    return meeting


def _lock_meeting(*, actor: User, meeting: Meeting) -> tuple[Meeting, Handoff]:
    handoff = _lock(meeting.handoff)
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if not user_may_work_handoff(actor, handoff):
        raise PermissionDenied("Only the rep, the delivery owner or their managers change the meeting.")
    return locked, handoff


@transaction.atomic
def meeting_reschedule(
    *, actor: User, meeting: Meeting, starts_at: datetime.datetime, duration_minutes: int, location: str
) -> Meeting:
    """Move the meeting; the invites go out again with the same UID and a higher
    SEQUENCE, so calendars update the event instead of adding a second one."""
    locked, handoff = _lock_meeting(actor=actor, meeting=meeting)
    if locked.status != MeetingStatus.SCHEDULED:
        _refuse(f"This meeting is {locked.get_status_display().lower()}; it can no longer be moved.")
    _check_meeting_time(actor=actor, starts_at=starts_at, duration_minutes=duration_minutes, location=location)
    locked.starts_at = starts_at
    locked.duration_minutes = duration_minutes
    locked.location = location.strip()
    locked.sequence += 1
    locked.full_clean()
    locked.save()
    event_record(
        account=handoff.deal.account,
        subject=handoff.deal,
        verb=EventVerb.MEETING_RESCHEDULED,
        message=f"{actor} moved the hand-off meeting to {_when(starts_at)} ({locked.location}).",
        actor=actor,
        data={"handoff_id": handoff.pk, "meeting_id": locked.pk},
    )
    _request_meeting_messages(locked, purpose=MESSAGE_INVITE)
    return locked


@transaction.atomic
def meeting_cancel(*, actor: User, meeting: Meeting, reason: str = "") -> Meeting:
    """Call the meeting off; the attendees get a METHOD:CANCEL for the same event, and
    the hand-off waits for a new meeting."""
    locked, handoff = _lock_meeting(actor=actor, meeting=meeting)
    if locked.status != MeetingStatus.SCHEDULED:
        _refuse(f"This meeting is {locked.get_status_display().lower()}; it cannot be cancelled.")
    locked.status = MeetingStatus.CANCELLED
    locked.sequence += 1
    locked.full_clean()
    locked.save()
    if handoff.status == HandoffStatus.MEETING_SCHEDULED:
        handoff.status = HandoffStatus.ACCEPTED
        handoff.save(update_fields=["status", "updated_at"])
    suffix = f": {reason.strip()}" if reason.strip() else "."
    event_record(
        account=handoff.deal.account,
        subject=handoff.deal,
        verb=EventVerb.MEETING_CANCELLED,
        message=f"{actor} cancelled the hand-off meeting of {_when(locked.starts_at)}{suffix}",
        actor=actor,
        data={"handoff_id": handoff.pk, "meeting_id": locked.pk},
    )
    # Everyone gets the cancellation; who was never invited is left out when it is sent.
    _request_meeting_messages(locked, purpose=MESSAGE_CANCELLATION)
    return locked


PROMISE_DECISIONS = ("confirmed", "renegotiated", "dropped")


@transaction.atomic
def meeting_record(
    *,
    actor: User,
    meeting: Meeting,
    attended_user_ids: Iterable[int],
    attended_contact_ids: Iterable[int],
    agreement: str,
    promise_reviews: Iterable[tuple[Promise, str, str, str]] = (),
) -> Meeting:
    """Record the meeting once it took place: who attended, what was agreed, and the
    review of each promise (confirmed, renegotiated with new wording, or dropped with
    a reason). It is recorded as held either way, but only a meeting with all three
    sides counts as the hand-off meeting; otherwise the hand-off needs another one.
    The customer contacts are then e-mailed a summary (after commit)."""
    locked, handoff = _lock_meeting(actor=actor, meeting=meeting)
    _check_recordable(locked, agreement=agreement)
    attendees = list(locked.attendees.all())
    user_ids, contact_ids = _attended_ids(attendees, users=attended_user_ids, contacts=attended_contact_ids)
    reviews = list(promise_reviews)
    _check_promise_reviews(reviews, deal_id=handoff.deal_id)
    _mark_attendance(attendees, user_ids=user_ids, contact_ids=contact_ids)
    three_way = handoff.rep_id in user_ids and handoff.delivery_owner_id in user_ids and bool(contact_ids)
    _mark_held(locked, actor=actor, agreement=agreement, three_way=three_way)
    _review_promises(reviews, actor=actor, deal=handoff.deal)
    _advance_handoff(
        handoff,
        meeting=locked,
        actor=actor,
        three_way=three_way,
        user_ids=user_ids,
        contact_ids=contact_ids,
        reviewed=len(reviews),
    )
    _request_customer_summary(locked, attendees=attendees)
    send_domain_event(
        Meeting, event=EVENT_MEETING_HELD, item_kind=EVENT_ABOUT_MEETING, item_id=locked.pk, actor_id=actor.pk
    )
    return locked


def _check_recordable(meeting: Meeting, *, agreement: str) -> None:
    if meeting.status != MeetingStatus.SCHEDULED:
        _refuse(f"This meeting is {meeting.get_status_display().lower()}; it cannot be recorded again.")
    if meeting.starts_at > timezone.now():
        _refuse("This meeting has not started yet: record it once it took place.")
    if not agreement.strip():
        _refuse("Write down what was agreed: what delivery will do, by when.", "agreement")


def _attended_ids(
    attendees: list[MeetingAttendee], *, users: Iterable[int], contacts: Iterable[int]
) -> tuple[set[int], set[int]]:
    """The users and contacts recorded as attending; only people invited may be."""
    user_ids = {int(pk) for pk in users}
    contact_ids = {int(pk) for pk in contacts}
    invited_users = {a.user_id for a in attendees if a.user_id}
    invited_contacts = {a.contact_id for a in attendees if a.contact_id}
    if not user_ids <= invited_users or not contact_ids <= invited_contacts:
        _refuse("Only people invited to the meeting can be recorded as attending.")
    return user_ids, contact_ids


def _mark_attendance(attendees: list[MeetingAttendee], *, user_ids: set[int], contact_ids: set[int]) -> None:
    for attendee in attendees:
        attendee.attended = (attendee.user_id in user_ids) if attendee.user_id else (attendee.contact_id in contact_ids)
    MeetingAttendee.objects.bulk_update(attendees, ["attended"])


def _mark_held(meeting: Meeting, *, actor: User, agreement: str, three_way: bool) -> None:
    meeting.status = MeetingStatus.HELD
    meeting.held_at = meeting.starts_at
    meeting.recorded_by = actor
    meeting.notes = agreement.strip()
    meeting.counts_as_handoff_meeting = three_way
    meeting.full_clean()
    meeting.save()


def _review_promises(reviews: list[tuple[Promise, str, str, str]], *, actor: User, deal: Deal) -> None:
    """Apply each promise's review, each on the timeline; a dropped or renegotiated
    promise may stop being overdue (followups re-checks)."""
    now = timezone.now()
    for promise, decision, new_wording, reason in reviews:
        reviewed = _promise_review(promise=promise, decision=decision, new_wording=new_wording, reason=reason, when=now)
        event_record(
            account=deal.account,
            subject=deal,
            verb=EventVerb.PROMISE_UPDATED,
            message=f"Promise {decision} in the hand-off meeting: “{reviewed.description}”"
            + (f" ({reviewed.status_note})." if reviewed.status_note else "."),
            actor=actor,
            data={"promise_id": reviewed.pk, "decision": decision},
        )
        _resolved_on_commit(Promise, ITEM_KIND_PROMISE_OVERDUE, reviewed.pk)


def _advance_handoff(
    handoff: Handoff,
    *,
    meeting: Meeting,
    actor: User,
    three_way: bool,
    user_ids: set[int],
    contact_ids: set[int],
    reviewed: int,
) -> None:
    """A three-way meeting moves the hand-off to "meeting held"; any other sends it back
    to wait for one. Either way the meeting is on the deal's timeline."""
    if three_way:
        handoff.status = HandoffStatus.MEETING_HELD
        handoff.meeting_held_at = meeting.held_at
        handoff.agreement = meeting.notes
        message = f"{actor} recorded the three-way hand-off meeting."
    else:
        missing = _missing_sides(handoff=handoff, user_ids=user_ids, contact_ids=contact_ids)
        handoff.status = HandoffStatus.ACCEPTED
        message = f"{actor} recorded a meeting without {missing}: it does not count as the hand-off meeting."
    handoff.full_clean()
    handoff.save()
    deal = handoff.deal
    event_record(
        account=deal.account,
        subject=deal,
        verb=EventVerb.MEETING_HELD,
        message=message,
        actor=actor,
        data={
            "handoff_id": handoff.pk,
            "meeting_id": meeting.pk,
            "three_way": three_way,
            "promises_reviewed": reviewed,
        },
    )


def _request_customer_summary(meeting: Meeting, *, attendees: list[MeetingAttendee]) -> None:
    _request_messages(
        Meeting,
        purpose=MESSAGE_CUSTOMER_SUMMARY,
        about=MESSAGE_ABOUT_MEETING,
        item_id=meeting.pk,
        recipients=[attendee.contact for attendee in attendees if attendee.contact_id],
    )


def _missing_sides(*, handoff: Handoff, user_ids: set[int], contact_ids: set[int]) -> str:
    missing = []
    if handoff.rep_id not in user_ids:
        missing.append("the rep")
    if handoff.delivery_owner_id not in user_ids:
        missing.append("the delivery owner")
    if not contact_ids:
        missing.append("the customer")
    return " and ".join(missing)


def _check_promise_reviews(reviews: list[tuple[Promise, str, str, str]], *, deal_id: int) -> None:
    errors: list[str] = []
    seen: set[int] = set()
    for promise, decision, new_wording, reason in reviews:
        if promise.deal_id != deal_id:
            errors.append(f"“{promise}” is a promise of another deal.")
        elif promise.pk in seen:
            errors.append(f"“{promise}” is reviewed twice.")
        elif decision not in PROMISE_DECISIONS:
            errors.append(f"“{promise}”: choose confirmed, renegotiated or dropped.")
        elif decision == "renegotiated" and not (new_wording or "").strip():
            errors.append(f"“{promise}”: give the new wording that was agreed.")
        elif decision == "dropped" and not (reason or "").strip():
            errors.append(f"“{promise}”: say why it was dropped.")
        seen.add(promise.pk)
    if errors:
        raise ValidationError({"promises": errors})


def _promise_review(
    *, promise: Promise, decision: str, new_wording: str, reason: str, when: datetime.datetime
) -> Promise:
    promise = Promise.objects.select_for_update().get(pk=promise.pk)
    if decision == "renegotiated":
        if not promise.original_description:
            promise.original_description = promise.description
        promise.description = new_wording.strip()[:300]
        promise.status = PromiseStatus.CONFIRMED
        promise.status_note = (reason or "Renegotiated in the hand-off meeting.").strip()[:300]
    elif decision == "dropped":
        promise.status = PromiseStatus.DROPPED
        promise.status_note = reason.strip()[:300]
    else:
        promise.status = PromiseStatus.CONFIRMED
        promise.status_note = (reason or "").strip()[:300]
    promise.reviewed_at = when
    promise.full_clean()
    promise.save()
    return promise


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%a %d %b %Y, %H:%M %Z")
