"""The hand-off of issue 4 in Chromium: the manager proposes a delivery lead, the lead
reads the brief and accepts, the rep schedules the three-way meeting with a customer
contact (the invite parses as a calendar event), records it and confirms the promise;
the customer's summary e-mail and status page name the new owner."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from followups.services.outbox import outbox_deliver_due
from handoffs.choices import HandoffStatus, PromiseStatus, Stage
from handoffs.models import Handoff, Meeting
from handoffs.services.deals import deal_close
from tests.factories import ContactFactory, DealContactFactory, DealFactory, PromiseFactory, give_full_packet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_out(page):
    page.context.clear_cookies()


def test_a_won_deal_is_handed_off_through_a_three_way_meeting(page, login_as, live_server, rep, manager, delivery_lead):
    # given: the rep has just won a deal with a customer contact and a promise
    deal = DealFactory(owner=rep, title="Fleet tracking roll-out", stage=Stage.NEGOTIATE)
    contact = ContactFactory(account=deal.account, first_name="Hana", last_name="Ito", email="hana@northwind.test")
    DealContactFactory(deal=deal, contact=contact)
    PromiseFactory(deal=deal, description="Live by 1 March")
    give_full_packet(deal)
    deal_close(
        actor=rep,
        deal=deal,
        outcome=Stage.WON,
        closed_on=timezone.localdate(),
        final_amount=Decimal("84000"),
        reason="Best fit for their fleet.",
    )
    handoff = Handoff.objects.get(deal=deal)

    # when: the manager proposes the delivery lead from the hand-off page
    login_as(manager)
    page.goto(f"/handoffs/{handoff.pk}/")
    page.get_by_label("Propose a delivery lead").select_option(str(delivery_lead.pk))
    page.get_by_role("button", name="Propose").click()
    panel = page.get_by_test_id("ownership-panel")
    panel.get_by_text("waiting for their answer").wait_for()
    _log_out(page)

    # and the lead finds it waiting for them, reads the brief and accepts
    login_as(delivery_lead)
    page.get_by_role("link", name="My hand-offs").click()
    waiting = page.get_by_test_id("waiting-for-me")
    expect(waiting.get_by_text("Fleet tracking roll-out")).to_be_visible()
    waiting.get_by_role("link", name="Read the brief").click()
    brief = page.get_by_test_id("handoff-brief")
    expect(brief.get_by_text("Live by 1 March")).to_be_visible()
    expect(brief.get_by_text("Hana Ito")).to_be_visible()
    page.get_by_role("link", name="Accept or decline").click()
    page.get_by_role("button", name="Accept ownership").click()
    page.get_by_test_id("delivery-owner").wait_for()
    assert str(delivery_lead) in page.get_by_test_id("delivery-owner").inner_text()
    _log_out(page)

    # and the rep schedules the meeting with the customer contact
    login_as(rep)
    page.goto(f"/handoffs/{handoff.pk}/")
    page.get_by_role("link", name="Schedule the meeting").click()
    starts_at = (timezone.localtime(timezone.now(), rep.tzinfo) + datetime.timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    page.get_by_label("Date and time").fill(starts_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Place or video link").fill("https://meet.example/northwind")
    page.get_by_label("Hana Ito").check()
    page.get_by_role("button", name="Save and send the invites").click()
    page.get_by_text("The meeting is scheduled").wait_for()

    # then: every attendee's invite parses as the same calendar event
    assert outbox_deliver_due().emailed >= 3
    invites = [m for m in mail.outbox if any(t.startswith("text/calendar") for _, t in m.alternatives)]
    assert sorted(address for m in invites for address in m.to) == sorted(
        [rep.email, delivery_lead.email, "hana@northwind.test"]
    )
    meeting = Meeting.objects.get(handoff=handoff)
    for invite in invites:
        ics = next(content for content, mimetype in invite.alternatives if mimetype.startswith("text/calendar"))
        event = Calendar.from_ical(ics).walk("VEVENT")[0]
        assert str(event["UID"]) == f"{meeting.uid}@baton"
        assert event.decoded("DTSTART") == starts_at

    # when: the meeting has taken place, the rep records it and confirms the promise
    with time_machine.travel(starts_at + datetime.timedelta(hours=1), tick=True):
        # A day later the session has idled out (issue 15): the rep signs in again.
        login_as(rep)
        page.goto(f"/handoffs/{handoff.pk}/")
        page.get_by_role("link", name="Record the meeting").click()
        page.get_by_label("What was agreed").fill("Kick-off on Monday; 300 trucks live by 1 March.")
        page.get_by_test_id("promise-review").get_by_label("Confirmed").check()
        page.get_by_role("button", name="Record the meeting").click()
        page.get_by_text("The meeting is recorded").wait_for()

        # then: the hand-off counts the three-way meeting and the promise is confirmed
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.MEETING_HELD
        assert deal.promises.get().status == PromiseStatus.CONFIRMED

        # and the customer's summary names the new owner and links their status page
        mail.outbox.clear()
        outbox_deliver_due()
        summary = next(m for m in mail.outbox if m.to == ["hana@northwind.test"])
        assert str(delivery_lead) in summary.subject
        link = next(word for word in summary.body.split() if "/status/" in word)
        _log_out(page)
        page.goto(link.replace("http://testserver", live_server.url))
        owner = page.get_by_test_id("customer-owner")
        assert str(delivery_lead) in owner.inner_text()
        assert delivery_lead.email in owner.inner_text()
        assert "Confirmed" in page.get_by_test_id("customer-promises").inner_text()


def test_a_lead_declines_with_a_reason_and_the_manager_proposes_someone_else(
    page, login_as, rep, manager, delivery_lead, delivery_team
):
    # given: a won deal proposed to the delivery lead
    from accounts.choices import Role
    from handoffs.services.handoffs import handoff_propose_owner
    from tests.factories import UserFactory
    from tests.handoffs.handoff_builders import won_handoff

    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    other_lead = UserFactory(
        username="lee", first_name="Lee", last_name="Moreau", role=Role.DELIVERY, team=delivery_team
    )

    # when: the lead tries to decline without a reason, then with one (htmx, no reload)
    login_as(delivery_lead)
    page.goto(f"/handoffs/{handoff.pk}/")
    page.get_by_role("button", name="Decline").click()
    page.get_by_text("Say why you decline").first.wait_for()
    page.get_by_label("Or decline, saying why").fill("At capacity until March.")
    page.get_by_role("button", name="Decline").click()
    page.get_by_text("You declined the hand-off").wait_for()
    page.context.clear_cookies()

    # then: the manager sees it needs a new owner, and proposes someone else
    login_as(manager)
    page.goto("/handoffs/")
    expect(page.get_by_test_id("handoff-table").get_by_text("Declined — needs a new owner")).to_be_visible()
    page.goto(f"/handoffs/{handoff.pk}/")
    assert "At capacity until March." in page.get_by_test_id("ownership-panel").inner_text()
    page.get_by_label("Propose someone else").select_option(str(other_lead.pk))
    page.get_by_role("button", name="Propose").click()
    page.get_by_test_id("ownership-panel").get_by_text("waiting for their answer").wait_for()
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OWNER_PROPOSED and handoff.proposed_owner == other_lead
