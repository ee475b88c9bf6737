"""A rep's overdue step rings the bell; they read it, and switch that e-mail off."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from followups.models import NotificationPreference
from followups.services.outbox import outbox_deliver_due
from followups.services.reminders import reminders_scan
from tests.factories import CheckInFactory, HandoffStepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_sees_the_reminder_in_the_bell_reads_it_and_turns_that_email_off(page, login_as, rep, monkeypatch):
    # given: an overdue step and an overdue check-in, reminded by the worker
    monkeypatch.setattr("followups.services.outbox.outbox_wake_sender", lambda **kwargs: True)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    step = HandoffStepFactory(
        handoff__deal__owner=rep, assignee=rep, title="Countersign the contract", due_on=yesterday
    )
    CheckInFactory(handoff__deal__owner=rep, due_on=yesterday)
    rep.working_hours_start, rep.working_hours_end = 0, 24
    rep.save(update_fields=["working_hours_start", "working_hours_end"])
    reminders_scan()
    outbox_deliver_due()
    assert len(mail.outbox) == 2
    # when: the rep logs in
    login_as(rep)
    # then: the bell shows two unread
    bell_count = page.get_by_test_id("bell-count")
    bell_count.wait_for()
    assert bell_count.inner_text() == "2"
    # when: they open the list and mark the step's reminder read
    page.get_by_role("link", name="Notifications: 2 unread").click()
    row = page.get_by_test_id("notification").filter(has_text=step.title)
    row.get_by_role("button", name="Mark read").click()
    # then: the row is read and the bell counts one, without reloading the page
    row.get_by_role("button", name="Mark read").wait_for(state="detached")
    page.wait_for_function("() => document.querySelector('[data-testid=bell-count]').innerText === '1'")
    # when: mark all read
    page.get_by_role("button", name="Mark all read").click()
    page.get_by_text("All caught up").wait_for()
    page.get_by_test_id("bell-count").wait_for(state="detached")
    # when: on the profile, switch off e-mail for overdue hand-off steps
    page.goto("/me/profile/")
    page.get_by_label("Hand-off step overdue").uncheck()
    page.get_by_role("button", name="Save e-mail choices").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    # then
    assert NotificationPreference.objects.get(user=rep, kind="step_overdue").email is False
    assert page.get_by_label("Check-in overdue").is_checked()
