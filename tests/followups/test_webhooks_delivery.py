"""Webhooks over real HTTP: a local receiver (http.server in a thread) checks the
signature and headers; a 500 is retried and then delivered once, a 4xx fails, a dead or
slow endpoint backs off alone without holding up other endpoints or e-mails, and a
replay carries the same delivery id (issue 13)."""

from __future__ import annotations

import datetime
import json
import time
import uuid

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from followups import webhooks
from followups.choices import MessageChannel, MessagePurpose, MessageStatus, WebhookEvent, WebhookFormat
from followups.models import OutboxMessage, WebhookEndpoint
from followups.services import outbox as outbox_module
from followups.services.outbox import outbox_claim, outbox_deliver_claimed, outbox_deliver_due
from followups.services.webhooks import webhook_delivery_replay
from handoffs.services.handoffs import handoff_accept, handoff_propose_owner
from tests.followups.webhook_receiver import start_receiver
from tests.handoffs.handoff_builders import won_handoff

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def endpoint_at(url: str, *events: str, name: str = "Receiver", format: str = WebhookFormat.GENERIC):
    return WebhookEndpoint.objects.create(
        name=name, url=url, format=format, events=list(events or [WebhookEvent.HANDOFF_PROPOSED])
    )


def deliveries(**filters):
    return OutboxMessage.objects.filter(channel=MessageChannel.WEBHOOK, **filters).order_by("id")


def propose(rep, manager, lead, count: int = 1) -> None:
    for _ in range(count):
        handoff_propose_owner(actor=manager, handoff=won_handoff(rep=rep), owner=lead)


def make_due() -> None:
    """The backoff is over (instead of waiting minutes)."""
    OutboxMessage.objects.filter(status=MessageStatus.PENDING).update(send_after=timezone.now())


def test_it_posts_a_signed_delivery_and_logs_the_answer(receiver, rep, manager, delivery_lead):
    # given: an endpoint listening to accepted hand-offs
    hook = endpoint_at(receiver.url("/ok"), WebhookEvent.HANDOFF_ACCEPTED)
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_accept(actor=delivery_lead, handoff=handoff)

    # when
    result = outbox_deliver_due()

    # then: one POST, signed with the endpoint's secret, named by its event and delivery id
    assert result.posted == 1
    (request,) = receiver.to("/ok")
    row = deliveries().get()
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Baton-Event"] == "handoff.accepted"
    assert headers["X-Baton-Delivery"] == row.message_id
    assert webhooks.signature_valid(
        hook.secret, headers["X-Baton-Timestamp"], request.body, headers["X-Baton-Signature"]
    )
    body = json.loads(request.body)
    assert body == row.payload
    assert body["data"]["handoff"]["id"] == handoff.pk
    # and the log has the answer
    assert (row.status, row.response_code, row.response_excerpt, row.attempts) == (
        MessageStatus.SENT,
        200,
        "ok, thanks",
        1,
    )


def test_a_500_is_retried_with_backoff_then_delivered_once(receiver, rep, manager, delivery_lead):
    endpoint_at(receiver.url("/flaky"))
    propose(rep, manager, delivery_lead)

    # when: the first attempt gets a 500
    first = outbox_deliver_due()
    row = deliveries().get()

    # then: it waits for its backoff, with the answer logged
    assert (first.posted, first.retried) == (0, 1)
    assert (row.status, row.response_code, row.attempts) == (MessageStatus.PENDING, 500, 1)
    assert "HTTP 500" in row.last_error and row.send_after > timezone.now() + datetime.timedelta(seconds=50)
    assert outbox_deliver_due().posted == 0  # not before its time

    # when: the backoff is over
    make_due()
    second = outbox_deliver_due()

    # then: delivered once more, with the same delivery id, and never again
    row.refresh_from_db()
    assert second.posted == 1 and row.status == MessageStatus.SENT and row.response_code == 200
    attempts = receiver.to("/flaky")
    assert len(attempts) == 2
    assert {request.headers["X-Baton-Delivery"] for request in attempts} == {row.message_id}
    make_due()
    outbox_deliver_due()
    assert len(receiver.to("/flaky")) == 2


def test_a_4xx_fails_the_delivery_at_once(receiver, rep, manager, delivery_lead):
    endpoint_at(receiver.url("/gone"))
    propose(rep, manager, delivery_lead)

    result = outbox_deliver_due()

    row = deliveries().get()
    assert result.failed == 1
    assert (row.status, row.response_code, row.response_excerpt) == (MessageStatus.FAILED, 404, "no such hook")
    assert row.last_error.startswith("HTTP 404")


@override_settings(BATON_OUTBOX_MAX_ATTEMPTS=2)
def test_retries_end_in_failed_after_the_configured_attempts(receiver, rep, manager, delivery_lead):
    endpoint_at(receiver.url("/busy"))
    propose(rep, manager, delivery_lead)

    outbox_deliver_due()
    make_due()
    outbox_deliver_due()

    row = deliveries().get()
    assert (row.status, row.attempts, row.response_code) == (MessageStatus.FAILED, 2, 503)


def test_a_refused_connection_backs_off_every_row_of_that_endpoint_at_once(receiver, rep, manager, delivery_lead):
    # given: an endpoint nobody listens on, with three deliveries, and one that works
    dead = endpoint_at("http://127.0.0.1:9/hook", name="Dead")
    endpoint_at(receiver.url("/ok"), name="Alive")
    propose(rep, manager, delivery_lead, count=3)

    result = outbox_deliver_due()

    # then: the live endpoint got its three; the dead one's three wait together
    assert len(receiver.to("/ok")) == 3
    waiting = deliveries(endpoint=dead)
    assert [row.status for row in waiting] == [MessageStatus.PENDING] * 3
    assert all(row.attempts == 1 and "ConnectionError" in row.last_error for row in waiting)
    assert result.posted == 3 and result.retried == 3


