"""The calendar invites parse back as valid iCalendar events with the right fields."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from followups.services.outbox import outbox_deliver_due
from handoffs.services.handoffs import meeting_cancel, meeting_reschedule
from tests.handoffs.handoff_builders import scheduled_meeting

pytestmark = pytest.mark.django_db


def _calendar_of(message) -> Calendar:
    calendars = [content for content, mimetype in message.alternatives if mimetype.startswith("text/calendar")]
    assert len(calendars) == 1
    return Calendar.from_ical(calendars[0])


def _event(calendar: Calendar):
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_each_attendee_gets_an_invite_that_parses_with_the_right_fields(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    # when
    sent = outbox_deliver_due().emailed
    # then
    assert sent == 3
    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        [rep.email, delivery_lead.email, contact.email]
    )
    message = next(m for m in mail.outbox if m.to == [contact.email])
    calendar = _calendar_of(message)
    event = _event(calendar)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{meeting.uid}@baton"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == meeting.starts_at.replace(microsecond=0)
    assert event.decoded("DTSTART").utcoffset() == datetime.timedelta(0)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == datetime.timedelta(minutes=45)
    assert str(event["LOCATION"]) == "https://meet.example/kickoff"
    assert str(event["ORGANIZER"]) == f"mailto:{rep.email}"
    attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
    assert sorted(str(a) for a in attendees) == sorted(
        f"mailto:{email}" for email in (rep.email, delivery_lead.email, contact.email)
    )
    assert re.search(r'Content-Type: text/calendar; method="?REQUEST"?', message.message().as_string())
    assert contact.first_name in message.body and "hand-off meeting" in message.subject.lower()


def test_a_reschedule_updates_the_same_event_with_a_higher_sequence(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    outbox_deliver_due()
    mail.outbox.clear()
    new_time = (timezone.now() + datetime.timedelta(days=6)).replace(microsecond=0)
    meeting_reschedule(actor=rep, meeting=meeting, starts_at=new_time, duration_minutes=60, location="Room 2")
    assert outbox_deliver_due().emailed == 3
    event = _event(_calendar_of(mail.outbox[0]))
    assert str(event["UID"]) == f"{meeting.uid}@baton"
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == new_time
    assert mail.outbox[0].subject.startswith("Updated:")


def test_cancelling_sends_method_cancel_for_the_same_event(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    outbox_deliver_due()
    mail.outbox.clear()
    meeting_cancel(actor=rep, meeting=meeting, reason="Customer ill")
    assert outbox_deliver_due().emailed == 3
    calendar = _calendar_of(mail.outbox[0])
    event = _event(calendar)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{meeting.uid}@baton" and int(event["SEQUENCE"]) == 1
    assert re.search(r'Content-Type: text/calendar; method="?CANCEL"?', mail.outbox[0].message().as_string())
    assert mail.outbox[0].subject.startswith("Cancelled:")


def test_a_meeting_cancelled_before_any_invite_went_out_sends_nothing(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    meeting_cancel(actor=rep, meeting=meeting)
    assert outbox_deliver_due().emailed == 0
    assert mail.outbox == []
