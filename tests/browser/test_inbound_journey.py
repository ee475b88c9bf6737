"""Issue 13's closes straight from the CRM, in Chromium: an admin connects HubSpot, a
signed won deal arrives and its hand-off starts; an incomplete one waits for its packet,
the rep is shown what is missing, adds it, and the hand-off starts."""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.choices import Stage
from handoffs.inbound.signature import signature_of
from handoffs.models import Deal, Handoff
from tests.handoffs.inbound_helpers import sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def post_signed(url: str, secret: str, payload: dict) -> requests.Response:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Baton-Timestamp": stamp,
        "X-Baton-Signature": signature_of(secret=secret, timestamp=stamp, body=body),
    }
    return requests.post(url, data=body, headers=headers, timeout=10)


def won_today(name: str, owner_email: str) -> dict:
    payload = sample(name)
    payload["properties"]["closedate"] = timezone.localdate().isoformat()
    payload["properties"]["hubspot_owner_email"] = owner_email
    return payload


def test_a_won_deal_from_hubspot_starts_its_hand_off_and_an_incomplete_one_waits_for_the_rep(
    page, login_as, live_server, admin_user, rep
):
    # given: the admin connects HubSpot from the Inbound closes page
    login_as(admin_user)
    page.locator("#mainnav").get_by_role("link", name="Inbound closes").click()
    page.get_by_role("link", name="New source").click()
    page.locator("#id_name").fill("HubSpot")
    page.locator("#id_slug").fill("hubspot")
    page.locator("#id_kind").select_option("hubspot")
    page.locator("#id_default_owner").select_option(str(rep.pk))
    page.get_by_role("button", name="Create the source").click()
    endpoint = page.get_by_test_id("inbound-endpoint").inner_text().strip()
    assert endpoint == f"{live_server.url}/api/v1/inbound/hubspot/"
    page.get_by_text("Show the secret").click()
    secret = page.get_by_test_id("inbound-secret").inner_text().strip()

    # when: HubSpot's workflow posts a signed won deal with its full packet
    response = post_signed(endpoint, secret, won_today("hubspot_deal_won.json", rep.email))

    # then: the deal is won in Baton and its hand-off has started
    assert response.status_code == 201, response.text
    assert response.json()["deal"]["packet_pending"] is False
    page.locator("#mainnav").get_by_role("link", name="Inbound closes").click()
    deliveries = page.get_by_test_id("inbound-deliveries")
    expect(deliveries.get_by_text("Created")).to_be_visible()
    deliveries.get_by_role("link", name="Northwind — onboarding platform").click()
    assert page.get_by_test_id("deal-stage").inner_text() == "Won"
    expect(page.get_by_test_id("handoff-link")).to_be_visible()
    # when: a second won deal arrives with one customer contact where two are required
    response = post_signed(endpoint, secret, won_today("hubspot_deal_won_incomplete.json", rep.email))
    assert response.status_code == 201, response.text
    assert response.json()["deal"]["packet_missing"] == ["contacts"]
    pilot = Deal.objects.get(external_id="9876543299")
    assert pilot.stage == Stage.WON and not Handoff.objects.filter(deal=pilot).exists()

    # then: the rep sees it on My day, and the deal page says what is missing
    page.context.clear_cookies()
    login_as(rep)
    pending = page.get_by_test_id("my-day-packet-pending")
    expect(pending.get_by_text("customer contacts with their role")).to_be_visible()
    pending.get_by_role("link", name="Fabrikam — pilot").click()
    banner = page.get_by_test_id("packet-pending-banner")
    expect(banner.get_by_text("Name at least 2 customer contacts")).to_be_visible()
    assert page.get_by_test_id("packet-waive-form").count() == 0

    # when: the rep adds the missing contact on the account and names them on the deal
    page.get_by_role("link", name="New contact on Fabrikam").click()
    page.locator("#id_first_name").fill("Leo")
    page.locator("#id_last_name").fill("Brandt")
    page.locator("#id_email").fill("leo.brandt@fabrikam.example")
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"/deals/{pilot.pk}/")
    form = page.get_by_test_id("deal-contact-form")
    form.locator("#id_contact").select_option(label="Leo Brandt")
    form.locator("#id_role").select_option("finance")
    form.get_by_role("button", name="Add to deal").click()

    # then: the packet is complete and the hand-off has started
    page.wait_for_load_state("load")
    assert page.get_by_test_id("packet-pending-banner").count() == 0
    expect(page.get_by_test_id("handoff-link")).to_be_visible()
    pilot.refresh_from_db()
    assert pilot.packet_pending_since is None
    assert Handoff.objects.filter(deal=pilot).exists()
