"""A rep sets a deal's next step in place (issue 16) — from My day, a board card and the
deal page — without leaving the page; a date in the past is refused in place; and the
same edit works with JavaScript switched off (the form page, then back)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.models import Deal
from tests.conftest import sign_in
from tests.factories import DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def today_of(user) -> datetime.date:
    return timezone.localdate(timezone=user.tzinfo)


def count_navigations(page) -> list[str]:
    """The URLs the page's main frame navigates to from now on (a swap in place adds none)."""
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    return navigations


def edit_in_place(page, deal: Deal, *, what: str, when: datetime.date):
    component = page.get_by_test_id(f"next-step-{deal.pk}")
    component.get_by_test_id(f"next-step-edit-{deal.pk}").click()
    component.locator("input[name=next_step]").fill(what)
    component.locator("input[name=next_step_due]").fill(when.isoformat())
    component.get_by_test_id(f"next-step-save-{deal.pk}").click()
    return component


def test_a_rep_moves_an_overdue_next_step_from_my_day_in_place(page, login_as, rep):
    # given: a deal whose next step was due two days ago
    today = today_of(rep)
    deal = DealFactory(owner=rep, title="Harbour renewal", next_step="Send the quote")
    Deal.objects.filter(pk=deal.pk).update(next_step_due=today - datetime.timedelta(days=2))
    login_as(rep)
    page.goto("/my-day/")
    overdue = page.get_by_test_id("overdue-next-steps")
    expect(overdue.get_by_test_id(f"next-step-{deal.pk}")).to_contain_text("Send the quote")
    url_before = page.url
    navigations = count_navigations(page)

    # when: they move it to next week, in place
    component = edit_in_place(page, deal, what="Call Dana about the quote", when=today + datetime.timedelta(days=7))

    # then: the new next step shows where the old one was, on the same page
    expect(component).to_contain_text("Call Dana about the quote")
    expect(component.get_by_test_id(f"next-step-edit-{deal.pk}")).to_be_visible()
    expect(component.locator("form")).to_have_count(0)
    # the focus is back on the edit link, and screen readers hear that it was saved
    expect(component.get_by_test_id(f"next-step-edit-{deal.pk}")).to_be_focused()
    expect(component.get_by_role("status")).to_have_text("Next step saved.")
    assert page.url == url_before
    assert navigations == []
    # and after a reload, it is no longer overdue (My day's selector decides)
    page.reload()
    expect(page.get_by_test_id("overdue-next-steps").get_by_test_id(f"next-step-{deal.pk}")).to_have_count(0)


def test_a_rep_sets_the_next_step_on_a_board_card_in_place(page, login_as, rep):
    # given
    today = today_of(rep)
    deal = DealFactory(owner=rep, title="Board deal", next_step="Demo")
    login_as(rep)
    page.goto("/pipeline/")
    url_before = page.url
    navigations = count_navigations(page)

    # when
    edit_in_place(page, deal, what="Send the pilot plan", when=today + datetime.timedelta(days=3))

    # then: the card (re-rendered with the board) shows it; the page did not change
    card = page.get_by_test_id(f"card-{deal.pk}")
    expect(card.get_by_test_id(f"next-step-{deal.pk}")).to_contain_text("Send the pilot plan")
    expect(card).to_have_attribute("data-version", "2")
    assert page.url == url_before
    assert navigations == []
    deal.refresh_from_db()
    assert deal.next_step == "Send the pilot plan"


def test_a_rep_sets_the_next_step_on_the_deal_page_and_a_past_date_is_refused_in_place(page, login_as, rep):
    # given
    today = today_of(rep)
    deal = DealFactory(owner=rep, title="Deal page deal", next_step="Intro call")
    login_as(rep)
    page.goto(f"/deals/{deal.pk}/")
    url_before = page.url
    navigations = count_navigations(page)
    card = page.get_by_test_id("next-step")

    # when: a date in the past
    component = edit_in_place(page, deal, what="Follow up on pricing", when=today - datetime.timedelta(days=1))

    # then: the error shows on the date, in place, and what was typed stays
    expect(component.get_by_test_id(f"next-step-due-error-{deal.pk}")).to_contain_text("cannot be due in the past")
    expect(component.locator("input[name=next_step]")).to_have_value("Follow up on pricing")
    expect(component.locator("input[name=next_step_due]")).to_have_attribute("aria-invalid", "true")
    expect(component.locator("input[name=next_step_due]")).to_be_focused()

    # when: they give a date to come
    component.locator("input[name=next_step_due]").fill((today + datetime.timedelta(days=2)).isoformat())
    component.get_by_test_id(f"next-step-save-{deal.pk}").click()

    # then
    expect(card.get_by_test_id(f"next-step-{deal.pk}")).to_contain_text("Follow up on pricing")
    expect(card.get_by_test_id(f"next-step-edit-{deal.pk}")).to_be_visible()
    assert page.url == url_before
    assert navigations == []
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due) == ("Follow up on pricing", today + datetime.timedelta(days=2))


def test_cancel_puts_the_next_step_back_as_it_was(page, login_as, rep):
    deal = DealFactory(owner=rep, next_step="Keep me")
    login_as(rep)
    page.goto(f"/deals/{deal.pk}/")
    component = page.get_by_test_id(f"next-step-{deal.pk}")
    component.get_by_test_id(f"next-step-edit-{deal.pk}").click()
    expect(component.locator("input[name=next_step]")).to_be_focused()
    component.locator("input[name=next_step]").fill("Not saved")
    component.get_by_test_id(f"next-step-cancel-{deal.pk}").click()
    expect(component).to_contain_text("Keep me")
    expect(component.locator("form")).to_have_count(0)
    deal.refresh_from_db()
    assert deal.next_step == "Keep me"


def test_the_next_step_is_set_without_javascript(page_without_javascript, rep):
    # given: a browser with JavaScript switched off, signed in through the login form
    today = today_of(rep)
    deal = DealFactory(owner=rep, title="No script deal", next_step="Old step")
    page = page_without_javascript
    sign_in(page, rep)
    page.goto(f"/deals/{deal.pk}/")

    # when: the edit link opens the form page
    page.get_by_test_id(f"next-step-edit-{deal.pk}").click()
    page.wait_for_url(re.compile(rf"/deals/{deal.pk}/next-step/\?next=/deals/{deal.pk}/$"))
    form = page.get_by_test_id(f"next-step-{deal.pk}")
    # a date in the past is refused on the form page, with what was typed
    form.locator("input[name=next_step]").fill("Send the contract")
    form.locator("input[name=next_step_due]").fill((today - datetime.timedelta(days=3)).isoformat())
    form.get_by_test_id(f"next-step-save-{deal.pk}").click()
    page.wait_for_load_state("load")
    expect(page.get_by_test_id(f"next-step-due-error-{deal.pk}")).to_contain_text("cannot be due in the past")
    expect(form.locator("input[name=next_step]")).to_have_value("Send the contract")
    # and a date to come saves it and goes back to the deal page
    form.locator("input[name=next_step_due]").fill((today + datetime.timedelta(days=4)).isoformat())
    form.get_by_test_id(f"next-step-save-{deal.pk}").click()

    # then
    page.wait_for_url(f"**/deals/{deal.pk}/")
    expect(page.get_by_role("alert").filter(has_text="Next step saved")).to_be_visible()
    expect(page.get_by_test_id(f"next-step-{deal.pk}")).to_contain_text("Send the contract")
