"""A rep logs an overdue check-in at which the customer raised an issue; the delivery
owner hears about it in the app and by email."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from followups.choices import CheckInStatus
from followups.models import CheckIn, Notification
from followups.services.outbox import outbox_deliver_due
from tests.factories import CheckInFactory
from tests.followups.test_checkin_services import accepted_handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_logs_an_overdue_checkin_at_risk_and_the_delivery_owner_is_told(page, login_as, rep, delivery_lead):
    # given: a rep in New York, whose date is not UTC's for four or five hours every
    # evening (make test-clocks runs at such an hour): the page counts the rep's days
    rep.timezone = "America/New_York"
    rep.save(update_fields=["timezone"])
    reps_today = timezone.localdate(timezone=rep.tzinfo)
    handoff = accepted_handoff(rep=rep, delivery_owner=delivery_lead, closed_on=reps_today)
    overdue = CheckInFactory(handoff=handoff, cadence_days=7, due_on=reps_today - datetime.timedelta(days=2))
    upcoming = CheckInFactory(handoff=handoff, cadence_days=30, due_on=reps_today + datetime.timedelta(days=20))
    delivery_lead.working_hours_start, delivery_lead.working_hours_end = 0, 24
    delivery_lead.save(update_fields=["working_hours_start", "working_hours_end"])
    mail.outbox.clear()
    login_as(rep)

    # when: the rep opens My check-ins from the navigation and logs the overdue one
    page.get_by_role("link", name="Check-ins").click()
    overdue_section = page.get_by_test_id("checkins-overdue")
    assert "2 days overdue" in overdue_section.inner_text()
    expect(page.get_by_test_id(f"checkin-{upcoming.pk}")).to_be_visible()
    overdue_section.get_by_test_id(f"checkin-{overdue.pk}").get_by_role("link", name="Log").click()
    page.get_by_label("Call", exact=True).check()
    page.get_by_label("At risk").check()
    page.get_by_label("Notes").fill("Sponsor frustrated by the slow start.")
    page.get_by_label("Issues raised").fill("The SSO promised for go-live is not working yet.")
    page.get_by_role("button", name="Log check-in").click()

    # then: back on My check-ins, the check-in is in "Recently done", at risk
    page.get_by_text(f"Check-in with {overdue.account} logged.").wait_for()
    done_section = page.get_by_test_id("checkins-done")
    assert "At risk" in done_section.get_by_test_id(f"checkin-{overdue.pk}").inner_text()
    assert page.get_by_test_id("checkins-overdue").get_by_test_id(f"checkin-{overdue.pk}").count() == 0
    overdue.refresh_from_db()
    assert overdue.status == CheckInStatus.DONE
    assert (overdue.channel, overdue.sentiment) == ("call", "at_risk")
    # the delivery owner has a notification and an email
    notification = Notification.objects.get(user=delivery_lead)
    assert notification.kind == "checkin_issue"
    assert "SSO promised for go-live" in notification.body
    # (the email goes through the reminder outbox: deliver what is due, as the worker does)
    outbox_deliver_due()
    assert [email.to for email in mail.outbox] == [[delivery_lead.email]]
    assert "SSO promised for go-live" in mail.outbox[0].body
    assert CheckIn.objects.get(pk=upcoming.pk).status == CheckInStatus.SCHEDULED
