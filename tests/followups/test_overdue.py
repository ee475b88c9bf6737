"""The overdue rules: which items count as overdue, and who owns them."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import OrganisationSettings
from followups import overdue
from followups.choices import CheckInStatus, ReminderKind
from handoffs.choices import HandoffStatus, MeetingStatus, Stage, StepStatus
from tests.factories import CheckInFactory, DealFactory, HandoffFactory, HandoffStepFactory, MeetingFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 6, 11)


def owners(kind: str) -> dict[int, int]:
    rule = overdue.rule_for(kind, TODAY)
    return {row["overdue_item"]: row["overdue_owner"] for row in rule.candidates()}


def test_it_counts_a_check_in_overdue_once_its_due_day_is_over(rep):
    # given
    due_yesterday = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY - datetime.timedelta(days=1))
    due_today = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY)
    done = CheckInFactory(
        handoff__deal__owner=rep, due_on=TODAY - datetime.timedelta(days=5), status=CheckInStatus.DONE
    )
    # when
    found = owners(ReminderKind.CHECKIN_OVERDUE)
    # then
    assert found == {due_yesterday.pk: rep.pk}
    assert due_today.pk not in found and done.pk not in found


def test_it_makes_a_check_in_overdue_exactly_at_midnight_after_its_due_date(rep):
    # given
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=datetime.date(2025, 6, 10))
    # when / then: one second before the organisation's midnight (its TIME_ZONE, whatever
    # the server's) it is not overdue, at midnight it is
    site = timezone.get_default_timezone()
    with time_machine.travel(datetime.datetime(2025, 6, 10, 23, 59, 59, tzinfo=site), tick=False):
        assert not overdue.overdue_checkins().filter(pk=checkin.pk).exists()
    with time_machine.travel(datetime.datetime(2025, 6, 11, 0, 0, 0, tzinfo=site), tick=False):
        assert overdue.overdue_checkins().filter(pk=checkin.pk).exists()


def test_it_reminds_a_step_to_its_assignee_else_the_delivery_owner_else_the_rep(rep, delivery_lead, manager):
    # given
    past = TODAY - datetime.timedelta(days=2)
    assigned = HandoffStepFactory(handoff__deal__owner=rep, assignee=manager, due_on=past)
    to_owner = HandoffStepFactory(handoff__deal__owner=rep, handoff__delivery_owner=delivery_lead, due_on=past)
    to_rep = HandoffStepFactory(handoff__deal__owner=rep, due_on=past)
    done = HandoffStepFactory(handoff__deal__owner=rep, due_on=past, status=StepStatus.DONE)
    not_yet = HandoffStepFactory(handoff__deal__owner=rep, due_on=TODAY)
    # when
    found = owners(ReminderKind.STEP_OVERDUE)
    # then
    assert found == {assigned.pk: manager.pk, to_owner.pk: delivery_lead.pk, to_rep.pk: rep.pk}
    assert done.pk not in found and not_yet.pk not in found


def test_it_flags_a_won_deal_with_no_meeting_scheduled_after_the_allowed_days(rep):
    # given: the organisation allows 3 days to schedule the meeting
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(meeting_schedule_within_days=3)
    late = HandoffFactory(deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=4))
    cancelled_only = HandoffFactory(deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=4))
    MeetingFactory(handoff=cancelled_only, status=MeetingStatus.CANCELLED)
    scheduled = HandoffFactory(deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=4))
    MeetingFactory(handoff=scheduled)
    recent = HandoffFactory(deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=3))
    # when
    found = owners(ReminderKind.MEETING_NOT_SCHEDULED)
    # then
    assert found == {late.pk: rep.pk, cancelled_only.pk: rep.pk}
    assert scheduled.pk not in found and recent.pk not in found


def test_it_chases_the_proposed_owner_or_else_the_rep_for_an_unaccepted_hand_off(rep, delivery_lead):
    # given: 3 days allowed to accept
    closed = TODAY - datetime.timedelta(days=5)
    nobody_proposed = HandoffFactory(deal__owner=rep, deal__closed_on=closed)
    proposed = HandoffFactory(
        deal__owner=rep, deal__closed_on=closed, status=HandoffStatus.OWNER_PROPOSED, proposed_owner=delivery_lead
    )
    accepted = HandoffFactory(
        deal__owner=rep,
        deal__closed_on=closed,
        status=HandoffStatus.ACCEPTED,
        delivery_owner=delivery_lead,
        accepted_at=timezone.now(),
    )
    # when
    found = owners(ReminderKind.OWNER_NOT_ACCEPTED)
    # then
    assert found == {nobody_proposed.pk: rep.pk, proposed.pk: delivery_lead.pk}
    assert accepted.pk not in found


def test_it_flags_an_open_deal_whose_next_step_date_has_passed(rep):
    # given
    late = DealFactory(owner=rep, next_step_due=TODAY - datetime.timedelta(days=1))
    on_time = DealFactory(owner=rep, next_step_due=TODAY)
    lost = DealFactory(
        owner=rep, stage=Stage.LOST, closed_on=TODAY, lost_reason="price", next_step_due=TODAY - datetime.timedelta(9)
    )
    # when
    found = owners(ReminderKind.NEXT_STEP_OVERDUE)
    # then
    assert found == {late.pk: rep.pk}
    assert on_time.pk not in found and lost.pk not in found


def test_it_tells_which_items_are_still_overdue_just_before_sending(rep):
    # given
    past = TODAY - datetime.timedelta(days=1)
    still = HandoffStepFactory(handoff__deal__owner=rep, due_on=past)
    resolved = HandoffStepFactory(handoff__deal__owner=rep, due_on=past, status=StepStatus.DONE)
    # when
    found = overdue.still_overdue_ids(ReminderKind.STEP_OVERDUE, [still.pk, resolved.pk], TODAY)
    # then
    assert found == {still.pk}
