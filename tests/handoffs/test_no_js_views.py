"""Every state change of the hand-off page, My hand-offs and the notification centre
answers a browser without JavaScript (issue 16): a plain POST is redirected back (303)
with a message saying what happened or why not; htmx still gets its fragment. And My
hand-offs shows each hand-off's next open steps, ticked from there."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from followups.choices import ReminderKind
from followups.models import Notification
from handoffs.choices import HandoffStatus, StepStatus
from handoffs.models import Handoff
from handoffs.selectors.handoffs import NEXT_STEPS_SHOWN
from handoffs.services.handoffs import handoff_decline, handoff_propose_owner
from tests.handoffs.handoff_builders import accepted_handoff, won_handoff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _open_steps(handoff):
    return list(handoff.steps.filter(status=StepStatus.OPEN).order_by("due_on", "position"))


# --- the hand-off page without JavaScript ---------------------------------------------


def test_the_lead_accepts_without_javascript_and_is_sent_back_to_the_page(client_for, rep, manager, delivery_lead):
    # given
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # when: a plain form post, no HX-Request header
    response = client_for(delivery_lead).post(reverse("handoffs:handoff_accept", args=[handoff.pk]))
    # then
    assert response.status_code == 303
    assert response["Location"] == reverse("handoffs:handoff_detail", args=[handoff.pk])
    assert _messages(response) == ["You accepted the hand-off: the account is yours."]
    assert Handoff.objects.get(pk=handoff.pk).delivery_owner == delivery_lead


def test_the_accept_button_is_a_real_form(client_for, rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    body = client_for(delivery_lead).get(reverse("handoffs:handoff_detail", args=[handoff.pk])).content.decode()
    assert f'<form method="post" action="{reverse("handoffs:handoff_accept", args=[handoff.pk])}"' in body


def test_a_decline_without_a_reason_goes_back_to_the_page_with_the_error(client_for, rep, manager, delivery_lead):
    # given
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    client = client_for(delivery_lead)
    # when
    response = client.post(reverse("handoffs:handoff_decline", args=[handoff.pk]), {"reason": ""}, follow=True)
    # then: the whole page (not a fragment) with the error, and nothing changed
    assert response.redirect_chain == [(reverse("handoffs:handoff_detail", args=[handoff.pk]), 303)]
    body = response.content.decode()
    assert "<html" in body and "Say why you decline." in body
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.OWNER_PROPOSED


def test_a_step_is_done_reopened_and_skipped_without_javascript(client_for, rep):
    # given
    handoff = won_handoff(rep=rep)
    first, second = _open_steps(handoff)[:2]
    client = client_for(rep)
    page = reverse("handoffs:handoff_detail", args=[handoff.pk])
    # when / then: done
    response = client.post(reverse("handoffs:step_complete", args=[first.pk]))
    assert (response.status_code, response["Location"]) == (303, page)
    assert _messages(response) == [f"“{first.title}” is done."]
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == rep
    # reopened
    response = client.post(reverse("handoffs:step_reopen", args=[first.pk]))
    assert (response.status_code, response["Location"]) == (303, page)
    assert _messages(response)[-1] == f"“{first.title}” is open again."
    first.refresh_from_db()
    assert first.status == StepStatus.OPEN
    # skipped, with its reason
    response = client.post(reverse("handoffs:step_skip", args=[second.pk]), {"reason": "Customer signs on paper"})
    assert (response.status_code, response["Location"]) == (303, page)
    second.refresh_from_db()
    assert second.status == StepStatus.SKIPPED and second.skip_reason == "Customer signs on paper"


def test_a_skip_without_a_reason_goes_back_with_the_error_and_changes_nothing(client_for, rep):
    step = _open_steps(won_handoff(rep=rep))[0]
    response = client_for(rep).post(reverse("handoffs:step_skip", args=[step.pk]), {"reason": " "}, follow=True)
    assert response.redirect_chain[-1][1] == 303
    assert "Say why this step is skipped." in response.content.decode()
    step.refresh_from_db()
    assert step.status == StepStatus.OPEN


def test_the_step_row_still_answers_htmx_with_its_fragment(client_for, rep):
    step = _open_steps(won_handoff(rep=rep))[0]
    response = client_for(rep).post(reverse("handoffs:step_complete", args=[step.pk]), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.startswith(f'<tr id="step-{step.pk}"')
    assert _messages(response) == []


def test_a_safe_next_is_followed_and_another_site_is_not(client_for, rep):
    # given
    handoff = won_handoff(rep=rep)
    first, second = _open_steps(handoff)[:2]
    client = client_for(rep)
    # when
    inside = client.post(reverse("handoffs:step_complete", args=[first.pk]), {"next": "/handoffs/?status=accepted"})
    outside = client.post(reverse("handoffs:step_complete", args=[second.pk]), {"next": "https://evil.example/"})
    # then
    assert inside["Location"] == "/handoffs/?status=accepted"
    assert outside["Location"] == reverse("handoffs:handoff_detail", args=[handoff.pk])


def test_completing_the_handoff_answers_303(client_for, rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    response = client_for(delivery_lead).post(reverse("handoffs:handoff_complete", args=[handoff.pk]))
    # refused (no meeting held yet), and told so on the page
    assert response.status_code == 303
    assert _messages(response)
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.ACCEPTED


# --- My hand-offs: the next steps, ticked from the list --------------------------------


def test_my_handoffs_shows_the_reps_handoffs_with_their_next_open_steps(client_for, rep):
    # given: a hand-off closed long ago (its first steps are late) and a fresh one
    late = won_handoff(rep=rep, closed_on=timezone.localdate() - datetime.timedelta(days=40))
    fresh = won_handoff(rep=rep)
    # when
    response = client_for(rep).get(reverse("handoffs:my_handoffs"))
    # then
    sold = {handoff.pk: handoff for handoff in response.context["inbox"].sold}
    assert set(sold) == {late.pk, fresh.pk}
    expected = _open_steps(late)[:NEXT_STEPS_SHOWN]
    assert [step.pk for step in sold[late.pk].next_steps] == [step.pk for step in expected]
    assert all(step.is_late and step.may_tick for step in sold[late.pk].next_steps)
    assert not any(step.is_late for step in sold[fresh.pk].next_steps)
    body = response.content.decode()
    assert "Sold by me, in delivery" in body
    assert f'action="{reverse("handoffs:step_complete", args=[expected[0].pk])}"' in body
    assert "· late" in body  # said in words, not by colour alone


def test_the_lead_ticks_a_step_from_my_handoffs_with_htmx_and_gets_the_row_back(
    client_for, rep, manager, delivery_lead
):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    first, second = _open_steps(handoff)[:2]
    # when
    response = client_for(delivery_lead).post(
        reverse("handoffs:step_complete", args=[first.pk]),
        {"row": "my_handoffs", "next": reverse("handoffs:my_handoffs")},
        **HTMX,
    )
    # then: the hand-off's row of My hand-offs, the ticked step gone, the next one first
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="my-handoff-{handoff.pk}"')
    assert f"“{first.title}” is done." in body
    assert reverse("handoffs:step_complete", args=[first.pk]) not in body
    assert reverse("handoffs:step_complete", args=[second.pk]) in body
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == delivery_lead


def test_a_tick_from_my_handoffs_without_javascript_goes_back_there(client_for, rep):
    step = _open_steps(won_handoff(rep=rep))[0]
    response = client_for(rep).post(
        reverse("handoffs:step_complete", args=[step.pk]), {"row": "my_handoffs", "next": "/handoffs/mine/"}
    )
    assert (response.status_code, response["Location"]) == (303, reverse("handoffs:my_handoffs"))
    assert _messages(response) == [f"“{step.title}” is done."]
    step.refresh_from_db()
    assert step.status == StepStatus.DONE


def test_a_tick_refused_from_my_handoffs_shows_why_on_the_row(client_for, rep, manager, delivery_lead):
    # given: the step was ticked meanwhile, in another tab
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    step = _open_steps(handoff)[0]
    client = client_for(delivery_lead)
    client.post(reverse("handoffs:step_complete", args=[step.pk]))
    # when
    response = client.post(reverse("handoffs:step_complete", args=[step.pk]), {"row": "my_handoffs"}, **HTMX)
    # then
    assert response.status_code == 422
    assert "is already done" in response.content.decode()


def test_a_tick_from_my_handoffs_answers_with_the_row_and_what_happened(client_for, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    step = _open_steps(handoff)[0]
    # when: htmx posts the row's form
    response = client_for(delivery_lead).post(
        reverse("handoffs:step_complete", args=[step.pk]), {"row": "my_handoffs"}, **HTMX
    )
    # then: the hand-off's row alone, announcing the tick, without the ticked step's form
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="my-handoff-{handoff.pk}"') and html.count("<tr") == 1
    assert 'role="status"' in html and "is done." in html
    assert reverse("handoffs:step_complete", args=[step.pk]) not in html


def test_a_declined_handoff_shows_no_tick(client_for, rep, manager, delivery_lead):
    # given: declined, the steps wait for a new owner (handoffs.services refuses them)
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    # when
    response = client_for(manager).get(reverse("handoffs:my_handoffs"))
    # then: listed as declined, with no step to tick
    body = response.content.decode()
    assert [h.pk for h in response.context["inbox"].declined] == [handoff.pk]
    assert 'data-testid="tick-step"' not in body


@pytest.mark.parametrize("size", [2, 20])
def test_my_handoffs_with_next_steps_runs_the_same_queries_for_2_or_20_rows(
    client_for, rep, manager, delivery_lead, size, django_assert_max_num_queries
):
    # given: hand-offs the lead owns and hand-offs sold by the rep, each with open steps
    for _ in range(size):
        accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
        won_handoff(rep=rep)
    # when / then: a constant number, whatever the rows
    client = client_for(delivery_lead)
    with django_assert_max_num_queries(13):
        lead_page = client.get(reverse("handoffs:my_handoffs"))
    client = client_for(rep)
    with django_assert_max_num_queries(13):
        rep_page = client.get(reverse("handoffs:my_handoffs"))
    assert len(lead_page.context["inbox"].mine) == size
    assert len(rep_page.context["inbox"].sold) == 2 * size
    assert lead_page.content.decode().count('data-testid="tick-step"') == size * NEXT_STEPS_SHOWN


# --- notifications without JavaScript ------------------------------------------------------


def _notifications(user, count: int) -> list[Notification]:
    return Notification.objects.bulk_create(
        [Notification(user=user, kind=ReminderKind.STEP_OVERDUE, title=f"Step {n} is overdue") for n in range(count)]
    )


def test_a_notification_is_marked_read_without_javascript(client_for, rep):
    # given
    first, _ = _notifications(rep, 2)
    # when
    response = client_for(rep).post(
        reverse("followups:notification_read", args=[first.pk]), {"next": "/notifications/?page=1"}
    )
    # then
    assert (response.status_code, response["Location"]) == (303, "/notifications/?page=1")
    assert _messages(response) == ["“Step 0 is overdue” marked read."]
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(user=rep, read_at__isnull=True).count() == 1


def test_all_notifications_are_marked_read_without_javascript(client_for, rep):
    _notifications(rep, 3)
    response = client_for(rep).post(reverse("followups:notification_read_all"), {"next": "https://evil.example/"})
    assert (response.status_code, response["Location"]) == (303, reverse("followups:notifications"))
    assert _messages(response) == ["3 notifications marked read."]
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()


def test_the_email_choices_have_a_page_of_their_own_without_javascript(client_for, rep):
    # given
    client = client_for(rep)
    url = reverse("followups:notification_preferences")
    # when: opened as a page (the profile links to it), then saved by a plain post
    page = client.get(url)
    saved = client.post(url, {"email": [ReminderKind.STEP_OVERDUE]})
    # then
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert "Save e-mail choices" in page.content.decode()
    assert (saved.status_code, saved["Location"]) == (303, url)
    assert _messages(saved) == ["Your e-mail choices were saved."]
    assert url in client.get(reverse("accounts:profile")).content.decode()
