"""Hand-off e-mails go out after commit, once, and are never lost when sending or the broker fails."""

from __future__ import annotations

import datetime
import time
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.choices import EventVerb
from accounts.models import TimelineEvent
from handoffs import tasks
from handoffs.emails import LEASE, deliver_customer_summary, deliver_handoff_notices, deliver_meeting_invites
from handoffs.models import Meeting
from handoffs.services.handoffs import handoff_decline, handoff_propose_owner, meeting_record
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting, won_handoff

pytestmark = pytest.mark.django_db


def _record_three_way(meeting):
    handoff = meeting.handoff
    contact = handoff.deal.deal_contacts.first().contact
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        meeting_record(
            actor=handoff.rep,
            meeting=meeting,
            attended_user_ids=[handoff.rep_id, handoff.delivery_owner_id],
            attended_contact_ids=[contact.pk],
            agreement="Kick-off on Monday; SSO by the 20th.",
            promise_reviews=[(handoff.deal.promises.first(), "confirmed", "", "")],
        )
    return contact


def test_invites_are_sent_once_even_if_woken_twice(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    assert deliver_meeting_invites(meeting.pk) == 3
    assert deliver_meeting_invites(meeting.pk) == 0
    assert len(mail.outbox) == 3


def test_a_failed_send_keeps_the_invites_due_and_the_sweep_sends_them_later(rep, manager, delivery_lead):
    # given: the mail server is down
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with (
        mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=OSError("SMTP down")),
        pytest.raises(OSError),
    ):
        deliver_meeting_invites(meeting.pk)
    # then: nothing lost, nothing leased
    meeting.refresh_from_db()
    assert meeting.status == "scheduled"
    assert meeting.invites_sent_sequence is None and meeting.invites_claimed_at is None
    # when: the mail server is back and beat runs the sweep
    assert tasks.send_due_handoff_emails() == 3
    assert len(mail.outbox) == 3


def test_the_sweep_logs_and_carries_on_when_sending_fails(rep, manager, delivery_lead):
    scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=OSError("down")):
        assert tasks.send_due_handoff_emails() == 0
    assert tasks.send_due_handoff_emails() > 0


def test_a_row_leased_by_another_worker_is_not_sent_twice_until_the_lease_expires(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    Meeting.objects.filter(pk=meeting.pk).update(invites_claimed_at=timezone.now())
    assert deliver_meeting_invites(meeting.pk) == 0
    with time_machine.travel(timezone.now() + LEASE + datetime.timedelta(seconds=1)):
        # the other worker died: its lease expired
        assert deliver_meeting_invites(meeting.pk) == 3


def test_the_task_retries_with_backoff_when_sending_fails(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with (
        mock.patch("handoffs.emails.deliver_meeting_invites", side_effect=OSError("down")),
        mock.patch.object(tasks.send_meeting_invites, "retry", side_effect=RuntimeError("retry")) as retry,
        pytest.raises(RuntimeError),
    ):
        tasks.send_meeting_invites.run(meeting.pk)
    assert retry.call_args.kwargs["countdown"] == 30


def test_scheduling_succeeds_when_the_broker_is_unreachable(
    client_for, rep, manager, delivery_lead, django_capture_on_commit_callbacks
):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    starts = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    # when: Redis is down
    with (
        mock.patch.object(tasks.send_meeting_invites, "apply_async", side_effect=OperationalError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(rep).post(
            reverse("handoffs:meeting_schedule", args=[handoff.pk]),
            {"starts_at": starts, "duration_minutes": 45, "location": "Room 1", "contacts": [contact.pk]},
        )
    # then: the request succeeded, and the sweep sends the invites
    assert response.status_code == 302
    assert Meeting.objects.filter(handoff=handoff).exists()
    assert tasks.send_due_handoff_emails() == 3


def test_scheduling_wakes_the_worker_only_after_commit(rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.send_meeting_invites, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
        assert apply_async.call_count == 0
        for callback in callbacks:
            callback()
    apply_async.assert_called_once_with(args=[meeting.pk], retry=False)


def test_the_customer_summary_names_the_new_owner_and_links_the_status_page(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    contact = _record_three_way(meeting)
    # when
    assert deliver_customer_summary(meeting.pk) == 1
    assert deliver_customer_summary(meeting.pk) == 0
    # then
    message = mail.outbox[0]
    assert message.to == [contact.email]
    assert str(delivery_lead) in message.subject and delivery_lead.email in message.body
    assert "Kick-off on Monday" in message.body and "Confirmed" in message.body
    assert "http://testserver/status/" in message.body
    assert TimelineEvent.objects.filter(verb=EventVerb.SUMMARY_SENT, subject_id=meeting.handoff.deal_id).exists()


def test_the_proposed_owner_and_then_the_manager_are_emailed(rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    assert deliver_handoff_notices(handoff.pk) == 1
    assert deliver_handoff_notices(handoff.pk) == 0
    assert mail.outbox[0].to == [delivery_lead.email] and "/brief/" in mail.outbox[0].body
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="I am on leave all March.")
    assert deliver_handoff_notices(handoff.pk) == 1
    assert mail.outbox[1].to == [manager.email]
    assert "I am on leave all March." in mail.outbox[1].body
    assert mail.outbox[1].subject.startswith("Declined:")


@pytest.mark.integration
def test_a_real_worker_sends_the_invites_after_commit(celery_worker_real, rep, manager, delivery_lead):
    # given / when: the service commits and wakes the worker through Redis
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    # then
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Meeting.objects.get(pk=meeting.pk).invites_sent_sequence is None:
        time.sleep(0.1)
    assert Meeting.objects.get(pk=meeting.pk).invites_sent_sequence == 0
    invites = [m for m in mail.outbox if any(t.startswith("text/calendar") for _, t in m.alternatives)]
    assert len(invites) == 3
