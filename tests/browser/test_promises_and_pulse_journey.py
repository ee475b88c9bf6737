"""Issue 12's journey, in Chromium, with a real SMTP server: nothing promised is lost.

A rep tries to log a won close without the hand-off packet and sees what is missing,
fixes it, closes; the delivery lead marks one promise kept and one broken, and the rep
and their manager are told; the customer opens the pulse e-mail the SMTP server
received, clicks "at risk" without logging in, the delivery owner's bell rings and the
account's health drops; the manager sees promise-keeping by rep on the report.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from followups.choices import NotificationKind
from followups.models import CheckIn, Notification
from followups.services.outbox import outbox_deliver_due
from followups.services.report import report_refresh
from handoffs.choices import PromiseStatus, Stage
from handoffs.models import Deal, Handoff
from handoffs.services.handoffs import handoff_accept, handoff_propose_owner
from tests.factories import AccountFactory, ContactFactory, DealContactFactory, DealFactory, PromiseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Inbox:
    """An SMTP server's DATA handler that keeps every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for message in self.messages if address in str(message["To"])]


@pytest.fixture
def inbox(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    yield handler
    controller.stop()


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def reachable_at_any_hour(*users) -> None:
    for user in users:
        user.working_hours_start, user.working_hours_end = 0, 24
        user.save(update_fields=["working_hours_start", "working_hours_end"])


def test_nothing_promised_is_lost_from_the_close_to_the_customers_own_voice(
    page, login_as, live_server, inbox, rep, manager, delivery_lead
):
    # given: a deal in negotiation with its context, two promises, and one contact named on it
    reachable_at_any_hour(rep, manager, delivery_lead)
    account = AccountFactory(name="Northwind Logistics", owner=rep, team=rep.team)
    hana = ContactFactory(account=account, first_name="Hana", last_name="Ito", email="hana@northwind.test")
    ContactFactory(account=account, first_name="Marc", last_name="Dubois", email="marc@northwind.test")
    deal = DealFactory(
        title="Fleet tracking roll-out",
        account=account,
        owner=rep,
        stage=Stage.NEGOTIATE,
        lead_source="referral",
        context_origin="Referred by Globex's COO.",
        context_known="Saw the demo; knows the pricing.",
        context_talked_to="Hana (COO) and Marc (IT).",
        context_needs="Live tracking for 300 trucks.",
    )
    DealContactFactory(deal=deal, contact=hana, role="decision_maker")
    today = timezone.localdate(timezone=rep.tzinfo)
    live = PromiseFactory(
        deal=deal, description="Live in 3 depots by 1 June", target_date=today + datetime.timedelta(days=20)
    )
    weekly = PromiseFactory(deal=deal, description="Weekly status call", target_date=today + datetime.timedelta(days=5))

    # when: the rep tries to log it won
    login_as(rep)
    page.goto(f"/deals/{deal.pk}/close/?outcome=won")
    page.locator("#id_reason").fill("Best fit for their fleet; strong champion.")
    page.get_by_role("button", name="Log the close").click()

    # then: nothing is logged, and the form says what is missing, with a way to fix it
    missing = page.get_by_test_id("packet-missing-contacts")
    missing.wait_for()
    assert "Not logged" in page.get_by_test_id("packet-missing").inner_text()
    assert page.locator("#id_reason").input_value() == "Best fit for their fleet; strong champion."
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATE

    # when: they follow the link, name the second contact on the deal, and close again
    missing.get_by_role("link").click()
    form = page.get_by_test_id("deal-contact-form")
    form.locator("#id_contact").select_option(label="Marc Dubois")
    form.locator("#id_role").select_option("champion")
    form.get_by_role("button", name="Add to deal").click()
    page.get_by_test_id("deal-contacts").get_by_text("Marc Dubois").wait_for()
    page.goto(f"/deals/{deal.pk}/close/?outcome=won")
    page.get_by_test_id("packet-complete").wait_for()
    page.locator("#id_reason").fill("Best fit for their fleet; strong champion.")
    page.get_by_role("button", name="Log the close").click()
    page.get_by_test_id("handoff-link").wait_for()

    # then: won, and its hand-off started
    handoff = Handoff.objects.get(deal=deal)
    assert Deal.objects.get(pk=deal.pk).stage == Stage.WON

    # given: the manager proposes the delivery lead, who accepts
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_accept(actor=delivery_lead, handoff=handoff)
    page.context.clear_cookies()

    # when: the delivery lead marks one promise kept and the other broken
    login_as(delivery_lead)
    page.goto(f"/deals/{deal.pk}/")
    row = page.locator(f"#promise-{live.pk}")
    row.locator("summary").click()
    row.get_by_label("Kept on").fill(timezone.localdate(timezone=delivery_lead.tzinfo).isoformat())
    row.get_by_label("How").fill("Three depots live, signed off by Hana.")
    row.get_by_role("button", name="Mark kept").click()
    page.get_by_text("Three depots live").first.wait_for()
    page.goto(f"/deals/{deal.pk}/")
    row = page.locator(f"#promise-{weekly.pk}")
    row.locator("summary").click()
    row.get_by_label("Why").fill("Their IT lead cancelled the slot twice; we stopped.")
    row.get_by_label("What the customer was told").fill("A fortnightly call instead, from next week.")
    row.get_by_role("button", name="Mark broken").click()
    page.wait_for_load_state("networkidle")

    # then: the promises are kept and broken, and the rep and their manager are told
    live.refresh_from_db()
    weekly.refresh_from_db()
    assert (live.status, weekly.status) == (PromiseStatus.KEPT, PromiseStatus.BROKEN)
    told = set(Notification.objects.filter(kind=NotificationKind.PROMISE_BROKEN).values_list("user_id", flat=True))
    assert told == {rep.pk, manager.pk}

    # when: the rep logs the first check-in, and the outbox sends the customer's pulse
    from followups.services.checkins import checkin_log

    checkin = CheckIn.objects.filter(handoff=handoff).order_by("due_on").first()
    checkin_log(
        actor=rep,
        checkin=checkin,
        channel="call",
        sentiment="neutral",
        notes="Rolled out to three depots.",
        issues_raised="",
        referral_asked=False,
        repeat_business_asked=False,
    )
    report_refresh()
    health_before = type(account).objects.get(pk=account.pk).health_score
    outbox_deliver_due()
    [pulse] = [message for message in inbox.to("hana@northwind.test") if "going" in str(message["Subject"])]
    at_risk_link = re.search(r"At risk: (\S+)", text_of(pulse)).group(1)

    # and the customer clicks "at risk", without logging in
    page.context.clear_cookies()
    page.goto(at_risk_link.replace("http://testserver", live_server.url))
    page.get_by_test_id("pulse-thanks").wait_for()
    assert "At risk" in page.get_by_test_id("pulse-answer").inner_text()

    # then: the delivery owner's bell rings, and the account's health drops
    login_as(delivery_lead)
    page.get_by_test_id("bell-count").wait_for()
    assert int(page.get_by_test_id("bell-count").inner_text()) >= 1
    assert Notification.objects.filter(user=delivery_lead, kind=NotificationKind.CUSTOMER_PULSE).exists()
    report_refresh()
    assert type(account).objects.get(pk=account.pk).health_score < (health_before or 100)

    # when: the manager opens the report
    page.context.clear_cookies()
    login_as(manager)
    page.goto("/report/")

    # then: promise-keeping by rep shows the rep's kept and broken promise
    keeping = page.get_by_test_id("promise-keeping")
    rep_row = keeping.get_by_test_id("promise-keeping-rep").filter(has_text=str(rep))
    cells = rep_row.locator("td").all_inner_texts()
    assert cells[1:4] == ["2", "1", "1"]
