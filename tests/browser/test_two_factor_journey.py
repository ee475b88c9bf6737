"""A manager turns two-factor sign-in on from their profile page — scanning nothing: the
test reads the key printed under the QR code, as someone without a camera would type it
into their app — signs out, and signs in again with the password, then a code."""

from __future__ import annotations

import datetime
from base64 import b32decode

import pytest
import time_machine
from django_otp.oath import totp
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP = datetime.timedelta(seconds=30)


def real_now() -> datetime.datetime:
    """The wall clock, even under make test-clocks' pinned one: Chromium keeps the session
    cookie by its own clock, so the server's must not be months away from it."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(datetime.UTC)
    return datetime.datetime.now(datetime.UTC)


def app_code(key_as_shown: str) -> str:
    """What an authenticator app shows now for the key typed in from the page."""
    key = b32decode(key_as_shown.replace(" ", "").upper())
    return f"{totp(key):06d}"


def test_a_manager_enrols_then_signs_in_with_a_code(page, login_as, manager):
    csp_problems = []
    page.on(
        "console",
        lambda message: csp_problems.append(message.text) if "Content Security Policy" in message.text else None,
    )
    # The clock runs, and jumps 30 seconds where a new code is due (a code works once).
    with time_machine.travel(real_now(), tick=True) as clock:
        # given: a manager on their profile page
        login_as(manager)
        page.goto("/me/profile/")
        section = page.get_by_test_id("two-factor")
        # when: they set up two-factor sign-in
        section.get_by_role("button", name="Set up two-factor sign-in").click()
        # then: a QR code, and the same key as text
        expect(page.get_by_test_id("two-factor-qr")).to_be_visible()
        key = page.get_by_test_id("two-factor-secret").inner_text()
        # when: they type the app's code
        page.get_by_label("Code from the app").fill(app_code(key))
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
        # then: it is on, and the ten backup codes are shown
        expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
        expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
        page.get_by_role("link", name="I have saved them — continue").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        # when: they sign out and in again with their password
        page.get_by_test_id("user-menu").click()
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        login_as(manager)
        # then: Baton asks for a code before anything else
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.goto("/deals/")
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        # when: a wrong code, then the app's new one
        page.get_by_label("Code").fill("000000" if app_code(key) != "000000" else "111111")
        page.get_by_role("button", name="Verify").click()
        expect(
            page.get_by_text("That code is not right (or was already used). 4 tries left.", exact=True)
        ).to_be_visible()
        clock.shift(STEP)
        page.get_by_label("Code").fill(app_code(key))
        page.get_by_role("button", name="Verify").click()
        # then: where they were going, signed in
        expect(page.get_by_role("heading", name="Deals")).to_be_visible()
        page.goto("/")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        page.goto("/me/profile/")
        expect(page.get_by_test_id("two-factor")).to_contain_text("On")
    assert csp_problems == []
