"""The weekly dropped-baton digest e-mailed to each manager."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail

from config.celery_app import app
from followups import tasks
from followups.models import WeeklyDigest
from followups.services.report import last_week_start
from tests.followups.report_data import late_deals, refreshed, unowned_handoffs

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime.datetime(2025, 3, 17, 7, 0, tzinfo=datetime.UTC)
LAST_WEEK = datetime.date(2025, 3, 10)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


def test_last_week_is_the_monday_to_sunday_before_today():
    assert last_week_start() == LAST_WEEK


def test_it_emails_the_manager_last_weeks_new_drops_worst_accounts_and_trend(manager, rep, delivery_lead):
    # given: dropped on 14 and 15 March (last week), and one on 5 March (the week before)
    late_deals(rep, 2, days_late=3)
    late_deals(rep, 1, days_late=13)
    unowned_handoffs(rep, 1, closed_days_ago=6, proposed_owner=delivery_lead)
    refreshed()
    # when
    sent = tasks.send_weekly_digest(manager.pk, LAST_WEEK.isoformat())
    # then
    assert sent is True
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [manager.email]
    assert message.subject == "Dropped batons, week of 10 Mar: 4 new (1 the week before)"
    assert "No next step: 2 (before: 1)" in message.body
    assert "Ownership not accepted: 1" in message.body
    assert "http://testserver/report/drops/no_next_step/?period=custom&start=2025-03-10&end=2025-03-16" in message.body
    assert "http://testserver/report/?period=custom" in message.body
    html = message.alternatives[0][0]
    assert 'href="http://testserver/report/drops/all/?account=' in html
    assert "LEAST HEALTHY ACCOUNTS" in message.body and "health 80/100" in message.body


def test_it_does_not_send_the_same_digest_twice(manager, rep):
    # given
    late_deals(rep, 1, days_late=3)
    refreshed()
    # when
    first = tasks.send_weekly_digest(manager.pk, LAST_WEEK.isoformat())
    second = tasks.send_weekly_digest(manager.pk, LAST_WEEK.isoformat())
    # then
    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1
    assert WeeklyDigest.objects.get(manager=manager, week_start=LAST_WEEK).sent_at is not None


def test_a_failed_send_gives_the_claim_back_for_the_retry(manager):
    # given
    smtp_down = mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down"))
    with smtp_down, pytest.raises(OSError):
        tasks.send_weekly_digest.run(manager.pk, LAST_WEEK.isoformat())
    assert not WeeklyDigest.objects.exists()
    # when
    sent = tasks.send_weekly_digest(manager.pk, LAST_WEEK.isoformat())
    # then
    assert sent is True
    assert len(mail.outbox) == 1


def test_the_monday_task_enqueues_one_digest_per_manager(manager, delivery_manager, rep):
    # when
    with mock.patch.object(tasks.send_weekly_digest, "delay") as delay:
        count = tasks.send_weekly_digests()
    # then
    assert count == 2
    assert sorted(call.args for call in delay.call_args_list) == sorted(
        [(manager.pk, "2025-03-10"), (delivery_manager.pk, "2025-03-10")]
    )


def test_beat_sends_the_digest_on_monday_mornings_and_refreshes_the_report_often():
    schedule = app.conf.beat_schedule
    digest = schedule["send-weekly-digests"]["schedule"]
    assert schedule["send-weekly-digests"]["task"] == "followups.tasks.send_weekly_digests"
    assert digest.day_of_week == {1} and digest.hour == {7}
    assert schedule["refresh-dropped-batons"]["schedule"] <= 600
