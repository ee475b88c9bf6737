"""Each dropped-baton rule, with data just inside and just outside its threshold."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import OrganisationSettings
from followups.choices import CheckInStatus
from followups.rules import RULES, RuleContext
from handoffs.choices import HandoffStatus, MeetingStatus, PromiseStatus, Stage, StepStatus
from tests.factories import (
    CheckInFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    HandoffFactory,
    HandoffStepFactory,
    MeetingAttendeeFactory,
    MeetingFactory,
    PromiseFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def at(date: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(date, datetime.time(14, 0), tzinfo=datetime.UTC)


def drops(code: str) -> dict[int, dict]:
    """The rule's drops now, by the id of the row it fired on."""
    return {row["drop_subject_id"]: row for row in RULES[code].drops(RuleContext.now())}


def won_handoff(closed_on: datetime.date, **values):
    return HandoffFactory(deal__closed_on=closed_on, **values)


def record_meeting(handoff, held_on: datetime.date, *, rep=True, owner=True, customer=True, status="held"):
    meeting = MeetingFactory(handoff=handoff, starts_at=at(held_on), status=status, held_at=at(held_on))
    if rep:
        MeetingAttendeeFactory(meeting=meeting, user=handoff.rep, attended=True)
    if owner:
        MeetingAttendeeFactory(meeting=meeting, user=handoff.delivery_owner, attended=True)
    if customer:
        contact = ContactFactory(account=handoff.deal.account)
        MeetingAttendeeFactory(meeting=meeting, contact=contact, attended=True)
    return meeting


# --- no_next_step ---------------------------------------------------------------------


def test_it_flags_an_open_deal_whose_next_step_was_due_yesterday(rep):
    # given
    late = DealFactory(owner=rep, next_step_due=days_ago(1))
    due_today = DealFactory(owner=rep, next_step_due=TODAY)
    # when
    found = drops("no_next_step")
    # then
    assert set(found) == {late.pk}
    assert found[late.pk]["drop_date"] == TODAY
    assert found[late.pk]["drop_rep_id"] == rep.pk
    assert due_today.pk not in found


def test_it_flags_an_open_deal_without_a_next_step_but_not_a_won_one(rep):
    # given
    blank = DealFactory(owner=rep, next_step="  ", next_step_due=TODAY)
    won = DealFactory(owner=rep, stage=Stage.WON, closed_on=days_ago(5), next_step="", next_step_due=None)
    # when
    found = drops("no_next_step")
    # then
    assert blank.pk in found
    assert won.pk not in found


# --- single_threaded ------------------------------------------------------------------


def test_it_flags_a_late_stage_deal_with_one_contact_but_not_with_two(rep):
    # given
    lonely = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    DealContactFactory(deal=lonely)
    threaded = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    DealContactFactory(deal=threaded)
    DealContactFactory(deal=threaded)
    early = DealFactory(owner=rep, stage=Stage.DISCOVER)
    DealContactFactory(deal=early)
    # when
    found = drops("single_threaded")
    # then
    assert set(found) == {lonely.pk}


def test_it_reads_the_late_stages_from_the_settings(rep):
    # given
    settings_row = OrganisationSettings.load()
    settings_row.single_threaded_stages = ["discover"]
    settings_row.save()
    early = DealFactory(owner=rep, stage=Stage.DISCOVER)
    negotiating = DealFactory(owner=rep, stage=Stage.NEGOTIATE)
    # when
    found = drops("single_threaded")
    # then
    assert early.pk in found
    assert negotiating.pk not in found


# --- no_context -----------------------------------------------------------------------


def test_it_flags_a_won_deal_without_lead_source_or_context(rep):
    # given
    no_source = won_handoff(days_ago(2), deal__owner=rep, deal__lead_source="").deal
    no_notes = won_handoff(
        days_ago(2), deal__owner=rep, deal__context_origin="", deal__context_needs="", deal__lead_source="referral"
    ).deal
    documented = won_handoff(days_ago(2), deal__owner=rep).deal
    open_deal = DealFactory(owner=rep, lead_source="")
    # when
    found = drops("no_context")
    # then
    assert set(found) == {no_source.pk, no_notes.pk}
    assert found[no_source.pk]["drop_date"] == days_ago(2)
    assert documented.pk not in found and open_deal.pk not in found


# --- no_handoff_meeting ---------------------------------------------------------------


def test_it_flags_a_handoff_without_a_meeting_only_once_the_allowed_days_have_passed(rep, delivery_lead):
    # given: meeting_within_days defaults to 10
    late = won_handoff(days_ago(11), deal__owner=rep, delivery_owner=delivery_lead)
    still_in_time = won_handoff(days_ago(10), deal__owner=rep, delivery_owner=delivery_lead)
    # when
    found = drops("no_handoff_meeting")
    # then
    assert set(found) == {late.pk}
    assert found[late.pk]["drop_date"] == TODAY
    assert found[late.pk]["drop_delivery_owner_id"] == delivery_lead.pk
    assert found[late.pk]["drop_is_open"] is True
    assert still_in_time.pk not in found


