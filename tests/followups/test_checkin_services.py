"""Check-ins: scheduled on the cadence when a hand-off is accepted, logged, rescheduled."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import EventVerb
from accounts.models import OrganisationSettings, TimelineEvent
from followups.choices import CheckInStatus
from followups.models import CheckIn, CheckInReschedule, Notification, NotificationPreference
from followups.selectors.checkins import checkin_sections_for
from followups.services.checkins import (
    checkin_add,
    checkin_log,
    checkin_reschedule,
    checkins_schedule_for_handoff,
    checkins_schedule_missing,
    user_rotate_feed_token,
)
from followups.services.outbox import outbox_deliver_due
from handoffs.choices import HandoffStatus, LeadSource, Stage
from handoffs.models import Deal, Handoff
from handoffs.services.handoffs import handoff_accept
from tests.factories import (
    CheckInFactory,
    DealFactory,
    HandoffFactory,
    PlaybookFactory,
    UserFactory,
    give_full_packet,
)

pytestmark = pytest.mark.django_db

CLOSED_ON = datetime.date(2026, 3, 2)
# Frozen "now" of most tests: a few days after the close.
NOW = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=datetime.UTC)


def accepted_handoff(*, rep, delivery_owner, closed_on=CLOSED_ON, cadence=(7, 30, 90), playbook=True):
    """A won deal's hand-off that `delivery_owner` has accepted (built directly: the
    acceptance itself is the handoffs app's service, exercised in one test below)."""
    return HandoffFactory(
        deal__owner=rep,
        deal__closed_on=closed_on,
        playbook=PlaybookFactory(checkin_cadence=list(cadence)) if playbook else None,
        status=HandoffStatus.ACCEPTED,
        proposed_owner=delivery_owner,
        delivery_owner=delivery_owner,
    )


def log_values(**overrides):
    values = {
        "channel": "call",
        "sentiment": "happy",
        "notes": "All good, onboarding on track.",
        "issues_raised": "",
        "referral_asked": False,
        "repeat_business_asked": False,
    }
    values.update(overrides)
    return values


# --- scheduling --------------------------------------------------------------------


def test_it_schedules_the_reps_checkins_on_the_playbook_cadence_after_the_close(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead, cadence=[7, 30, 90])
    # when
    created = checkins_schedule_for_handoff(handoff_id=handoff.pk)
    # then
    assert [(checkin.cadence_days, checkin.due_on) for checkin in created] == [
        (7, datetime.date(2026, 3, 9)),
        (30, datetime.date(2026, 4, 1)),
        (90, datetime.date(2026, 5, 31)),
    ]
    assert {checkin.rep for checkin in created} == {rep}
    assert {checkin.account_id for checkin in created} == {handoff.deal.account_id}
    assert all(checkin.status == CheckInStatus.SCHEDULED for checkin in created)
    event = TimelineEvent.objects.get(verb=EventVerb.CHECKIN_SCHEDULED)
    assert event.subject == handoff.deal
    assert "2026-03-09" in event.message


def test_it_uses_the_organisations_cadence_when_the_playbook_has_none(rep, delivery_lead):
    # given
    OrganisationSettings.load()
    OrganisationSettings.objects.filter(pk=1).update(default_checkin_cadence=[14, 60])
    with_empty_playbook = accepted_handoff(rep=rep, delivery_owner=delivery_lead, cadence=[])
    without_playbook = accepted_handoff(rep=rep, delivery_owner=delivery_lead, playbook=False)
    # when
    first = checkins_schedule_for_handoff(handoff_id=with_empty_playbook.pk)
    second = checkins_schedule_for_handoff(handoff_id=without_playbook.pk)
    # then
    assert [checkin.cadence_days for checkin in first] == [14, 60]
    assert [checkin.due_on for checkin in second] == [datetime.date(2026, 3, 16), datetime.date(2026, 5, 1)]


