"""A user who mistypes their password five times is told to wait, and signs in once the
lockout is lifted."""

import datetime

import pytest
from axes.utils import reset
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def try_password(page, username, password):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def test_five_wrong_passwords_lock_the_login_until_the_lockout_is_lifted(page, rep, settings):
    # given
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
    page.goto("/login/")
    # when: four wrong passwords say only that they are wrong
    for _ in range(4):
        try_password(page, rep.username, "not-my-password")
        expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    # and the fifth locks the login, the right password included
    try_password(page, rep.username, "not-my-password")
    locked = page.get_by_text("Too many failed sign-ins. Try again in 15 minutes.")
    expect(locked).to_be_visible()
    try_password(page, rep.username, TEST_PASSWORD)
    expect(locked).to_be_visible()
    assert page.get_by_test_id("user-menu").count() == 0
    # then: once the cool-off has passed (here: the lockout lifted, as when it expires)
    reset(username=rep.username)
    try_password(page, rep.username, TEST_PASSWORD)
    page.get_by_test_id("user-menu").wait_for()
    assert str(rep) in page.get_by_test_id("user-menu").inner_text()
