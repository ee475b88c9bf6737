"""Issue 15's customer links in Chromium: the rep revokes a customer's status link from
the hand-off page, the old link shows the "no longer valid" page, the rep sends a fresh
one, and the link in the e-mail the customer received opens their status page."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from followups.services.outbox import outbox_deliver_due
from handoffs.selectors.handoffs import customer_status_token
from tests.factories import ContactFactory, DealContactFactory
from tests.handoffs.handoff_builders import accepted_handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_revokes_a_leaked_link_and_sends_a_fresh_one(page, login_as, live_server, rep, manager, delivery_lead):
    # given: an accepted hand-off whose customer holds the link of their summary
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    hana = ContactFactory(account=handoff.deal.account, first_name="Hana", last_name="Ito", email="hana@north.test")
    DealContactFactory(deal=handoff.deal, contact=hana)
    old_link = f"/status/{customer_status_token(handoff_id=handoff.pk, contact_id=hana.pk)}/"

    # when: the rep revokes it from the hand-off page
    login_as(rep)
    page.goto(f"/handoffs/{handoff.pk}/")
    card = page.get_by_test_id("customer-links")
    row = card.get_by_test_id("customer-link").filter(has_text="Hana Ito")
    row.get_by_text("Never sent").wait_for()
    row.get_by_role("button", name="Revoke").click()

    # then: the card says so, and the old link shows only who to ask for a new one
    row.get_by_text("Revoked").wait_for()
    card.get_by_text("no longer opens the status page").wait_for()
    customer = page.context.browser.new_context(base_url=live_server.url)
    customer_page = customer.new_page()
    customer_page.goto(old_link)
    refused = customer_page.get_by_test_id("customer-link-invalid")
    assert "This link is no longer valid" in refused.inner_text()
    assert str(rep) in refused.inner_text()
    assert handoff.deal.account.name not in customer_page.content()

    # when: the rep sends a fresh one, and it leaves through the outbox
    row.get_by_role("button", name="Send a fresh link").click()
    row.get_by_text("Being sent").wait_for()
    assert "hana@north.test" in card.get_by_role("status").inner_text()
    mail.outbox.clear()
    assert outbox_deliver_due().emailed == 1
    page.reload()
    page.get_by_test_id("customer-link").filter(has_text="Hana Ito").get_by_text("Active").wait_for()

    # then: the link in the e-mail Hana received opens her status page; the old one still does not
    [message] = [m for m in mail.outbox if m.to == ["hana@north.test"]]
    fresh_link = re.search(r"http://testserver(/status/\S+/)", message.body).group(1)
    customer_page.goto(fresh_link)
    assert "Hello Hana" in customer_page.content()
    assert str(delivery_lead) in customer_page.get_by_test_id("customer-owner").inner_text()
    customer_page.goto(old_link)
    customer_page.get_by_test_id("customer-link-invalid").wait_for()
    customer.close()
