"""An admin exports everything Baton holds about a contact, then erases the contact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Contact
from tests.factories import ContactFactory, DealContactFactory, DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_exports_and_then_erases_a_contact(page, login_as, admin_user, rep):
    # given: a contact on one of the rep's deals
    deal = DealFactory(owner=rep, title="Orbital platform")
    contact = ContactFactory(account=deal.account, first_name="Grace", last_name="Hopper", email="grace@customer.test")
    DealContactFactory(deal=deal, contact=contact)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    login_as(admin_user)
    # when: from the contact's page to its personal data
    page.goto(f"/contacts/{contact.pk}/edit/")
    page.get_by_test_id("personal-data-card").get_by_role("link", name="Personal data…").click()
    # then
    expect(page.get_by_role("heading", name="Personal data of Grace Hopper")).to_be_visible()
    expect(page.get_by_test_id("held-counts")).to_contain_text("Deals they are on")
    # when: the export
    with page.expect_download() as download_info:
        page.get_by_test_id("export-personal-data").click()
    # then
    download = download_info.value
    assert download.suggested_filename == f"contact-{contact.pk}-personal-data.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["contact"]["email"] == "grace@customer.test"
    assert [deal["deal"] for deal in document["deals"]] == ["Orbital platform"]
    # when: a mistyped confirmation, then the right one
    form = page.get_by_test_id("erase-form")
    form.get_by_label("To confirm, type the contact's e-mail address or ERASE").fill("grace@elsewhere.test")
    form.get_by_role("button", name="Erase this contact").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("Type the contact's e-mail address or ERASE")
    page.get_by_test_id("erase-form").get_by_label("To confirm, type the contact's e-mail address or ERASE").fill(
        "grace@customer.test"
    )
    page.get_by_test_id("erase-form").get_by_role("button", name="Erase this contact").click()
    # then
    expect(page.get_by_test_id("contact-erased")).to_contain_text(f"Erased contact #{contact.pk}")
    expect(page.get_by_test_id("erase-form")).to_have_count(0)
    # and the account lists the contact as erased, without their name
    page.goto(f"/accounts/{deal.account_id}/")
    expect(page.get_by_text(f"Erased contact #{contact.pk}").first).to_be_visible()
    expect(page.get_by_text("Grace Hopper")).to_have_count(0)
    assert Contact.objects.get(pk=contact.pk).email == ""
    assert violations == []
