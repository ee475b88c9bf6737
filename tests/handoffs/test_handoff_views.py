"""The hand-off pages as users see them: lists, detail, htmx actions, the brief, the meeting forms."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import OwnershipChange
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, StepStatus
from handoffs.models import Handoff, Meeting
from handoffs.services.handoffs import handoff_decline, handoff_propose_owner
from tests.factories import ContactFactory
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting, won_handoff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- the list ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_runs_the_same_queries_for_3_or_30_handoffs(
    client_for, rep, manager, size, django_assert_max_num_queries
):
    # given
    for _ in range(size):
        won_handoff(rep=rep)
    client = client_for(manager)
    # when / then: a constant number, whatever the rows (with the capped count's probe:
    # the manager's teams, then their hand-offs, which stay under the cap here)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("handoffs:handoff_list"))
    assert response.status_code == 200
    assert len(response.context["handoffs"]) == size


def test_the_list_filters_by_status_owner_and_overdue(client_for, rep, manager, delivery_lead):
    # given
    late = won_handoff(rep=rep, closed_on=timezone.localdate() - datetime.timedelta(days=20))
    fresh = won_handoff(rep=rep)
    owned = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    client = client_for(manager)
    url = reverse("handoffs:handoff_list")
    # when / then
    assert {h.pk for h in client.get(url, {"overdue": "true"}).context["handoffs"]} == {late.pk}
    assert {h.pk for h in client.get(url, {"status": "accepted"}).context["handoffs"]} == {owned.pk}
    assert {h.pk for h in client.get(url, {"owner": delivery_lead.pk}).context["handoffs"]} == {owned.pk}
    assert fresh.pk in {h.pk for h in client.get(url, {"overdue": "false"}).context["handoffs"]}


def test_a_rep_of_another_team_sees_none_of_them_and_gets_404_on_the_page(client_for, rep, outsider_team_rep):
    handoff = won_handoff(rep=rep)
    client = client_for(outsider_team_rep)
    assert client.get(reverse("handoffs:handoff_list")).context["handoffs"] == []
    assert client.get(reverse("handoffs:handoff_detail", args=[handoff.pk])).status_code == 404
    assert client.get(reverse("handoffs:handoff_brief", args=[handoff.pk])).status_code == 404


def test_a_delivery_lead_sees_only_what_is_proposed_to_them_or_theirs(client_for, rep, manager, delivery_lead):
    proposed = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=proposed, owner=delivery_lead)
    not_theirs = won_handoff(rep=rep)
    client = client_for(delivery_lead)
    listed = {h.pk for h in client.get(reverse("handoffs:handoff_list")).context["handoffs"]}
    assert listed == {proposed.pk}
    assert client.get(reverse("handoffs:handoff_detail", args=[not_theirs.pk])).status_code == 404


@pytest.mark.parametrize("size", [3, 30])
def test_my_handoffs_shows_what_waits_for_the_lead_in_constant_queries(
    client_for, rep, manager, delivery_lead, size, django_assert_max_num_queries
):
    # given
    for _ in range(size):
        handoff_propose_owner(actor=manager, handoff=won_handoff(rep=rep), owner=delivery_lead)
    owned = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    client = client_for(delivery_lead)
    # when
    with django_assert_max_num_queries(12):
        response = client.get(reverse("handoffs:my_handoffs"))
    # then
    inbox = response.context["inbox"]
    assert len(inbox.waiting) == size
    assert [h.pk for h in inbox.mine] == [owned.pk]
    assert "Waiting for me" in response.content.decode()


def test_a_declined_handoff_shows_as_needing_a_new_owner_in_the_managers_lists(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    client = client_for(manager)
    assert "Declined — needs a new owner" in client.get(reverse("handoffs:handoff_list")).content.decode()
    assert [h.pk for h in client.get(reverse("handoffs:my_handoffs")).context["inbox"].declined] == [handoff.pk]


# --- detail and htmx actions ----------------------------------------------------------


def test_the_detail_page_shows_steps_meeting_promises_and_timeline(client_for, rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    response = client_for(rep).get(reverse("handoffs:handoff_detail", args=[meeting.handoff_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Contract countersigned and filed" in body
    assert "Promise 1: live by 1 March" in body
    assert "Meeting scheduled" in body  # the status badge
    assert "accepted the hand-off" in body  # the timeline


def test_the_manager_proposes_through_the_panel_with_htmx(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    response = client_for(manager).post(
        reverse("handoffs:handoff_propose", args=[handoff.pk]), {"owner": delivery_lead.pk}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="ownership-panel"' in response.content.decode()
    handoff.refresh_from_db()
    assert handoff.proposed_owner == delivery_lead


def test_the_lead_accepts_with_htmx_and_a_second_click_is_refused_without_a_second_change(
    client_for, rep, manager, delivery_lead
):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    client = client_for(delivery_lead)
    url = reverse("handoffs:handoff_accept", args=[handoff.pk])
    first = client.post(url, **HTMX)
    second = client.post(url, **HTMX)
    assert first.status_code == 200 and "owns" in first.content.decode()
    assert second.status_code == 422 and "You already accepted" in second.content.decode()
    assert OwnershipChange.objects.filter(account=handoff.deal.account).count() == 1


def test_declining_without_a_reason_keeps_the_form_with_an_error(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    client = client_for(delivery_lead)
    response = client.post(reverse("handoffs:handoff_decline", args=[handoff.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422 and "Say why you decline" in response.content.decode()
    response = client.post(reverse("handoffs:handoff_decline", args=[handoff.pk]), {"reason": "On leave"}, **HTMX)
    assert response.status_code == 200
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.DECLINED


def test_someone_else_cannot_accept_through_a_crafted_request(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    response = client_for(manager).post(reverse("handoffs:handoff_accept", args=[handoff.pk]), **HTMX)
    assert response.status_code == 422 and "proposed to someone else" in response.content.decode()
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.OWNER_PROPOSED


def test_marking_a_step_done_with_htmx_returns_the_updated_row(client_for, rep):
    handoff = won_handoff(rep=rep)
    step = handoff.steps.first()
    response = client_for(rep).post(reverse("handoffs:step_complete", args=[step.pk]), **HTMX)
    assert response.status_code == 200
    assert f'id="step-{step.pk}"' in response.content.decode() and "Done" in response.content.decode()
    step.refresh_from_db()
    assert step.status == StepStatus.DONE


def test_a_step_of_a_declined_handoff_is_refused_with_a_message(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    step = handoff.steps.first()
    response = client_for(rep).post(reverse("handoffs:step_complete", args=[step.pk]), **HTMX)
    assert response.status_code == 422 and "declined" in response.content.decode()


def test_skipping_a_step_without_reason_shows_the_error_on_the_row(client_for, rep):
    step = won_handoff(rep=rep).steps.first()
    response = client_for(rep).post(reverse("handoffs:step_skip", args=[step.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422 and "Say why this step is skipped" in response.content.decode()


# --- meeting forms --------------------------------------------------------------------


def test_the_schedule_form_refuses_a_meeting_without_a_customer_and_keeps_what_was_typed(
    client_for, rep, manager, delivery_lead
):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    starts = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client_for(rep).post(
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        {"starts_at": starts, "duration_minutes": 45, "location": "Room 7"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Invite at least one contact of the customer" in body
    assert 'value="Room 7"' in body
    assert not Meeting.objects.filter(handoff=handoff).exists()


def test_the_schedule_form_refuses_a_contact_of_another_account(client_for, rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    stranger = ContactFactory()
    starts = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client_for(rep).post(
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        {"starts_at": starts, "duration_minutes": 45, "location": "Room 7", "contacts": [stranger.pk]},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Meeting.objects.filter(handoff=handoff).exists()


def test_the_rep_schedules_then_records_the_meeting_through_the_forms(client_for, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    promise = handoff.deal.promises.first()
    client = client_for(rep)
    starts = timezone.localtime() + datetime.timedelta(days=2)
    # when
    response = client.post(
        reverse("handoffs:meeting_schedule", args=[handoff.pk]),
        {
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 45,
            "location": "Room 7",
            "contacts": [contact.pk],
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(handoff=handoff)
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        # Two days later: the session has idled out (issue 15), the rep signs in again.
        client.force_login(rep)
        response = client.post(
            reverse("handoffs:meeting_record", args=[meeting.pk]),
            {
                "attended_users": [rep.pk, delivery_lead.pk],
                "attended_contacts": [contact.pk],
                "agreement": "Kick-off next Monday.",
                f"promise_{promise.pk}_decision": "renegotiated",
                f"promise_{promise.pk}_wording": "Live by 15 March",
            },
        )
    # then
    assert response.status_code == 302
    handoff.refresh_from_db()
    promise.refresh_from_db()
    assert handoff.status == HandoffStatus.MEETING_HELD
    assert promise.status == PromiseStatus.CONFIRMED and promise.description == "Live by 15 March"


def test_the_record_form_shows_a_refusal_for_a_renegotiation_without_wording(client_for, rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    promise = meeting.handoff.deal.promises.first()
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        response = client_for(rep).post(
            reverse("handoffs:meeting_record", args=[meeting.pk]),
            {"attended_users": [rep.pk], "agreement": "Something", f"promise_{promise.pk}_decision": "renegotiated"},
        )
    assert response.status_code == 200 and "give the new wording" in response.content.decode()
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.SCHEDULED


def test_cancelling_from_the_page_redirects_with_a_message(client_for, rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    response = client_for(rep).post(
        reverse("handoffs:meeting_cancel", args=[meeting.pk]), {"reason": "Ill"}, follow=True
    )
    assert "The meeting is cancelled" in response.content.decode()
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.CANCELLED


def test_the_brief_gives_delivery_everything_in_one_printable_page(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep, context_talked_to="Their CFO and the IT lead.")
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    body = client_for(delivery_lead).get(reverse("handoffs:handoff_brief", args=[handoff.pk])).content.decode()
    for expected in (
        str(handoff.deal.account),
        str(contact),
        "Champion",
        "Found us through a webinar.",
        "Their CFO and the IT lead.",
        "Promise 1: live by 1 March",
        str(rep),
        "data-print",  # the Print button (static/js/baton.js prints; no inline script under the CSP)
        "Accept or decline",
    ):
        assert expected in body
