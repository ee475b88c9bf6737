"""The hand-off's messages (invites, cancellations, customer summaries, proposal and
decline notices) go through the one outbox: written with the change, sent once, never
lost when sending or the broker fails, rendered for each recipient."""

from __future__ import annotations

import datetime
import email
import email.policy
import time
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.choices import EventVerb
from accounts.models import TimelineEvent
from followups import tasks
from followups.choices import MessagePurpose, MessageStatus
from followups.models import OutboxMessage
from followups.services import outbox
from followups.services.outbox import outbox_claim, outbox_deliver_due, outbox_wake_senders
from handoffs.models import Meeting
from handoffs.services.handoffs import (
    handoff_decline,
    handoff_propose_owner,
    meeting_cancel,
    meeting_record,
    meeting_reschedule,
)
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting, won_handoff

pytestmark = pytest.mark.django_db

LOCMEM_SEND = "django.core.mail.backends.locmem.EmailBackend.send_messages"


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


def invites():
    return [m for m in mail.outbox if any(t.startswith("text/calendar") for _, t in m.alternatives)]


def test_it_sends_the_invites_once_however_often_the_senders_run(rep, manager, delivery_lead):
    # given
    scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    # when
    first = outbox_deliver_due()
    second = outbox_deliver_due()
    # then
    assert (first.emailed, second.emailed) == (3, 0)
    assert len(invites()) == 3
    sent = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE).values_list("status", flat=True)
    assert list(sent) == [MessageStatus.SENT] * 3
    # the proposal e-mail was still waiting when the lead accepted: it no longer applies
    proposal = OutboxMessage.objects.get(purpose=MessagePurpose.HANDOFF_PROPOSED)
    assert proposal.status == MessageStatus.CANCELLED and proposal.last_error == "The proposal no longer stands."


def test_it_writes_nothing_when_the_change_rolls_back(rep, manager, delivery_lead):
    # when
    with pytest.raises(RuntimeError), transaction.atomic():
        scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
        raise RuntimeError("the request failed after the service")
    # then
    assert not OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE).exists()


def test_it_backs_off_when_the_mail_server_is_down_and_sends_everything_later(rep, manager, delivery_lead):
    # given: the mail server refuses connections
    scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with mock.patch(LOCMEM_SEND, side_effect=ConnectionRefusedError("SMTP down")):
        result = outbox_deliver_due()
    # then: the whole batch waits, nothing failed, nothing lost
    assert result.retried == 3 and result.failed == 0
    invites_rows = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE)
    assert set(invites_rows.values_list("status", flat=True)) == {MessageStatus.PENDING}
    assert all("SMTP down" in row.last_error for row in invites_rows)
    # when: the server is back once the backoff has passed
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        assert outbox_deliver_due().emailed == 3
    assert len(invites()) == 3


def test_it_does_not_send_rows_another_worker_holds_until_their_lease_expires(rep, manager, delivery_lead, settings):
    # given: another worker claimed the invites and died
    settings.BATON_OUTBOX_LEASE_SECONDS = 15
    scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    OutboxMessage.objects.filter(purpose=MessagePurpose.HANDOFF_PROPOSED).delete()
    assert len(outbox_claim().ids) == 3
    # when / then
    assert outbox_deliver_due().emailed == 0
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=16)):
        assert outbox_deliver_due().emailed == 3


def test_scheduling_succeeds_when_the_broker_is_unreachable_and_the_pump_sends_later(
    client_for, rep, manager, delivery_lead, django_capture_on_commit_callbacks
):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    starts = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    # when: Redis is down
    with (
        mock.patch.object(outbox, "enqueue_delivery", side_effect=OperationalError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(rep).post(
            reverse("handoffs:meeting_schedule", args=[handoff.pk]),
            {"starts_at": starts, "duration_minutes": 45, "location": "Room 1", "contacts": [contact.pk]},
        )
    # then: the request succeeded, the invites wait in the outbox, and a sender sends them
    assert response.status_code == 302
    assert Meeting.objects.filter(handoff=handoff).exists()
    assert OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, status=MessageStatus.PENDING).count() == 3
    assert outbox_deliver_due().emailed == 3


def test_scheduling_wakes_a_sender_only_after_commit(rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    with mock.patch.object(outbox, "enqueue_delivery") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            contact = handoff.deal.deal_contacts.first().contact
            from handoffs.services.handoffs import meeting_schedule

            meeting_schedule(
                actor=rep,
                handoff=handoff,
                starts_at=timezone.now() + datetime.timedelta(days=2),
                duration_minutes=45,
                location="Room 1",
                contacts=[contact],
            )
        assert apply_async.call_count == 0
        for callback in callbacks:
            callback()
    assert apply_async.call_count == 1


def test_a_meeting_moved_before_its_invites_went_out_sends_only_the_newest(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    new_time = (timezone.now() + datetime.timedelta(days=5)).replace(microsecond=0)
    # when: moved twice before any sender ran
    meeting_reschedule(actor=rep, meeting=meeting, starts_at=new_time, duration_minutes=30, location="Room 2")
    meeting.refresh_from_db()
    meeting_reschedule(actor=rep, meeting=meeting, starts_at=new_time, duration_minutes=60, location="Room 3")
    outbox_deliver_due()
    # then: one invite per attendee, at SEQUENCE 2
    assert len(invites()) == 3
    assert all("SEQUENCE:2" in content for m in invites() for content, t in m.alternatives if "calendar" in t)
    superseded = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, status=MessageStatus.CANCELLED)
    assert superseded.count() == 6


def test_a_cancellation_reaches_only_those_who_were_invited(rep, manager, delivery_lead):
    # given: the invites went out, then the meeting is cancelled
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    outbox_deliver_due()
    mail.outbox.clear()
    meeting_cancel(actor=rep, meeting=meeting, reason="Customer ill")
    # when
    outbox_deliver_due()
    # then
    assert len(mail.outbox) == 3
    assert all(message.subject.startswith("Cancelled:") for message in mail.outbox)


def test_the_customer_summary_names_the_new_owner_and_links_the_status_page(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    outbox_deliver_due()
    mail.outbox.clear()
    contact = _record_three_way(meeting)
    # when
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=2)):
        assert outbox_deliver_due().emailed == 1
        assert outbox_deliver_due().emailed == 0
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
    assert outbox_deliver_due().emailed == 1
    assert outbox_deliver_due().emailed == 0
    assert mail.outbox[0].to == [delivery_lead.email] and "/brief/" in mail.outbox[0].body
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="I am on leave all March.")
    assert outbox_deliver_due().emailed == 1
    assert mail.outbox[1].to == [manager.email]
    assert "I am on leave all March." in mail.outbox[1].body
    assert mail.outbox[1].subject.startswith("Declined:")


