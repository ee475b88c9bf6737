"""The reminder tasks: the scan wakes the sender on commit, a broker that is down costs
nothing but latency, and a rolled-back transaction enqueues nothing."""

import datetime
import logging

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from followups.choices import MessageStatus
from followups.models import Heartbeat, Notification, OutboxMessage
from followups.services import outbox
from followups.services.notifications import notification_create
from followups.tasks import deliver_outbox, scan_overdue_items
from tests.factories import HandoffStepFactory


@pytest.fixture
def wakes(monkeypatch):
    """The wake-up messages the code tried to send (not sent: no worker in these tests)."""
    calls = []
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda **kwargs: calls.append(kwargs))
    return calls


def overdue_step(owner):
    # Reachable at any hour, so that the test does not depend on when it runs.
    owner.working_hours_start, owner.working_hours_end = 0, 24
    owner.save(update_fields=["working_hours_start", "working_hours_end"])
    return HandoffStepFactory(
        handoff__deal__owner=owner, assignee=owner, due_on=timezone.localdate() - datetime.timedelta(days=1)
    )


@pytest.mark.django_db
def test_it_wakes_the_sender_once_the_scan_committed(rep, wakes, django_capture_on_commit_callbacks):
    # given
    overdue_step(rep)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        inserted = scan_overdue_items()
    # then
    assert inserted == 1
    assert len(callbacks) == 1 and len(wakes) == 1
    assert Heartbeat.objects.filter(name="reminder_scan").exists()


@pytest.mark.django_db
def test_it_wakes_one_sender_per_due_batch_up_to_the_limit(rep, settings, wakes, django_capture_on_commit_callbacks):
    # given: batches of two, at most three senders
    settings.BATON_OUTBOX_BATCH_SIZE = 2
    settings.BATON_OUTBOX_SENDERS = 3
    for _ in range(3):
        overdue_step(rep)
    # when: three reminders are due, then eight
    with django_capture_on_commit_callbacks(execute=True):
        scan_overdue_items()
    woken_for_three = len(wakes)
    for _ in range(5):
        overdue_step(rep)
    with django_capture_on_commit_callbacks(execute=True):
        scan_overdue_items()
    # then: two senders for two batches, then the limit of three
    assert woken_for_three == 2
    assert len(wakes) - woken_for_three == 3


@pytest.mark.django_db
def test_it_does_not_wake_the_sender_when_nothing_is_due(rep, wakes, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        inserted = scan_overdue_items()
    # then
    assert inserted == 0 and wakes == []


@pytest.mark.django_db
def test_it_keeps_the_reminders_and_logs_when_the_broker_is_down(
    rep, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # given
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "enqueue_delivery", broker_down)
    overdue_step(rep)
    # when
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        inserted = scan_overdue_items()
    # then
    assert inserted == 1
    assert OutboxMessage.objects.get().status == MessageStatus.PENDING
    assert "Could not wake the outbox sender" in caplog.text


@pytest.mark.django_db
def test_it_delivers_every_due_reminder_in_one_task_run(rep, other_rep, settings, wakes):
    # given: small batches, so the run claims several
    settings.BATON_OUTBOX_BATCH_SIZE = 2
    for _ in range(3):
        overdue_step(rep)
    overdue_step(other_rep)
    scan_overdue_items()
    # when
    delivered = deliver_outbox()
    # then
    assert delivered == 4
    assert len(mail.outbox) == 4
    assert not OutboxMessage.objects.exclude(status=MessageStatus.SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_nothing_and_writes_nothing_when_the_transaction_rolls_back(rep, wakes):
    # given
    overdue_step(rep)

    # when
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        notification_create(user=rep, kind="checkin_issue", title="Acme raised an issue")
        scan_overdue_items()
        raise Abort

    # then
    assert wakes == []
    assert not OutboxMessage.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_wakes_the_sender_after_a_committed_notification(rep, wakes):
    # given: the rep can be e-mailed at any hour
    rep.working_hours_start, rep.working_hours_end = 0, 24
    rep.save(update_fields=["working_hours_start", "working_hours_end"])
    # when
    notification_create(user=rep, kind="checkin_issue", title="Acme raised an issue")
    # then
    assert len(wakes) == 1
    assert OutboxMessage.objects.get().status == MessageStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_it_wakes_nobody_for_a_message_that_waits_for_the_recipients_working_hours(rep, wakes):
    # given: 06:00 in the rep's zone, before their 9 o'clock
    rep.timezone, rep.working_hours_start, rep.working_hours_end = "Europe/Paris", 9, 18
    rep.save(update_fields=["timezone", "working_hours_start", "working_hours_end"])
    with time_machine.travel(datetime.datetime(2026, 6, 10, 4, 0, tzinfo=datetime.UTC), tick=False):
        # when
        notification_create(user=rep, kind="checkin_issue", title="Acme raised an issue")
    # then: the pump wakes a sender at 9 o'clock; nothing to do now
    assert wakes == []
    message = OutboxMessage.objects.get()
    assert message.send_after == datetime.datetime(2026, 6, 10, 7, 0, tzinfo=datetime.UTC)
