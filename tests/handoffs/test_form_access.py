"""Whoever may not submit a form does not get it either: the GET of a form answers 403
exactly when its POST would."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def meeting_form_urls(rep, manager, lead) -> list[str]:
    handoff = accepted_handoff(rep=rep, manager=manager, lead=lead)
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=lead)
    return [
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        reverse("handoffs:meeting_reschedule", args=[meeting.pk]),
        reverse("handoffs:meeting_record", args=[meeting.pk]),
    ]


def test_a_team_member_who_only_reads_the_hand_off_gets_no_meeting_form(
    client_for, rep, other_rep, manager, delivery_lead
):
    # given: other_rep reads the team's hand-offs but is neither its rep, its owner nor a manager
    urls = meeting_form_urls(rep, manager, delivery_lead)
    client = client_for(other_rep)
    # when
    pages = [client.get(url).status_code for url in urls]
    posts = [client.post(url, {"location": "Room 7"}).status_code for url in urls]
    # then
    assert pages == [403, 403, 403]
    assert posts == [403, 403, 403]


@pytest.mark.parametrize("who", ["rep", "delivery_lead", "manager"])
def test_who_runs_the_meeting_gets_its_forms(request, client_for, rep, manager, delivery_lead, who):
    urls = meeting_form_urls(rep, manager, delivery_lead)
    client = client_for(request.getfixturevalue(who))
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
