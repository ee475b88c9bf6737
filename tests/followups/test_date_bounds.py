"""Dates typed into check-ins and the report stay within ten years back and five years
ahead of the user's today; the calendar feed survives a row that cannot be rendered."""

from __future__ import annotations

import datetime
import logging

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from icalendar import Calendar

from followups.models import CheckIn, CheckInReschedule
from followups.services.checkins import checkin_add, checkin_reschedule
from handoffs.choices import HandoffStatus
from tests.factories import CheckInFactory, HandoffFactory, MeetingAttendeeFactory, MeetingFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
END_OF_TIME = datetime.date(9999, 12, 31)
NOT_PLAUSIBLE = "This date is not plausible: choose one between 05 Mar 2016 and 05 Mar 2031."


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def accepted_handoff(*, rep, delivery_owner):
    return HandoffFactory(
        deal__owner=rep,
        deal__closed_on=datetime.date(2026, 3, 2),
        status=HandoffStatus.ACCEPTED,
        proposed_owner=delivery_owner,
        delivery_owner=delivery_owner,
    )


# --- check-ins ----------------------------------------------------------------------------


def test_a_checkin_on_9999_12_31_is_refused_by_the_services(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    checkin = CheckInFactory(handoff=handoff, due_on=datetime.date(2026, 3, 9))
    # when
    with pytest.raises(ValidationError) as added:
        checkin_add(actor=rep, handoff=handoff, due_on=END_OF_TIME)
    with pytest.raises(ValidationError) as moved:
        checkin_reschedule(actor=rep, checkin=checkin, new_due_on=END_OF_TIME, reason="Far away")
    # then
    assert added.value.message_dict == {"due_on": [NOT_PLAUSIBLE]}
    assert moved.value.message_dict == {"new_due_on": [NOT_PLAUSIBLE]}
    assert list(CheckIn.objects.values_list("due_on", flat=True)) == [datetime.date(2026, 3, 9)]
    assert not CheckInReschedule.objects.exists()


def test_the_checkin_forms_show_the_rule(client_for, rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    checkin = CheckInFactory(handoff=handoff, due_on=datetime.date(2026, 3, 9))
    client = client_for(rep)
    # when
    added = client.post(reverse("followups:checkin_add", args=[handoff.pk]), {"due_on": "9999-12-31"})
    moved = client.post(
        reverse("followups:checkin_reschedule", args=[checkin.pk]), {"new_due_on": "9999-12-31", "reason": "Far"}
    )
    # then
    assert (added.status_code, moved.status_code) == (200, 200)
    assert NOT_PLAUSIBLE in added.content.decode()
    assert NOT_PLAUSIBLE in moved.content.decode()
    assert CheckIn.objects.count() == 1


# --- the report -----------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_custom_report_period_at_the_ends_of_the_calendar_is_a_message_not_a_crash(client_for, manager, day):
    # when
    response = client_for(manager).get(reverse("followups:report"), {"period": "custom", "start": day, "end": day})
    # then
    assert response.status_code == 200
    assert response.context["summary"] is None
    assert NOT_PLAUSIBLE in response.content.decode()


def test_a_drilldown_period_at_the_end_of_the_calendar_is_a_message_not_a_crash(client_for, manager):
    response = client_for(manager).get(
        reverse("followups:report_drilldown", args=["all"]),
        {"period": "custom", "start": "9999-12-31", "end": "9999-12-31"},
    )
    assert response.status_code == 200
    assert NOT_PLAUSIBLE in response.content.decode()


# --- the calendar feed ------------------------------------------------------------------------


def test_the_feed_leaves_out_a_row_it_cannot_render_and_serves_the_rest(client, rep, delivery_lead, caplog):
    # given: rows saved before dates were bounded, next to ordinary ones
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    good_checkin = CheckInFactory(handoff=handoff, cadence_days=7, due_on=datetime.date(2026, 3, 9))
    CheckInFactory(handoff=handoff, cadence_days=30, due_on=END_OF_TIME)
    good_meeting = MeetingFactory(handoff=handoff, starts_at=NOW + datetime.timedelta(days=2))
    broken_meeting = MeetingFactory(
        handoff=handoff, starts_at=datetime.datetime(9999, 12, 31, 23, 30, tzinfo=datetime.UTC), duration_minutes=480
    )
    for meeting in (good_meeting, broken_meeting):
        MeetingAttendeeFactory(meeting=meeting, user=rep)
    # when
    with caplog.at_level(logging.ERROR, logger="followups.calendar"):
        response = client.get(reverse("followups:calendar_feed", args=[rep.feed_token]))
    # then
    assert response.status_code == 200
    uids = {str(event["UID"]) for event in Calendar.from_ical(response.content).walk("VEVENT")}
    assert uids == {f"checkin-{good_checkin.pk}@testserver", f"{good_meeting.uid}@baton"}
    assert len([record for record in caplog.records if record.name == "followups.calendar"]) == 2
