"""Issue 9, in Chromium: after a failed submit the form opens with a summary of its
errors and the cursor in the first field in error, and keeps what was typed."""

import pytest
from playwright.sync_api import expect

from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_deal_form_summarises_its_errors_and_focuses_the_first_invalid_field(page, login_as, rep):
    # given: a rep fills in a new deal but leaves the next step empty
    account = AccountFactory(owner=rep, name="Northwind Logistics")
    login_as(rep)
    page.goto("/deals/new/")
    page.locator("#id_title").fill("Fleet tracking roll-out")
    page.locator("#id_account").select_option(str(account.pk))
    page.locator("#id_amount").fill("84000")
    page.locator("#id_next_step").fill("")
    # when
    page.get_by_role("button", name="Open the deal").click()
    page.wait_for_load_state("load")
    # then: the summary is at the top, names the field, and the cursor is in that field
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    assert "Next step" in summary.inner_text()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_next_step'")
    assert page.locator("#id_title").input_value() == "Fleet tracking roll-out"
    # and the summary's link puts the cursor in its field
    page.locator("#id_title").focus()
    summary.get_by_role("link").first.click()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_next_step'")
