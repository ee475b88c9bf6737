"""The per-user iCalendar feed: check-ins as all-day events, hand-off meetings, stable UIDs."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from followups.services.checkins import checkin_log, checkin_reschedule, user_rotate_feed_token
from handoffs.calendar import meeting_event_uid
from handoffs.choices import MeetingStatus
from tests.factories import CheckInFactory, MeetingAttendeeFactory, MeetingFactory
from tests.followups.test_checkin_services import accepted_handoff, log_values

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def fetch_feed(client, user) -> tuple[object, Calendar]:
    response = client.get(reverse("followups:calendar_feed", args=[user.feed_token]))
    return response, Calendar.from_ical(response.content)


def events_of(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_lists_the_users_scheduled_checkins_as_all_day_events(client, rep, other_rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    due = CheckInFactory(handoff=handoff, cadence_days=7, due_on=datetime.date(2026, 3, 9))
    done = CheckInFactory(handoff=handoff, cadence_days=30, due_on=datetime.date(2026, 4, 1))
    checkin_log(actor=rep, checkin=done, **log_values())
    CheckInFactory(handoff=accepted_handoff(rep=other_rep, delivery_owner=delivery_lead))
    # when: no login, the token is the secret
    response, calendar = fetch_feed(client, rep)
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert event.decoded("DTSTART") == datetime.date(2026, 3, 9)
    assert event.decoded("DTEND") == datetime.date(2026, 3, 10)
    assert str(due.account) in str(event["SUMMARY"])
    assert str(event["UID"]).startswith(f"checkin-{due.pk}@")


def test_uids_are_stable_and_a_move_raises_the_sequence(client, rep, delivery_lead):
    # given
    checkin = CheckInFactory(handoff=accepted_handoff(rep=rep, delivery_owner=delivery_lead))
    _, first = fetch_feed(client, rep)
    # when
    checkin_reschedule(actor=rep, checkin=checkin, new_due_on=datetime.date(2026, 3, 20), reason="Holiday")
    _, second = fetch_feed(client, rep)
    # then
    assert events_of(first).keys() == events_of(second).keys()
    (before,) = events_of(first).values()
    (after,) = events_of(second).values()
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.decoded("DTSTART") == datetime.date(2026, 3, 20)


def test_the_feed_has_the_hand_off_meetings_the_user_attends(client, rep, delivery_lead):
    # given
    meeting = MeetingFactory(
        handoff=accepted_handoff(rep=rep, delivery_owner=delivery_lead),
        starts_at=datetime.datetime(2026, 3, 6, 14, 0, tzinfo=datetime.UTC),
        duration_minutes=45,
        sequence=2,
    )
    MeetingAttendeeFactory(meeting=meeting, user=delivery_lead)
    not_invited = MeetingFactory(handoff=accepted_handoff(rep=rep, delivery_owner=delivery_lead))
    cancelled = MeetingFactory(handoff=meeting.handoff, status=MeetingStatus.CANCELLED, sequence=1)
    MeetingAttendeeFactory(meeting=cancelled, user=delivery_lead)
    # when
    _, calendar = fetch_feed(client, delivery_lead)
    # then
    events = events_of(calendar)
    # the same UID as the meeting's e-mail invites: one event in the user's calendar, not two
    assert set(events) == {meeting_event_uid(meeting), meeting_event_uid(cancelled)}
    assert meeting_event_uid(meeting) == f"{meeting.uid}@baton"
    assert meeting_event_uid(not_invited) not in events
    event = events[meeting_event_uid(meeting)]
    assert event.decoded("DTSTART") == meeting.starts_at
    assert event.decoded("DTEND") == meeting.starts_at + datetime.timedelta(minutes=45)
    assert event["SEQUENCE"] == 2
    assert str(event["LOCATION"]) == meeting.location
    assert str(events[meeting_event_uid(cancelled)]["STATUS"]) == "CANCELLED"


def test_a_wrong_token_is_not_found(client, rep):
    # when
    response = client.get(reverse("followups:calendar_feed", args=["not-the-token"]))
    # then
    assert response.status_code == 404


def test_an_old_token_stops_working_once_rotated(client, rep):
    # given
    old_url = reverse("followups:calendar_feed", args=[rep.feed_token])
    # when
    user_rotate_feed_token(user=rep)
    # then
    assert client.get(old_url).status_code == 404
    assert client.get(reverse("followups:calendar_feed", args=[rep.feed_token])).status_code == 200


def test_the_feed_runs_the_same_number_of_queries_for_3_or_30_checkins(
    client, rep, delivery_lead, django_assert_num_queries
):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    for day in range(3):
        CheckInFactory(
            handoff=handoff, cadence_days=0, due_on=datetime.date(2026, 3, 10) + datetime.timedelta(days=day)
        )
    url = reverse("followups:calendar_feed", args=[rep.feed_token])
    # when / then: the user, the check-ins, the meetings
    with django_assert_num_queries(3):
        client.get(url)
    for day in range(27):
        CheckInFactory(handoff=handoff, cadence_days=0, due_on=datetime.date(2026, 4, 1) + datetime.timedelta(days=day))
    with django_assert_num_queries(3):
        response = client.get(url)
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) == 30