def test_a_three_way_meeting_on_the_last_allowed_day_counts_but_a_day_later_does_not(rep, delivery_lead):
    # given
    on_time = won_handoff(days_ago(20), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(on_time, days_ago(10))
    a_day_late = won_handoff(days_ago(20), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(a_day_late, days_ago(9))
    # when
    found = drops("no_handoff_meeting")
    # then
    assert on_time.pk not in found
    assert a_day_late.pk in found
    assert found[a_day_late.pk]["drop_is_open"] is False


def test_a_meeting_without_the_customer_is_not_a_handoff_meeting(rep, delivery_lead):
    # given
    handoff = won_handoff(days_ago(20), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(handoff, days_ago(15), customer=False)
    # when
    found = drops("no_handoff_meeting")
    # then
    assert handoff.pk in found


def test_it_reads_the_meeting_deadline_from_the_settings(rep, delivery_lead):
    # given
    settings_row = OrganisationSettings.load()
    settings_row.meeting_within_days = 3
    settings_row.save()
    handoff = won_handoff(days_ago(4), deal__owner=rep, delivery_owner=delivery_lead)
    # when
    found = drops("no_handoff_meeting")
    # then
    assert handoff.pk in found


# --- incomplete_meeting ---------------------------------------------------------------


@pytest.mark.parametrize("missing", ["rep", "owner", "customer"])
def test_it_flags_a_held_meeting_missing_one_side(rep, delivery_lead, missing):
    # given
    handoff = won_handoff(days_ago(5), deal__owner=rep, delivery_owner=delivery_lead)
    meeting = record_meeting(handoff, days_ago(2), **{missing: False})
    # when
    found = drops("incomplete_meeting")
    # then
    assert set(found) == {meeting.pk}
    assert found[meeting.pk]["drop_date"] == days_ago(2)


def test_it_does_not_flag_a_complete_or_a_merely_scheduled_meeting(rep, delivery_lead):
    # given
    handoff = won_handoff(days_ago(5), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(handoff, days_ago(2))
    other = won_handoff(days_ago(5), deal__owner=rep, delivery_owner=delivery_lead)
    MeetingFactory(handoff=other, status=MeetingStatus.SCHEDULED)
    # when
    found = drops("incomplete_meeting")
    # then
    assert found == {}


def test_an_incomplete_meeting_is_no_longer_open_once_a_three_way_meeting_is_held(rep, delivery_lead):
    # given
    handoff = won_handoff(days_ago(9), deal__owner=rep, delivery_owner=delivery_lead)
    incomplete = record_meeting(handoff, days_ago(5), customer=False)
    record_meeting(handoff, days_ago(3))
    # when
    found = drops("incomplete_meeting")
    # then
    assert found[incomplete.pk]["drop_is_open"] is False


# --- ownership_not_accepted -----------------------------------------------------------


def test_it_flags_a_handoff_nobody_accepted_after_the_allowed_days(rep, delivery_lead):
    # given: acceptance_within_days defaults to 3
    late = won_handoff(days_ago(4), deal__owner=rep, proposed_owner=delivery_lead, status=HandoffStatus.OWNER_PROPOSED)
    in_time = won_handoff(days_ago(3), deal__owner=rep)
    # when
    found = drops("ownership_not_accepted")
    # then
    assert set(found) == {late.pk}
    assert found[late.pk]["drop_delivery_owner_id"] == delivery_lead.pk
    assert found[late.pk]["drop_date"] == TODAY
    assert in_time.pk not in found


def test_an_acceptance_on_the_last_allowed_day_counts_but_one_a_day_later_is_a_closed_drop(rep, delivery_lead):
    # given
    on_time = won_handoff(
        days_ago(10), deal__owner=rep, delivery_owner=delivery_lead, accepted_at=at(days_ago(7)), status="accepted"
    )
    late = won_handoff(
        days_ago(10), deal__owner=rep, delivery_owner=delivery_lead, accepted_at=at(days_ago(6)), status="accepted"
    )
    # when
    found = drops("ownership_not_accepted")
    # then
    assert on_time.pk not in found
    assert found[late.pk]["drop_is_open"] is False


def test_it_flags_a_declined_handoff_at_once(rep, delivery_lead):
    # given
    declined = won_handoff(
        days_ago(1),
        deal__owner=rep,
        status=HandoffStatus.DECLINED,
        declined_by=delivery_lead,
        declined_at=timezone.now(),
        decline_reason="No capacity",
    )
    # when
    found = drops("ownership_not_accepted")
    # then
    assert found[declined.pk]["drop_date"] == TODAY
    assert found[declined.pk]["drop_delivery_owner_id"] == delivery_lead.pk


# --- step_overdue ---------------------------------------------------------------------


def test_it_flags_an_open_step_due_yesterday_but_not_today_or_done(rep):
    # given
    handoff = won_handoff(days_ago(5), deal__owner=rep)
    late = HandoffStepFactory(handoff=handoff, due_on=days_ago(1))
    due_today = HandoffStepFactory(handoff=handoff, due_on=TODAY)
    done = HandoffStepFactory(handoff=handoff, due_on=days_ago(1), status=StepStatus.DONE, done_at=timezone.now())
    # when
    found = drops("step_overdue")
    # then
    assert set(found) == {late.pk}
    assert found[late.pk]["drop_date"] == TODAY
    assert due_today.pk not in found and done.pk not in found


# --- missed_check_in ------------------------------------------------------------------


def test_it_flags_a_check_in_only_past_its_grace_period(rep):
    # given: checkin_grace_days defaults to 3
    handoff = won_handoff(days_ago(30), deal__owner=rep)
    missed = CheckInFactory(handoff=handoff, cadence_days=7, due_on=days_ago(4))
    in_grace = CheckInFactory(handoff=handoff, cadence_days=14, due_on=days_ago(3))
    logged = CheckInFactory(
        handoff=handoff, cadence_days=21, due_on=days_ago(9), status=CheckInStatus.DONE, done_at=timezone.now()
    )
    # when
    found = drops("missed_check_in")
    # then
    assert set(found) == {missed.pk}
    assert found[missed.pk]["drop_date"] == TODAY
    assert in_grace.pk not in found and logged.pk not in found


# --- promise_unconfirmed / promise_broken ---------------------------------------------


def test_it_flags_a_promise_left_open_after_the_handoff_meeting(rep, delivery_lead):
    # given
    met = won_handoff(days_ago(9), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(met, days_ago(4))
    forgotten = PromiseFactory(deal=met.deal)
    confirmed = PromiseFactory(deal=met.deal, status=PromiseStatus.CONFIRMED)
    not_met = won_handoff(days_ago(2), deal__owner=rep)
    not_reviewed_yet = PromiseFactory(deal=not_met.deal)
    # when
    found = drops("promise_unconfirmed")
    # then
    assert set(found) == {forgotten.pk}
    assert found[forgotten.pk]["drop_date"] == days_ago(4)
    assert confirmed.pk not in found and not_reviewed_yet.pk not in found


def test_it_flags_a_broken_promise_but_not_a_kept_one(rep):
    # given
    handoff = won_handoff(days_ago(40), deal__owner=rep)
    broken = PromiseFactory(deal=handoff.deal, status=PromiseStatus.BROKEN, reviewed_at=at(days_ago(3)))
    kept = PromiseFactory(deal=handoff.deal, status=PromiseStatus.KEPT)
    # when
    found = drops("promise_broken")
    # then
    assert set(found) == {broken.pk}
    assert found[broken.pk]["drop_date"] == days_ago(3)
    assert kept.pk not in found


# --- ghosted --------------------------------------------------------------------------


def test_it_flags_a_customer_not_contacted_for_longer_than_allowed_after_the_close(rep):
    # given: ghosted_after_days defaults to 45
    silent = won_handoff(days_ago(46), deal__owner=rep)
    just_in_time = won_handoff(days_ago(45), deal__owner=rep)
    # when
    found = drops("ghosted")
    # then
    assert set(found) == {silent.pk}
    assert found[silent.pk]["drop_date"] == TODAY
    assert just_in_time.pk not in found


def test_the_last_check_in_done_restarts_the_ghosting_clock(rep):
    # given
    recently_called = won_handoff(days_ago(100), deal__owner=rep)
    CheckInFactory(handoff=recently_called, due_on=days_ago(45), status=CheckInStatus.DONE, done_at=at(days_ago(45)))
    called_too_long_ago = won_handoff(days_ago(100), deal__owner=rep)
    CheckInFactory(
        handoff=called_too_long_ago, due_on=days_ago(46), status=CheckInStatus.DONE, done_at=at(days_ago(46))
    )
    # when
    found = drops("ghosted")
    # then
    assert set(found) == {called_too_long_ago.pk}


def test_a_held_meeting_counts_as_contact(rep, delivery_lead):
    # given
    handoff = won_handoff(days_ago(60), deal__owner=rep, delivery_owner=delivery_lead)
    record_meeting(handoff, days_ago(30))
    # when
    found = drops("ghosted")
    # then
    assert handoff.pk not in found


def test_every_rule_reports_the_deal_account_rep_and_team(rep):
    # given
    deal = DealFactory(owner=rep, next_step_due=days_ago(2))
    # when
    row = drops("no_next_step")[deal.pk]
    # then
    assert (row["drop_deal_id"], row["drop_account_id"], row["drop_rep_id"], row["drop_team_id"]) == (
        deal.pk,
        deal.account_id,
        rep.pk,
        rep.team_id,
    )
