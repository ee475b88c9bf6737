"""Webhooks in Chromium (issue 13): an admin registers an endpoint for accepted hand-offs
pointing at a local receiver, a delivery lead accepts a hand-off, the outbox delivers it
signed, the delivery shows in the endpoint's log with 200, and a replay reaches the
receiver again with the same delivery id."""

from __future__ import annotations

import pytest

from followups import webhooks
from followups.models import WebhookEndpoint
from followups.services.outbox import outbox_deliver_due
from handoffs.services.handoffs import handoff_propose_owner
from tests.followups.webhook_receiver import start_receiver
from tests.handoffs.handoff_builders import won_handoff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_an_admin_registers_an_endpoint_and_sees_a_hand_off_accepted_delivered_and_replayed(
    page, login_as, receiver, rep, manager, delivery_lead, admin_user
):
    # given: a hand-off proposed to the delivery lead
    handoff = won_handoff(rep=rep, title="Fleet tracking roll-out")
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)

    # when: the admin registers an endpoint for accepted hand-offs
    login_as(admin_user)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("Name").fill("Delivery ERP")
    page.get_by_label("URL").fill(receiver.url("/ok"))
    page.get_by_label("Hand-off accepted").check()
    page.get_by_role("button", name="Register the endpoint").click()
    page.get_by_text("is registered").wait_for()
    endpoint = WebhookEndpoint.objects.get()
    assert page.get_by_test_id("webhook-secret").inner_text() == endpoint.secret
    page.context.clear_cookies()

    # and the delivery lead accepts the hand-off
    login_as(delivery_lead)
    page.goto(f"/handoffs/{handoff.pk}/")
    page.get_by_role("button", name="Accept ownership").click()
    page.get_by_test_id("delivery-owner").wait_for()
    page.context.clear_cookies()

    # then: the worker's sending path POSTs it, signed with the endpoint's secret
    assert outbox_deliver_due().posted == 1
    (request,) = receiver.to("/ok")
    assert request.headers["X-Baton-Event"] == "handoff.accepted"
    assert webhooks.signature_valid(
        endpoint.secret, request.headers["X-Baton-Timestamp"], request.body, request.headers["X-Baton-Signature"]
    )

    # and the admin sees it in the endpoint's log with the receiver's 200
    login_as(admin_user)
    page.goto(f"/webhooks/{endpoint.pk}/")
    row = page.get_by_test_id("delivery-row").first
    assert row.get_by_test_id("delivery-status").inner_text() == "Sent"
    assert row.get_by_test_id("delivery-code").inner_text() == "200"
    assert "handoff.accepted" in row.inner_text()

    # when: the admin replays it
    row.get_by_role("button", name="Replay").click()
    page.get_by_text("Replayed with the same delivery id").wait_for()
    outbox_deliver_due()

    # then: the receiver gets the same event again, recognisable by its delivery id
    first, second = receiver.to("/ok")
    assert second.headers["X-Baton-Delivery"] == first.headers["X-Baton-Delivery"]
    assert second.body == first.body
    page.reload()
    rows = page.get_by_test_id("delivery-row")
    assert rows.count() == 2
    assert "replay by" in rows.first.inner_text()
    assert rows.first.get_by_test_id("delivery-code").inner_text() == "200"
