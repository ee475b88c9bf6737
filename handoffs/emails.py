"""The hand-off's e-mails, and their delivery from the outbox kept on the rows.

Nothing here runs inside a request: services mark what is due on the rows (a meeting's
SEQUENCE ahead of invites_sent_sequence, a held meeting without summary_sent_at, a
proposal or decline newer than its *_notified_at), then wake the worker after commit.
The worker (handoffs.tasks) calls the deliver_* functions below, which lease the row
with a conditional UPDATE before sending: of two workers only one wins, a worker that
dies leaves a lease that expires, and a failed send releases it for a retry. Mail is
therefore sent at least once and never lost; a crash between sending and recording
can at worst send a message twice.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.links import absolute_url
from accounts.models import User
from accounts.services import event_record
from handoffs.calendar import meeting_invite_ics
from handoffs.choices import HandoffStatus, MeetingStatus
from handoffs.models import Handoff, Meeting, MeetingAttendee
from handoffs.selectors.handoffs import customer_status_token

logger = logging.getLogger(__name__)

# How long a worker may hold a claimed row before another may take it over.
LEASE = datetime.timedelta(minutes=5)

INVITES_DUE = Q(status__in=[MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED]) & (
    Q(invites_sent_sequence__isnull=True) | Q(invites_sent_sequence__lt=F("sequence"))
)
SUMMARY_DUE = Q(status=MeetingStatus.HELD, summary_sent_at__isnull=True)
NOTICES_DUE = Q(status=HandoffStatus.OWNER_PROPOSED, proposed_at__isnull=False) & (
    Q(proposal_notified_at__isnull=True) | Q(proposal_notified_at__lt=F("proposed_at"))
) | Q(status=HandoffStatus.DECLINED, declined_at__isnull=False) & (
    Q(decline_notified_at__isnull=True) | Q(decline_notified_at__lt=F("declined_at"))
)


def _message(name: str, context: dict, *, to: list[str]) -> EmailMultiAlternatives:
    """One e-mail from templates/emails/<name>-{subject.txt,body.txt,body.html}."""
    subject = " ".join(render_to_string(f"emails/{name}-subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"emails/{name}-body.html", context), "text/html")
    return message


def _claim(model: type[models.Model], pk: int, due: Q, lease_field: str) -> bool:
    now = timezone.now()
    free = Q(**{f"{lease_field}__isnull": True}) | Q(**{f"{lease_field}__lt": now - LEASE})
    return model.objects.filter(due, free, pk=pk).update(**{lease_field: now}) == 1


def _release(model: type[models.Model], pk: int, lease_field: str) -> None:
    model.objects.filter(pk=pk).update(**{lease_field: None})


def _send(messages: list[EmailMultiAlternatives]) -> None:
    if not messages:
        return
    with get_connection(fail_silently=False) as connection:
        connection.send_messages(messages)


# --- meeting invites --------------------------------------------------------------------


def meeting_invite_messages(meeting: Meeting) -> list[EmailMultiAlternatives]:
    """One message per attendee with an address: the invite (METHOD:REQUEST) or, for a
    cancelled meeting, the cancellation (METHOD:CANCEL) of the same calendar event."""
    cancelled = meeting.status == MeetingStatus.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    ics = meeting_invite_ics(meeting, method=method).decode()
    handoff = meeting.handoff
    messages = []
    for attendee in meeting.attendees.all():
        person = attendee.user or attendee.contact
        if not person.email:
            continue
        context = {
            "meeting": meeting,
            "handoff": handoff,
            "deal": handoff.deal,
            "account": handoff.deal.account,
            "recipient": person,
            "is_customer": attendee.contact_id is not None,
            "starts_at": timezone.localtime(meeting.starts_at, _tz_of(attendee)),
            "updated": meeting.sequence > 0,
            "handoff_url": absolute_url(reverse("handoffs:handoff_detail", args=[handoff.pk])),
        }
        message = _message("meeting-cancelled" if cancelled else "meeting-invite", context, to=[person.email])
        message.attach_alternative(ics, f"text/calendar; method={method}")
        message.attach("invite.ics", ics, "application/ics")
        messages.append(message)
    return messages


def _tz_of(attendee: MeetingAttendee) -> datetime.tzinfo:
    return attendee.user.tzinfo if attendee.user_id else timezone.get_default_timezone()


def deliver_meeting_invites(meeting_id: int) -> int:
    """Send the invites (or cancellation) due for a meeting; returns how many were sent
    (0 if none were due or another worker holds them)."""
    if not _claim(Meeting, meeting_id, INVITES_DUE, "invites_claimed_at"):
        return 0
    try:
        meeting = (
            Meeting.objects.select_related("handoff__deal__account", "handoff__rep", "handoff__delivery_owner")
            .select_related("organizer")
            .prefetch_related(
                models.Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("user", "contact"))
            )
            .get(pk=meeting_id)
        )
        sequence = meeting.sequence
        never_invited = meeting.invites_sent_sequence is None
        # A meeting cancelled before any invite went out needs no cancellation either.
        messages = (
            [] if meeting.status == MeetingStatus.CANCELLED and never_invited else meeting_invite_messages(meeting)
        )
        _send(messages)
    except Exception:
        _release(Meeting, meeting_id, "invites_claimed_at")
        raise
    # The SEQUENCE that was sent, not the current one: a reschedule meanwhile stays due.
    Meeting.objects.filter(pk=meeting_id).update(invites_sent_sequence=sequence, invites_claimed_at=None)
    return len(messages)


# --- the customer summary -------------------------------------------------------------


def customer_summary_messages(meeting: Meeting) -> list[EmailMultiAlternatives]:
    """One message per customer contact invited to the meeting, each with their own
    signed link to the status page."""
    handoff = meeting.handoff
    owner = handoff.delivery_owner
    promises = list(handoff.deal.promises.order_by("id"))
    messages = []
    for attendee in meeting.attendees.all():
        contact = attendee.contact
        if contact is None or not contact.email:
            continue
        token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
        context = {
            "contact": contact,
            "handoff": handoff,
            "account": handoff.deal.account,
            "owner": owner,
            "rep": handoff.rep,
            "agreement": meeting.notes,
            "promises": promises,
            "status_url": absolute_url(reverse("handoffs:customer_status", args=[token])),
            "link_days": settings.BATON_CUSTOMER_LINK_DAYS,
        }
        messages.append(_message("customer-summary", context, to=[contact.email]))
    return messages


def deliver_customer_summary(meeting_id: int) -> int:
    """Send the customer summary of a recorded meeting once; returns how many were sent."""
    if not _claim(Meeting, meeting_id, SUMMARY_DUE, "summary_claimed_at"):
        return 0
    try:
        meeting = (
            Meeting.objects.select_related("handoff__deal__account", "handoff__rep", "handoff__delivery_owner")
            .prefetch_related(models.Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("contact")))
            .get(pk=meeting_id)
        )
        messages = customer_summary_messages(meeting)
        _send(messages)
    except Exception:
        _release(Meeting, meeting_id, "summary_claimed_at")
        raise
    with transaction.atomic():
        Meeting.objects.filter(pk=meeting_id).update(summary_sent_at=timezone.now(), summary_claimed_at=None)
        if messages:
            deal = meeting.handoff.deal
            recipients = ", ".join(address for message in messages for address in message.to)
            event_record(
                account=deal.account,
                subject=deal,
                verb=EventVerb.SUMMARY_SENT,
                message=f"The customer summary was e-mailed to {recipients}.",
                data={"handoff_id": meeting.handoff_id, "meeting_id": meeting.pk},
            )
    return len(messages)


# --- notices to the team: proposed, declined --------------------------------------------


def _decline_recipients(handoff: Handoff) -> list[User]:
    """The deal team's manager and whoever proposed the decliner; admins if neither."""
    people: dict[int, User] = {}
    for person in (handoff.team.manager if handoff.team else None, handoff.rep.manager, handoff.proposed_by):
        if person is not None and person.is_active and person.pk != handoff.declined_by_id:
            people[person.pk] = person
    if not people:
        people = {admin.pk: admin for admin in User.objects.filter(is_active=True, role="admin")}
    return [person for person in people.values() if person.email]


