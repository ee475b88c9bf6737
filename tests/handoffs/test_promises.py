"""Promises through delivery: added, kept, broken, renegotiated, given an owner — who
may, what is refused, what the timelines, the pages and the customer see."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import EventVerb, Role
from accounts.models import TimelineEvent
from handoffs.choices import HandoffStatus, PromiseStatus, Stage
from handoffs.models import Promise
from handoffs.selectors.handoffs import customer_status_token
from handoffs.services.deals import promise_add as promise_add_from_deals
from handoffs.services.handoffs import handoff_accept, handoff_propose_owner
from handoffs.services.promises import (
    promise_add,
    promise_assign_owner,
    promise_mark_broken,
    promise_mark_kept,
    promise_renegotiate,
)
from tests.factories import DealContactFactory, DealFactory, HandoffFactory, PromiseFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 UTC.
NOW = datetime.datetime(2025, 6, 11, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def delivered_promise(*, rep, lead, **promise_fields) -> Promise:
    """A promise of a won deal of `rep` whose hand-off `lead` accepted; the lead keeps it."""
    handoff = HandoffFactory(
        deal__owner=rep, delivery_owner=lead, status=HandoffStatus.ACCEPTED, accepted_at=NOW, rep=rep
    )
    promise_fields.setdefault("target_date", TODAY + datetime.timedelta(days=10))
    return PromiseFactory(deal=handoff.deal, owner=lead, created_by=rep, **promise_fields)


def events(promise: Promise, verb: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(verb=verb, data__promise_id=promise.pk).order_by("id"))


# --- adding -----------------------------------------------------------------------------


def test_the_rep_adds_a_promise_before_the_close_and_it_is_on_the_deal_and_account_timeline(rep):
    # given
    deal = DealFactory(owner=rep)
    # when
    promise = promise_add(actor=rep, deal=deal, description="SSO included", target_date=TODAY)
    # then
    assert (promise.status, promise.owner, promise.created_by) == (PromiseStatus.OPEN, None, rep)
    [event] = events(promise, EventVerb.PROMISE_ADDED)
    assert (event.account_id, event.subject_id) == (deal.account_id, deal.pk)


def test_promise_add_still_answers_from_the_deal_services_module(rep):
    assert promise_add_from_deals is promise_add


def test_a_promise_added_after_the_hand_off_is_the_delivery_owners_and_the_old_refusal_is_gone(
    rep, delivery_lead, manager
):
    # given: a hand-off with an accepted delivery owner
    handoff = HandoffFactory(deal__owner=rep, rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_accept(actor=delivery_lead, handoff=handoff)
    # when: the delivery owner, then the rep, add a promise
    by_lead = promise_add(actor=delivery_lead, deal=handoff.deal, description="Weekly status call")
    by_rep = promise_add(actor=rep, deal=handoff.deal, description="Training for five people")
    # then
    assert by_lead.owner == delivery_lead and by_rep.owner == delivery_lead
    assert by_lead.status == PromiseStatus.OPEN  # the meeting will review it


def test_a_promise_added_after_the_hand_off_meeting_is_confirmed_so_it_is_not_an_unconfirmed_drop(rep, delivery_lead):
    handoff = HandoffFactory(
        deal__owner=rep,
        rep=rep,
        delivery_owner=delivery_lead,
        status=HandoffStatus.MEETING_HELD,
        accepted_at=NOW,
        meeting_held_at=NOW - datetime.timedelta(days=1),
    )
    promise = promise_add(actor=delivery_lead, deal=handoff.deal, description="Data migration by July")
    assert promise.status == PromiseStatus.CONFIRMED


def test_accepting_the_hand_off_gives_the_promises_still_to_keep_to_the_delivery_owner(rep, manager, delivery_lead):
    # given
    handoff = HandoffFactory(deal__owner=rep, rep=rep)
    still_open = PromiseFactory(deal=handoff.deal)
    dropped = PromiseFactory(deal=handoff.deal, status=PromiseStatus.DROPPED)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # when
    handoff_accept(actor=delivery_lead, handoff=handoff)
    # then
    still_open.refresh_from_db()
    dropped.refresh_from_db()
    assert still_open.owner == delivery_lead and dropped.owner is None


@pytest.mark.parametrize("who", ["other_rep", "outsider_team_rep", "delivery_lead"])
def test_people_outside_the_deal_may_not_add_a_promise(request, rep, who):
    deal = DealFactory(owner=rep)
    with pytest.raises(PermissionDenied):
        promise_add(actor=request.getfixturevalue(who), deal=deal, description="Sneaky")
    assert not Promise.objects.exists()


def test_no_promise_is_added_to_a_lost_deal(rep):
    deal = DealFactory(owner=rep, stage=Stage.LOST, next_step="", next_step_due=None, closed_on=TODAY)
    with pytest.raises(ValidationError):
        promise_add(actor=rep, deal=deal, description="Too late")


# --- who may work a promise -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("delivery_lead", True),  # the delivery owner
        ("rep", True),
        ("manager", True),  # the rep's manager
        ("delivery_manager", True),  # the delivery owner's manager
        ("admin_user", True),
        ("other_rep", False),  # the rep's team-mate
        ("outsider_team_rep", False),  # another team
        ("other_lead", False),  # another delivery lead
    ],
)
def test_who_may_mark_a_promise_kept(request, rep, delivery_lead, manager, delivery_manager, who, allowed):
    # given
    if who == "other_lead":
        actor = UserFactory(username="other_lead", role=Role.DELIVERY, team=delivery_lead.team)
    else:
        actor = request.getfixturevalue(who)
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    # when / then
    if allowed:
        promise_mark_kept(actor=actor, promise=promise, kept_on=TODAY, note="Live on time")
        assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.KEPT
    else:
        with pytest.raises(PermissionDenied):
            promise_mark_kept(actor=actor, promise=promise, kept_on=TODAY, note="Live on time")
        assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.OPEN


@pytest.mark.parametrize("service", ["broken", "renegotiate", "owner"])
def test_another_teams_rep_may_not_break_renegotiate_or_reassign_a_promise(
    rep, delivery_lead, outsider_team_rep, service
):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    calls = {
        "broken": lambda: promise_mark_broken(actor=outsider_team_rep, promise=promise, reason="No capacity"),
        "renegotiate": lambda: promise_renegotiate(
            actor=outsider_team_rep, promise=promise, new_wording="Later", new_due=None
        ),
        "owner": lambda: promise_assign_owner(actor=outsider_team_rep, promise=promise, owner=delivery_lead),
    }
    with pytest.raises(PermissionDenied):
        calls[service]()
    assert not TimelineEvent.objects.filter(data__promise_id=promise.pk).exists()


# --- kept -------------------------------------------------------------------------------


def test_marking_kept_records_when_how_and_who_on_the_deal_and_account_timeline(rep, delivery_lead):
    # given
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    yesterday = TODAY - datetime.timedelta(days=1)
    # when
    promise_mark_kept(actor=delivery_lead, promise=promise, kept_on=yesterday, note="SSO live with Okta")
    # then
    promise.refresh_from_db()
    assert (promise.status, promise.resolved_on, promise.resolution_note, promise.resolved_by) == (
        PromiseStatus.KEPT,
        yesterday,
        "SSO live with Okta",
        delivery_lead,
    )
    [event] = events(promise, EventVerb.PROMISE_KEPT)
    assert (event.account_id, event.subject_id, event.actor_id) == (
        promise.deal.account_id,
        promise.deal_id,
        delivery_lead.pk,
    )


def test_a_promise_kept_tomorrow_is_refused(rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    with pytest.raises(ValidationError) as error:
        promise_mark_kept(actor=delivery_lead, promise=promise, kept_on=TODAY + datetime.timedelta(days=1))
    assert "kept_on" in error.value.message_dict
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.OPEN


def test_kept_today_means_today_in_the_actors_own_zone(rep, delivery_lead, pinned_clock):
    # given: 20:00 UTC is already the 12th in Auckland, still the 11th in UTC
    pinned_clock.move_to(datetime.datetime(2025, 6, 11, 20, 0, tzinfo=datetime.UTC))
    auckland_lead = UserFactory(
        username="kiri", role=Role.DELIVERY, team=delivery_lead.team, timezone="Pacific/Auckland"
    )
    twelfth = datetime.date(2025, 6, 12)
    first = delivered_promise(rep=rep, lead=auckland_lead)
    second = delivered_promise(rep=rep, lead=delivery_lead)
    # when / then
    promise_mark_kept(actor=auckland_lead, promise=first, kept_on=twelfth)
    with pytest.raises(ValidationError):
        promise_mark_kept(actor=delivery_lead, promise=second, kept_on=twelfth)


def test_a_promise_settled_once_cannot_be_marked_again(rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    promise_mark_kept(actor=delivery_lead, promise=promise, kept_on=TODAY)
    with pytest.raises(ValidationError):
        promise_mark_broken(actor=delivery_lead, promise=promise, reason="Changed my mind")
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.KEPT


# --- broken -----------------------------------------------------------------------------


def test_a_promise_broken_without_a_reason_is_refused(rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    with pytest.raises(ValidationError) as error:
        promise_mark_broken(actor=delivery_lead, promise=promise, reason="   ", customer_told="Sorry")
    assert "reason" in error.value.message_dict
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.OPEN


def test_marking_broken_records_why_and_what_the_customer_was_told(rep, delivery_lead):
    # given
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    # when
    promise_mark_broken(
        actor=delivery_lead, promise=promise, reason="The SSO vendor is late", customer_told="SSO moves to August"
    )
    # then
    promise.refresh_from_db()
    assert (promise.status, promise.resolved_on, promise.resolution_note, promise.customer_told) == (
        PromiseStatus.BROKEN,
        TODAY,
        "The SSO vendor is late",
        "SSO moves to August",
    )
    [event] = events(promise, EventVerb.PROMISE_BROKEN)
    assert event.account_id == promise.deal.account_id
    assert "SSO moves to August" in event.message


# --- renegotiated -----------------------------------------------------------------------


def test_renegotiation_keeps_the_first_wording_through_two_changes(rep, delivery_lead):
    # given
    promise = delivered_promise(rep=rep, lead=delivery_lead, description="Live by 1 July")
    # when
    promise_renegotiate(
        actor=delivery_lead, promise=promise, new_wording="Live by 15 July", new_due=datetime.date(2025, 7, 15)
    )
    promise_renegotiate(actor=rep, promise=promise, new_wording="Live by 1 August", new_due=datetime.date(2025, 8, 1))
    # then
    promise.refresh_from_db()
    assert (promise.description, promise.original_description, promise.target_date) == (
        "Live by 1 August",
        "Live by 1 July",
        datetime.date(2025, 8, 1),
    )
    messages = [event.message for event in events(promise, EventVerb.PROMISE_UPDATED)]
    assert len(messages) == 2 and "Live by 1 July" in messages[0] and "Live by 15 July" in messages[1]


def test_a_renegotiation_due_in_the_past_or_without_wording_is_refused(rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    with pytest.raises(ValidationError) as past:
        promise_renegotiate(actor=rep, promise=promise, new_wording="Later", new_due=TODAY - datetime.timedelta(days=1))
    with pytest.raises(ValidationError) as empty:
        promise_renegotiate(actor=rep, promise=promise, new_wording=" ", new_due=None)
    assert "new_due" in past.value.message_dict and "new_wording" in empty.value.message_dict
    assert Promise.objects.get(pk=promise.pk).original_description == ""


# --- owner ------------------------------------------------------------------------------


def test_a_promise_is_given_only_to_a_delivery_lead(rep, delivery_lead, other_rep, manager):
    # given
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    colleague = UserFactory(username="lee", role=Role.DELIVERY, team=delivery_lead.team)
    # when
    promise_assign_owner(actor=manager, promise=promise, owner=colleague)
    # then
    assert Promise.objects.get(pk=promise.pk).owner == colleague
    assert len(events(promise, EventVerb.PROMISE_UPDATED)) == 1
    with pytest.raises(ValidationError):
        promise_assign_owner(actor=manager, promise=promise, owner=other_rep)


# --- pages ------------------------------------------------------------------------------


def test_the_delivery_owner_marks_a_promise_kept_from_the_deal_page_without_javascript(client_for, rep, delivery_lead):
    # given
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    client = client_for(delivery_lead)
    deal_url = reverse("handoffs:deal_detail", args=[promise.deal_id])
    page = client.get(deal_url).content.decode()
    assert reverse("handoffs:promise_kept", args=[promise.pk]) in page
    assert 'data-testid="promise-form"' in page  # "Add a promise" after the hand-off
    # when
    response = client.post(
        reverse("handoffs:promise_kept", args=[promise.pk]),
        {"kept_on": TODAY.isoformat(), "note": "Done", "next": deal_url},
    )
    # then
    assert response.status_code == 302 and response.url == deal_url
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.KEPT


def test_the_form_refuses_a_kept_date_in_the_future_and_a_broken_promise_without_reason(client_for, rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    client = client_for(delivery_lead)
    future = client.post(
        reverse("handoffs:promise_kept", args=[promise.pk]),
        {"kept_on": (TODAY + datetime.timedelta(days=3)).isoformat()},
    )
    no_reason = client.post(reverse("handoffs:promise_broken", args=[promise.pk]), {"reason": ""})
    assert future.status_code == 200 and "in the future" in future.content.decode()
    assert no_reason.status_code == 200 and 'data-testid="error-summary"' in no_reason.content.decode()
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.OPEN


def test_the_delivery_owner_adds_a_promise_from_the_hand_off_page(client_for, rep, delivery_lead):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    client = client_for(delivery_lead)
    page = client.get(reverse("handoffs:handoff_detail", args=[promise.deal.handoff.pk])).content.decode()
    assert "Add a promise" in page and reverse("handoffs:promise_broken", args=[promise.pk]) in page
    response = client.post(reverse("handoffs:promise_add", args=[promise.deal_id]), {"description": "Extra training"})
    assert response.status_code == 302
    added = Promise.objects.get(description="Extra training")
    assert (added.owner, added.created_by) == (delivery_lead, delivery_lead)
    assert (
        "add promises there" not in client.get(reverse("handoffs:deal_detail", args=[promise.deal_id])).content.decode()
    )


@pytest.mark.parametrize(("who", "status"), [("other_rep", 403), ("outsider_team_rep", 404)])
def test_the_promise_pages_refuse_people_outside_the_deal(request, client_for, rep, delivery_lead, who, status):
    promise = delivered_promise(rep=rep, lead=delivery_lead)
    client = client_for(request.getfixturevalue(who))
    for name in ("promise_kept", "promise_broken", "promise_renegotiate"):
        assert client.get(reverse(f"handoffs:{name}", args=[promise.pk])).status_code == status
    assert client.post(reverse("handoffs:promise_broken", args=[promise.pk]), {"reason": "x"}).status_code == status
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.OPEN


def _ledger_account(rep, lead, *, deals: int):
    first = delivered_promise(rep=rep, lead=lead, description="Kept one")
    account = first.deal.account
    promise_mark_kept(actor=lead, promise=first, kept_on=TODAY, note="On time")
    for number in range(deals):
        handoff = HandoffFactory(
            deal__owner=rep, deal__account=account, delivery_owner=lead, status=HandoffStatus.ACCEPTED, rep=rep
        )
        broken = PromiseFactory(deal=handoff.deal, owner=lead, description=f"Broken {number}")
        promise_mark_broken(actor=lead, promise=broken, reason="No capacity", customer_told="Next quarter")
        PromiseFactory(
            deal=handoff.deal, owner=lead, description=f"Late {number}", target_date=TODAY - datetime.timedelta(days=2)
        )
    return account


def test_the_account_page_shows_the_promise_ledger_in_a_constant_number_of_queries(client_for, rep, delivery_lead):
    # given
    small = _ledger_account(rep, delivery_lead, deals=1)
    large = _ledger_account(rep, delivery_lead, deals=6)
    client = client_for(rep)
    client.get(reverse("handoffs:account_detail", args=[small.pk]))  # warm
    # when
    with CaptureQueriesContext(connection) as small_queries:
        small_page = client.get(reverse("handoffs:account_detail", args=[small.pk])).content.decode()
    with CaptureQueriesContext(connection) as large_queries:
        large_page = client.get(reverse("handoffs:account_detail", args=[large.pk])).content.decode()
    # then
    assert len(large_queries.captured_queries) == len(small_queries.captured_queries)
    assert large_page.count('data-testid="ledger-row"') == 13
    assert large_page.count('data-status="broken"') == 6 and large_page.count('data-status="kept"') == 1
    assert "Kept one" in small_page and "On time" in small_page and "Customer told: Next quarter" in small_page
    assert small_page.count("overdue</span>") == 1


def test_the_deal_and_hand_off_pages_keep_a_constant_number_of_queries_with_more_promises(
    client_for, rep, delivery_lead, manager
):
    def deal_with(count):
        promise = delivered_promise(rep=rep, lead=delivery_lead)
        for _ in range(count):
            PromiseFactory(deal=promise.deal, owner=delivery_lead, target_date=TODAY - datetime.timedelta(days=1))
        return promise.deal

    small, large = deal_with(1), deal_with(8)
    client = client_for(manager)
    for name, args in (("deal_detail", lambda d: [d.pk]), ("handoff_detail", lambda d: [d.handoff.pk])):
        client.get(reverse(f"handoffs:{name}", args=args(small)))
        with CaptureQueriesContext(connection) as few:
            client.get(reverse(f"handoffs:{name}", args=args(small)))
        with CaptureQueriesContext(connection) as many:
            page = client.get(reverse(f"handoffs:{name}", args=args(large))).content.decode()
        assert len(many.captured_queries) == len(few.captured_queries), name
        assert page.count('data-testid="promise-actions"') == 9


def test_the_customer_sees_each_promise_state_and_what_they_were_told_but_no_internal_note(client, rep, delivery_lead):
    # given
    kept = delivered_promise(rep=rep, lead=delivery_lead, description="SSO included")
    deal = kept.deal
    broken = PromiseFactory(deal=deal, owner=delivery_lead, description="Live by 1 July")
    PromiseFactory(deal=deal, owner=delivery_lead, description="Weekly status call")
    promise_mark_kept(actor=delivery_lead, promise=kept, kept_on=TODAY, note="Internal: Okta config by Sam")
    promise_mark_broken(
        actor=delivery_lead, promise=broken, reason="Internal: we under-staffed it", customer_told="Live by 15 July"
    )
    # A status link opens only for a contact still on the deal (issue 15).
    contact = DealContactFactory(deal=deal).contact
    token = customer_status_token(handoff_id=deal.handoff.pk, contact_id=contact.pk)
    # when
    page = client.get(reverse("handoffs:customer_status", args=[token])).content.decode()
    # then
    assert page.count('data-testid="customer-promise"') == 3
    assert 'data-status="kept"' in page and 'data-status="broken"' in page and 'data-status="open"' in page
    assert "Not kept" in page and "Live by 15 July" in page and "Kept on 11 Jun 2025" in page
    assert "Internal:" not in page
