"""The API of deals, promises, hand-offs, steps and meetings, as a client with a personal
token uses it: who may do what (rep, manager, delivery lead, admin, another team), the
error body with field messages, nothing written on a refusal, the close (a hand-off
started exactly once, or the packet pending), Idempotency-Key retries, and list query
counts that do not grow with the rows."""

from __future__ import annotations

import datetime
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import EventVerb
from accounts.models import TimelineEvent
from accounts.validators import user_today
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, Stage, StepStatus
from handoffs.models import Deal, DealContact, Handoff, HandoffStep, Meeting, Promise
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    HandoffStepFactory,
    PromiseFactory,
    UserFactory,
    give_full_packet,
)
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting, won_handoff

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"handoffs_api:{name}", args=args)


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def fields_of(response) -> dict:
    """The field messages of an `invalid` error body."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    return error.get("fields", {})


def queries_of(client: APIClient, path: str, params: dict | None = None) -> int:
    """The queries of a warm request (the first one of a token also records its use)."""
    client.get(path, params or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.content
    return len(captured)


def yesterday() -> datetime.date:
    # The server's today: deal_close refuses a close date after it.
    return timezone.localdate() - datetime.timedelta(days=1)


def close_body(**overrides) -> dict:
    body = {"outcome": "won", "closed_on": yesterday().isoformat(), "final_amount": "30000.00", "reason": "Signed."}
    return {**body, **overrides}


# --- deals: reading ------------------------------------------------------------------------


def test_the_deal_list_shows_each_role_what_its_pages_show(
    api_client, rep, other_rep, manager, admin_user, outsider_team_rep, delivery_lead
):
    # given
    mine = DealFactory(owner=rep)
    teammates = DealFactory(owner=other_rep)
    elsewhere = DealFactory(owner=outsider_team_rep)
    # when / then
    assert ids(api_client(rep).get(url("deal-list"))) == {mine.pk, teammates.pk}
    assert ids(api_client(manager).get(url("deal-list"))) == {mine.pk, teammates.pk}
    assert ids(api_client(outsider_team_rep).get(url("deal-list"))) == {elsewhere.pk}
    assert ids(api_client(admin_user).get(url("deal-list"))) >= {mine.pk, teammates.pk, elsewhere.pk}
    # a delivery lead has no pipeline (the deal list page is for reps and managers)
    refused = api_client(delivery_lead).get(url("deal-list"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"


def test_the_deal_list_filters(api_client, rep, manager):
    # given
    today = timezone.localdate()
    soon = DealFactory(owner=rep, title="Globex renewal", stage=Stage.PROPOSE, next_step_due=today)
    later = DealFactory(owner=rep, title="Initech", next_step_due=today + datetime.timedelta(days=20))
    late = DealFactory(owner=rep, title="Umbrella")
    Deal.objects.filter(pk=late.pk).update(next_step_due=today - datetime.timedelta(days=2))
    lost = DealFactory(owner=rep, stage=Stage.LOST, closed_on=today, lost_reason="price", next_step_due=None)
    theirs = DealFactory(owner=manager, title="Manager's")
    client = api_client(manager)
    # when / then
    assert ids(client.get(url("deal-list"), {"stage": "propose"})) == {soon.pk}
    assert ids(client.get(url("deal-list"), {"state": "lost"})) == {lost.pk}
    assert lost.pk not in ids(client.get(url("deal-list"), {"state": "open"}))
    assert ids(client.get(url("deal-list"), {"owner": manager.pk})) == {theirs.pk}
    assert ids(client.get(url("deal-list"), {"account": later.account_id})) == {later.pk}
    assert theirs.pk in ids(client.get(url("deal-list"), {"team": manager.team_id}))
    assert ids(client.get(url("deal-list"), {"search": "globex"})) == {soon.pk}
    assert ids(client.get(url("deal-list"), {"overdue": "true"})) == {late.pk}
    window = {"next_step_due_after": today.isoformat(), "next_step_due_before": (today + datetime.timedelta(days=5))}
    assert soon.pk in ids(client.get(url("deal-list"), window))
    assert later.pk not in ids(client.get(url("deal-list"), window))


def test_a_bad_filter_value_is_a_400_with_the_field(api_client, rep):
    assert "stage" in fields_of(api_client(rep).get(url("deal-list"), {"stage": "nonsense"}))
    assert "owner" in fields_of(api_client(rep).get(url("deal-list"), {"owner": "99999999999999999999999"}))


def test_the_deal_list_runs_the_same_queries_for_3_or_30_deals(api_client, rep, manager):
    # given
    client = api_client(manager)
    for _ in range(3):
        DealContactFactory(deal=DealFactory(owner=rep))
    few = queries_of(client, url("deal-list"))
    for _ in range(27):
        DealContactFactory(deal=DealFactory(owner=rep))
    # when
    many = queries_of(client, url("deal-list"))
    # then
    assert many == few


def test_a_deal_shows_its_contacts_promises_and_packet(api_client, rep):
    # given
    deal = DealFactory(owner=rep)
    DealContactFactory(deal=deal)
    PromiseFactory(deal=deal, description="SSO included")
    # when
    response = api_client(rep).get(url("deal-detail", deal.pk))
    # then
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == deal.version
    assert [row["contact"]["id"] for row in data["contacts"]] == [deal.deal_contacts.get().contact_id]
    assert [promise["description"] for promise in data["promises"]] == ["SSO included"]
    assert data["handoff"] is None
    assert data["packet"]["complete"] is False
    assert {item["key"] for item in data["packet"]["missing"]} == {"context", "contacts"}


def test_a_deal_runs_the_same_queries_with_3_or_30_contacts_and_promises(api_client, rep):
    deal = DealFactory(owner=rep)
    client = api_client(rep)
    for _ in range(3):
        DealContactFactory(deal=deal)
        PromiseFactory(deal=deal, owner=rep, created_by=rep)
    few = queries_of(client, url("deal-detail", deal.pk))
    for _ in range(27):
        DealContactFactory(deal=deal)
        PromiseFactory(deal=deal, owner=rep, created_by=rep)
    assert queries_of(client, url("deal-detail", deal.pk)) == few


def test_a_deal_the_user_may_not_read_is_a_404(api_client, rep, outsider_team_rep):
    deal = DealFactory(owner=rep)
    response = api_client(outsider_team_rep).get(url("deal-detail", deal.pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api_client(rep).get("/api/v1/deals/99999999999999999999999/").status_code == 404


# --- deals: writing ------------------------------------------------------------------------


def new_deal_body(account, **overrides) -> dict:
    body = {
        "account": account.pk,
        "title": "Globex onboarding",
        "amount": "12000.00",
        "next_step": "Send the proposal",
        "next_step_due": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
    }
    return {**body, **overrides}


def test_a_rep_opens_a_deal(api_client, rep):
    # given
    account = AccountFactory(owner=rep)
    # when
    response = api_client(rep).post(url("deal-list"), new_deal_body(account), format="json")
    # then
    assert response.status_code == 201, response.json()
    deal = Deal.objects.get(pk=response.json()["id"])
    assert (deal.title, deal.owner, deal.stage) == ("Globex onboarding", rep, Stage.QUALIFY)
    assert TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.DEAL_CREATED).count() == 1


def test_opening_a_deal_is_refused_field_by_field_and_writes_nothing(api_client, rep, outsider_team_rep):
    # given
    mine = AccountFactory(owner=rep)
    hidden = AccountFactory(owner=outsider_team_rep)
    client = api_client(rep)
    # when / then: the shape (required, types, unknown fields)
    fields = fields_of(client.post(url("deal-list"), {"account": mine.pk}, format="json"))
    assert set(fields) == {"title", "next_step", "next_step_due"}
    assert fields["title"] == ["This field is required."]
    unknown = fields_of(client.post(url("deal-list"), {**new_deal_body(mine), "colour": "red"}, format="json"))
    assert unknown == {"colour": ["Unknown field."]}
    # an account the rep may not read looks like one that does not exist
    assert "account" in fields_of(client.post(url("deal-list"), new_deal_body(hidden), format="json"))
    # the service's own rules, keyed by field
    past = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    fields = fields_of(client.post(url("deal-list"), new_deal_body(mine, next_step_due=past), format="json"))
    assert fields == {"next_step_due": ["The next step cannot be due in the past: when will it happen?"]}
    assert not Deal.objects.exists()


def test_a_delivery_lead_opens_no_deal(api_client, delivery_lead, rep):
    account = AccountFactory(owner=delivery_lead)
    response = api_client(delivery_lead).post(url("deal-list"), new_deal_body(account), format="json")
    assert response.status_code == 403
    assert not Deal.objects.exists()


def test_a_patch_carries_its_version_and_a_stale_one_is_a_409(api_client, rep):
    # given
    deal = DealFactory(owner=rep, title="Old title")
    client = api_client(rep)
    # when
    saved = client.patch(url("deal-detail", deal.pk), {"title": "New title", "version": deal.version}, format="json")
    stale = client.patch(url("deal-detail", deal.pk), {"title": "Lost edit", "version": deal.version}, format="json")
    # then
    assert saved.status_code == 200, saved.json()
    assert saved.json()["version"] == deal.version + 1
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    deal.refresh_from_db()
    assert (deal.title, deal.version) == ("New title", 2)


def test_a_patch_without_version_or_with_bad_values_writes_nothing(api_client, rep):
    deal = DealFactory(owner=rep, title="Old title")
    client = api_client(rep)
    assert "version" in fields_of(client.patch(url("deal-detail", deal.pk), {"title": "x"}, format="json"))
    fields = fields_of(
        client.patch(url("deal-detail", deal.pk), {"amount": "-5", "version": deal.version}, format="json")
    )
    assert fields["amount"] == ["The amount cannot be negative."]
    deal.refresh_from_db()
    assert (deal.title, deal.version) == ("Old title", 1)


def test_a_teammate_reads_but_may_not_change_a_deal(api_client, rep, other_rep, outsider_team_rep):
    # given
    deal = DealFactory(owner=rep, title="Old title")
    change = {"title": "Hijacked", "version": deal.version}
    # when / then
    assert api_client(other_rep).get(url("deal-detail", deal.pk)).status_code == 200
    assert api_client(other_rep).patch(url("deal-detail", deal.pk), change, format="json").status_code == 403
    assert api_client(outsider_team_rep).patch(url("deal-detail", deal.pk), change, format="json").status_code == 404
    deal.refresh_from_db()
    assert deal.title == "Old title"


def test_a_manager_moves_a_team_deal_and_won_goes_through_the_close(api_client, rep, manager):
    # given
    deal = DealFactory(owner=rep, stage=Stage.DISCOVER)
    client = api_client(manager)
    # when
    moved = client.post(url("deal-move-stage", deal.pk), {"stage": "negotiate"}, format="json")
    refused = client.post(url("deal-move-stage", deal.pk), {"stage": "won"}, format="json")
    # then
    assert moved.status_code == 200, moved.json()
    assert moved.json()["stage"] == "negotiate"
    assert "stage" in fields_of(refused)
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATE


def test_a_contact_of_the_account_is_named_on_the_deal(api_client, rep):
    # given
    deal = DealFactory(owner=rep)
    contact = ContactFactory(account=deal.account)
    stranger = ContactFactory()
    client = api_client(rep)
    # when
    added = client.post(url("deal-contacts", deal.pk), {"contact": contact.pk, "role": "champion"}, format="json")
    refused = client.post(url("deal-contacts", deal.pk), {"contact": stranger.pk}, format="json")
    twice = client.post(url("deal-contacts", deal.pk), {"contact": contact.pk}, format="json")
    # then
    assert added.status_code == 201, added.json()
    assert added.json()["role"] == "champion"
    assert "contact" in fields_of(refused)
    assert "contact" in fields_of(twice)
    assert DealContact.objects.filter(deal=deal).count() == 1


# --- the close ------------------------------------------------------------------------------


def test_a_won_close_starts_the_hand_off_once_even_when_retried_with_its_key(api_client, rep):
    # given
    deal = give_full_packet(DealFactory(owner=rep))
    client = api_client(rep)
    key = str(uuid.uuid4())
    # when
    first = client.post(url("deal-close", deal.pk), close_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = client.post(url("deal-close", deal.pk), close_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    # then
    assert first.status_code == 200, first.json()
    result = first.json()
    assert result["outcome"] == "won"
    assert result["handoff_started"] is True
    assert result["packet_pending"] is False
    assert result["packet_missing"] == []
    assert result["deal"]["stage"] == "won"
    assert retry.status_code == 200
    assert retry.json() == result
    assert retry["Idempotent-Replayed"] == "true"
    assert Handoff.objects.filter(deal=deal).count() == 1
    assert result["handoff"]["id"] == Handoff.objects.get(deal=deal).pk
    assert TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.DEAL_WON).count() == 1


def test_a_close_is_dated_in_the_users_own_zone_as_on_the_page(api_client, rep):
    # given: 23:50 UTC on 31 December, already 1 January in Tokyo, where the rep works
    rep.timezone = "Asia/Tokyo"
    rep.save(update_fields=["timezone"])
    deal = give_full_packet(DealFactory(owner=rep))
    client = api_client(rep)
    with time_machine.travel(datetime.datetime(2026, 12, 31, 23, 50, tzinfo=datetime.UTC), tick=False):
        # when: the rep logs the close on their today
        response = client.post(url("deal-close", deal.pk), close_body(closed_on="2027-01-01"), format="json")
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["deal"]["closed_on"] == "2027-01-01"


def test_a_close_retried_without_a_key_is_refused_and_changes_nothing(api_client, rep):
    deal = give_full_packet(DealFactory(owner=rep))
    client = api_client(rep)
    assert client.post(url("deal-close", deal.pk), close_body(), format="json").status_code == 200
    again = client.post(url("deal-close", deal.pk), close_body(), format="json")
    assert fields_of(again) == {"non_field_errors": ["This deal is already closed."]}
    assert Handoff.objects.filter(deal=deal).count() == 1


def test_a_key_reused_with_another_body_is_refused(api_client, rep):
    deal = give_full_packet(DealFactory(owner=rep))
    client = api_client(rep)
    key = str(uuid.uuid4())
    client.post(url("deal-close", deal.pk), close_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    reused = client.post(
        url("deal-close", deal.pk), close_body(reason="Other"), format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_a_won_close_without_the_packet_is_recorded_with_the_packet_pending(api_client, rep):
    # given: no context, no contacts, no promises
    deal = DealFactory(owner=rep, context_origin="", context_needs="")
    # when
    response = api_client(rep).post(url("deal-close", deal.pk), close_body(), format="json")
    # then
    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["outcome"] == "won"
    assert result["handoff_started"] is False
    assert result["handoff"] is None
    assert result["packet_pending"] is True
    assert {item["key"] for item in result["packet_missing"]} == {"context", "contacts", "promises"}
    assert all(item["message"] for item in result["packet_missing"])
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert deal.packet_pending_since is not None
    assert not Handoff.objects.filter(deal=deal).exists()


def test_a_pending_packet_completed_through_the_api_starts_the_hand_off(api_client, rep):
    # given: a won close from a CRM with no contacts and no word on promises
    deal = DealFactory(owner=rep)
    give_full_packet(deal, contacts=0)
    Deal.objects.filter(pk=deal.pk).update(no_promises_made=False)
    client = api_client(rep)
    assert client.post(url("deal-close", deal.pk), close_body(), format="json").json()["packet_pending"] is True
    # when: the rep names two contacts and says no promises were made
    for _ in range(2):
        contact = ContactFactory(account=deal.account)
        client.post(url("deal-contacts", deal.pk), {"contact": contact.pk, "role": "user"}, format="json")
    assert not Handoff.objects.filter(deal=deal).exists()
    said = client.post(url("deal-no-promises", deal.pk), {"no_promises_made": True}, format="json")
    # then
    assert said.status_code == 200, said.json()
    assert said.json()["packet_pending_since"] is None
    assert said.json()["handoff"]["status"] == "awaiting_owner"
    assert Handoff.objects.filter(deal=deal).count() == 1


def test_a_manager_waives_a_pending_packet_and_the_hand_off_starts_once(api_client, rep, manager):
    # given: a won close recorded with its packet pending
    deal = DealFactory(owner=rep)
    api_client(rep).post(url("deal-close", deal.pk), close_body(), format="json")
    # when
    by_rep = api_client(rep).post(url("deal-waive-pending-packet", deal.pk), {"reason": "x"}, format="json")
    no_reason = api_client(manager).post(url("deal-waive-pending-packet", deal.pk), {}, format="json")
    waived = api_client(manager).post(
        url("deal-waive-pending-packet", deal.pk), {"reason": "The CRM holds it."}, format="json"
    )
    again = api_client(manager).post(url("deal-waive-pending-packet", deal.pk), {"reason": "Twice"}, format="json")
    # then
    assert by_rep.status_code == 403
    assert "reason" in fields_of(no_reason)
    assert waived.status_code == 200, waived.json()
    assert (waived.json()["handoff_started"], waived.json()["packet_pending"]) == (True, False)
    assert waived.json()["packet_waived"] is True
    assert "non_field_errors" in fields_of(again)
    assert Handoff.objects.filter(deal=deal).count() == 1


def test_a_waiver_reason_starts_the_hand_off_without_the_packet(api_client, rep):
    deal = DealFactory(owner=rep)
    response = api_client(rep).post(
        url("deal-close", deal.pk), close_body(packet_waiver_reason="Signed in a rush."), format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["handoff_started"] is True
    assert response.json()["packet_waived"] is True
    assert response.json()["packet_pending"] is False


def test_a_lost_close_needs_its_reason_and_starts_nothing(api_client, rep):
    # given
    deal = DealFactory(owner=rep)
    client = api_client(rep)
    # when
    refused = client.post(url("deal-close", deal.pk), close_body(outcome="lost"), format="json")
    lost = client.post(url("deal-close", deal.pk), close_body(outcome="lost", lost_reason="price"), format="json")
    # then
    assert fields_of(refused) == {"lost_reason": ["Choose why the deal was lost."]}
    assert lost.status_code == 200, lost.json()
    assert (lost.json()["outcome"], lost.json()["handoff_started"]) == ("lost", False)
    assert not Handoff.objects.exists()


def test_a_close_is_refused_to_who_may_not_change_the_deal(
    api_client, rep, other_rep, outsider_team_rep, delivery_lead
):
    deal = give_full_packet(DealFactory(owner=rep))
    assert api_client(other_rep).post(url("deal-close", deal.pk), close_body(), format="json").status_code == 403
    assert (
        api_client(outsider_team_rep).post(url("deal-close", deal.pk), close_body(), format="json").status_code == 404
    )
    assert api_client(delivery_lead).post(url("deal-close", deal.pk), close_body(), format="json").status_code == 404
    future = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    assert "closed_on" in fields_of(
        api_client(rep).post(url("deal-close", deal.pk), close_body(closed_on=future), format="json")
    )
    deal.refresh_from_db()
    assert deal.stage != Stage.WON
    assert not Handoff.objects.exists()


def test_a_manager_closes_a_team_deal(api_client, rep, manager, admin_user):
    deal = give_full_packet(DealFactory(owner=rep))
    assert api_client(manager).post(url("deal-close", deal.pk), close_body(), format="json").status_code == 200
    other = give_full_packet(DealFactory(owner=rep))
    assert api_client(admin_user).post(url("deal-close", other.pk), close_body(), format="json").status_code == 200
    assert Handoff.objects.count() == 2


# --- promises ---------------------------------------------------------------------------------


def test_a_rep_adds_a_promise_to_a_deal(api_client, rep, other_rep):
    # given
    deal = DealFactory(owner=rep)
    due = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    # when
    added = api_client(rep).post(
        url("deal-promises", deal.pk), {"description": "SSO included", "target_date": due}, format="json"
    )
    refused = api_client(other_rep).post(url("deal-promises", deal.pk), {"description": "Free month"}, format="json")
    empty = api_client(rep).post(url("deal-promises", deal.pk), {}, format="json")
    # then
    assert added.status_code == 201, added.json()
    assert (added.json()["description"], added.json()["status"]) == ("SSO included", "open")
    assert refused.status_code == 403
    assert "description" in fields_of(empty)
    assert list(deal.promises.values_list("description", flat=True)) == ["SSO included"]


def test_the_promise_list_is_scoped_and_filtered(api_client, rep, manager, outsider_team_rep, delivery_lead):
    # given
    today = timezone.localdate()
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead, promises=0)
    owned = PromiseFactory(deal=handoff.deal, owner=delivery_lead, target_date=today + datetime.timedelta(days=3))
    deal = DealFactory(owner=rep)
    later = PromiseFactory(deal=deal, target_date=today + datetime.timedelta(days=90))
    kept = PromiseFactory(deal=deal, status=PromiseStatus.KEPT)
    PromiseFactory(deal=DealFactory(owner=outsider_team_rep))
    client = api_client(manager)
    # when / then
    assert ids(client.get(url("promise-list"))) == {owned.pk, later.pk, kept.pk}
    assert ids(client.get(url("promise-list"), {"deal": deal.pk})) == {later.pk, kept.pk}
    assert ids(client.get(url("promise-list"), {"status": "kept"})) == {kept.pk}
    assert ids(client.get(url("promise-list"), {"owner": delivery_lead.pk})) == {owned.pk}
    due_before = (today + datetime.timedelta(days=10)).isoformat()
    assert ids(client.get(url("promise-list"), {"due_before": due_before})) == {owned.pk}
    assert ids(api_client(delivery_lead).get(url("promise-list"))) == {owned.pk}
    assert ids(api_client(outsider_team_rep).get(url("promise-list"))).isdisjoint({owned.pk, later.pk, kept.pk})


def test_the_promise_list_runs_the_same_queries_for_3_or_30_promises(api_client, rep, manager):
    client = api_client(manager)
    deal = DealFactory(owner=rep)
    for _ in range(3):
        PromiseFactory(deal=deal, owner=manager, resolved_by=rep, created_by=rep)
    few = queries_of(client, url("promise-list"))
    for _ in range(27):
        PromiseFactory(deal=DealFactory(owner=rep), owner=manager, resolved_by=rep, created_by=rep)
    assert queries_of(client, url("promise-list")) == few


def test_the_delivery_owner_marks_a_promise_kept(api_client, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    promise = handoff.deal.promises.get()
    kept_on = user_today(delivery_lead) - datetime.timedelta(days=1)
    # when
    response = api_client(delivery_lead).post(
        url("promise-kept", promise.pk), {"kept_on": kept_on.isoformat(), "note": "Live."}, format="json"
    )
    # then
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["resolved_on"]) == ("kept", kept_on.isoformat())
    assert response.json()["resolved_by"]["id"] == delivery_lead.pk


def test_marking_a_promise_is_refused_field_by_field_and_writes_nothing(api_client, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    promise = handoff.deal.promises.get()
    client = api_client(rep)
    tomorrow = (user_today(rep) + datetime.timedelta(days=1)).isoformat()
    # when / then
    assert "kept_on" in fields_of(client.post(url("promise-kept", promise.pk), {"kept_on": tomorrow}, format="json"))
    assert "reason" in fields_of(client.post(url("promise-broken", promise.pk), {"reason": ""}, format="json"))
    past = (user_today(rep) - datetime.timedelta(days=3)).isoformat()
    renegotiated = client.post(
        url("promise-renegotiate", promise.pk), {"new_wording": "Later", "new_due": past}, format="json"
    )
    assert "new_due" in fields_of(renegotiated)
    promise.refresh_from_db()
    assert promise.status in (PromiseStatus.OPEN, PromiseStatus.CONFIRMED)
    assert promise.resolved_on is None


def test_a_promise_is_broken_and_renegotiated_by_who_works_it(
    api_client, rep, manager, delivery_lead, outsider_team_rep
):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead, promises=2)
    first, second = handoff.deal.promises.order_by("id")
    broken = api_client(manager).post(
        url("promise-broken", first.pk), {"reason": "Vendor late", "customer_told": "Two weeks."}, format="json"
    )
    assert broken.status_code == 200, broken.json()
    assert broken.json()["status"] == "broken"
    new_due = (user_today(rep) + datetime.timedelta(days=40)).isoformat()
    renegotiated = api_client(rep).post(
        url("promise-renegotiate", second.pk), {"new_wording": "Live by 1 April", "new_due": new_due}, format="json"
    )
    assert renegotiated.status_code == 200, renegotiated.json()
    assert renegotiated.json()["original_description"] == second.description
    refused = api_client(outsider_team_rep).post(url("promise-broken", second.pk), {"reason": "x"}, format="json")
    assert refused.status_code == 404


# --- hand-offs --------------------------------------------------------------------------------


def test_the_hand_off_list_shows_each_role_its_hand_offs(
    api_client, rep, manager, delivery_lead, delivery_manager, outsider_team_rep, admin_user
):
    # given
    proposed = won_handoff(rep=rep)
    api_client(manager).post(url("handoff-propose", proposed.pk), {"owner": delivery_lead.pk}, format="json")
    waiting = won_handoff(rep=rep)
    elsewhere = won_handoff(rep=outsider_team_rep)
    # when / then
    assert ids(api_client(manager).get(url("handoff-list"))) == {proposed.pk, waiting.pk}
    assert ids(api_client(rep).get(url("handoff-list"))) == {proposed.pk, waiting.pk}
    assert ids(api_client(delivery_lead).get(url("handoff-list"))) == {proposed.pk}
    assert ids(api_client(delivery_manager).get(url("handoff-list"))) == {proposed.pk}
    assert ids(api_client(outsider_team_rep).get(url("handoff-list"))) == {elsewhere.pk}
    assert ids(api_client(admin_user).get(url("handoff-list"))) == {proposed.pk, waiting.pk, elsewhere.pk}


def test_the_hand_off_list_filters(api_client, rep, other_rep, manager, delivery_lead):
    # given
    late = won_handoff(rep=rep, closed_on=timezone.localdate() - datetime.timedelta(days=20))
    owned = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    theirs = won_handoff(rep=other_rep)
    client = api_client(manager)
    # when / then
    assert ids(client.get(url("handoff-list"), {"status": "accepted"})) == {owned.pk}
    assert ids(client.get(url("handoff-list"), {"owner": delivery_lead.pk})) == {owned.pk}
    assert ids(client.get(url("handoff-list"), {"rep": other_rep.pk})) == {theirs.pk}
    assert ids(client.get(url("handoff-list"), {"team": rep.team_id})) == {late.pk, owned.pk, theirs.pk}
    overdue = client.get(url("handoff-list"), {"overdue": "true"})
    assert ids(overdue) == {late.pk}
    assert overdue.json()["results"][0]["is_overdue"] is True


def test_the_hand_off_list_runs_the_same_queries_for_3_or_30_hand_offs(api_client, rep, manager):
    client = api_client(manager)
    for _ in range(3):
        HandoffStepFactory(handoff=won_handoff(rep=rep), position=99)
    few = queries_of(client, url("handoff-list"))
    for _ in range(27):
        HandoffStepFactory(handoff=won_handoff(rep=rep), position=99)
    assert queries_of(client, url("handoff-list")) == few


def test_a_hand_off_shows_its_steps_meetings_and_promises(api_client, rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    step = HandoffStepFactory(handoff=meeting.handoff, position=99)
    response = api_client(delivery_lead).get(url("handoff-detail", meeting.handoff_id))
    assert response.status_code == 200
    data = response.json()
    assert [row["id"] for row in data["steps"]] == list(
        HandoffStep.objects.filter(handoff=meeting.handoff).order_by("position").values_list("id", flat=True)
    )
    assert data["steps"][-1]["id"] == step.pk
    assert [row["id"] for row in data["meetings"]] == [meeting.pk]
    assert len(data["meetings"][0]["attendees"]) == 3
    assert len(data["promises"]) == 1
    assert data["delivery_owner"]["id"] == delivery_lead.pk


def test_a_hand_off_runs_the_same_queries_with_3_or_30_steps_and_promises(api_client, rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    handoff = meeting.handoff
    client = api_client(delivery_lead)
    for position in range(3):
        HandoffStepFactory(handoff=handoff, position=100 + position, assignee=delivery_lead)
        PromiseFactory(deal=handoff.deal, owner=delivery_lead)
    few = queries_of(client, url("handoff-detail", handoff.pk))
    for position in range(3, 30):
        HandoffStepFactory(handoff=handoff, position=100 + position, assignee=delivery_lead)
        PromiseFactory(deal=handoff.deal, owner=delivery_lead)
    assert queries_of(client, url("handoff-detail", handoff.pk)) == few


def test_a_manager_proposes_the_owner_who_accepts(api_client, rep, manager, delivery_lead):
    # given
    handoff = won_handoff(rep=rep)
    # when
    proposed = api_client(manager).post(url("handoff-propose", handoff.pk), {"owner": delivery_lead.pk}, format="json")
    accepted = api_client(delivery_lead).post(url("handoff-accept", handoff.pk), format="json")
    # then
    assert proposed.status_code == 200, proposed.json()
    assert proposed.json()["status"] == "owner_proposed"
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["status"] == "accepted"
    handoff.refresh_from_db()
    assert handoff.delivery_owner == delivery_lead
    assert handoff.deal.account.owner == delivery_lead


def test_proposing_is_refused_to_a_rep_and_for_someone_who_is_no_delivery_lead(api_client, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    refused = api_client(rep).post(url("handoff-propose", handoff.pk), {"owner": delivery_lead.pk}, format="json")
    assert refused.status_code == 403
    assert "owner" in fields_of(
        api_client(manager).post(url("handoff-propose", handoff.pk), {"owner": rep.pk}, format="json")
    )
    assert "owner" in fields_of(api_client(manager).post(url("handoff-propose", handoff.pk), {}, format="json"))
    handoff.refresh_from_db()
    assert (handoff.status, handoff.proposed_owner) == (HandoffStatus.AWAITING_OWNER, None)


def test_only_the_proposed_lead_answers_and_a_decline_needs_a_reason(api_client, rep, manager, delivery_lead):
    # given
    handoff = won_handoff(rep=rep)
    api_client(manager).post(url("handoff-propose", handoff.pk), {"owner": delivery_lead.pk}, format="json")
    # when / then
    assert "non_field_errors" in fields_of(api_client(manager).post(url("handoff-accept", handoff.pk), format="json"))
    assert "reason" in fields_of(api_client(delivery_lead).post(url("handoff-decline", handoff.pk), {}, format="json"))
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.OWNER_PROPOSED
    declined = api_client(delivery_lead).post(
        url("handoff-decline", handoff.pk), {"reason": "At capacity."}, format="json"
    )
    assert declined.status_code == 200, declined.json()
    assert declined.json()["status"] == "declined"
    assert declined.json()["decline_reason"] == "At capacity."


def test_a_lead_of_another_hand_off_gets_404(api_client, rep, delivery_team):
    handoff = won_handoff(rep=rep)
    stranger = UserFactory(role="delivery", team=delivery_team)
    assert api_client(stranger).post(url("handoff-accept", handoff.pk), format="json").status_code == 404
    assert api_client(stranger).get(url("handoff-detail", handoff.pk)).status_code == 404


def test_steps_are_done_skipped_and_reopened(api_client, rep, manager, delivery_lead, outsider_team_rep):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    step = HandoffStepFactory(handoff=handoff, position=99)
    client = api_client(delivery_lead)
    # when / then
    done = client.post(url("handoff-step-complete", step.pk), format="json")
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["done_by"]["id"]) == ("done", delivery_lead.pk)
    assert "non_field_errors" in fields_of(client.post(url("handoff-step-complete", step.pk), format="json"))
    assert client.post(url("handoff-step-reopen", step.pk), format="json").json()["status"] == "open"
    assert "reason" in fields_of(client.post(url("handoff-step-skip", step.pk), {"reason": ""}, format="json"))
    skipped = client.post(url("handoff-step-skip", step.pk), {"reason": "Not needed"}, format="json")
    assert skipped.json()["skip_reason"] == "Not needed"
    assert api_client(outsider_team_rep).post(url("handoff-step-reopen", step.pk), format="json").status_code == 404
    assert HandoffStep.objects.get(pk=step.pk).status == StepStatus.SKIPPED


# --- meetings ---------------------------------------------------------------------------------


def test_the_rep_schedules_the_meeting_with_a_customer_contact(api_client, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.get().contact
    stranger = ContactFactory()
    starts_at = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    body = {"starts_at": starts_at, "location": "https://meet.example/k", "contacts": [contact.pk]}
    client = api_client(rep)
    # when
    refused = client.post(
        url("handoff-schedule-meeting", handoff.pk), {**body, "contacts": [stranger.pk]}, format="json"
    )
    nobody = client.post(url("handoff-schedule-meeting", handoff.pk), {**body, "contacts": []}, format="json")
    scheduled = client.post(url("handoff-schedule-meeting", handoff.pk), body, format="json")
    # then
    assert "contacts" in fields_of(refused)
    assert "contacts" in fields_of(nobody)
    assert scheduled.status_code == 201, scheduled.json()
    assert scheduled.json()["status"] == "scheduled"
    assert {a["contact"]["id"] for a in scheduled.json()["attendees"] if a["contact"]} == {contact.pk}
    assert Meeting.objects.filter(handoff=handoff).count() == 1


def test_meetings_are_listed_moved_and_cancelled(api_client, rep, manager, delivery_lead, outsider_team_rep):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    client = api_client(rep)
    later = (timezone.now() + datetime.timedelta(days=4)).isoformat()
    # when / then
    assert ids(client.get(url("meeting-list"))) == {meeting.pk}
    assert ids(client.get(url("meeting-list"), {"handoff": meeting.handoff_id, "status": "scheduled"})) == {meeting.pk}
    assert ids(api_client(outsider_team_rep).get(url("meeting-list"))) == set()
    moved = client.post(
        url("meeting-reschedule", meeting.pk), {"starts_at": later, "location": "Room 4"}, format="json"
    )
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["sequence"], moved.json()["location"]) == (1, "Room 4")
    past = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert "starts_at" in fields_of(
        client.post(url("meeting-reschedule", meeting.pk), {"starts_at": past, "location": "x"}, format="json")
    )
    cancelled = client.post(url("meeting-cancel", meeting.pk), {"reason": "Customer ill"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.CANCELLED


def test_the_meeting_list_runs_the_same_queries_for_3_or_30_meetings(api_client, rep, manager, delivery_lead):
    client = api_client(manager)
    for _ in range(3):
        scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    few = queries_of(client, url("meeting-list"))
    for _ in range(27):
        scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    assert queries_of(client, url("meeting-list")) == few


def test_the_meeting_is_recorded_once_it_took_place(api_client, rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    handoff = meeting.handoff
    contact = handoff.deal.deal_contacts.get().contact
    promise = handoff.deal.promises.get()
    body = {
        "attended_users": [rep.pk, delivery_lead.pk],
        "attended_contacts": [contact.pk],
        "agreement": "Kick-off on Monday.",
        "promise_reviews": [{"promise": promise.pk, "decision": "confirmed"}],
    }
    client = api_client(rep)
    # when: not yet
    too_early = client.post(url("meeting-record", meeting.pk), body, format="json")
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1), tick=False):
        unknown = client.post(
            url("meeting-record", meeting.pk),
            {**body, "promise_reviews": [{"promise": PromiseFactory().pk, "decision": "confirmed"}]},
            format="json",
        )
        recorded = client.post(url("meeting-record", meeting.pk), body, format="json")
    # then
    assert "non_field_errors" in fields_of(too_early)
    assert "promise_reviews" in fields_of(unknown)
    assert recorded.status_code == 200, recorded.json()
    assert (recorded.json()["status"], recorded.json()["counts_as_handoff_meeting"]) == ("held", True)
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.MEETING_HELD
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.CONFIRMED


def test_who_does_not_work_the_hand_off_may_not_run_its_meeting(api_client, rep, other_rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    response = api_client(other_rep).post(url("meeting-cancel", meeting.pk), {}, format="json")
    assert response.status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.SCHEDULED


def test_a_body_that_is_not_json_or_names_unknown_fields_is_refused(api_client, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    client = api_client(manager)
    garbage = client.post(url("handoff-propose", handoff.pk), "{not json", content_type="application/json")
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "malformed_json"
    extra = client.post(url("handoff-propose", handoff.pk), {"owner": delivery_lead.pk, "x": 1}, format="json")
    assert fields_of(extra) == {"x": ["Unknown field."]}
    assert Handoff.objects.get(pk=handoff.pk).proposed_owner is None