def handoff_notice_messages(handoff: Handoff) -> tuple[list[EmailMultiAlternatives], str]:
    """The notices due for the hand-off and which *_notified_at they settle."""
    context = {
        "handoff": handoff,
        "deal": handoff.deal,
        "account": handoff.deal.account,
        "handoff_url": absolute_url(reverse("handoffs:handoff_detail", args=[handoff.pk])),
        "brief_url": absolute_url(reverse("handoffs:handoff_brief", args=[handoff.pk])),
    }
    if handoff.status == HandoffStatus.OWNER_PROPOSED:
        owner = handoff.proposed_owner
        to = [owner.email] if owner and owner.email else []
        return ([_message("handoff-proposed", {**context, "recipient": owner}, to=to)] if to else []), "proposal"
    messages = [
        _message("handoff-declined", {**context, "recipient": person}, to=[person.email])
        for person in _decline_recipients(handoff)
    ]
    return messages, "decline"


def deliver_handoff_notices(handoff_id: int) -> int:
    """E-mail the proposed owner about a proposal, or the managers about a decline."""
    if not _claim(Handoff, handoff_id, NOTICES_DUE, "notices_claimed_at"):
        return 0
    try:
        handoff = Handoff.objects.select_related(
            "deal__account", "rep__team__manager", "team__manager", "proposed_owner", "proposed_by", "declined_by"
        ).get(pk=handoff_id)
        messages, which = handoff_notice_messages(handoff)
        _send(messages)
    except Exception:
        _release(Handoff, handoff_id, "notices_claimed_at")
        raise
    Handoff.objects.filter(pk=handoff_id).update(**{f"{which}_notified_at": timezone.now(), "notices_claimed_at": None})
    return len(messages)


def due_email_ids(limit: int = 100) -> dict[str, list[int]]:
    """What the sweep has to send: the ids of the rows with e-mail due and no live lease."""
    now = timezone.now()

    def free(field: str) -> Q:
        return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now - LEASE})

    return {
        "meeting_invites": list(
            Meeting.objects.filter(INVITES_DUE, free("invites_claimed_at")).values_list("pk", flat=True)[:limit]
        ),
        "customer_summary": list(
            Meeting.objects.filter(SUMMARY_DUE, free("summary_claimed_at")).values_list("pk", flat=True)[:limit]
        ),
        "handoff_notices": list(
            Handoff.objects.filter(NOTICES_DUE, free("notices_claimed_at")).values_list("pk", flat=True)[:limit]
        ),
    }
