"""The reminder outbox: scan, working hours, claim, delivery, escalation, digest, cancel."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.choices import Role
from accounts.models import OrganisationSettings
from followups.choices import MessageStatus, NotificationKind, ReminderKind
from followups.models import Notification, NotificationPreference, OutboxMessage
from followups.services.notifications import notification_create
from followups.services.outbox import outbox_claim, outbox_deliver_claimed, outbox_deliver_due, outbox_retry
from followups.services.reminders import next_working_time, reminders_cancel_for_item, reminders_scan
from handoffs.choices import StepStatus
from handoffs.models import HandoffStep
from handoffs.signals import overdue_item_resolved
from tests.factories import CheckInFactory, HandoffStepFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 UTC: inside 9–18 working hours in UTC.
NOON_ISH = datetime.datetime(2025, 6, 11, 10, 0, tzinfo=datetime.UTC)


def overdue_step(owner, *, days_late: int = 2) -> HandoffStep:
    return HandoffStepFactory(
        handoff__deal__owner=owner, assignee=owner, due_on=timezone.localdate() - datetime.timedelta(days=days_late)
    )


@pytest.fixture
def at_noon():
    with time_machine.travel(NOON_ISH, tick=False) as traveller:
        yield traveller


def test_it_inserts_one_reminder_per_overdue_item_and_nothing_on_a_second_scan(rep, at_noon):
    # given
    step = overdue_step(rep)
    checkin = CheckInFactory(handoff__deal__owner=rep, due_on=NOON_ISH.date() - datetime.timedelta(days=1))
    # when
    first = reminders_scan()
    second = reminders_scan()
    # then
    assert first.inserted[ReminderKind.STEP_OVERDUE] == 1
    assert first.inserted[ReminderKind.CHECKIN_OVERDUE] == 1
    assert second.total == 0
    assert set(OutboxMessage.objects.values_list("kind", "item_id", "version", "recipient_id")) == {
        (ReminderKind.STEP_OVERDUE, step.pk, 1, rep.pk),
        (ReminderKind.CHECKIN_OVERDUE, checkin.pk, 1, rep.pk),
    }


def test_it_sends_the_reminder_by_email_with_a_deterministic_message_id_and_rings_the_bell(rep, at_noon):
    # given
    step = overdue_step(rep)
    reminders_scan()
    # when
    result = outbox_deliver_due()
    # then
    reminder = OutboxMessage.objects.get()
    assert result.sent == 1
    assert reminder.status == MessageStatus.SENT and reminder.sent_at == NOON_ISH
    # derived from the purpose, the item, its version (the level) and the recipient
    assert reminder.message_id == f"<reminder.step_overdue.{step.pk}.v1.user-{rep.pk}@baton>"
    [email] = mail.outbox
    assert email.to == [rep.email]
    assert email.extra_headers["Message-ID"] == reminder.message_id
    assert step.title in email.subject
    assert email.alternatives[0].mimetype == "text/html"
    assert Notification.objects.filter(user=rep, kind=ReminderKind.STEP_OVERDUE, read_at__isnull=True).count() == 1
    # and a second delivery run sends nothing more
    assert outbox_deliver_due().sent == 0
    assert len(mail.outbox) == 1


def test_it_waits_for_the_recipients_working_hours_in_their_time_zone(rep, other_rep):
    # given: 21:00 in Tokyo, 07:00 in New York
    rep.timezone = "Asia/Tokyo"
    rep.save(update_fields=["timezone"])
    other_rep.timezone = "America/New_York"
    other_rep.save(update_fields=["timezone"])
    now = datetime.datetime(2025, 1, 15, 12, 0, tzinfo=datetime.UTC)
    with time_machine.travel(now, tick=False):
        overdue_step(rep)
        overdue_step(other_rep)
        # when
        reminders_scan()
        delivered_now = outbox_deliver_due().sent
    # then: Tokyo gets it at 09:00 next morning, New York at 09:00 the same day
    send_after = dict(OutboxMessage.objects.values_list("recipient_id", "send_after"))
    assert send_after[rep.pk] == datetime.datetime(2025, 1, 16, 0, 0, tzinfo=datetime.UTC)
    assert send_after[other_rep.pk] == datetime.datetime(2025, 1, 15, 14, 0, tzinfo=datetime.UTC)
    assert delivered_now == 0
    with time_machine.travel(datetime.datetime(2025, 1, 15, 14, 0, tzinfo=datetime.UTC), tick=False):
        assert outbox_deliver_due().sent == 1
    assert [email.to for email in mail.outbox] == [[other_rep.email]]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Spring forward (30 March 2025): 09:00 Paris is 07:00 UTC after the change.
        (
            datetime.datetime(2025, 3, 29, 20, 0, tzinfo=datetime.UTC),
            datetime.datetime(2025, 3, 30, 7, 0, tzinfo=datetime.UTC),
        ),
        # Fall back (26 October 2025): 09:00 Paris is 08:00 UTC after the change.
        (
            datetime.datetime(2025, 10, 25, 20, 0, tzinfo=datetime.UTC),
            datetime.datetime(2025, 10, 26, 8, 0, tzinfo=datetime.UTC),
        ),
        # Inside working hours: at once.
        (
            datetime.datetime(2025, 3, 31, 8, 0, tzinfo=datetime.UTC),
            datetime.datetime(2025, 3, 31, 8, 0, tzinfo=datetime.UTC),
        ),
        # Before 9 local on the day: later the same day.
        (
            datetime.datetime(2025, 3, 31, 5, 0, tzinfo=datetime.UTC),
            datetime.datetime(2025, 3, 31, 7, 0, tzinfo=datetime.UTC),
        ),
    ],
)
def test_it_keeps_the_local_nine_oclock_across_daylight_saving_changes(now, expected):
    # when
    send_after = next_working_time(now=now, tz_name="Europe/Paris", start_hour=9, end_hour=18)
    # then
    assert send_after == expected


@pytest.mark.parametrize(
    ("working_days", "expected"),
    [
        # Weekends kept quiet: Monday 09:00.
        (["mon", "tue", "wed", "thu", "fri"], datetime.datetime(2025, 6, 16, 9, 0, tzinfo=datetime.UTC)),
        # Every day (the default): Saturday 09:00.
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], datetime.datetime(2025, 6, 14, 9, 0, tzinfo=datetime.UTC)),
    ],
)
def test_it_holds_reminders_over_the_days_the_organisation_does_not_work(
    rep, other_rep, settings, working_days, expected
):
    # given: Friday 19:00 UTC, after the rep's 9–18; the other rep takes a daily digest
    settings.BATON_WORKING_DAYS = working_days
    other_rep.wants_daily_digest = True
    other_rep.save(update_fields=["wants_daily_digest"])
    with time_machine.travel(datetime.datetime(2025, 6, 13, 19, 0, tzinfo=datetime.UTC), tick=False):
        overdue_step(rep)
        overdue_step(other_rep)
        # when
        reminders_scan()
        delivered_now = outbox_deliver_due().sent
    # then
    assert delivered_now == 0
    assert dict(OutboxMessage.objects.values_list("recipient_id", "send_after")) == {
        rep.pk: expected,
        other_rep.pk: expected,
    }


def test_it_sends_an_urgent_admin_escalation_outside_working_hours(rep, manager, admin_user):
    # given: a step reminded, escalated to the manager, and still overdue; the admin works 9–18 UTC
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(
        escalate_after_hours=24, escalate_to_admin_after_hours=12
    )
    start = datetime.datetime(2025, 6, 9, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        step = overdue_step(rep)
        reminders_scan()
        outbox_deliver_due()
        traveller.move_to(start + datetime.timedelta(hours=24))
        reminders_scan()
        outbox_deliver_due()
        # when: 12 hours later it is 22:00 UTC, outside the admin's working hours
        traveller.move_to(start + datetime.timedelta(hours=36))
        reminders_scan()
        outbox_deliver_due()
    # then
    rows = {r.version: r for r in OutboxMessage.objects.filter(item_id=step.pk)}
    assert {level: r.recipient_id for level, r in rows.items()} == {1: rep.pk, 2: manager.pk, 3: admin_user.pk}
    assert rows[3].urgent and rows[3].status == MessageStatus.SENT
    assert [email.to[0] for email in mail.outbox] == [rep.email, manager.email, admin_user.email]
    assert mail.outbox[1].subject.startswith("[Escalation]")


def test_it_escalates_to_the_manager_only_if_still_overdue_after_the_delay(rep, manager):
    # given
    start = NOON_ISH
    with time_machine.travel(start, tick=False) as traveller:
        still_late = overdue_step(rep)
        resolved = overdue_step(rep)
        reminders_scan()
        outbox_deliver_due()
        HandoffStep.objects.filter(pk=resolved.pk).update(status=StepStatus.DONE)
        traveller.move_to(start + datetime.timedelta(hours=23))
        too_early = reminders_scan().escalated
        # when
        traveller.move_to(start + datetime.timedelta(hours=24))
        escalated = reminders_scan().escalated
        again = reminders_scan().escalated
    # then
    assert (too_early, escalated, again) == (0, 1, 0)
    assert list(OutboxMessage.objects.filter(version=2).values_list("item_id", "recipient_id")) == [
        (still_late.pk, manager.pk)
    ]


def test_it_cancels_a_reminder_whose_item_was_completed_just_before_sending(rep, at_noon):
    # given: the reminder is in the outbox, then the step is done before a worker sends it
    step = overdue_step(rep)
    reminders_scan()
    HandoffStep.objects.filter(pk=step.pk).update(status=StepStatus.DONE, done_at=timezone.now())
    # when
    result = outbox_deliver_due()
    # then
    assert result.cancelled == 1 and result.sent == 0
    assert OutboxMessage.objects.get().status == MessageStatus.CANCELLED
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_it_cancels_pending_reminders_when_the_item_is_resolved(rep, at_noon):
    # given
    step = overdue_step(rep)
    other = overdue_step(rep)
    reminders_scan()
    HandoffStep.objects.filter(pk=step.pk).update(status=StepStatus.DONE)
    # when: the handoffs app says so, and a bogus signal for a step still overdue
    overdue_item_resolved.send(sender=HandoffStep, item_kind="step_overdue", item_id=step.pk)
    cancelled_bogus = reminders_cancel_for_item(item_kind=ReminderKind.STEP_OVERDUE, item_id=other.pk)
    # then
    assert OutboxMessage.objects.get(item_id=step.pk).status == MessageStatus.CANCELLED
    assert OutboxMessage.objects.get(item_id=other.pk).status == MessageStatus.PENDING
    assert cancelled_bogus == 0


def test_it_rings_the_bell_but_sends_no_email_when_the_user_switched_that_kind_off(rep, at_noon):
    # given
    NotificationPreference.objects.create(user=rep, kind=NotificationKind.STEP_OVERDUE, email=False)
    overdue_step(rep)
    CheckInFactory(handoff__deal__owner=rep, due_on=NOON_ISH.date() - datetime.timedelta(days=1))
    reminders_scan()
    # when
    outbox_deliver_due()
    # then: the check-in is e-mailed, the step only rings the bell
    assert OutboxMessage.objects.filter(status=MessageStatus.SENT).count() == 2
    assert len(mail.outbox) == 1 and "check-in" in mail.outbox[0].subject
    assert set(Notification.objects.filter(user=rep).values_list("kind", flat=True)) == {
        ReminderKind.STEP_OVERDUE,
        ReminderKind.CHECKIN_OVERDUE,
    }


def test_it_sends_digest_users_one_email_a_day_with_all_their_reminders(rep):
    # given: a digest user whose day starts at 9 UTC; it is 10:00, so the digest goes tomorrow
    rep.wants_daily_digest = True
    rep.save(update_fields=["wants_daily_digest"])
    with time_machine.travel(NOON_ISH, tick=False) as traveller:
        first = overdue_step(rep)
        second = overdue_step(rep, days_late=3)
        reminders_scan()
        assert outbox_deliver_due().sent == 0
        # when
        traveller.move_to(datetime.datetime(2025, 6, 12, 9, 0, tzinfo=datetime.UTC))
        outbox_deliver_due()
    # then
    [email] = mail.outbox
    assert "2 items" in email.subject
    assert first.title in email.body and second.title in email.body
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert len(set(OutboxMessage.objects.values_list("message_id", flat=True))) == 1
    assert Notification.objects.filter(user=rep).count() == 2


def test_it_sends_a_digest_user_one_email_when_their_reminders_fill_several_batches(rep, other_rep, settings):
    # given: a digest user with five reminders due tomorrow morning, batches of two, and
    # someone else's reminders due as well
    settings.BATON_OUTBOX_BATCH_SIZE = 2
    rep.wants_daily_digest = True
    rep.save(update_fields=["wants_daily_digest"])
    with time_machine.travel(NOON_ISH, tick=False) as traveller:
        steps = [overdue_step(rep, days_late=days) for days in range(2, 7)]
        overdue_step(other_rep)
        overdue_step(other_rep)
        reminders_scan()
        traveller.move_to(datetime.datetime(2025, 6, 12, 9, 0, tzinfo=datetime.UTC))
        # when: two workers claim at the same moment, then each delivers what it holds
        first = outbox_claim()
        second = outbox_claim()
        outbox_deliver_claimed(claim=first)
        outbox_deliver_claimed(claim=second)
        outbox_deliver_due()
    # then: one digest with all five, and the other user's two reminders
    [digest] = [email for email in mail.outbox if email.to == [rep.email]]
    assert "5 items" in digest.subject
    assert all(step.title in digest.body for step in steps)
    assert len([email for email in mail.outbox if email.to == [other_rep.email]]) == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_it_claims_a_row_again_only_after_its_lease_expired(rep, at_noon, settings):
    # given: a worker claimed the reminder and died
    settings.BATON_OUTBOX_LEASE_SECONDS = 120
    overdue_step(rep)
    reminders_scan()
    claimed = outbox_claim().ids
    # when
    while_leased = outbox_claim().ids
    at_noon.shift(121)
    after_expiry = outbox_claim().ids
    # then
    assert len(claimed) == 1
    assert while_leased == []
    assert after_expiry == claimed
    assert OutboxMessage.objects.get().attempts == 2


def test_it_emails_a_notification_through_the_outbox_unless_that_kind_is_off(rep, other_rep, at_noon):
    # given
    NotificationPreference.objects.create(user=other_rep, kind=NotificationKind.CHECKIN_ISSUE, email=False)
    # when
    notification_create(user=rep, kind="checkin_issue", title="Acme raised an issue", body="Invoices are wrong.")
    notification_create(user=other_rep, kind="checkin_issue", title="Beta raised an issue")
    outbox_deliver_due()
    # then
    [email] = mail.outbox
    assert email.to == [rep.email] and email.subject == "Acme raised an issue"
    assert "Invoices are wrong." in email.body
    assert OutboxMessage.objects.filter(kind=ReminderKind.NOTIFICATION, status=MessageStatus.SENT).count() == 2
    # the bell has exactly the two notifications, no copy made by the worker
    assert Notification.objects.count() == 2


def test_it_lets_only_an_admin_retry_a_failed_reminder(rep, admin_user, at_noon):
    # given
    overdue_step(rep)
    reminders_scan()
    OutboxMessage.objects.update(status=MessageStatus.FAILED, attempts=6, last_error="SMTPDataError: 451")
    reminder = OutboxMessage.objects.get()
    # when / then
    with pytest.raises(PermissionDenied):
        outbox_retry(message_id=reminder.pk, actor=rep)
    outbox_retry(message_id=reminder.pk, actor=admin_user)
    outbox_deliver_due()
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.SENT
    assert len(mail.outbox) == 1


def test_it_does_not_remind_an_inactive_admin(rep, manager, at_noon):
    # given: the only admin left the company
    UserFactory(username="gone", role=Role.ADMIN, is_active=False)
    OrganisationSettings.objects.filter(pk=OrganisationSettings.load().pk).update(escalate_to_admin_after_hours=1)
    # when
    result = reminders_scan()
    # then
    assert result.escalated == 0


def test_every_item_kind_the_handoffs_app_sends_names_a_reminder_kind():
    # The contract of handoffs.signals.overdue_item_resolved: a kind followups does not
    # know would leave its reminders pending until the next send-time check.
    from handoffs.signals import ITEM_KINDS

    assert set(ITEM_KINDS) <= set(ReminderKind.values) - {ReminderKind.NOTIFICATION}


def test_two_reminders_for_two_items_never_read_the_same(rep, at_noon):
    # given: one account, two hand-offs, a check-in of each due the same day
    first = CheckInFactory(rep=rep, due_on=timezone.localdate() - datetime.timedelta(days=3))
    second = CheckInFactory(
        rep=rep,
        account=first.account,
        handoff__deal__account=first.account,
        due_on=first.due_on,
    )
    rep.working_hours_start, rep.working_hours_end = 0, 24
    rep.save(update_fields=["working_hours_start", "working_hours_end"])
    # when
    reminders_scan()
    outbox_deliver_due()
    # then
    assert len(mail.outbox) == 2 and first.handoff_id != second.handoff_id
    one, other = mail.outbox
    assert one.subject != other.subject
    assert one.body != other.body


def test_subjects_are_plain_text_a_mail_client_reads_back_as_written(rep, at_noon):
    # given: an account and a notification whose names need escaping in HTML, and a dash
    import email
    import email.policy

    step = overdue_step(rep)
    account = step.handoff.deal.account
    account.name = 'O\'Brien & Sons "Logistics" — Europe'
    account.save(update_fields=["name"])
    deal = step.handoff.deal
    deal.title = "Fleet <pilot>"
    deal.save(update_fields=["title"])
    notification_create(user=rep, kind="checkin_issue", title="O'Brien raised an issue — invoices")
    # when
    reminders_scan()
    outbox_deliver_due()
    # then
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == sorted(
        ["O'Brien raised an issue — invoices", f"Hand-off step “{step.title}” for Fleet <pilot> is overdue"]
    )
    for message in mail.outbox:
        parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        assert parsed["Subject"] == message.subject
        assert "&#x27;" not in message.body and "&lt;" not in message.body