def test_the_slack_format_is_posted_as_a_slack_message(receiver, rep, manager, delivery_lead):
    endpoint_at(receiver.url("/ok"), format=WebhookFormat.SLACK)
    propose(rep, manager, delivery_lead)

    outbox_deliver_due()

    body = json.loads(receiver.to("/ok")[0].body)
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("Hand-off proposed to a delivery lead:")


def test_a_replay_is_sent_again_with_the_same_delivery_id(receiver, rep, manager, delivery_lead, admin_user):
    endpoint_at(receiver.url("/ok"))
    propose(rep, manager, delivery_lead)
    outbox_deliver_due()
    original = deliveries().get()

    replay = webhook_delivery_replay(actor=admin_user, delivery_id=original.pk)
    outbox_deliver_due()

    first, second = receiver.to("/ok")
    assert first.headers["X-Baton-Delivery"] == second.headers["X-Baton-Delivery"] == original.message_id
    assert first.body == second.body
    replay.refresh_from_db()
    assert replay.status == MessageStatus.SENT and replay.response_code == 200


@pytest.mark.integration  # lanes run side by side in threads on PostgreSQL only
@pytest.mark.django_db(transaction=True)
@override_settings(BATON_WEBHOOK_TIMEOUT=(1.0, 1.0))
def test_a_slow_endpoint_delays_neither_other_endpoints_nor_emails(receiver, rep, manager, delivery_lead):
    # given: an endpoint that answers after 3 s (its read timeout is 1 s), one that answers
    # at once, and three proposals: three deliveries each, and three e-mails
    receiver.slow_seconds = 3.0
    slow = endpoint_at(receiver.url("/slow"), name="Slow")
    fast = endpoint_at(receiver.url("/ok"), name="Fast")
    propose(rep, manager, delivery_lead, count=3)
    emails = OutboxMessage.objects.filter(purpose=MessagePurpose.HANDOFF_PROPOSED)
    assert emails.count() == 3

    # when: one batch is delivered
    started = time.monotonic()
    result = outbox_deliver_due(max_batches=1)
    elapsed = time.monotonic() - started

    # then: the fast endpoint and the e-mails did not wait for the slow one
    fast_arrivals = [request.at - started for request in receiver.to("/ok")]
    assert len(fast_arrivals) == 3
    assert max(fast_arrivals) < 0.9, fast_arrivals
    assert len(mail.outbox) == 3
    assert all(row.status == MessageStatus.SENT for row in deliveries(endpoint=fast))
    # and the slow one cost one timeout for its three rows, not three
    assert len(receiver.to("/slow")) == 1
    assert elapsed < 2.5, elapsed
    slow_rows = list(deliveries(endpoint=slow))
    assert [row.status for row in slow_rows] == [MessageStatus.PENDING] * 3
    assert all("Timeout" in row.last_error or "timed out" in row.last_error for row in slow_rows)
    assert result.posted == 3 and result.emailed == 3 and result.retried == 3


@override_settings(BATON_WEBHOOK_TIMEOUT=(0.3, 0.5))
def test_an_endpoint_that_answers_slowly_gets_a_share_of_the_batch_not_all_of_it(receiver, rep, manager, delivery_lead):
    # given: an endpoint that takes 0.4 s to answer (under its timeout) and eight deliveries;
    # its lane's share of a batch is twice a full timeout, 1.6 s
    receiver.slow_seconds = 0.4
    endpoint_at(receiver.url("/slow"))
    propose(rep, manager, delivery_lead, count=8)

    # when
    started = time.monotonic()
    result = outbox_deliver_due(max_batches=1)
    elapsed = time.monotonic() - started

    # then: the batch ended after its share; the untried deliveries wait a few seconds, not
    # counted as an attempt, behind what is due now
    assert 2 <= result.posted <= 5, result
    assert elapsed < 3.0, elapsed
    waiting = deliveries(status=MessageStatus.PENDING)
    assert waiting.count() == 8 - result.posted
    assert all(row.attempts == 0 and row.send_after > timezone.now() for row in waiting)


def test_a_lane_that_lost_its_lease_posts_nothing_more(receiver, rep, manager, delivery_lead, monkeypatch):
    # given: a claimed batch of three deliveries, whose last two another claim takes over
    # while the first is being posted (as when a batch outlives its lease)
    endpoint_at(receiver.url("/ok"))
    propose(rep, manager, delivery_lead, count=3)
    claim = outbox_claim()
    first, *taken = deliveries()
    post = outbox_module.webhook_post

    def post_then_lose_the_rest(session, row):
        OutboxMessage.objects.filter(pk__in=[other.pk for other in taken]).update(lease_token=uuid.uuid4())
        return post(session, row)

    monkeypatch.setattr(outbox_module, "webhook_post", post_then_lose_the_rest)

    # when
    result = outbox_deliver_claimed(claim=claim)

    # then: only the row still held was posted; the others are left to their new holder
    assert (result.posted, result.lost_lease) == (1, 1)
    assert [request.headers["X-Baton-Delivery"] for request in receiver.to("/ok")] == [first.message_id]
    assert [row.status for row in deliveries()] == [MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.SENDING]
