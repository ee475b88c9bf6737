"""Issue 16: a blocked or slow script never strands a user. In a Chromium whose
JavaScript is off, the delivery lead accepts a hand-off, marks a step done, reopens it,
skips another with a reason and reads a notification, and the rep ticks a step from My
hand-offs: each is a plain form post answered by a redirect back to the page, which
says what happened. With JavaScript on, the same tick on My hand-offs swaps the row in
place, without leaving the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from followups.models import Notification
from followups.services.notifications import notification_create
from handoffs.choices import HandoffStatus, StepStatus
from handoffs.models import Handoff, HandoffStep, Playbook
from handoffs.services.handoffs import handoff_propose_owner
from tests.conftest import sign_in
from tests.factories import PlaybookFactory, PlaybookStepFactory
from tests.handoffs.handoff_builders import won_handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def default_playbook(transactional_db):
    """The default playbook every won deal's hand-off copies its steps from: the data
    migration's, unless an earlier transactional test flushed it."""
    if not Playbook.objects.filter(is_default=True, is_active=True).exists():
        playbook = PlaybookFactory(is_default=True, is_active=True)
        for offset, title in enumerate(["Contract countersigned", "Invoice raised", "Kick-off held", "Go-live"]):
            PlaybookStepFactory(playbook=playbook, position=offset + 1, title=title, due_offset_days=offset + 1)


def _open_steps(handoff: Handoff) -> list[HandoffStep]:
    return list(handoff.steps.filter(status=StepStatus.OPEN).order_by("due_on", "position"))


def _alert(page, text: str):
    """The message the page shows after the redirect (base.html's messages)."""
    return page.locator(".messages [role=alert]").filter(has_text=text)


def test_the_lead_and_the_rep_work_a_handoff_with_javascript_off(page_without_javascript, rep, manager, delivery_lead):
    page = page_without_javascript
    # given: a won deal's hand-off proposed to the lead, and a notification for them
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    notification_create(user=delivery_lead, kind="handoff", title="Read the Northwind brief", email_copy=False)
    first, second, third = _open_steps(handoff)[:3]
    detail = f"/handoffs/{handoff.pk}/"

    # when: the lead accepts ownership
    sign_in(page, delivery_lead)
    page.goto(detail)
    page.get_by_role("button", name="Accept ownership").click()
    # then: back on the hand-off's page (a full page load), which says so
    _alert(page, "You accepted the hand-off").wait_for()
    assert page.url.endswith(detail)
    assert str(delivery_lead) in page.get_by_test_id("delivery-owner").inner_text()
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED and handoff.delivery_owner == delivery_lead

    # when: they mark the first step done
    page.locator(f"#step-{first.pk}").get_by_role("button", name="Mark done").click()
    # then
    _alert(page, f"“{first.title}” is done.").wait_for()
    assert "Done" in page.locator(f"#step-{first.pk}").inner_text()
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == delivery_lead

    # when: they reopen it (ticked by mistake)
    page.locator(f"#step-{first.pk}").get_by_role("button", name="Reopen").click()
    # then
    _alert(page, f"“{first.title}” is open again.").wait_for()
    expect(page.locator(f"#step-{first.pk}").get_by_role("button", name="Mark done")).to_be_visible()
    first.refresh_from_db()
    assert first.status == StepStatus.OPEN and first.done_by is None

    # when: they skip the second step without a reason, then with one
    row = page.locator(f"#step-{second.pk}")
    row.get_by_role("button", name="Skip").click()
    _alert(page, "Say why this step is skipped.").wait_for()
    second.refresh_from_db()
    assert second.status == StepStatus.OPEN
    row = page.locator(f"#step-{second.pk}")
    row.get_by_label(f"Reason to skip {second.title}").fill("The customer signs on paper")
    row.get_by_role("button", name="Skip").click()
    # then
    _alert(page, f"“{second.title}” was skipped.").wait_for()
    assert "Skipped: The customer signs on paper" in page.locator(f"#step-{second.pk}").inner_text()
    second.refresh_from_db()
    assert second.status == StepStatus.SKIPPED and second.skip_reason == "The customer signs on paper"

    # when: they mark the notification read
    page.goto("/notifications/")
    notification = page.get_by_test_id("notification").filter(has_text="Read the Northwind brief")
    notification.get_by_role("button", name="Mark read").click()
    # then: back on the list, the notification read
    _alert(page, "“Read the Northwind brief” marked read.").wait_for()
    assert "/notifications/" in page.url
    read = page.get_by_test_id("notification").filter(has_text="Read the Northwind brief")
    assert read.get_by_role("button", name="Mark read").count() == 0
    assert Notification.objects.get(user=delivery_lead, title="Read the Northwind brief").read_at is not None

    # when: the rep ticks the first step from My hand-offs
    sign_in(page, rep)
    page.locator("#mainnav").get_by_role("link", name="My hand-offs").click()
    mine = page.locator(f"#my-handoff-{handoff.pk}")
    steps = mine.get_by_test_id("next-step")
    assert first.title in steps.first.inner_text()
    assert third.title in mine.inner_text()
    steps.first.get_by_role("button", name="Done").click()
    # then: back on My hand-offs, which says so and shows the next open step first
    _alert(page, f"“{first.title}” is done.").wait_for()
    assert page.url.endswith("/handoffs/mine/")
    row = page.locator(f"#my-handoff-{handoff.pk}")
    assert first.title not in row.inner_text()
    assert third.title in row.get_by_test_id("next-step").first.inner_text()
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == rep


def test_the_user_menu_opens_and_logs_out_with_javascript_off(page_without_javascript, rep):
    # given
    page = page_without_javascript
    sign_in(page, rep)
    page.goto("/handoffs/mine/")
    # when: the menu opens without Bootstrap's script (while focus is inside it)
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    # then
    page.wait_for_url("**/login/**")
    page.goto("/handoffs/mine/")
    assert "/login/" in page.url


def test_the_rep_ticks_a_step_from_my_handoffs_without_leaving_the_page(page, login_as, rep):
    # given: JavaScript on (the `page` fixture)
    handoff = won_handoff(rep=rep)
    first, second = _open_steps(handoff)[:2]
    login_as(rep)
    page.goto("/handoffs/mine/")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    row = page.locator(f"#my-handoff-{handoff.pk}")
    # when
    row.get_by_test_id("next-step").first.get_by_role("button", name="Done").click()
    # then: the row is swapped in place, saying what happened, the page never reloaded
    row.get_by_role("status").filter(has_text=f"“{first.title}” is done.").wait_for()
    assert second.title in row.get_by_test_id("next-step").first.inner_text()
    assert not [text for text in row.get_by_test_id("next-step").all_inner_texts() if first.title in text]
    assert page.evaluate("() => window.stillTheSamePage === true")
    assert page.locator(".messages").count() == 0
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == rep
