"""Dark mode follows the system setting (issue 16): baton.js sets <html data-bs-theme> from
prefers-color-scheme before the first paint, and follows a change while the page is open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of an `rgb(…)` / `rgba(…)` computed colour."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_colour)[:3])

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def open_my_day(browser_instance, live_server, user, color_scheme: str):
    context = browser_instance.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, color_scheme=color_scheme
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("user-menu").wait_for()
    return context, page


def body_background(page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_a_dark_system_setting_gives_a_dark_page(browser_instance, live_server, rep):
    # given: a browser whose system setting is dark
    context, page = open_my_day(browser_instance, live_server, rep, "dark")
    try:
        # then: Bootstrap's dark theme is on, the page is dark and its text light
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
        assert luminance(body_background(page)) < 0.05
        assert luminance(page.evaluate("() => getComputedStyle(document.body).color")) > 0.5
        # and the bar's links stay readable (light on the dark bar)
        nav_link = page.locator(".navbar .nav-link").first
        assert luminance(nav_link.evaluate("(element) => getComputedStyle(element).color")) > 0.4
    finally:
        context.close()


def test_a_light_system_setting_gives_a_light_page_and_a_switch_is_followed(browser_instance, live_server, rep):
    # given: a browser whose system setting is light
    context, page = open_my_day(browser_instance, live_server, rep, "light")
    try:
        # then: light
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
        assert luminance(body_background(page)) > 0.9
        # when: the system switches to dark while the page is open (dusk)
        page.emulate_media(color_scheme="dark")
        # then: the page follows without a reload
        expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
        page.wait_for_function("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'")
        assert luminance(body_background(page)) < 0.05
    finally:
        context.close()
