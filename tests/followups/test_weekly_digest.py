"""The weekly dropped-baton digest e-mailed to each manager."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
import time_machine
from django.core import mail

from config.celery_app import app
from followups import tasks
from followups.models import OutboxMessage
from followups.services.outbox import outbox_deliver_due
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
    late_deals(rep, 1, days_late=13)
    late_deals(rep, 2, days_late=3)
    unowned_handoffs(rep, 1, closed_days_ago=6, proposed_owner=delivery_lead)
    refreshed()
    mail.outbox.clear()
    # when
    tasks.send_weekly_digests()
    outbox_deliver_due()
    # then
    [message] = [m for m in mail.outbox if m.subject.startswith("Dropped batons") and m.to == [manager.email]]
    assert message.subject == "Dropped batons, week of 10 Mar: 4 new (1 the week before)"
    assert "No next step: 2 (before: 1)" in message.body
    assert "Ownership not accepted: 1" in message.body
    assert "http://testserver/report/drops/no_next_step/?period=custom&start=2025-03-10&end=2025-03-16" in message.body
    assert "http://testserver/report/?period=custom" in message.body
    html = message.alternatives[0][0]
    assert 'href="http://testserver/report/drops/all/?account=' in html
    assert "LEAST HEALTHY ACCOUNTS" in message.body and "health 80/100" in message.body
    assert (
        message.extra_headers["Message-ID"]
        == f"<weekly_digest.week.{LAST_WEEK.toordinal()}.v0.user-{manager.pk}@baton>"
    )


def _digests_sent() -> list:
    return [message for message in mail.outbox if message.subject.startswith("Dropped batons")]


def test_it_does_not_send_the_same_digest_twice(manager, rep):
    # given
    late_deals(rep, 1, days_late=3)
    refreshed()
    # when: beat runs the Monday task twice (two beats, or a retry)
    tasks.send_weekly_digests()
    tasks.send_weekly_digests()
    outbox_deliver_due()
    outbox_deliver_due()
    # then
    assert len(_digests_sent()) == 1
    digest = OutboxMessage.objects.get(purpose="weekly_digest", recipient=manager)
    assert digest.status == "sent" and digest.item_id == LAST_WEEK.toordinal()


def test_a_failed_send_waits_in_the_outbox_and_goes_out_on_the_retry(manager):
    # given: the mail server is down on Monday morning
    tasks.send_weekly_digests()
    with mock.patch(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=ConnectionRefusedError("down")
    ):
        outbox_deliver_due()
    assert _digests_sent() == []
    # when: the backoff has passed and the server is back
    with time_machine.travel(MONDAY_MORNING + datetime.timedelta(minutes=5), tick=False):
        outbox_deliver_due()
    # then
    assert len(_digests_sent()) == 1


def test_the_monday_task_queues_one_digest_per_manager(manager, delivery_manager, rep):
    # when
    count = tasks.send_weekly_digests()
    # then
    assert count == 2
    assert sorted(
        OutboxMessage.objects.filter(purpose="weekly_digest").values_list("recipient_id", "item_id")
    ) == sorted([(manager.pk, LAST_WEEK.toordinal()), (delivery_manager.pk, LAST_WEEK.toordinal())])


def test_beat_sends_the_digest_on_monday_mornings_and_refreshes_the_report_often():
    schedule = app.conf.beat_schedule
    digest = schedule["send-weekly-digests"]["schedule"]
    assert schedule["send-weekly-digests"]["task"] == "followups.tasks.send_weekly_digests"
    assert digest.day_of_week == {1} and digest.hour == {7}
    assert schedule["refresh-dropped-batons"]["schedule"] <= 600
