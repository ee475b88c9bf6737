"""The close gate: a won close needs the hand-off packet (handoffs.packet) or a waiver."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import EventVerb
from accounts.models import OrganisationSettings, TimelineEvent
from handoffs.choices import Stage
from handoffs.models import Deal, Handoff, Promise
from handoffs.packet import PACKET_CONTEXT_FIELDS, deal_packet
from handoffs.services.deals import deal_close, deal_no_promises_set, deal_reopen, promise_add
from tests.factories import DealContactFactory, DealFactory, PromiseFactory, give_full_packet

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC))]

TODAY = datetime.date(2025, 3, 10)


def close_won(actor, deal, **extra):
    return deal_close(
        actor=actor,
        deal=deal,
        outcome="won",
        closed_on=TODAY,
        final_amount=Decimal("30000"),
        reason="Strong champion",
        **extra,
    )


def gate(**values) -> OrganisationSettings:
    settings = OrganisationSettings.load()
    OrganisationSettings.objects.filter(pk=settings.pk).update(**values)
    return OrganisationSettings.load()


def packet_deal(rep, **fields) -> Deal:
    """An open deal with exactly the default packet: all context, two contacts, one promise."""
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE, **fields)
    PromiseFactory(deal=deal, description="SSO included")
    return give_full_packet(deal, contacts=2)


def assert_nothing_written(deal: Deal, version: int) -> None:
    deal.refresh_from_db()
    assert deal.is_open
    assert deal.version == version
    assert (deal.packet_waived_at, deal.packet_waiver_reason) == (None, "")
    assert not Handoff.objects.filter(deal=deal).exists()
    assert not TimelineEvent.objects.filter(subject_id=deal.pk).exists()


# --- the service -------------------------------------------------------------------------


def test_a_won_close_with_exactly_the_packet_passes_the_gate(rep):
    # given: all context, two contacts (the minimum), a promise
    deal = packet_deal(rep)
    # when
    close_won(rep, deal)
    # then
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert Handoff.objects.filter(deal=deal).exists()
    assert deal.packet_waived_at is None
    assert not TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.PACKET_WAIVED).exists()


def test_it_refuses_a_won_close_one_contact_short_and_writes_nothing(rep):
    # given: one contact under the minimum of two
    deal = packet_deal(rep)
    deal.deal_contacts.last().delete()
    # when
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal, expected_version=deal.version)
    # then
    assert error.value.message_dict == {
        "contacts": ["Name at least 2 customer contacts with their role on the deal (1 named so far)."]
    }
    assert_nothing_written(deal, version=1)


def test_the_minimum_of_contacts_is_the_organisation_setting(rep):
    gate(gate_min_contacts=3)
    deal = packet_deal(rep)
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal)
    assert "at least 3 customer contacts" in error.value.message_dict["contacts"][0]
    DealContactFactory(deal=deal)
    close_won(rep, deal)
    deal.refresh_from_db()
    assert deal.stage == Stage.WON


@pytest.mark.parametrize("field", PACKET_CONTEXT_FIELDS)
def test_it_refuses_a_won_close_missing_one_context_field_and_names_it(rep, field):
    deal = packet_deal(rep)
    Deal.objects.filter(pk=deal.pk).update(**{field: ""})
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal)
    assert list(error.value.message_dict) == ["context"]
    assert str(Deal._meta.get_field(field).verbose_name) in error.value.message_dict["context"][0]
    assert_nothing_written(deal, version=1)


def test_it_refuses_a_won_close_with_no_promise_listed_and_nothing_said(rep):
    deal = packet_deal(rep)
    deal.promises.all().delete()
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal)
    assert error.value.message_dict == {
        "promises": ["List the promises made to the customer, or state that no promises were made."]
    }
    assert_nothing_written(deal, version=1)


def test_no_promises_made_stated_answers_the_promises_part(rep):
    # given
    deal = packet_deal(rep)
    deal.promises.all().delete()
    # when
    deal_no_promises_set(actor=rep, deal=deal, no_promises_made=True)
    close_won(rep, deal)
    # then
    deal.refresh_from_db()
    assert (deal.stage, deal.no_promises_made) == (Stage.WON, True)


def test_a_won_close_missing_everything_gets_a_message_per_part(rep):
    deal = DealFactory(owner=rep, lead_source="", context_origin="", context_needs="")
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal)
    assert set(error.value.message_dict) == {"context", "contacts", "promises"}
    assert "lead source" in error.value.message_dict["context"][0]
    assert "(0 named so far)" in error.value.message_dict["contacts"][0]


@pytest.mark.parametrize(
    ("setting", "spoil"),
    [
        ({"gate_requires_context": False}, lambda deal: Deal.objects.filter(pk=deal.pk).update(context_known="")),
        ({"gate_min_contacts": 0}, lambda deal: deal.deal_contacts.all().delete()),
        ({"gate_requires_promises": False}, lambda deal: deal.promises.all().delete()),
    ],
    ids=["context-off", "contacts-off", "promises-off"],
)
def test_a_part_switched_off_is_not_required(rep, setting, spoil):
    # given the part missing, and the organisation not requiring it
    gate(**setting)
    deal = packet_deal(rep)
    spoil(deal)
    # when
    close_won(rep, deal)
    # then
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert deal.packet_waived_at is None
    assert len(deal_packet(deal).items) == 2


def test_a_lost_close_needs_no_packet(rep):
    deal = DealFactory(owner=rep, lead_source="")
    deal_close(
        actor=rep, deal=deal, outcome="lost", closed_on=TODAY, final_amount=0, reason="No budget", lost_reason="price"
    )
    deal.refresh_from_db()
    assert deal.stage == Stage.LOST
    assert deal.packet_waived_at is None


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_a_waiver_with_a_reason_lets_the_close_through_and_is_recorded(request, rep, who):
    # given: one contact short and no promises
    actor = request.getfixturevalue(who)
    deal = packet_deal(rep)
    deal.deal_contacts.last().delete()
    deal.promises.all().delete()
    # when
    close_won(actor, deal, packet_waiver_reason="  The founder is their only buyer.  ")
    # then
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert (deal.packet_waiver_reason, deal.packet_waived_by) == ("The founder is their only buyer.", actor)
    assert abs(deal.packet_waived_at - datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)) < datetime.timedelta(
        seconds=5
    )
    event = TimelineEvent.objects.get(subject_id=deal.pk, verb=EventVerb.PACKET_WAIVED)
    assert (event.actor, event.data) == (actor, {"missing": ["contacts", "promises"]})
    assert "The founder is their only buyer." in event.message
    assert Handoff.objects.filter(deal=deal).exists()


def test_a_blank_waiver_reason_waives_nothing(rep):
    deal = packet_deal(rep)
    deal.promises.all().delete()
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal, packet_waiver_reason="   ")
    assert list(error.value.message_dict) == ["promises"]
    assert_nothing_written(deal, version=1)


def test_a_waiver_reason_with_a_full_packet_records_no_waiver(rep):
    deal = packet_deal(rep)
    close_won(rep, deal, packet_waiver_reason="Just in case")
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert (deal.packet_waived_at, deal.packet_waiver_reason) == (None, "")
    assert not TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.PACKET_WAIVED).exists()


def test_reopening_a_waived_deal_lifts_the_waiver_so_the_next_close_meets_the_gate(rep, manager):
    # given
    deal = packet_deal(rep)
    deal.promises.all().delete()
    close_won(rep, deal, packet_waiver_reason="Signed in a rush")
    # when
    deal_reopen(actor=manager, deal=deal, reason="Contract not signed after all")
    # then
    deal.refresh_from_db()
    assert (deal.packet_waived_at, deal.packet_waived_by, deal.packet_waiver_reason) == (None, None, "")
    with pytest.raises(ValidationError) as error:
        close_won(rep, deal)
    assert list(error.value.message_dict) == ["promises"]


def test_stating_no_promises_is_on_the_timeline_and_refused_while_promises_are_listed(rep):
    deal = packet_deal(rep)
    with pytest.raises(ValidationError) as error:
        deal_no_promises_set(actor=rep, deal=deal, no_promises_made=True)
    assert "lists promises" in error.value.message_dict["no_promises_made"][0]
    deal.promises.all().delete()
    deal_no_promises_set(actor=rep, deal=deal, no_promises_made=True)
    deal.refresh_from_db()
    assert deal.no_promises_made
    event = TimelineEvent.objects.get(subject_id=deal.pk)
    assert (event.verb, event.message) == (EventVerb.DEAL_UPDATED, "Stated that no promises were made.")


def test_adding_a_promise_withdraws_no_promises_made(rep):
    # given
    deal = packet_deal(rep)
    deal.promises.all().delete()
    deal_no_promises_set(actor=rep, deal=deal, no_promises_made=True)
    # when
    promise_add(actor=rep, deal=deal, description="Weekly status call")
    # then
    deal.refresh_from_db()
    assert not deal.no_promises_made
    assert deal_packet(deal).complete  # the promise listed answers the part now
    assert TimelineEvent.objects.filter(subject_id=deal.pk, message__contains="withdrawn").exists()


# --- the close form ----------------------------------------------------------------------


def close_form_post(client, deal, **extra):
    values = {
        "outcome": "won",
        "closed_on": TODAY.isoformat(),
        "final_amount": "31415",
        "reason": "Their COO loved the pilot",
        "version": deal.version,
    } | extra
    return client.post(reverse("handoffs:deal_close", args=[deal.pk]), values)


def test_the_close_form_names_each_missing_part_with_its_link_and_keeps_what_was_typed(client_for, rep):
    # given: no contacts, no promises, one context field empty
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE, context_known="", context_talked_to="Their COO")
    # when
    response = close_form_post(client_for(rep), deal)
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not logged: a won close needs the hand-off packet" in page
    assert "what they already know is empty" in page
    assert "(0 named so far)" in page
    assert "state that no promises were made" in page
    assert f'href="{reverse("handoffs:deal_edit", args=[deal.pk])}#context"' in page
    assert f'href="{reverse("handoffs:deal_detail", args=[deal.pk])}#contacts"' in page
    assert f'href="{reverse("handoffs:deal_detail", args=[deal.pk])}#promises"' in page
    assert 'value="31415"' in page
    assert "Their COO loved the pilot" in page
    assert_nothing_written(deal, version=1)


def test_the_close_form_takes_a_waiver_reason(client_for, rep):
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    response = close_form_post(client_for(rep), deal, packet_waiver_reason="Signed at the fair; details follow.")
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.packet_waiver_reason, deal.packet_waived_by) == (
        Stage.WON,
        "Signed at the fair; details follow.",
        rep,
    )


def test_the_close_form_shows_the_missing_parts_before_the_close_is_tried(client_for, rep):
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=1)
    page = client_for(rep).get(reverse("handoffs:deal_close", args=[deal.pk])).content.decode()
    assert "A won close needs the hand-off packet; still missing" in page
    assert 'data-testid="packet-missing-contacts"' in page
    assert 'data-testid="packet-missing-context"' not in page
    assert 'name="packet_waiver_reason"' in page


# --- the deal page -----------------------------------------------------------------------


def test_the_deal_page_shows_the_packet_checklist_with_a_link_to_fix_each_missing_part(client_for, rep):
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=1)
    page = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="packet"' in page
    assert "1 missing" in page
    assert "1 of 2 named" in page
    assert "5 of 5 filled" in page
    assert "No promises were made" in page
    assert f'<a href="{reverse("handoffs:deal_detail", args=[deal.pk])}#contacts">Add contacts to the deal</a>' in page


def test_the_deal_page_says_when_the_packet_is_ready(client_for, rep):
    deal = packet_deal(rep)
    page = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    assert "ready for a won close" in page


def test_the_deal_pages_no_promises_button_states_it(client_for, rep):
    deal = packet_deal(rep)
    deal.promises.all().delete()
    response = client_for(rep).post(reverse("handoffs:deal_no_promises", args=[deal.pk]), {"no_promises_made": "on"})
    assert response["Location"] == reverse("handoffs:deal_detail", args=[deal.pk]) + "#packet"
    deal.refresh_from_db()
    assert deal.no_promises_made


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_deal_page_with_its_packet_runs_the_same_queries_with_1_or_11_contacts_and_promises(client_for, rep):
    OrganisationSettings.load()
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    DealContactFactory(deal=deal)
    PromiseFactory(deal=deal)
    client = client_for(rep)
    url = reverse("handoffs:deal_detail", args=[deal.pk])
    small = queries_of(client, url)
    for _ in range(10):
        DealContactFactory(deal=deal)
        Promise.objects.create(deal=deal, description="More")
    assert queries_of(client, url) == small


# --- the brief and the report ------------------------------------------------------------


def test_the_brief_shows_the_waiver_who_when_and_why(client_for, rep, manager):
    deal = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    close_won(manager, deal, packet_waiver_reason="Their buyer is the only contact.")
    page = client_for(manager).get(reverse("handoffs:handoff_brief", args=[deal.handoff.pk])).content.decode()
    assert 'data-testid="brief-packet-waiver"' in page
    assert "Closed without the full hand-off packet" in page
    assert str(manager) in page
    assert "10 Mar 2025" in page
    assert "Their buyer is the only contact." in page


def test_the_brief_of_a_full_packet_shows_no_waiver(client_for, rep, manager):
    deal = packet_deal(rep)
    close_won(rep, deal)
    page = client_for(manager).get(reverse("handoffs:handoff_brief", args=[deal.handoff.pk])).content.decode()
    assert 'data-testid="brief-packet-waiver"' not in page


def test_the_report_counts_the_waivers_of_the_period_per_rep(client_for, rep, other_rep, manager):
    # given: two waived closes (rep, other_rep) and one with its packet, this month
    close_won(rep, DealFactory(owner=rep), packet_waiver_reason="Rush")
    close_won(other_rep, DealFactory(owner=other_rep), packet_waiver_reason="Only one contact")
    close_won(rep, packet_deal(rep))
    # when
    page = client_for(manager).get(reverse("followups:report"), {"period": "month"}).content.decode()
    # then
    assert '<span class="badge text-bg-warning" data-testid="packet-waivers-total">2</span>' in page
    assert "of 3 won closes in the period" in page
    assert page.count('data-testid="packet-waivers-rep"') == 2
    assert f'<td>{rep.first_name} {rep.last_name}</td><td class="text-end">1</td><td class="text-end">2</td>' in page


# --- the organisation's settings ---------------------------------------------------------


def test_an_admin_sets_what_the_gate_requires(client_for, admin_user):
    # given
    form = {
        "acceptance_within_days": 3,
        "meeting_schedule_within_days": 3,
        "meeting_within_days": 10,
        "default_checkin_cadence": "7, 30, 90",
        "checkin_grace_days": 3,
        "ghosted_after_days": 45,
        "escalate_after_hours": 24,
        "escalate_to_admin_after_hours": 0,
        "gate_min_contacts": 3,
        "gate_requires_promises": "on",
    }
    client = client_for(admin_user)
    # when: a number of contacts out of bounds, then a good one (context unticked)
    refused = client.post(reverse("accounts:org_settings"), {**form, "gate_min_contacts": -1})
    saved = client.post(reverse("accounts:org_settings"), form)
    # then
    assert refused.status_code == 200
    assert "greater than or equal to 0" in refused.content.decode()
    assert saved.status_code == 302
    settings = OrganisationSettings.load()
    assert (settings.gate_requires_context, settings.gate_min_contacts, settings.gate_requires_promises) == (
        False,
        3,
        True,
    )
