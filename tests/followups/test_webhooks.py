"""Webhooks and chat alerts, without the network: which events become deliveries, what
they say, the formats, the signature, endpoints and replays (issue 13)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import override_settings

from followups import webhooks
from followups.choices import (
    WEBHOOK_TEST_EVENT,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
    WebhookEvent,
    WebhookFormat,
)
from followups.models import OutboxMessage, WebhookEndpoint
from followups.services.checkins import checkin_log
from followups.services.pulse import pulse_answer
from followups.services.reminders import reminders_scan
from followups.services.report import report_refresh
from followups.services.webhooks import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_set_active,
    webhook_send_test,
)
from handoffs import signals
from handoffs.choices import Stage
from handoffs.models import Handoff
from handoffs.services.deals import deal_close
from handoffs.services.handoffs import handoff_accept, handoff_decline, handoff_propose_owner, meeting_schedule
from handoffs.services.promises import promise_mark_broken
from tests.factories import CheckInFactory, ContactFactory, DealContactFactory, DealFactory, give_full_packet
from tests.handoffs.handoff_builders import won_handoff

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def endpoint(*events: str, name: str = "CRM", format: str = WebhookFormat.GENERIC, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name, url=f"https://{name.lower()}.example/hook", format=format, events=list(events), **fields
    )


def deliveries(**filters):
    return OutboxMessage.objects.filter(channel=MessageChannel.WEBHOOK, **filters).order_by("id")


# --- which events become deliveries ------------------------------------------------------


def test_it_writes_one_delivery_per_active_endpoint_subscribed_to_the_event(rep, manager, delivery_lead):
    # given: three endpoints, only one listening to hand-offs accepted and active
    listening = endpoint(WebhookEvent.HANDOFF_ACCEPTED, WebhookEvent.DEAL_WON, name="Listening")
    endpoint(WebhookEvent.DEAL_WON, name="Elsewhere")
    endpoint(WebhookEvent.HANDOFF_ACCEPTED, name="Asleep", is_active=False)
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)

    # when
    handoff_accept(actor=delivery_lead, handoff=handoff)

    # then: one row, for the listening endpoint, with the event frozen on it
    (row,) = deliveries()
    assert row.purpose == MessagePurpose.WEBHOOK and row.status == MessageStatus.PENDING
    assert (row.kind, row.item_id, row.endpoint, row.recipient_key) == (
        "handoff.accepted",
        handoff.pk,
        listening,
        f"endpoint:{listening.pk}",
    )
    assert row.payload["event"] == "handoff.accepted"
    assert row.payload["id"] == f"handoff.accepted.handoff-{handoff.pk}.v{row.version}"
    assert row.payload["occurred_at"] == "2026-03-12T10:00:00+00:00"
    data = row.payload["data"]
    assert data["delivery_owner"]["id"] == delivery_lead.pk
    assert data["account"]["name"] == handoff.deal.account.name
    assert data["url"] == f"http://testserver/handoffs/{handoff.pk}/"
    assert data["deal"]["url"] == f"http://testserver/deals/{handoff.deal_id}/"
    assert str(delivery_lead) in data["summary"]
    # the delivery id is derived, not random: the same for every attempt and replay
    assert row.message_id == webhooks.delivery_id(row.payload["id"], listening.pk)


def test_an_event_in_a_rolled_back_transaction_writes_nothing(rep, manager, delivery_lead):
    endpoint(*WebhookEvent.values)
    handoff = won_handoff(rep=rep)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    before = deliveries().count()

    with pytest.raises(RuntimeError), transaction.atomic():
        handoff_accept(actor=delivery_lead, handoff=handoff)
        raise RuntimeError("the request fails after the change")

    assert deliveries().count() == before
    assert not deliveries(kind="handoff.accepted").exists()


def test_the_hand_off_side_sends_each_of_its_events(rep, manager, delivery_lead, delivery_team):
    # given: an endpoint listening to everything
    endpoint(*WebhookEvent.values)
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE, title="Fleet roll-out"))

    # when: the deal is won, proposed, declined, proposed again, accepted, met, a promise broken
    deal_close(
        actor=rep,
        deal=deal,
        outcome=Stage.WON,
        closed_on=datetime.date(2026, 3, 12),
        final_amount=Decimal("84000"),
        reason="Best fit.",
    )
    handoff = Handoff.objects.get(deal=deal)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=delivery_lead)
    handoff_decline(actor=delivery_lead, handoff=handoff, reason="At capacity until May.")
    from tests.factories import UserFactory

    other = UserFactory(username="lee", role="delivery", team=delivery_team)
    handoff_propose_owner(actor=manager, handoff=handoff, owner=other)
    handoff_accept(actor=other, handoff=handoff)
    contact = deal.deal_contacts.first().contact
    contact.email = contact.email or "c@customer.test"
    contact.save()
    meeting_schedule(
        actor=rep,
        handoff=handoff,
        starts_at=NOW + datetime.timedelta(days=2),
        duration_minutes=45,
        location="Video call",
        contacts=[contact],
    )

    # then: each is a delivery of its own
    kinds = list(deliveries().values_list("kind", flat=True))
    assert kinds == [
        "handoff.started",
        "deal.won",
        "handoff.proposed",
        "handoff.declined",
        "handoff.proposed",
        "handoff.accepted",
        "meeting.scheduled",
    ]
    won = deliveries(kind="deal.won").get().payload["data"]
    assert won["deal"]["amount"] == "84000.00"
    assert won["handoff"]["id"] == handoff.pk
    assert won["closed_by"]["id"] == rep.pk
    declined = deliveries(kind="handoff.declined").get().payload["data"]
    assert declined["reason"] == "At capacity until May."
    assert declined["declined_by"]["id"] == delivery_lead.pk
    meeting = deliveries(kind="meeting.scheduled").get().payload["data"]["meeting"]
    assert meeting["starts_at"] == "2026-03-14T10:00:00+00:00"


def test_a_broken_promise_is_an_event_with_its_reason(rep, manager, delivery_lead):
    endpoint(WebhookEvent.PROMISE_BROKEN)
    handoff = won_handoff(rep=rep)
    promise = handoff.deal.promises.get()

    promise_mark_broken(actor=rep, promise=promise, reason="The vendor slipped.", customer_told="Told on the call.")

    (row,) = deliveries()
    assert row.kind == "promise.broken"
    assert row.payload["data"]["reason"] == "The vendor slipped."
    assert row.payload["data"]["promise"]["customer_told"] == "Told on the call."


def test_the_scan_announces_a_check_in_overdue_once(rep, delivery_lead):
    # given: a check-in due yesterday, and an endpoint listening
    endpoint(WebhookEvent.CHECKIN_OVERDUE)
    checkin = CheckInFactory(handoff=won_handoff(rep=rep), rep=rep, due_on=datetime.date(2026, 3, 9), cadence_days=7)

    # when: the reminder scan runs twice
    reminders_scan()
    reminders_scan()

    # then: one event, named by the check-in's due date
    (row,) = deliveries()
    assert (row.kind, row.item_id, row.version) == (
        "checkin.overdue",
        checkin.pk,
        datetime.date(2026, 3, 9).toordinal(),
    )
    assert row.payload["data"]["checkin"]["due_on"] == "2026-03-09"


def test_a_customer_saying_at_risk_is_an_event(rep, delivery_lead):
    endpoint(WebhookEvent.PULSE_AT_RISK)
    from followups.models import CustomerPulse

    handoff = won_handoff(rep=rep)
    contact = ContactFactory(account=handoff.deal.account, email="dana@customer.test")
    DealContactFactory(deal=handoff.deal, contact=contact)
    checkin = CheckInFactory(handoff=handoff, rep=rep)
    checkin_log(
        actor=rep,
        checkin=checkin,
        channel="call",
        sentiment="happy",
        notes="Fine.",
        issues_raised="",
        referral_asked=False,
        repeat_business_asked=False,
    )
    pulse = CustomerPulse.objects.get(checkin=checkin)

    pulse_answer(pulse=pulse, answer="going_well")
    assert not deliveries().exists()
    pulse_answer(pulse=pulse, answer="at_risk")

    (row,) = deliveries()
    assert row.kind == "pulse.at_risk"
    assert row.payload["data"]["pulse"]["answer"] == "at_risk"


def test_the_report_refresh_announces_only_the_drops_it_finds_first(rep):
    # given: an endpoint listening to dropped batons, and a first refresh (its snapshot)
    endpoint(WebhookEvent.BATON_DROPPED)
    handoff = won_handoff(rep=rep)
    report_refresh()
    first = set(deliveries().values_list("item_id", "version"))
    assert first == set()  # the first refresh ever announces nothing: everything would look new

    # when: a promise is broken, and the report refreshes twice
    promise = handoff.deal.promises.get()
    promise_mark_broken(actor=rep, promise=promise, reason="Slipped.")
    report_refresh()
    report_refresh()

    # then: one baton.dropped, for the broken promise
    (row,) = deliveries()
    assert row.kind == "baton.dropped"
    assert row.payload["data"]["drop"]["code"] == "promise_broken"
    assert row.payload["data"]["url"] == "http://testserver/report/drops/promise_broken/"


def test_an_unknown_event_name_is_not_sent(rep):
    endpoint(*WebhookEvent.values)
    signals.send_domain_event(Handoff, event="handoff.teleported", item_kind="handoff", item_id=1)
    assert not deliveries().exists()


def test_the_hand_off_events_are_webhook_events():
    assert set(signals.EVENTS) <= set(WebhookEvent.values)


# --- formats and signature ---------------------------------------------------------------

PAYLOAD = {
    "id": "deal.won.deal-7.v1",
    "event": "deal.won",
    "occurred_at": "2026-03-12T10:00:00+00:00",
    "data": {
        "summary": "Deal won: Fleet <roll-out> & more",
        "url": "https://baton.example/deals/7/",
        "account": {"id": 3, "name": "Northwind"},
        "deal": {"id": 7, "title": "Fleet <roll-out> & more"},
        "rep": {"id": 2, "name": "Rita Rep"},
    },
}


def test_the_generic_format_is_the_event_itself():
    assert json.loads(webhooks.render_body(PAYLOAD, WebhookFormat.GENERIC)) == PAYLOAD


def test_the_slack_format_has_text_and_blocks_with_slack_escaping():
    body = json.loads(webhooks.render_body(PAYLOAD, WebhookFormat.SLACK))
    assert body["text"] == "Deal won: Deal won: Fleet <roll-out> & more"
    section = body["blocks"][0]["text"]["text"]
    assert "<https://baton.example/deals/7/|Deal won: Fleet &lt;roll-out&gt; &amp; more>" in section
    fields = [field["text"] for field in body["blocks"][1]["fields"]]
    assert "*Account*\nNorthwind" in fields and "*Rep*\nRita Rep" in fields


def test_the_teams_format_is_an_adaptive_card_message():
    body = json.loads(webhooks.render_body(PAYLOAD, WebhookFormat.TEAMS))
    attachment = body["attachments"][0]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert {"title": "Account", "value": "Northwind"} in card["body"][2]["facts"]
    assert card["actions"][0]["url"] == "https://baton.example/deals/7/"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # A fixed vector the README's snippets can be checked against.
    body = b'{"id":"x"}'
    assert webhooks.signature("whsec_test", 1767225600, body) == (
        "sha256=" + __import__("hmac").new(b"whsec_test", b'1767225600.{"id":"x"}', "sha256").hexdigest()
    )
    header = webhooks.signature("whsec_test", "1767225600", body)
    assert webhooks.signature_valid("whsec_test", "1767225600", body, header, now=1767225600 + 299)
    assert not webhooks.signature_valid("whsec_test", "1767225600", body + b" ", header, now=1767225600)
    assert not webhooks.signature_valid("whsec_other", "1767225600", body, header, now=1767225600)
    assert not webhooks.signature_valid("whsec_test", "1767225600", body, header, now=1767225600 + 301)


def test_the_delivery_id_depends_on_the_event_and_the_endpoint_only():
    assert webhooks.delivery_id("deal.won.deal-7.v1", 1) == webhooks.delivery_id("deal.won.deal-7.v1", 1)
    assert webhooks.delivery_id("deal.won.deal-7.v1", 1) != webhooks.delivery_id("deal.won.deal-7.v1", 2)
    assert webhooks.delivery_id("deal.won.deal-7.v1", 1) != webhooks.delivery_id("deal.won.deal-7.v2", 1)


# --- endpoints and replays ---------------------------------------------------------------


@override_settings(BATON_WEBHOOK_ALLOW_HTTP=False, DEBUG=False)
def test_an_endpoint_needs_https_and_known_events(admin_user):
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_create(
            actor=admin_user, name="CRM", url="http://crm.example/hook", format="generic", events=["deal.lost"]
        )
    assert set(refused.value.message_dict) == {"url", "events"}
    created = webhook_endpoint_create(
        actor=admin_user,
        name="CRM",
        url="https://crm.example/hook",
        format="slack",
        events=["handoff.accepted", "deal.won", "deal.won"],
    )
    assert created.events == ["deal.won", "handoff.accepted"]
    assert created.secret.startswith("whsec_") and len(created.secret) > 40


def test_only_admins_manage_endpoints(manager, admin_user):
    with pytest.raises(PermissionDenied):
        webhook_endpoint_create(actor=manager, name="X", url="https://x.example", format="generic", events=["deal.won"])
    target = endpoint(WebhookEvent.DEAL_WON)
    with pytest.raises(PermissionDenied):
        webhook_endpoint_rotate_secret(actor=manager, endpoint=target)


def test_rotating_the_secret_replaces_it_at_once(admin_user):
    target = endpoint(WebhookEvent.DEAL_WON)
    old = target.secret
    rotated = webhook_endpoint_rotate_secret(actor=admin_user, endpoint=target)
    assert rotated.secret != old and rotated.secret_rotated_at == NOW


def test_deactivating_an_endpoint_cancels_what_is_queued_for_it(admin_user):
    target = endpoint(WebhookEvent.DEAL_WON)
    test_row = webhook_send_test(actor=admin_user, endpoint=target)
    webhook_endpoint_set_active(actor=admin_user, endpoint=target, active=False)
    test_row.refresh_from_db()
    assert test_row.status == MessageStatus.CANCELLED
    with pytest.raises(ValidationError):
        webhook_send_test(actor=admin_user, endpoint=target)


def test_a_test_event_goes_to_its_endpoint_whatever_it_subscribes_to(admin_user):
    target = endpoint(WebhookEvent.DEAL_WON)
    row = webhook_send_test(actor=admin_user, endpoint=target)
    assert row.kind == WEBHOOK_TEST_EVENT and row.endpoint == target and row.requested_by == admin_user
    assert row.payload["data"]["sent_by"]["id"] == admin_user.pk


def test_a_replay_is_a_new_row_with_the_same_delivery_id(admin_user):
    # given: a test delivery that went out
    target = endpoint(WebhookEvent.DEAL_WON)
    original = webhook_send_test(actor=admin_user, endpoint=target)
    with pytest.raises(ValidationError):
        webhook_delivery_replay(actor=admin_user, delivery_id=original.pk)  # not sent yet
    OutboxMessage.objects.filter(pk=original.pk).update(status=MessageStatus.SENT, response_code=200)

    # when: it is replayed twice
    first = webhook_delivery_replay(actor=admin_user, delivery_id=original.pk)
    second = webhook_delivery_replay(actor=admin_user, delivery_id=original.pk)

    # then: new rows, next versions, the same event and delivery id, who asked for it
    assert [first.version, second.version] == [original.version + 1, original.version + 2]
    assert {first.message_id, second.message_id} == {original.message_id}
    assert first.payload == original.payload
    assert first.status == MessageStatus.PENDING and first.attempts == 0
    assert (first.replay_of, first.requested_by) == (original, admin_user)


def test_a_webhook_bug_never_stops_the_reminder_scan(rep, monkeypatch, caplog):
    # given: an endpoint listening to overdue check-ins, and a describer that breaks
    endpoint(WebhookEvent.CHECKIN_OVERDUE)
    CheckInFactory(handoff=won_handoff(rep=rep), rep=rep, due_on=datetime.date(2026, 3, 9), cadence_days=7)

    def broken(items):
        raise RuntimeError("a bug in the payload")

    monkeypatch.setitem(webhooks.DESCRIBERS, WebhookEvent.CHECKIN_OVERDUE, broken)

    # when
    result = reminders_scan()

    # then: the reminder is written, the event is not, and the bug is logged
    assert result.inserted["checkin_overdue"] == 1
    assert not deliveries().exists()
    assert "could not be written" in caplog.text
