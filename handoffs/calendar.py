"""iCalendar invites of the three-way meeting (RFC 5545 / iTIP, via the icalendar library).

Every invite of a meeting carries the same UID (Meeting.uid) and its current SEQUENCE,
so a calendar updates the one event on a reschedule and removes it on METHOD:CANCEL.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from handoffs.choices import MeetingStatus
from handoffs.models import Meeting

PRODID = "-//Baton//Hand-off meetings//EN"


def meeting_event_uid(meeting: Meeting) -> str:
    """The one UID of a meeting's calendar event: in its invites, its cancellation and
    every user's calendar feed alike."""
    return f"{meeting.uid}@baton"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def meeting_invite_ics(meeting: Meeting, *, method: str | None = None) -> bytes:
    """The calendar object sent to every attendee: METHOD:REQUEST, or METHOD:CANCEL
    once the meeting is cancelled. Attendees must be prefetched with their user/contact."""
    method = method or ("CANCEL" if meeting.status == MeetingStatus.CANCELLED else "REQUEST")
    handoff = meeting.handoff
    deal = handoff.deal
    starts_at = meeting.starts_at.astimezone(datetime.UTC)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)

    event = Event()
    event.add("uid", meeting_event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now().astimezone(datetime.UTC))
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + datetime.timedelta(minutes=meeting.duration_minutes))
    event.add("summary", f"Hand-off meeting: {deal.account} — {deal}")
    event.add("location", meeting.location)
    event.add(
        "description",
        f"The three-way hand-off meeting of {deal.account}: {handoff.rep} (sales), "
        f"{handoff.delivery_owner} (delivery) and the customer.\n"
        f"{settings.SITE_URL}{reverse('handoffs:handoff_detail', args=[handoff.pk])}",
    )
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = meeting.organizer
    event.add("organizer", _address(organizer.email or f"{organizer.username}@baton.invalid", str(organizer)))
    for attendee in meeting.attendees.all():
        person = attendee.user or attendee.contact
        if not person.email:
            continue
        event.add(
            "attendee",
            _address(person.email, str(person), role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE"),
            encode=0,
        )
    calendar.add_component(event)
    return calendar.to_ical()
