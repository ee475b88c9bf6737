"""Global search in Chromium (issue 16): a rep finds an account from the top bar with the
keyboard alone, and the same search works with JavaScript switched off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import sign_in
from tests.factories import AccountFactory, DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_finds_an_account_from_the_top_bar_with_the_keyboard(page, login_as, rep, outsider_team_rep):
    # given: the rep's account, a deal on another of theirs, and another team's account
    # with the same word in its name
    account = AccountFactory(owner=rep, name="Northwind Logistics", domain="northwind.test")
    DealFactory(owner=rep, title="Northwind fleet tracking", account__name="Fleetco")
    AccountFactory(owner=outsider_team_rep, name="Northwind Secret Holdings")
    login_as(rep)
    search_box = page.get_by_test_id("global-search")

    # when: they press "/" and type part of the account's name
    page.keyboard.press("/")
    expect(search_box).to_be_focused()
    page.keyboard.type("northw")

    # then: the dropdown shows what they may see, and nothing else
    dropdown = page.get_by_test_id("search-dropdown")
    expect(dropdown.get_by_role("option", name="Northwind Logistics")).to_be_visible()
    expect(dropdown.get_by_role("option", name="Northwind fleet tracking")).to_be_visible()
    expect(dropdown.get_by_text("Northwind Secret Holdings")).to_have_count(0)
    expect(search_box).to_have_attribute("aria-expanded", "true")

    # when: ArrowDown moves to the first result (deals come first, then accounts)
    page.keyboard.press("ArrowDown")
    expect(dropdown.get_by_role("option", name="Northwind fleet tracking")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    chosen = dropdown.get_by_role("option", name="Northwind Logistics")
    expect(chosen).to_have_attribute("aria-selected", "true")
    expect(search_box).to_have_attribute("aria-activedescendant", f"search-option-account-{account.pk}")

    # and Enter opens it
    page.keyboard.press("Enter")

    # then: they land on the account page
    page.wait_for_url(f"**/accounts/{account.pk}/")
    expect(page.get_by_role("heading", name="Northwind Logistics", level=1)).to_be_visible()


def test_ctrl_k_focuses_the_box_and_escape_closes_the_dropdown(page, login_as, rep):
    AccountFactory(owner=rep, name="Bluebird Bakery")
    login_as(rep)
    search_box = page.get_by_test_id("global-search")
    dropdown = page.get_by_test_id("search-dropdown")

    page.keyboard.press("Control+k")
    expect(search_box).to_be_focused()
    page.keyboard.type("bluebird")
    expect(dropdown.get_by_role("option", name="Bluebird Bakery")).to_be_visible()

    page.keyboard.press("Escape")
    expect(dropdown).to_be_hidden()
    expect(search_box).to_have_attribute("aria-expanded", "false")


def test_enter_without_a_chosen_result_opens_the_full_results_page(page, login_as, rep):
    AccountFactory(owner=rep, name="Kingfisher Ltd")
    login_as(rep)

    page.keyboard.press("/")
    page.keyboard.type("kingfisher")
    expect(page.get_by_test_id("search-dropdown").get_by_role("option", name="Kingfisher Ltd")).to_be_visible()
    page.keyboard.press("Enter")

    page.wait_for_url("**/search/?q=kingfisher")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()


def test_search_works_without_javascript(page_without_javascript, rep):
    # given: a browser with JavaScript switched off, signed in through the login form
    account = AccountFactory(owner=rep, name="Puffin Partners")
    page = page_without_javascript
    sign_in(page, rep)

    # when: they type in the top bar's box and press Enter (a plain GET form)
    page.get_by_test_id("global-search").fill("puffin")
    page.get_by_test_id("global-search").press("Enter")

    # then: the results page lists the account, and its link opens it
    page.wait_for_url("**/search/?q=puffin")
    results = page.get_by_test_id("search-page-results")
    results.get_by_role("link", name="Puffin Partners").click()
    page.wait_for_url(f"**/accounts/{account.pk}/")
    expect(page.get_by_role("heading", name="Puffin Partners", level=1)).to_be_visible()

    # and a URL typed by hand works too
    page.goto("/search/?q=puff")
    expect(page.get_by_test_id("search-page-results").get_by_role("link", name="Puffin Partners")).to_be_visible()
