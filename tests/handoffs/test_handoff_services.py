"""The hand-off state machine: every transition, and every refusal, through the services."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from accounts.choices import EventVerb, Role
from accounts.models import OwnershipChange, TimelineEvent
from followups.models import OutboxMessage
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, StepOwnerRole, StepStatus
from handoffs.models import Handoff, HandoffStep
from handoffs.services.handoffs import (
    handoff_accept,
    handoff_complete,
    handoff_decline,
    handoff_propose_owner,
    handoff_step_complete,
    handoff_step_reopen,
    handoff_step_skip,
    meeting_cancel,
    meeting_record,
    meeting_reschedule,
    meeting_schedule,
)
from handoffs.signals import handoff_accepted, overdue_item_resolved
from tests.factories import ContactFactory, UserFactory
from tests.handoffs.handoff_builders import accepted_handoff, scheduled_meeting, won_handoff

pytestmark = pytest.mark.django_db


def _verbs(handoff: Handoff) -> list[str]:
    return list(
        TimelineEvent.objects.filter(subject_id=handoff.deal_id, data__handoff_id=handoff.pk)
        .order_by("created_at", "id")
        .values_list("verb", flat=True)
    )


class Recorder:
    """Collects the signals a service sends (after commit)."""

    def __init__(self, signal):
        self.calls: list[dict] = []
        self.signal = signal

    def __call__(self, sender, **kwargs):
        kwargs.pop("signal", None)
        self.calls.append({"sender": sender, **kwargs})

    def __enter__(self):
        self.signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(self)


# --- start ----------------------------------------------------------------------------


def test_it_starts_a_handoff_with_the_default_playbook_steps_and_due_dates(rep):
    # given / when
    closed_on = datetime.date(2026, 3, 2)
    handoff = won_handoff(rep=rep, closed_on=closed_on)
    # then
    steps = list(handoff.steps.order_by("position"))
    assert handoff.status == HandoffStatus.AWAITING_OWNER
    assert handoff.playbook.name == "Standard hand-off"
    assert steps[0].title == "Contract countersigned and filed"
    assert steps[0].due_on == closed_on + datetime.timedelta(days=1)
    assert [s.assignee for s in steps if s.owner_role == StepOwnerRole.SALES] == [rep]


# --- propose --------------------------------------------------------------------------


def test_a_manager_proposes_a_delivery_lead(rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    # given
    handoff = won_handoff(rep=rep)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # then
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OWNER_PROPOSED
    assert handoff.proposed_owner == delivery_lead
    assert handoff.proposed_by == manager
    assert handoff.proposed_at is not None
    assert EventVerb.OWNER_PROPOSED in _verbs(handoff)
    assert len(callbacks) == 2  # the e-mail wake-up and handoff_proposed (the bell), only after commit


def test_a_rep_may_not_propose_unless_the_setting_allows_it(rep, manager, delivery_lead, settings):
    handoff = won_handoff(rep=rep)
    settings.BATON_REPS_MAY_PROPOSE_OWNER = False
    with pytest.raises(PermissionDenied):
        handoff_propose_owner(actor=rep, handoff=handoff, owner=delivery_lead)
    settings.BATON_REPS_MAY_PROPOSE_OWNER = True
    handoff_propose_owner(actor=rep, handoff=handoff, owner=delivery_lead)
    handoff.refresh_from_db()
    assert handoff.proposed_owner == delivery_lead


def test_a_manager_of_another_team_may_not_propose(rep, delivery_lead, outsider_team_rep):
    handoff = won_handoff(rep=rep)
    with pytest.raises(PermissionDenied):
        handoff_propose_owner(actor=outsider_team_rep.team.manager, handoff=handoff, owner=delivery_lead)


def test_only_a_delivery_lead_can_be_proposed(rep, manager, other_rep):
    handoff = won_handoff(rep=rep)
    with pytest.raises(ValidationError, match="Propose a delivery lead"):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=other_rep)


def test_the_manager_can_propose_someone_else_while_waiting(rep, manager, delivery_lead, delivery_team):
    handoff = won_handoff(rep=rep)
    second_lead = UserFactory(role=Role.DELIVERY, team=delivery_team)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    with pytest.raises(ValidationError, match="already the proposed owner"):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=second_lead)
    handoff.refresh_from_db()
    assert handoff.proposed_owner == second_lead


def test_proposing_after_acceptance_is_refused(rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    with pytest.raises(ValidationError, match="already accepted"):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)


# --- accept ---------------------------------------------------------------------------


def test_accepting_makes_the_lead_the_account_owner_and_assigns_delivery_steps(
    rep, manager, delivery_lead, django_capture_on_commit_callbacks
):
    # given
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    # when
    with (
        Recorder(handoff_accepted) as accepted,
        Recorder(overdue_item_resolved) as resolved,
        django_capture_on_commit_callbacks(execute=True),
    ):
        handoff_accept(actor=delivery_lead, handoff=handoff)
    # then
    handoff.refresh_from_db()
    account = handoff.deal.account
    account.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED
    assert handoff.delivery_owner == delivery_lead
    assert handoff.accepted_at is not None
    assert account.owner == delivery_lead
    change = OwnershipChange.objects.get(account=account)
    assert change.from_user == rep and change.to_user == delivery_lead
    assert change.reason == f"Accepted the hand-off of {handoff.deal}"
    delivery_steps = handoff.steps.filter(owner_role=StepOwnerRole.DELIVERY)
    assert {step.assignee_id for step in delivery_steps} == {delivery_lead.pk}
    assert accepted.calls == [{"sender": Handoff, "handoff_id": handoff.pk, "actor_id": delivery_lead.pk}]
    assert {"sender": Handoff, "item_kind": "owner_not_accepted", "item_id": handoff.pk} in resolved.calls
    assert EventVerb.OWNERSHIP_ACCEPTED in _verbs(handoff)


def test_accepting_a_handoff_proposed_to_someone_else_is_refused(rep, manager, delivery_lead, delivery_team):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    intruder = UserFactory(role=Role.DELIVERY, team=delivery_team)
    with pytest.raises(ValidationError, match="proposed to someone else"):
        handoff_accept(actor=intruder, handoff=handoff)


def test_accepting_twice_is_refused_and_writes_one_ownership_change(rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    with pytest.raises(ValidationError, match="already accepted"):
        handoff_accept(actor=delivery_lead, handoff=handoff)
    assert OwnershipChange.objects.filter(account=handoff.deal.account).count() == 1


def test_accepting_before_anyone_was_proposed_is_refused(rep, delivery_lead):
    handoff = won_handoff(rep=rep)
    with pytest.raises(ValidationError, match="not waiting for an answer"):
        handoff_accept(actor=delivery_lead, handoff=handoff)


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_accept_creates_one_ownership_change(rep, manager, delivery_lead):
    # given
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def click():
        try:
            barrier.wait()
            handoff_accept(actor=delivery_lead, handoff=Handoff.objects.get(pk=handoff.pk))
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(outcomes) == ["accepted", "refused"]
    assert OwnershipChange.objects.filter(account=handoff.deal.account).count() == 1


# --- decline --------------------------------------------------------------------------


def test_declining_needs_a_reason_and_sends_it_back_to_the_manager(rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    with pytest.raises(ValidationError, match="Say why"):
        handoff_decline(actor=delivery_lead, handoff=handoff, reason="  ")
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="At capacity until March.")
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.DECLINED
    assert handoff.get_status_display() == "Declined — needs a new owner"
    assert handoff.declined_by == delivery_lead and handoff.declined_at is not None
    assert handoff.decline_reason == "At capacity until March."
    assert handoff.deal.account.owner == rep
    assert EventVerb.OWNERSHIP_DECLINED in _verbs(handoff)


def test_declining_a_handoff_proposed_to_someone_else_is_refused(rep, manager, delivery_lead, other_rep):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    with pytest.raises(ValidationError, match="proposed to someone else"):
        handoff_decline(actor=other_rep, handoff=handoff, reason="Not mine")


def test_declining_after_accepting_is_refused(rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    with pytest.raises(ValidationError, match="not waiting for an answer"):
        handoff_decline(actor=delivery_lead, handoff=handoff, reason="Changed my mind")


def test_after_a_decline_the_manager_proposes_someone_else_but_not_the_decliner(
    rep, manager, delivery_lead, delivery_team
):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    with pytest.raises(ValidationError, match="declined this hand-off"):
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    other_lead = UserFactory(role=Role.DELIVERY, team=delivery_team)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=other_lead)
    handoff_accept(actor=other_lead, handoff=handoff)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED and handoff.delivery_owner == other_lead


# --- steps ----------------------------------------------------------------------------


def test_a_step_is_completed_by_someone_at_some_time(rep, django_capture_on_commit_callbacks):
    # given: a step already past its due date
    handoff = won_handoff(rep=rep, closed_on=timezone.localdate() - datetime.timedelta(days=10))
    step = handoff.steps.order_by("position").first()
    # when
    with Recorder(overdue_item_resolved) as resolved, django_capture_on_commit_callbacks(execute=True):
        handoff_step_complete(actor=rep, step=step)
    # then
    step.refresh_from_db()
    assert step.status == StepStatus.DONE and step.done_by == rep and step.done_at is not None
    assert resolved.calls == [{"sender": HandoffStep, "item_kind": "step_overdue", "item_id": step.pk}]
    with pytest.raises(ValidationError, match="already done"):
        handoff_step_complete(actor=rep, step=step)


def test_a_step_is_skipped_only_with_a_reason_and_can_be_reopened(rep):
    handoff = won_handoff(rep=rep)
    step = handoff.steps.order_by("position").last()
    with pytest.raises(ValidationError, match="Say why"):
        handoff_step_skip(actor=rep, step=step, reason="")
    handoff_step_skip(actor=rep, step=step, reason="The customer needs no welcome pack.")
    step.refresh_from_db()
    assert step.status == StepStatus.SKIPPED and step.skip_reason == "The customer needs no welcome pack."
    handoff_step_reopen(actor=rep, step=step)
    step.refresh_from_db()
    assert step.status == StepStatus.OPEN and step.done_by is None and step.skip_reason == ""
    with pytest.raises(ValidationError, match="already open"):
        handoff_step_reopen(actor=rep, step=step)
    assert [v for v in _verbs(handoff) if v.startswith("step_")] == [EventVerb.STEP_SKIPPED, EventVerb.STEP_REOPENED]


def test_steps_cannot_be_completed_on_a_declined_handoff(rep, manager, delivery_lead):
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    step = handoff.steps.first()
    with pytest.raises(ValidationError, match="declined"):
        handoff_step_complete(actor=rep, step=step)
    with pytest.raises(ValidationError, match="declined"):
        handoff_step_skip(actor=rep, step=step, reason="whatever")


def test_someone_outside_the_handoff_may_not_tick_its_steps(rep, outsider_team_rep):
    handoff = won_handoff(rep=rep)
    with pytest.raises(PermissionDenied):
        handoff_step_complete(actor=outsider_team_rep, step=handoff.steps.first())


# --- meeting: schedule ----------------------------------------------------------------


def test_the_rep_schedules_the_three_way_meeting(rep, manager, delivery_lead, django_capture_on_commit_callbacks):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    starts_at = timezone.now() + datetime.timedelta(days=2)
    # when
    with Recorder(overdue_item_resolved) as resolved, django_capture_on_commit_callbacks(execute=False) as callbacks:
        meeting = meeting_schedule(
            actor=rep, handoff=handoff, starts_at=starts_at, duration_minutes=30, location="Room 4", contacts=[contact]
        )
    # then
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.MEETING_SCHEDULED
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.organizer == rep
    assert {a.user_id for a in meeting.attendees.all() if a.user_id} == {rep.pk, delivery_lead.pk}
    assert [a.contact for a in meeting.attendees.all() if a.contact_id] == [contact]
    # the invites are in the outbox, one per attendee, written with the meeting
    assert sorted(
        OutboxMessage.objects.filter(purpose="invite", item_id=meeting.pk).values_list("recipient_key", flat=True)
    ) == sorted([f"user:{rep.pk}", f"user:{delivery_lead.pk}", f"contact:{contact.pk}"])
    assert resolved.calls == []  # nothing before commit
    assert len(callbacks) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"contacts": []}, "at least one contact"),
        ({"starts_at": timezone.now() - datetime.timedelta(hours=1)}, "in the future"),
        ({"location": " "}, "Say where"),
        ({"duration_minutes": 2}, "between 5 minutes"),
    ],
)
def test_a_meeting_with_a_missing_side_a_past_time_or_no_place_is_refused(rep, manager, delivery_lead, change, message):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    values = {
        "starts_at": timezone.now() + datetime.timedelta(days=1),
        "duration_minutes": 45,
        "location": "Room 1",
        "contacts": [handoff.deal.deal_contacts.first().contact],
    }
    values.update(change)
    with pytest.raises(ValidationError, match=message):
        meeting_schedule(actor=rep, handoff=handoff, **values)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED and not handoff.meetings.exists()


def test_a_meeting_with_a_contact_of_another_account_is_refused(rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    stranger = ContactFactory()
    with pytest.raises(ValidationError, match="is not a contact of"):
        meeting_schedule(
            actor=rep,
            handoff=handoff,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=45,
            location="Room 1",
            contacts=[stranger],
        )


def test_a_contact_without_email_cannot_be_invited(rep, manager, delivery_lead):
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    silent = ContactFactory(account=handoff.deal.account, email="")
    with pytest.raises(ValidationError, match="no e-mail address"):
        meeting_schedule(
            actor=rep,
            handoff=handoff,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=45,
            location="Room 1",
            contacts=[silent],
        )


@pytest.mark.parametrize("stage", ["awaiting", "proposed", "declined"])
def test_scheduling_before_an_owner_accepted_is_refused(rep, manager, delivery_lead, stage):
    handoff = won_handoff(rep=rep)
    if stage != "awaiting":
        handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    if stage == "declined":
        handoff_decline(actor=delivery_lead, handoff=handoff, reason="Busy")
    with pytest.raises(ValidationError, match="must accept"):
        meeting_schedule(
            actor=rep,
            handoff=handoff,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=45,
            location="Room 1",
            contacts=[handoff.deal.deal_contacts.first().contact],
        )


def test_scheduling_a_second_meeting_is_refused(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with pytest.raises(ValidationError, match="already scheduled"):
        meeting_schedule(
            actor=rep,
            handoff=meeting.handoff,
            starts_at=timezone.now() + datetime.timedelta(days=3),
            duration_minutes=45,
            location="Room 1",
            contacts=[meeting.handoff.deal.deal_contacts.first().contact],
        )


# --- meeting: reschedule, cancel ------------------------------------------------------


def test_rescheduling_keeps_the_uid_and_raises_the_sequence(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    uid = meeting.uid
    new_time = timezone.now() + datetime.timedelta(days=5)
    meeting = meeting_reschedule(actor=rep, meeting=meeting, starts_at=new_time, duration_minutes=60, location="Room 9")
    assert meeting.uid == uid and meeting.sequence == 1
    assert meeting.starts_at == new_time and meeting.location == "Room 9"
    assert EventVerb.MEETING_RESCHEDULED in _verbs(meeting.handoff)
    with pytest.raises(ValidationError, match="in the future"):
        meeting_reschedule(
            actor=rep,
            meeting=meeting,
            starts_at=timezone.now() - datetime.timedelta(days=1),
            duration_minutes=60,
            location="x",
        )


def test_cancelling_sends_the_handoff_back_to_waiting_for_a_meeting(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    meeting = meeting_cancel(actor=rep, meeting=meeting, reason="Customer is ill")
    handoff = Handoff.objects.get(pk=meeting.handoff_id)
    assert meeting.status == MeetingStatus.CANCELLED and meeting.sequence == 1
    assert handoff.status == HandoffStatus.ACCEPTED
    with pytest.raises(ValidationError, match="cancelled"):
        meeting_cancel(actor=rep, meeting=meeting)
    with pytest.raises(ValidationError, match="cancelled"):
        meeting_reschedule(
            actor=rep,
            meeting=meeting,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=30,
            location="x",
        )


# --- meeting: record ------------------------------------------------------------------


def _record(meeting, *, users, contacts, reviews=(), actor=None):
    return meeting_record(
        actor=actor or meeting.handoff.rep,
        meeting=meeting,
        attended_user_ids=[u.pk for u in users],
        attended_contact_ids=[c.pk for c in contacts],
        agreement="Kick-off on the 12th; SSO configured by the 20th.",
        promise_reviews=reviews,
    )


def test_recording_the_three_way_meeting_reviews_the_promises(rep, manager, delivery_lead):
    # given
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead, promises=3)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    kept, renegotiated, dropped = list(meeting.handoff.deal.promises.order_by("id"))
    # when: the meeting took place
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        _record(
            meeting,
            users=[rep, delivery_lead],
            contacts=[contact],
            reviews=[
                (kept, "confirmed", "", ""),
                (renegotiated, "renegotiated", "Live by 15 March", "Data migration takes longer"),
                (dropped, "dropped", "", "Not needed any more"),
            ],
        )
    # then
    meeting.refresh_from_db()
    handoff = Handoff.objects.get(pk=meeting.handoff_id)
    assert meeting.status == MeetingStatus.HELD and meeting.counts_as_handoff_meeting is True
    assert handoff.status == HandoffStatus.MEETING_HELD and handoff.meeting_held_at == meeting.starts_at
    assert handoff.agreement.startswith("Kick-off on the 12th")
    kept.refresh_from_db(), renegotiated.refresh_from_db(), dropped.refresh_from_db()
    assert kept.status == PromiseStatus.CONFIRMED
    assert renegotiated.status == PromiseStatus.CONFIRMED
    assert renegotiated.description == "Live by 15 March"
    assert renegotiated.original_description == "Promise 2: live by 1 March"
    assert dropped.status == PromiseStatus.DROPPED and dropped.status_note == "Not needed any more"
    assert all(p.reviewed_at is not None for p in (kept, renegotiated, dropped))
    assert {a.attended for a in meeting.attendees.all()} == {True}


def test_a_meeting_without_the_customer_is_held_but_does_not_count(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        _record(meeting, users=[rep, delivery_lead], contacts=[])
    meeting.refresh_from_db()
    handoff = Handoff.objects.get(pk=meeting.handoff_id)
    assert meeting.status == MeetingStatus.HELD and meeting.counts_as_handoff_meeting is False
    assert handoff.status == HandoffStatus.ACCEPTED and handoff.meeting_held_at is None
    event = TimelineEvent.objects.filter(verb=EventVerb.MEETING_HELD, subject_id=handoff.deal_id).get()
    assert "without the customer" in event.message and event.data["three_way"] is False


def test_a_meeting_without_the_delivery_owner_does_not_count(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        _record(meeting, users=[rep], contacts=[contact])
    meeting.refresh_from_db()
    assert meeting.counts_as_handoff_meeting is False
    assert Handoff.objects.get(pk=meeting.handoff_id).status == HandoffStatus.ACCEPTED


def test_recording_refuses_a_meeting_not_yet_started_an_uninvited_person_and_bad_reviews(
    rep, manager, delivery_lead, other_rep
):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    contact = meeting.handoff.deal.deal_contacts.first().contact
    promise = meeting.handoff.deal.promises.first()
    with pytest.raises(ValidationError, match="not started yet"):
        _record(meeting, users=[rep, delivery_lead], contacts=[contact])
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        with pytest.raises(ValidationError, match="Only people invited"):
            _record(meeting, users=[rep, delivery_lead, other_rep], contacts=[contact])
        with pytest.raises(ValidationError, match="new wording"):
            _record(meeting, users=[rep], contacts=[contact], reviews=[(promise, "renegotiated", "", "")])
        with pytest.raises(ValidationError, match="why it was dropped"):
            _record(meeting, users=[rep], contacts=[contact], reviews=[(promise, "dropped", "", " ")])
        _record(meeting, users=[rep, delivery_lead], contacts=[contact])
        with pytest.raises(ValidationError, match="cannot be recorded again"):
            _record(meeting, users=[rep, delivery_lead], contacts=[contact])


def test_a_promise_of_another_deal_cannot_be_reviewed(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    elsewhere = won_handoff(rep=rep).deal.promises.first()
    contact = meeting.handoff.deal.deal_contacts.first().contact
    with (
        time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)),
        pytest.raises(ValidationError, match="another deal"),
    ):
        _record(meeting, users=[rep, delivery_lead], contacts=[contact], reviews=[(elsewhere, "confirmed", "", "")])


def test_after_an_incomplete_meeting_a_new_meeting_can_be_scheduled(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        _record(meeting, users=[rep], contacts=[])
        second = meeting_schedule(
            actor=rep,
            handoff=meeting.handoff,
            starts_at=timezone.now() + datetime.timedelta(days=1),
            duration_minutes=45,
            location="Room 1",
            contacts=[meeting.handoff.deal.deal_contacts.first().contact],
        )
    assert second.status == MeetingStatus.SCHEDULED
    assert Handoff.objects.get(pk=meeting.handoff_id).status == HandoffStatus.MEETING_SCHEDULED


# --- complete -------------------------------------------------------------------------


def test_completing_needs_the_meeting_held_and_every_required_step_closed(rep, manager, delivery_lead):
    meeting = scheduled_meeting(rep=rep, manager=manager, lead=delivery_lead)
    handoff = Handoff.objects.get(pk=meeting.handoff_id)
    with pytest.raises(ValidationError, match="after its three-way meeting"):
        handoff_complete(actor=delivery_lead, handoff=handoff)
    contact = handoff.deal.deal_contacts.first().contact
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1)):
        _record(meeting, users=[rep, delivery_lead], contacts=[contact])
    with pytest.raises(ValidationError, match="required steps are still open"):
        handoff_complete(actor=delivery_lead, handoff=handoff)
    for step in handoff.steps.filter(required=True):
        handoff_step_complete(actor=delivery_lead, step=step)
    with pytest.raises(PermissionDenied):
        handoff_complete(actor=rep, handoff=handoff)
    handoff_complete(actor=delivery_lead, handoff=handoff)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.COMPLETE and handoff.completed_at is not None
    assert EventVerb.HANDOFF_COMPLETED in _verbs(handoff)
    with pytest.raises(ValidationError, match="complete"):
        handoff_step_complete(actor=delivery_lead, step=handoff.steps.filter(status=StepStatus.OPEN).first())


# --- demo data ------------------------------------------------------------------------


def test_the_demo_drives_handoffs_into_every_status_some_overdue():
    from accounts.demo import seed_people
    from handoffs.demo_handoffs import seed_handoff_states
    from handoffs.selectors.handoffs import with_overdue

    # given / when (twice: it is idempotent)
    people = seed_people()
    seed_handoff_states(people)
    seed_handoff_states(people)
    # then
    handoffs = list(with_overdue(Handoff.objects.all()))
    assert {h.status for h in handoffs} == set(HandoffStatus.values)
    assert len(handoffs) == 9
    assert any(h.is_overdue for h in handoffs) and not all(h.is_overdue for h in handoffs)
