"""The reminder scan reads everything once a day and only what changed in between.

The first scan of an organisation day (or after the settings changed) is full; the
others read the items saved since a little before the previous scan. These pin what a
user would notice if that went wrong: an item that became overdue and was never
reminded, or reminded a day late.
"""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import OrganisationSettings
from followups.choices import ReminderKind
from followups.models import CheckIn, OutboxMessage, ReminderScanMark
from followups.services.reminders import CHANGE_LOOKBACK, reminders_scan
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, Stage, StepStatus
from handoffs.models import Handoff, HandoffStep
from handoffs.services.handoffs import handoff_step_reopen, meeting_cancel
from tests.factories import CheckInFactory, HandoffFactory, HandoffStepFactory, MeetingFactory, PromiseFactory

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 in the organisation's zone (settings.TIME_ZONE, whatever it is in
# this run): every date below is the organisation's.
SITE = timezone.get_default_timezone()
MORNING = datetime.datetime(2025, 6, 11, 10, 0, tzinfo=SITE)
TODAY = MORNING.date()
YESTERDAY = TODAY - datetime.timedelta(days=1)


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def reminded(kind: str) -> set[int]:
    return set(OutboxMessage.objects.filter(kind=kind, version=1).values_list("item_id", flat=True))


def test_the_first_scan_is_full_and_the_next_ones_of_the_day_incremental(rep, clock):
    # given
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=YESTERDAY)
    # when
    first = reminders_scan()
    clock.shift(datetime.timedelta(minutes=1))
    second = reminders_scan()
    # then
    assert first.full and first.inserted[ReminderKind.CHECKIN_OVERDUE] == 1
    assert not second.full and second.total == 0
    assert reminded(ReminderKind.CHECKIN_OVERDUE) == {checkin.pk}
    mark = ReminderScanMark.objects.get()
    assert (mark.scanned_at, mark.full_scan_at) == (MORNING + datetime.timedelta(minutes=1), MORNING)


def test_an_item_that_becomes_overdue_at_midnight_is_reminded_by_the_first_scan_of_the_next_day(rep, clock):
    # given: due today, so not overdue yet; scans all day long find nothing
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY)
    reminders_scan()
    clock.move_to(datetime.datetime(2025, 6, 11, 23, 59, tzinfo=SITE))
    late_evening = reminders_scan()
    # when: the organisation's day ends, nothing about the check-in changed
    clock.move_to(datetime.datetime(2025, 6, 12, 0, 0, 30, tzinfo=SITE))
    after_midnight = reminders_scan()
    # then
    assert not late_evening.full and late_evening.total == 0
    assert after_midnight.full and after_midnight.inserted[ReminderKind.CHECKIN_OVERDUE] == 1
    assert reminded(ReminderKind.CHECKIN_OVERDUE) == {checkin.pk}


def test_an_item_added_already_overdue_between_two_scans_is_reminded_by_the_next_one(rep, clock):
    # given
    reminders_scan()
    clock.shift(datetime.timedelta(minutes=1))
    # when: a check-in added for a day that has passed, a step due yesterday
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=YESTERDAY, cadence_days=0)
    step = HandoffStepFactory(handoff__deal__owner=rep, assignee=rep, due_on=YESTERDAY)
    result = reminders_scan()
    # then
    assert not result.full
    assert result.inserted[ReminderKind.CHECKIN_OVERDUE] == 1 and result.inserted[ReminderKind.STEP_OVERDUE] == 1
    assert reminded(ReminderKind.CHECKIN_OVERDUE) == {checkin.pk}
    assert reminded(ReminderKind.STEP_OVERDUE) == {step.pk}
    assert OutboxMessage.objects.get(kind=ReminderKind.STEP_OVERDUE).recipient == rep


def test_a_step_reopened_after_its_due_date_is_reminded_by_the_next_incremental_scan(rep, clock):
    # given: a step due yesterday, done in time, so never reminded
    step = HandoffStepFactory(handoff__deal__owner=rep, assignee=rep, due_on=YESTERDAY, status=StepStatus.DONE)
    assert reminders_scan().total == 0
    clock.shift(datetime.timedelta(minutes=1))
    # when: someone reopens it (ticked by mistake)
    handoff_step_reopen(actor=rep, step=step)
    result = reminders_scan()
    # then
    assert not result.full and result.inserted[ReminderKind.STEP_OVERDUE] == 1
    assert reminded(ReminderKind.STEP_OVERDUE) == {step.pk}


def test_a_cancelled_meeting_makes_its_hand_off_late_at_the_next_incremental_scan(rep, clock):
    # given: a hand-off past the days allowed to arrange its meeting, with a meeting
    # scheduled (so not late); only the meeting's row will change
    handoff = HandoffFactory(
        deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=30), status=HandoffStatus.ACCEPTED
    )
    meeting = MeetingFactory(handoff=handoff, status=MeetingStatus.SCHEDULED)
    assert reminders_scan().inserted[ReminderKind.MEETING_NOT_SCHEDULED] == 0
    clock.shift(datetime.timedelta(minutes=1))
    # when
    meeting_cancel(actor=rep, meeting=meeting, reason="The customer postponed.")
    result = reminders_scan()
    # then
    assert not result.full and result.inserted[ReminderKind.MEETING_NOT_SCHEDULED] == 1
    assert reminded(ReminderKind.MEETING_NOT_SCHEDULED) == {handoff.pk}


