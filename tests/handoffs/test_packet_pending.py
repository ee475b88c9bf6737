"""A won close from a CRM with its hand-off packet incomplete: recorded won with the packet
pending (handoffs.packet.packet_pending), the rep told what is missing, the hand-off started
once the packet is complete or a manager waives it."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.choices import EventVerb
from accounts.models import TimelineEvent
from followups.choices import NotificationKind
from followups.models import Notification, OutboxMessage
from handoffs.choices import ContactRole, Stage
from handoffs.models import Deal, Handoff
from handoffs.packet import packet_pending, packet_pending_q
from handoffs.services.deals import (
    deal_close,
    deal_contact_add,
    deal_no_promises_set,
    deal_packet_pending_waive,
    deal_reopen,
    deal_update,
    promise_add,
)
from tests.factories import ContactFactory, DealContactFactory, DealFactory, give_full_packet

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC))]

TODAY = datetime.date(2025, 3, 10)


def close_from_crm(actor, deal, **extra):
    return deal_close(
        actor=actor,
        deal=deal,
        outcome="won",
        closed_on=TODAY,
        final_amount=Decimal("30000"),
        reason="Closed won in the CRM",
        packet_pending_ok=True,
        **extra,
    )


def deal_missing_one_contact(rep) -> Deal:
    """A deal whose packet lacks only a second contact (one named, two required)."""
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=1)
    assert deal.no_promises_made
    return deal


def pending_deal(rep, django_capture_on_commit_callbacks) -> Deal:
    deal = deal_missing_one_contact(rep)
    with django_capture_on_commit_callbacks(execute=True):
        close_from_crm(rep, deal)
    deal.refresh_from_db()
    return deal


def test_an_incomplete_close_from_the_crm_is_won_with_its_packet_pending(rep, django_capture_on_commit_callbacks):
    # given
    deal = deal_missing_one_contact(rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        close_from_crm(rep, deal)
    # then
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert deal.packet_pending_since is not None
    assert packet_pending(deal)
    assert Deal.objects.filter(packet_pending_q(), pk=deal.pk).exists()
    assert not Handoff.objects.filter(deal=deal).exists()
    event = TimelineEvent.objects.get(subject_id=deal.pk, verb=EventVerb.DEAL_UPDATED, data__packet_pending=True)
    assert "customer contacts" in event.message
    assert event.data["missing"] == ["contacts"]


def test_it_tells_the_rep_what_is_missing_with_a_bell_and_an_email(rep, django_capture_on_commit_callbacks):
    # when
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    # then
    notification = Notification.objects.get(user=rep)
    assert notification.kind == NotificationKind.HANDOFF
    assert "Name at least 2 customer contacts" in notification.body
    assert notification.url.endswith(f"{reverse('handoffs:deal_detail', args=[deal.pk])}#packet-pending")
    assert OutboxMessage.objects.filter(recipient=rep).exists()


def test_without_packet_pending_ok_the_gate_still_refuses(rep):
    deal = deal_missing_one_contact(rep)
    with pytest.raises(ValidationError):
        deal_close(actor=rep, deal=deal, outcome="won", closed_on=TODAY, final_amount=Decimal("1"), reason="Signed")
    deal.refresh_from_db()
    assert deal.is_open and deal.packet_pending_since is None


def test_a_complete_packet_from_the_crm_starts_the_hand_off_at_once(rep):
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=2)
    close_from_crm(rep, deal)
    deal.refresh_from_db()
    assert deal.packet_pending_since is None
    assert Handoff.objects.filter(deal=deal).exists()


def test_a_waiver_reason_at_the_close_waives_instead_of_leaving_it_pending(rep):
    deal = deal_missing_one_contact(rep)
    close_from_crm(rep, deal, packet_waiver_reason="One-person customer")
    deal.refresh_from_db()
    assert deal.packet_pending_since is None
    assert deal.packet_waiver_reason == "One-person customer"
    assert Handoff.objects.filter(deal=deal).exists()


def test_adding_the_missing_contact_starts_the_hand_off(rep, django_capture_on_commit_callbacks):
    # given
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    contact = ContactFactory(account=deal.account)
    # when
    deal_contact_add(actor=rep, deal=deal, contact=contact, role=ContactRole.USER)
    # then
    deal.refresh_from_db()
    assert deal.packet_pending_since is None
    handoff = Handoff.objects.get(deal=deal)
    assert handoff.closed_on == TODAY
    assert TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.HANDOFF_STARTED).count() == 1


def test_a_part_still_missing_keeps_it_pending(rep, django_capture_on_commit_callbacks):
    # given: two parts missing (context and a contact)
    deal = deal_missing_one_contact(rep)
    Deal.objects.filter(pk=deal.pk).update(context_needs="")
    with django_capture_on_commit_callbacks(execute=True):
        close_from_crm(rep, deal)
    # when: only the contact is added
    deal_contact_add(actor=rep, deal=deal, contact=ContactFactory(account=deal.account))
    # then
    deal.refresh_from_db()
    assert packet_pending(deal)
    assert not Handoff.objects.filter(deal=deal).exists()
    # when: the context is filled in too
    deal_update(actor=rep, deal=deal, expected_version=deal.version, context_needs="A faster onboarding")
    # then
    deal.refresh_from_db()
    assert not packet_pending(deal)
    assert Handoff.objects.filter(deal=deal).exists()


def test_a_promise_or_no_promises_completes_a_pending_packet(rep, django_capture_on_commit_callbacks):
    # given: only the promises part is missing
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=2)
    Deal.objects.filter(pk=deal.pk).update(no_promises_made=False)
    with django_capture_on_commit_callbacks(execute=True):
        close_from_crm(rep, deal)
    # when
    promise_add(actor=rep, deal=deal, description="SSO included")
    # then
    assert Handoff.objects.filter(deal=deal).exists()

    # and "no promises were made" does it too on another deal
    other = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=2)
    Deal.objects.filter(pk=other.pk).update(no_promises_made=False)
    close_from_crm(rep, other)
    deal_no_promises_set(actor=rep, deal=other, no_promises_made=True)
    assert Handoff.objects.filter(deal=other).exists()


def test_no_promises_is_still_refused_on_a_closed_deal_that_is_not_pending(rep):
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=2)
    close_from_crm(rep, deal)
    with pytest.raises(ValidationError):
        deal_no_promises_set(actor=rep, deal=deal, no_promises_made=False)


def test_a_manager_waives_a_pending_packet_and_the_hand_off_starts(rep, manager, django_capture_on_commit_callbacks):
    # given
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    # when
    handoff = deal_packet_pending_waive(actor=manager, deal=deal, reason="Single buyer, no second contact")
    # then
    deal.refresh_from_db()
    assert handoff.deal_id == deal.pk
    assert deal.packet_pending_since is None
    assert deal.packet_waiver_reason == "Single buyer, no second contact"
    assert deal.packet_waived_by == manager
    waiver = TimelineEvent.objects.get(subject_id=deal.pk, verb=EventVerb.PACKET_WAIVED)
    assert waiver.data["missing"] == ["contacts"]


def test_a_rep_may_not_waive_and_a_reason_is_required(rep, manager, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        deal_packet_pending_waive(actor=rep, deal=deal, reason="Because")
    with pytest.raises(ValidationError):
        deal_packet_pending_waive(actor=manager, deal=deal, reason="  ")
    deal.refresh_from_db()
    assert packet_pending(deal)
    assert not Handoff.objects.filter(deal=deal).exists()


def test_waiving_a_deal_that_is_no_longer_pending_is_refused(rep, manager, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    DealContactFactory(deal=deal)
    deal_update(actor=rep, deal=deal, expected_version=deal.version, context_known="Knows the pricing well")
    with pytest.raises(ValidationError):
        deal_packet_pending_waive(actor=manager, deal=deal, reason="Too late")
    assert Handoff.objects.filter(deal=deal).count() == 1


def test_reopening_a_pending_deal_clears_the_pending_mark(rep, manager, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    deal_reopen(actor=manager, deal=deal, reason="Closed by mistake in the CRM")
    deal.refresh_from_db()
    assert deal.is_open
    assert deal.packet_pending_since is None


# --- the pages -------------------------------------------------------------------------------


def test_the_deal_page_shows_the_rep_what_is_missing_with_links_and_no_waiver(
    client_for, rep, django_capture_on_commit_callbacks
):
    # given
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    ContactFactory(account=deal.account)  # one the rep can name on the deal
    # when
    response = client_for(rep).get(reverse("handoffs:deal_detail", args=[deal.pk]))
    # then
    html = response.content.decode()
    assert 'data-testid="packet-pending-banner"' in html
    assert 'data-testid="packet-pending-missing-contacts"' in html
    assert f"{reverse('handoffs:deal_detail', args=[deal.pk])}#contacts" in html
    assert 'data-testid="packet-waive-form"' not in html
    assert 'data-testid="deal-contact-form"' in html


def test_a_manager_waives_from_the_deal_page(client_for, rep, manager, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    client = client_for(manager)
    assert (
        'data-testid="packet-waive-form"'
        in client.get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    )
    # when
    response = client.post(reverse("handoffs:deal_packet_waive", args=[deal.pk]), {"reason": "Single buyer"})
    # then
    assert response.status_code == 302
    assert Handoff.objects.filter(deal=deal).exists()
    assert (
        'data-testid="packet-pending-banner"'
        not in client.get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    )


def test_a_rep_posting_the_waiver_gets_403_and_an_empty_reason_starts_nothing(
    client_for, rep, manager, django_capture_on_commit_callbacks
):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    url = reverse("handoffs:deal_packet_waive", args=[deal.pk])
    assert client_for(rep).post(url, {"reason": "Because"}).status_code == 403
    response = client_for(manager).post(url, {"reason": "  "})
    assert response.status_code == 302
    assert not Handoff.objects.filter(deal=deal).exists()


def test_adding_the_contact_from_the_deal_page_starts_the_hand_off(client_for, rep, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    contact = ContactFactory(account=deal.account)
    response = client_for(rep).post(
        reverse("handoffs:deal_contact_add", args=[deal.pk]), {"contact": contact.pk, "role": ContactRole.FINANCE}
    )
    assert response.status_code == 302
    assert Handoff.objects.filter(deal=deal).exists()


def test_my_day_lists_the_reps_deals_waiting_for_their_packet(client_for, rep, django_capture_on_commit_callbacks):
    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    response = client_for(rep).get(reverse("handoffs:my_day"))
    pending = response.context["day"].packet_pending
    assert [item.pk for item in pending] == [deal.pk]
    assert [item.key for item in pending[0].packet_missing] == ["contacts"]
    assert 'data-testid="my-day-packet-pending"' in response.content.decode()


def test_a_relaxed_gate_lets_the_rep_start_the_hand_off_from_the_banner(
    client_for, rep, django_capture_on_commit_callbacks
):
    from accounts.models import OrganisationSettings

    deal = pending_deal(rep, django_capture_on_commit_callbacks)
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(gate_min_contacts=1)
    client = client_for(rep)
    assert (
        'data-testid="packet-recheck-form"'
        in client.get(reverse("handoffs:deal_detail", args=[deal.pk])).content.decode()
    )
    client.post(reverse("handoffs:deal_packet_recheck", args=[deal.pk]))
    assert Handoff.objects.filter(deal=deal).exists()
