"""The newcomer's first journey: the demo rep logs in and sees their home page, My day."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_demo_rep_logs_in_and_sees_my_day(page):
    # given
    call_command("seed_demo")
    # when
    page.goto("/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("baton-demo")
    page.get_by_role("button", name="Log in").click()
    # then
    page.get_by_test_id("user-menu").wait_for()
    assert "Rita Novak" in page.get_by_test_id("user-menu").inner_text()
    # A rep's home page is My day.
    expect(page.get_by_role("heading", name="My day")).to_be_visible()


def test_a_wrong_password_keeps_the_browser_on_the_login_page(page):
    call_command("seed_demo")
    page.goto("/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