def test_a_promise_whose_deal_is_no_longer_lost_is_reminded_by_the_next_incremental_scan(rep, clock):
    # given: a promise past due on a lost deal is nobody's to keep
    promise = PromiseFactory(deal__owner=rep, deal__stage=Stage.LOST, deal__closed_on=YESTERDAY, target_date=YESTERDAY)
    assert reminders_scan().inserted[ReminderKind.PROMISE_OVERDUE] == 0
    clock.shift(datetime.timedelta(minutes=1))
    # when: only the deal changes (won after all)
    deal = promise.deal
    deal.stage = Stage.WON
    deal.save()
    result = reminders_scan()
    # then
    assert not result.full and result.inserted[ReminderKind.PROMISE_OVERDUE] == 1
    assert reminded(ReminderKind.PROMISE_OVERDUE) == {promise.pk}


def test_a_change_committed_just_after_a_scan_began_is_found_by_the_next_one(rep, clock):
    # given: a save stamped just inside the look-back before a scan, whose transaction
    # committed after it (the scan could not see it)
    reminders_scan()
    step = HandoffStepFactory(handoff__deal__owner=rep, assignee=rep, due_on=YESTERDAY, status=StepStatus.DONE)
    HandoffStep.objects.filter(pk=step.pk).update(
        status=StepStatus.OPEN, updated_at=MORNING - CHANGE_LOOKBACK + datetime.timedelta(seconds=1)
    )
    # when
    clock.shift(datetime.timedelta(minutes=1))
    result = reminders_scan()
    # then
    assert not result.full and reminded(ReminderKind.STEP_OVERDUE) == {step.pk}


def test_the_full_scan_of_the_next_day_catches_what_an_incremental_one_missed(rep, clock):
    # given: a write that does not stamp the row (a bulk update) makes a check-in overdue
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=TODAY + datetime.timedelta(days=3))
    reminders_scan()
    CheckIn.objects.filter(pk=checkin.pk).update(due_on=YESTERDAY, updated_at=MORNING - datetime.timedelta(days=1))
    clock.shift(datetime.timedelta(minutes=1))
    # when
    incremental = reminders_scan()
    clock.move_to(datetime.datetime(2025, 6, 12, 0, 1, tzinfo=SITE))
    next_day = reminders_scan()
    # then: missed by the incremental scan, reminded by the safety net the next day
    assert not incremental.full and incremental.total == 0
    assert next_day.full and next_day.inserted[ReminderKind.CHECKIN_OVERDUE] == 1
    assert reminded(ReminderKind.CHECKIN_OVERDUE) == {checkin.pk}


def test_a_settings_change_makes_the_next_scan_full(rep, clock):
    # given: a hand-off nobody accepted, closed 5 days ago, with 7 days allowed
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(acceptance_within_days=7)
    handoff = HandoffFactory(deal__owner=rep, deal__closed_on=TODAY - datetime.timedelta(days=5))
    Handoff.objects.filter(pk=handoff.pk).update(updated_at=MORNING - datetime.timedelta(days=5))
    assert reminders_scan().inserted[ReminderKind.OWNER_NOT_ACCEPTED] == 0
    clock.shift(datetime.timedelta(minutes=1))
    # when: an admin allows 3 days only (written without touching the hand-off)
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(acceptance_within_days=3)
    result = reminders_scan()
    # then
    assert result.full and result.inserted[ReminderKind.OWNER_NOT_ACCEPTED] == 1
    assert reminded(ReminderKind.OWNER_NOT_ACCEPTED) == {handoff.pk}


def test_a_clock_set_back_makes_the_next_scan_full(rep, clock):
    # given
    reminders_scan()
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=YESTERDAY)
    CheckIn.objects.filter(pk=checkin.pk).update(updated_at=MORNING - datetime.timedelta(hours=1))
    # when: the same day, an hour earlier than the last scan
    clock.move_to(MORNING - datetime.timedelta(hours=1))
    result = reminders_scan()
    # then
    assert result.full and reminded(ReminderKind.CHECKIN_OVERDUE) == {checkin.pk}


@pytest.mark.parametrize("items", [2, 20])
def test_a_scan_with_nothing_new_runs_the_same_few_queries_whatever_is_overdue(
    rep, clock, items, django_assert_max_num_queries
):
    # given: overdue items, all reminded already, and an escalation not yet due
    for _ in range(items):
        CheckInFactory(handoff__deal__owner=rep, due_on=YESTERDAY)
        HandoffStepFactory(handoff__deal__owner=rep, assignee=rep, due_on=YESTERDAY)
        PromiseFactory(deal__owner=rep, target_date=YESTERDAY, status=PromiseStatus.OPEN)
    reminders_scan()
    OutboxMessage.objects.update(status="sent", escalate_at=MORNING + datetime.timedelta(days=1))
    clock.shift(datetime.timedelta(minutes=10))
    # when / then: settings, mark, one read of the changed items, one of the escalations
    # due, the webhooks' subscribers, the mark and the heartbeat written (and the test's
    # savepoint around the scan's transaction, twice)
    with django_assert_max_num_queries(9):
        result = reminders_scan()
    assert not result.full and result.total == 0
