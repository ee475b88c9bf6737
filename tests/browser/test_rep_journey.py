"""The rep's journey of issue 3, in Chromium: an account with two contacts, a deal with
context, a next step and two promises, moved through the stages on the board and
logged won — and its hand-off exists."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.choices import HandoffStatus, Stage
from handoffs.models import Deal, Handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_until_htmx_is_idle(page) -> None:
    """A menu changed before htmx has processed the page (or the board it just swapped
    in) fires no request: wait until the page is loaded and no htmx swap is under way."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => window.htmx && document.readyState === 'complete'"
        " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def test_a_rep_takes_a_deal_from_a_new_account_to_won_and_its_hand_off_starts(page, login_as, rep):
    # given: a rep in New York, whose date is not UTC's for four or five hours every
    # evening (make test-clocks runs at such an hour), logs in and lands on My day
    rep.timezone = "America/New_York"
    rep.save(update_fields=["timezone"])
    login_as(rep)
    expect(page.get_by_role("heading", name="My day")).to_be_visible()
    # when: they create the account and its two contacts
    page.get_by_role("link", name="Accounts").first.click()
    page.get_by_role("link", name="New account").click()
    page.locator("#id_name").fill("Northwind Logistics")
    page.locator("#id_domain").fill("northwind.test")
    page.get_by_role("button", name="Create the account").click()
    page.get_by_role("link", name="Add contact").click()
    page.locator("#id_first_name").fill("Hana")
    page.locator("#id_last_name").fill("Ito")
    page.locator("#id_title").fill("COO")
    page.locator("#id_email").fill("hana@northwind.test")
    page.get_by_role("button", name="Save and add another").click()
    page.locator("#id_first_name").fill("Marc")
    page.locator("#id_last_name").fill("Dubois")
    page.locator("#id_email").fill("marc@northwind.test")
    page.get_by_role("button", name="Save", exact=True).click()
    contacts = page.get_by_test_id("account-contacts")
    expect(contacts.get_by_text("Hana Ito")).to_be_visible()
    expect(contacts.get_by_text("Marc Dubois")).to_be_visible()
    # and they open a deal with context and a next step
    page.get_by_role("link", name="New deal").click()
    page.locator("#id_title").fill("Fleet tracking roll-out")
    page.locator("#id_amount").fill("84000")
    page.locator("#id_lead_source").select_option("referral")
    page.locator("#id_context_origin").fill("Referred by Globex's COO.")
    page.locator("#id_context_known").fill("Saw the demo; knows the pricing.")
    page.locator("#id_context_talked_to").fill("Hana (COO) and Marc (IT).")
    page.locator("#id_context_needs").fill("Live tracking for 300 trucks.")
    page.locator("#id_next_step").fill("Send the proposal")
    next_step_due = timezone.localdate(timezone=rep.tzinfo) + datetime.timedelta(days=2)
    page.locator("#id_next_step_due").fill(next_step_due.isoformat())
    page.get_by_role("button", name="Open the deal").click()
    page.get_by_role("heading", name="Fleet tracking roll-out").wait_for()

    # and name both contacts on it, with their roles, and record two promises
    for name, role in (("Hana Ito", "decision_maker"), ("Marc Dubois", "champion")):
        form = page.get_by_test_id("deal-contact-form")
        form.locator("#id_contact").select_option(label=name)
        form.locator("#id_role").select_option(role)
        form.get_by_role("button", name="Add to deal").click()
    for promise in ("Live in 3 depots by 1 June", "Weekly status call"):
        page.locator("#id_description").fill(promise)
        page.get_by_role("button", name="Add promise").click()
    expect(page.get_by_test_id("deal-contacts").get_by_text("Decision maker")).to_be_visible()
    expect(page.get_by_test_id("promises").get_by_text("Weekly status call")).to_be_visible()
    # and move it through the stages on the board, with the card's stage menu
    page.get_by_role("link", name="Pipeline").first.click()
    page.wait_for_url("**/pipeline/")
    deal_pk = Deal.objects.get(title="Fleet tracking roll-out").pk
    stage_menu = page.get_by_test_id(f"stage-menu-{deal_pk}")
    for stage in ("Discover", "Propose", "Negotiate"):
        wait_until_htmx_is_idle(page)
        stage_menu.locator("summary").click()
        with page.expect_response(lambda response: "/stage/" in response.url):
            stage_menu.get_by_role("button", name=stage).click()
        page.get_by_test_id(f"column-{stage.lower()}").get_by_role("link", name="Fleet tracking roll-out").wait_for()

    # and log it won: choosing Won on the board opens the close form
    wait_until_htmx_is_idle(page)
    stage_menu.locator("summary").click()
    stage_menu.get_by_role("button", name="Won").click()
    page.wait_for_url("**/close/?outcome=won")
    assert page.get_by_label("Won").is_checked()
    page.locator("#id_reason").fill("Best fit for their fleet; strong champion.")
    page.get_by_role("button", name="Log the close").click()

    # then: the deal is won and its hand-off exists, in the database and on the page
    page.get_by_test_id("handoff-link").wait_for()
    deal = Deal.objects.get(title="Fleet tracking roll-out")
    assert deal.stage == Stage.WON
    # the close date the form proposed: the rep's today, not the server's
    assert deal.closed_on == timezone.localdate(timezone=rep.tzinfo)
    assert deal.deal_contacts.count() == 2
    assert deal.promises.count() == 2
    assert deal.has_context
    handoff = Handoff.objects.get(deal=deal)
    assert (handoff.status, handoff.rep) == (HandoffStatus.AWAITING_OWNER, rep)
    assert page.get_by_test_id("deal-stage").inner_text() == "Won"
    assert "Awaiting owner" in page.get_by_test_id("handoff-link").inner_text()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Hand-off started" in timeline
    assert "Moved from Propose to Negotiate." in timeline