def test_it_schedules_nothing_more_when_called_twice(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    checkins_schedule_for_handoff(handoff_id=handoff.pk)
    # when
    again = checkins_schedule_for_handoff(handoff_id=handoff.pk)
    # then
    assert again == []
    assert CheckIn.objects.filter(handoff=handoff).count() == 3
    assert TimelineEvent.objects.filter(verb=EventVerb.CHECKIN_SCHEDULED).count() == 1


def test_the_database_refuses_a_second_checkin_for_the_same_cadence_point(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    checkins_schedule_for_handoff(handoff_id=handoff.pk)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(
            handoff=handoff, account=handoff.deal.account, rep=rep, cadence_days=30, due_on=CLOSED_ON
        )


def test_checkins_added_by_hand_are_not_limited_to_one(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    # when
    with time_machine.travel(NOW):
        checkin_add(actor=rep, handoff=handoff, due_on=datetime.date(2026, 3, 20))
        checkin_add(actor=rep, handoff=handoff, due_on=datetime.date(2026, 3, 20))
    # then
    assert CheckIn.objects.filter(handoff=handoff, cadence_days=0).count() == 2


def test_it_refuses_to_schedule_checkins_before_a_delivery_owner_accepted(rep):
    # given
    handoff = HandoffFactory(deal__owner=rep, status=HandoffStatus.OWNER_PROPOSED)
    # when / then
    with pytest.raises(ValidationError):
        checkins_schedule_for_handoff(handoff_id=handoff.pk)
    assert not CheckIn.objects.exists()


def test_accepting_a_handoff_schedules_its_checkins_once_committed(
    rep, delivery_lead, django_capture_on_commit_callbacks
):
    # given
    handoff = HandoffFactory(
        deal__owner=rep,
        deal__closed_on=CLOSED_ON,
        playbook=PlaybookFactory(checkin_cadence=[7, 30]),
        status=HandoffStatus.OWNER_PROPOSED,
        proposed_owner=delivery_lead,
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handoff_accept(actor=delivery_lead, handoff=handoff)
    # then
    assert list(CheckIn.objects.filter(handoff=handoff).values_list("cadence_days", "rep")) == [
        (7, rep.pk),
        (30, rep.pk),
    ]


# --- logging -----------------------------------------------------------------------


@pytest.fixture
def checkin(rep, delivery_lead):
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    return checkins_schedule_for_handoff(handoff_id=handoff.pk)[0]


@time_machine.travel(NOW, tick=False)
def test_it_logs_a_checkin_with_what_the_customer_said(rep, checkin):
    # when
    logged = checkin_log(
        actor=rep,
        checkin=checkin,
        **log_values(channel="meeting", sentiment="neutral", notes="Asked about SSO.", referral_asked=True),
    )
    # then
    checkin.refresh_from_db()
    assert checkin.status == CheckInStatus.DONE
    assert checkin.done_at == NOW
    assert (checkin.channel, checkin.sentiment, checkin.notes) == ("meeting", "neutral", "Asked about SSO.")
    assert checkin.referral_asked and not checkin.repeat_business_asked
    assert logged.pk == checkin.pk
    event = TimelineEvent.objects.get(verb=EventVerb.CHECKIN_LOGGED)
    assert event.subject == checkin.handoff.deal
    assert event.actor == rep


def test_it_refuses_to_log_a_checkin_twice(rep, checkin):
    # given
    checkin_log(actor=rep, checkin=checkin, **log_values())
    # when / then
    with pytest.raises(ValidationError, match="already logged"):
        checkin_log(actor=rep, checkin=checkin, **log_values(sentiment="at_risk"))
    checkin.refresh_from_db()
    assert checkin.sentiment == "happy"
    assert TimelineEvent.objects.filter(verb=EventVerb.CHECKIN_LOGGED).count() == 1


def test_it_needs_the_channel_and_the_sentiment(rep, checkin):
    # when
    with pytest.raises(ValidationError) as error:
        checkin_log(actor=rep, checkin=checkin, **log_values(channel="", sentiment="furious"))
    # then
    assert set(error.value.message_dict) == {"channel", "sentiment"}
    checkin.refresh_from_db()
    assert checkin.status == CheckInStatus.SCHEDULED


def test_only_the_rep_or_their_manager_may_log_a_checkin(
    rep, other_rep, manager, outsider_team_rep, delivery_lead, checkin
):
    # when / then
    for intruder in (other_rep, outsider_team_rep, delivery_lead, outsider_team_rep.team.manager):
        with pytest.raises(ValidationError):
            checkin_log(actor=intruder, checkin=checkin, **log_values())
    checkin_log(actor=manager, checkin=checkin, **log_values())
    checkin.refresh_from_db()
    assert checkin.status == CheckInStatus.DONE


def test_issues_raised_notify_the_delivery_owner_in_app_and_by_email(
    rep, delivery_lead, checkin, django_capture_on_commit_callbacks
):
    # given a delivery owner who reads email around the clock
    delivery_lead.working_hours_start, delivery_lead.working_hours_end = 0, 24
    delivery_lead.save(update_fields=["working_hours_start", "working_hours_end"])
    # when
    with django_capture_on_commit_callbacks(execute=False):
        checkin_log(
            actor=rep,
            checkin=checkin,
            **log_values(sentiment="at_risk", issues_raised="Invoices are wrong since the migration."),
        )
    # then nothing is mailed from the request: the email waits in the outbox
    notification = Notification.objects.get(user=delivery_lead)
    assert notification.kind == "checkin_issue"
    assert str(checkin.account) in notification.title
    assert "Invoices are wrong" in notification.body
    assert mail.outbox == []
    # and the worker delivers it
    outbox_deliver_due()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [delivery_lead.email]
    assert str(checkin.account) in email.subject
    assert "Invoices are wrong since the migration." in email.body
    assert "at risk" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "Invoices are wrong since the migration." in html


def test_no_issue_email_for_a_delivery_owner_who_switched_them_off(rep, delivery_lead, checkin):
    # given
    delivery_lead.working_hours_start, delivery_lead.working_hours_end = 0, 24
    delivery_lead.save(update_fields=["working_hours_start", "working_hours_end"])
    NotificationPreference.objects.create(user=delivery_lead, kind="checkin_issue", email=False)
    # when
    checkin_log(actor=rep, checkin=checkin, **log_values(issues_raised="Invoices are wrong."))
    outbox_deliver_due()
    # then
    assert Notification.objects.filter(user=delivery_lead).count() == 1
    assert mail.outbox == []


def test_no_issue_no_notification_and_no_email(rep, checkin, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        checkin_log(actor=rep, checkin=checkin, **log_values(issues_raised="   "))
    # then
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_a_failed_log_sends_nothing(rep, checkin, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValidationError):
        checkin_log(actor=rep, checkin=checkin, **log_values(channel="", issues_raised="Broken"))
    # then
    assert callbacks == []
    assert not Notification.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_opens_a_new_deal_on_the_account_for_repeat_business(rep, checkin):
    # when
    logged = checkin_log(
        actor=rep,
        checkin=checkin,
        **log_values(repeat_business_asked=True, open_deal=True, new_deal_title="Second site rollout"),
    )
    # then
    deal = Deal.objects.get(title="Second site rollout")
    assert logged.opened_deal == deal
    assert deal.account == checkin.account
    assert deal.owner == rep
    assert deal.stage == Stage.QUALIFY
    assert deal.lead_source == LeadSource.EXISTING_CUSTOMER
    assert deal.next_step_due > NOW.date()


def test_a_new_deal_needs_a_referral_or_repeat_business_asked(rep, checkin):
    # given
    deals_before = Deal.objects.count()
    # when
    with pytest.raises(ValidationError) as error:
        checkin_log(actor=rep, checkin=checkin, **log_values(open_deal=True))
    # then
    assert "open_deal" in error.value.message_dict
    assert Deal.objects.count() == deals_before


# --- rescheduling and adding ---------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_it_reschedules_a_checkin_keeping_the_old_date_and_the_reason(rep, checkin):
    # given
    old_due_on = checkin.due_on
    # when
    checkin_reschedule(
        actor=rep, checkin=checkin, new_due_on=datetime.date(2026, 3, 16), reason="  Customer on holiday  "
    )
    # then
    checkin.refresh_from_db()
    assert checkin.due_on == datetime.date(2026, 3, 16)
    move = CheckInReschedule.objects.get(checkin=checkin)
    assert (move.old_due_on, move.new_due_on, move.reason, move.rescheduled_by) == (
        old_due_on,
        datetime.date(2026, 3, 16),
        "Customer on holiday",
        rep,
    )
    event = TimelineEvent.objects.get(verb=EventVerb.CHECKIN_RESCHEDULED)
    assert "Customer on holiday" in event.message


@time_machine.travel(NOW, tick=False)
def test_a_reschedule_needs_a_reason_and_a_date_not_in_the_past(rep, checkin):
    # when
    with pytest.raises(ValidationError) as error:
        checkin_reschedule(actor=rep, checkin=checkin, new_due_on=datetime.date(2026, 3, 4), reason=" ")
    # then
    assert set(error.value.message_dict) == {"reason", "new_due_on"}
    assert not CheckInReschedule.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_today_is_a_valid_new_date(rep, checkin):
    # when
    checkin_reschedule(actor=rep, checkin=checkin, new_due_on=NOW.date(), reason="Customer called back early")
    # then
    checkin.refresh_from_db()
    assert checkin.due_on == NOW.date()


@time_machine.travel(NOW, tick=False)
def test_a_logged_checkin_cannot_move_and_another_reps_cannot_either(rep, other_rep, checkin):
    # given
    second = CheckIn.objects.filter(handoff=checkin.handoff).exclude(pk=checkin.pk).first()
    checkin_log(actor=rep, checkin=checkin, **log_values())
    # when / then
    with pytest.raises(ValidationError, match="already logged"):
        checkin_reschedule(actor=rep, checkin=checkin, new_due_on=datetime.date(2026, 4, 1), reason="Later")
    with pytest.raises(ValidationError):
        checkin_reschedule(actor=other_rep, checkin=second, new_due_on=datetime.date(2026, 4, 9), reason="Mine now")
    assert not CheckInReschedule.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_adds_an_extra_checkin_by_hand(rep, manager, other_rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    # when
    checkin = checkin_add(actor=manager, handoff=handoff, due_on=datetime.date(2026, 3, 12))
    # then
    assert (checkin.cadence_days, checkin.rep, checkin.due_on) == (0, rep, datetime.date(2026, 3, 12))
    assert TimelineEvent.objects.filter(verb=EventVerb.CHECKIN_SCHEDULED, actor=manager).exists()
    with pytest.raises(ValidationError):
        checkin_add(actor=other_rep, handoff=handoff, due_on=datetime.date(2026, 3, 12))
    with pytest.raises(ValidationError) as error:
        checkin_add(actor=rep, handoff=handoff, due_on=datetime.date(2026, 3, 1))
    assert "due_on" in error.value.message_dict


# --- "due today" is the user's own today ------------------------------------------------


def test_due_today_is_the_users_local_today_not_utcs(rep, delivery_lead):
    # given: 02:00 UTC on 10 March is still 9 March, 22:00, in New York
    new_york_rep = UserFactory(role=rep.role, team=rep.team, timezone="America/New_York")
    due_9_march = [
        CheckInFactory(
            handoff=accepted_handoff(rep=someone, delivery_owner=delivery_lead), due_on=datetime.date(2026, 3, 9)
        )
        for someone in (new_york_rep, rep)
    ]
    # when
    with time_machine.travel(datetime.datetime(2026, 3, 10, 2, 0, tzinfo=datetime.UTC), tick=False):
        in_new_york = checkin_sections_for(new_york_rep)
        in_utc = checkin_sections_for(rep)
    # then
    assert in_new_york.today == datetime.date(2026, 3, 9)
    assert in_new_york.due_today == [due_9_march[0]] and in_new_york.overdue == []
    assert in_utc.overdue == [due_9_march[1]] and in_utc.due_today == []


def test_the_sections_split_due_today_overdue_upcoming_and_recently_done(rep, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    today = datetime.date(2026, 3, 5)
    overdue = CheckInFactory(handoff=handoff, cadence_days=1, due_on=today - datetime.timedelta(days=1))
    due_today = CheckInFactory(handoff=handoff, cadence_days=2, due_on=today)
    upcoming = CheckInFactory(handoff=handoff, cadence_days=3, due_on=today + datetime.timedelta(days=30))
    CheckInFactory(handoff=handoff, cadence_days=4, due_on=today + datetime.timedelta(days=31))
    done = CheckInFactory(handoff=handoff, cadence_days=5, due_on=today)
    with time_machine.travel(NOW, tick=False):
        checkin_log(actor=rep, checkin=done, **log_values())
        # when
        sections = checkin_sections_for(rep)
    # then
    assert (sections.overdue, sections.due_today, sections.upcoming, sections.recently_done) == (
        [overdue],
        [due_today],
        [upcoming],
        [done],
    )


def test_rotating_the_feed_token_gives_a_new_secret(rep):
    # given
    old_token = rep.feed_token
    # when
    new_token = user_rotate_feed_token(user=rep)
    # then
    rep.refresh_from_db()
    assert rep.feed_token == new_token != old_token
    assert len(new_token) >= 32


# --- demo data ---------------------------------------------------------------------------


def test_the_demo_has_checkins_in_every_state_and_seeding_again_doubles_nothing(
    rep, other_rep, delivery_lead, django_capture_on_commit_callbacks
):
    # given: two hand-offs accepted recently (no cadence point due yet) and one long ago
    from followups.demo import seed_followups_demo

    today = datetime.date(2026, 3, 5)
    accepted_handoff(rep=rep, delivery_owner=delivery_lead, closed_on=today - datetime.timedelta(days=2))
    accepted_handoff(rep=other_rep, delivery_owner=delivery_lead, closed_on=today - datetime.timedelta(days=1))
    accepted_handoff(rep=rep, delivery_owner=delivery_lead, closed_on=today - datetime.timedelta(days=40))
    # when
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        seed_followups_demo({})
        count_after_first = CheckIn.objects.count()
        seed_followups_demo({})
    # then
    scheduled = CheckIn.objects.filter(status=CheckInStatus.SCHEDULED)
    assert scheduled.filter(due_on__lt=today).exists()
    assert scheduled.filter(due_on=today).exists()
    assert scheduled.filter(due_on__gt=today).exists()
    done = CheckIn.objects.filter(status=CheckInStatus.DONE)
    assert set(done.values_list("sentiment", flat=True)) == {"happy", "neutral", "at_risk"}
    assert Notification.objects.filter(user=delivery_lead, kind="checkin_issue").count() == 1
    assert CheckIn.objects.count() == count_after_first


def test_the_sweep_schedules_the_checkins_an_acceptance_failed_to_schedule(rep, delivery_lead):
    # given a hand-off accepted an hour ago whose scheduling on commit never happened
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    Handoff.objects.filter(pk=handoff.pk).update(accepted_at=timezone.now() - datetime.timedelta(hours=1))
    # when the beat sweep runs, twice
    created_first = checkins_schedule_missing()
    created_again = checkins_schedule_missing()
    # then the cadence's check-ins exist, once
    assert (created_first, created_again) == (3, 0)
    assert sorted(handoff.checkins.values_list("cadence_days", flat=True)) == [7, 30, 90]


def test_the_sweep_leaves_old_and_unaccepted_handoffs_alone(rep, delivery_lead):
    # given an acceptance older than the sweep looks back, and a hand-off nobody accepted
    old = accepted_handoff(rep=rep, delivery_owner=delivery_lead)
    Handoff.objects.filter(pk=old.pk).update(accepted_at=timezone.now() - datetime.timedelta(days=30))
    HandoffFactory(deal__owner=rep)
    # when / then
    assert checkins_schedule_missing() == 0
    assert not CheckIn.objects.exists()


def test_a_failing_checkin_scheduler_does_not_fail_the_acceptance(
    rep, delivery_lead, manager, monkeypatch, django_capture_on_commit_callbacks
):
    # given a hand-off proposed to the delivery lead, and a scheduler that breaks
    from handoffs.services.deals import deal_close
    from handoffs.services.handoffs import handoff_propose_owner

    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE))
    deal_close(
        actor=rep, deal=deal, outcome="won", closed_on=timezone.localdate(), final_amount=deal.amount, reason="Fit"
    )
    handoff_propose_owner(actor=manager, handoff=deal.handoff, owner=delivery_lead)

    def broken(**kwargs):
        raise RuntimeError("scheduler down")

    monkeypatch.setattr("followups.receivers.checkins_schedule_for_handoff", broken)
    # when the lead accepts, the on-commit scheduling fails
    with django_capture_on_commit_callbacks(execute=True):
        handoff_accept(actor=delivery_lead, handoff=deal.handoff)
    # then the acceptance stands, and the sweep schedules the check-ins afterwards
    deal.handoff.refresh_from_db()
    assert deal.handoff.delivery_owner == delivery_lead
    assert not CheckIn.objects.exists()
    monkeypatch.undo()
    assert checkins_schedule_missing() == 3