def test_a_proposal_withdrawn_before_it_went_out_is_not_sent(rep, manager, delivery_lead, delivery_manager):
    # given: proposed to one lead, then (before any sender ran) to another
    from tests.factories import UserFactory

    other_lead = UserFactory(username="other_lead", role="delivery", team=delivery_lead.team)
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=other_lead)
    # when
    outbox_deliver_due()
    # then
    assert [message.to for message in mail.outbox] == [[other_lead.email]]


def test_each_attendee_sees_the_time_in_their_own_zone_and_is_addressed_as_who_they_are(rep, manager, delivery_lead):
    # given: the rep in Paris, the delivery lead in New York; the meeting at 04:30 UTC in winter
    rep.timezone = "Europe/Paris"
    rep.save(update_fields=["timezone"])
    delivery_lead.timezone = "America/New_York"
    delivery_lead.save(update_fields=["timezone"])
    with time_machine.travel(datetime.datetime(2026, 11, 25, 9, 0, tzinfo=datetime.UTC), tick=False):
        meeting = scheduled_meeting(
            rep=rep, manager=manager, lead=delivery_lead, starts_in=datetime.timedelta(days=5, hours=19, minutes=30)
        )
        assert meeting.starts_at == datetime.datetime(2026, 12, 1, 4, 30, tzinfo=datetime.UTC)
        contact = meeting.handoff.deal.deal_contacts.first().contact
        # when
        outbox_deliver_due()
    by_address = {message.to[0]: message for message in mail.outbox}
    # then: 05:30 in Paris, 23:30 the day before in New York; the customer gets the organiser's zone, named
    assert "05:30" in by_address[rep.email].subject and "UTC" not in by_address[rep.email].subject
    assert "23:30" in by_address[delivery_lead.email].subject
    assert "05:30" in by_address[contact.email].body and "Europe/Paris" in by_address[contact.email].body
    assert "you (delivery)" in by_address[delivery_lead.email].body
    assert "your delivery owner" not in by_address[delivery_lead.email].body
    assert "your delivery owner" in by_address[contact.email].body


def test_every_subject_parses_back_as_plain_text(rep, manager, delivery_lead):
    # given: a customer called O'Brien, an account with a dash and quotes
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    contact.first_name, contact.last_name = "Seán", "O'Brien"
    contact.save(update_fields=["first_name", "last_name"])
    account = meeting.handoff.deal.account
    account.name = 'Acme "Labs" — Europe'
    account.save(update_fields=["name"])
    # when
    outbox_deliver_due()
    # then: what a mail client shows is the subject we rendered, unescaped and unpadded
    for message in mail.outbox:
        parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        assert parsed["Subject"] == message.subject
        assert not parsed["Subject"].startswith(" ")
        assert "&" not in parsed["Subject"] and 'Acme "Labs" — Europe' in parsed["Subject"]
        assert "O'Brien" in message.body or message.to != [contact.email]


@pytest.mark.integration
def test_a_real_worker_sends_the_invites_after_commit(celery_worker_real, rep, manager, delivery_lead):
    # given / when: the service commits and wakes a sender through Redis
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    # then
    rows = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, item_id=meeting.pk)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and rows.filter(status=MessageStatus.SENT).count() < 3:
        time.sleep(0.1)
    assert rows.filter(status=MessageStatus.SENT).count() == 3
    assert len(invites()) == 3


def test_the_pump_wakes_a_sender_only_when_something_is_due(rep, manager, delivery_lead):
    with mock.patch.object(outbox, "enqueue_delivery") as apply_async:
        assert outbox_wake_senders() == 0
        scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
        assert tasks.pump_outbox() == 1
    assert apply_async.call_count >= 1
