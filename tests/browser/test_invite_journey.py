"""An admin invites someone from the People page; the invitation e-mail (sent through the
outbox) carries a link where the person chooses a password; they then sign in with it."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import AuditEntry, User
from followups.services.outbox import outbox_deliver_due

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "correct-horse-battery-42"


def test_an_admin_invites_someone_who_sets_a_password_and_signs_in(
    page, login_as, browser_instance, live_server, admin_user, sales_team
):
    # given
    login_as(admin_user)
    page.goto("/people/")
    # when: the admin invites Grace
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("E-mail address").fill("Grace.Hopper@example.test")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Role").select_option(label="Delivery lead")
    page.get_by_label("Team").select_option(label="Sales")
    page.get_by_role("button", name="Send the invitation").click()
    # then: her page says so, and the list shows she never signed in
    page.get_by_text("Grace Hopper is invited").wait_for()
    assert "User invited" in page.get_by_test_id("audit-entries").inner_text()
    page.goto("/people/")
    row = page.get_by_test_id("people-table").get_by_role("row", name=re.compile("Grace Hopper"))
    assert "never" in row.inner_text() and "Delivery lead" in row.inner_text()
    # when: the outbox sends the invitation
    assert outbox_deliver_due().emailed == 1
    [message] = mail.outbox
    assert message.to == ["grace.hopper@example.test"]
    link = re.search(r"https?://\S+?(/me/welcome/\S+/)", message.body).group(1)
    # and: Grace opens the link in her own browser and chooses a password
    guest_context = browser_instance.new_context(base_url=live_server.url)
    guest_context.set_default_timeout(10_000)
    guest = guest_context.new_page()
    guest.goto(link)
    guest.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    guest.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    guest.get_by_role("button", name="Set my password").click()
    # then: she is signed in
    guest.get_by_text("Your password is set").wait_for()
    assert "Grace Hopper" in guest.get_by_test_id("user-menu").inner_text()
    guest_context.close()
    # when: she signs in later, from another browser, with her address and password
    later_context = browser_instance.new_context(base_url=live_server.url)
    later_context.set_default_timeout(10_000)
    later = later_context.new_page()
    later.goto("/login/")
    later.get_by_label("Username").fill("grace.hopper@example.test")
    later.get_by_label("Password").fill(NEW_PASSWORD)
    later.get_by_role("button", name="Log in").click()
    # then
    later.get_by_test_id("user-menu").wait_for()
    assert "Grace Hopper" in later.get_by_test_id("user-menu").inner_text()
    later_context.close()
    grace = User.objects.get(username="grace.hopper@example.test")
    assert grace.last_login is not None and grace.team == sales_team
    assert AuditEntry.objects.filter(action="user.invited", target_id=str(grace.pk)).count() == 1
