"""Dates typed into deals and meetings stay within ten years back and five years ahead of
the user's today, in the forms and in the services alike (accounts.validators)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from handoffs.choices import Stage
from handoffs.models import Deal, Meeting, Promise
from handoffs.services.deals import deal_close, deal_create, deal_reopen, deal_update, promise_add
from handoffs.services.handoffs import meeting_reschedule, meeting_schedule
from tests.factories import AccountFactory, DealFactory
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 5)
END_OF_TIME = datetime.date(9999, 12, 31)
START_OF_TIME = datetime.date(1, 1, 1)
NOT_PLAUSIBLE = "This date is not plausible: choose one between 05 Mar 2016 and 05 Mar 2031."


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def refusal_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


# --- services ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["next_step_due", "expected_close_date"])
def test_opening_a_deal_refuses_a_date_at_the_end_of_the_calendar(rep, field):
    # given
    values = {"title": "Platform", "next_step": "Call", "next_step_due": TODAY, field: END_OF_TIME}
    # when
    errors = refusal_of(lambda: deal_create(actor=rep, account=AccountFactory(owner=rep), **values))
    # then
    assert errors == {field: [NOT_PLAUSIBLE]}
    assert not Deal.objects.exists()


def test_editing_a_deal_refuses_a_new_implausible_date_but_not_an_old_one_left_alone(rep):
    # given: a deal saved before the rule, with an expected close date nobody typed today
    deal = DealFactory(owner=rep, expected_close_date=datetime.date(2009, 6, 30))
    # when
    errors = refusal_of(
        lambda: deal_update(actor=rep, deal=deal, expected_version=deal.version, expected_close_date=START_OF_TIME)
    )
    renamed = deal_update(actor=rep, deal=deal, expected_version=deal.version, title="Renamed")
    # then
    assert errors == {"expected_close_date": [NOT_PLAUSIBLE]}
    assert renamed.title == "Renamed"
    assert renamed.expected_close_date == datetime.date(2009, 6, 30)


def test_a_close_dated_0001_01_01_is_refused_and_the_deal_stays_open(rep):
    # given
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    # when
    errors = refusal_of(
        lambda: deal_close(
            actor=rep,
            deal=deal,
            outcome=Stage.WON,
            closed_on=START_OF_TIME,
            final_amount=Decimal(1000),
            reason="Signed",
        )
    )
    # then
    assert errors == {"closed_on": [NOT_PLAUSIBLE]}
    deal.refresh_from_db()
    assert deal.is_open and deal.closed_on is None


def test_reopening_a_deal_refuses_a_next_step_at_the_end_of_the_calendar(manager, rep):
    # given
    deal = DealFactory(owner=rep, stage=Stage.LOST, closed_on=TODAY, next_step="", next_step_due=None)
    # when
    errors = refusal_of(
        lambda: deal_reopen(actor=manager, deal=deal, reason="They came back", next_step_due=END_OF_TIME)
    )
    # then
    assert errors == {"next_step_due": [NOT_PLAUSIBLE]}
    deal.refresh_from_db()
    assert deal.stage == Stage.LOST


def test_a_promise_for_the_year_9999_is_refused(rep):
    deal = DealFactory(owner=rep)
    errors = refusal_of(lambda: promise_add(actor=rep, deal=deal, description="Live", target_date=END_OF_TIME))
    assert errors == {"target_date": [NOT_PLAUSIBLE]}
    assert not Promise.objects.filter(deal=deal).exists()


def test_a_meeting_at_9999_12_31_23_30_for_480_minutes_is_refused(rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    end_of_time = datetime.datetime(9999, 12, 31, 23, 30, tzinfo=datetime.UTC)
    # when
    errors = refusal_of(
        lambda: meeting_schedule(
            actor=rep,
            handoff=handoff,
            starts_at=end_of_time,
            duration_minutes=480,
            location="Room 7",
            contacts=[contact],
        )
    )
    # then
    assert errors == {"starts_at": [NOT_PLAUSIBLE]}
    assert not Meeting.objects.filter(handoff=handoff).exists()


def test_moving_a_meeting_beyond_five_years_is_refused(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    six_years_ahead = NOW + datetime.timedelta(days=6 * 366)
    # when
    errors = refusal_of(
        lambda: meeting_reschedule(
            actor=rep, meeting=meeting, starts_at=six_years_ahead, duration_minutes=45, location="Room 7"
        )
    )
    # then
    assert errors == {"starts_at": [NOT_PLAUSIBLE]}
    meeting.refresh_from_db()
    assert meeting.starts_at < NOW + datetime.timedelta(days=7)


# --- forms --------------------------------------------------------------------------------


def test_the_close_form_shows_the_rule_for_a_close_dated_0001_01_01(client_for, rep):
    # given
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    # when
    response = client_for(rep).post(
        reverse("handoffs:deal_close", args=[deal.pk]),
        {"outcome": "won", "closed_on": "0001-01-01", "final_amount": "100", "reason": "Signed", "version": 1},
    )
    # then
    assert response.status_code == 200
    assert NOT_PLAUSIBLE in response.content.decode()
    deal.refresh_from_db()
    assert deal.is_open


@pytest.mark.parametrize("field", ["next_step_due", "expected_close_date"])
def test_the_deal_form_shows_the_rule_for_a_date_at_the_end_of_the_calendar(client_for, rep, field):
    # given
    account = AccountFactory(owner=rep)
    data = {
        "title": "Typed title",
        "account": account.pk,
        "amount": "1000",
        "currency": "EUR",
        "stage": "qualify",
        "next_step": "Call",
        "next_step_due": TODAY.isoformat(),
        field: "9999-12-31",
    }
    # when
    response = client_for(rep).post(reverse("handoffs:deal_create"), data)
    # then
    assert response.status_code == 200
    assert NOT_PLAUSIBLE in response.content.decode()
    assert not Deal.objects.exists()


def test_the_promise_and_reopen_forms_show_the_rule(client_for, rep, manager):
    # given
    open_deal = DealFactory(owner=rep)
    lost_deal = DealFactory(owner=rep, stage=Stage.LOST, closed_on=TODAY, next_step="", next_step_due=None)
    # when
    promise = client_for(rep).post(
        reverse("handoffs:promise_add", args=[open_deal.pk]), {"description": "Live", "target_date": "9999-12-31"}
    )
    reopen = client_for(manager).post(
        reverse("handoffs:deal_reopen", args=[lost_deal.pk]),
        {"reason": "Back", "next_step": "Call", "next_step_due": "9999-12-31"},
    )
    # then
    assert NOT_PLAUSIBLE in promise.content.decode()
    assert NOT_PLAUSIBLE in reopen.content.decode()
    assert not Promise.objects.filter(deal=open_deal).exists()
    lost_deal.refresh_from_db()
    assert lost_deal.stage == Stage.LOST


def test_the_meeting_form_shows_the_rule_in_the_users_time_zone(client_for, rep, manager, delivery_lead):
    # given: a rep east of UTC, where 9999-12-31 23:30 cannot even be converted to UTC
    rep.timezone = "Pacific/Kiritimati"
    rep.save(update_fields=["timezone"])
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    # when
    response = client_for(rep).post(
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        {"starts_at": "9999-12-31T23:30", "duration_minutes": 480, "location": "Room 7", "contacts": [contact.pk]},
    )
    # then: Kiritimati is already on 6 March 2026
    assert response.status_code == 200
    assert "choose one between 06 Mar 2016 and 06 Mar 2031" in response.content.decode()
    assert not Meeting.objects.filter(handoff=handoff).exists()


def test_the_deal_edit_form_refuses_a_new_implausible_date_but_keeps_an_old_one_left_alone(client_for, rep):
    # given: a deal saved before the rule, with an expected close date nobody types today
    deal = DealFactory(owner=rep, expected_close_date=datetime.date(2009, 6, 30), next_step_due=TODAY)
    data = {
        "title": "Renamed",
        "amount": "1000",
        "currency": "EUR",
        "stage": deal.stage,
        "expected_close_date": "2009-06-30",
        "next_step": "Call",
        "next_step_due": TODAY.isoformat(),
        "version": deal.version,
    }
    url = reverse("handoffs:deal_edit", args=[deal.pk])
    client = client_for(rep)
    # when
    refused = client.post(url, {**data, "expected_close_date": "9999-12-31"})
    saved = client.post(url, data)
    # then
    assert NOT_PLAUSIBLE in refused.content.decode()
    assert saved.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.expected_close_date) == ("Renamed", datetime.date(2009, 6, 30))
