"""handoff.started: every hand-off that starts is announced once, whichever path started
it (a close in the browser or the API, an inbound close, a pending packet completed or
waived) — sent by handoffs.services.handoff_start inside its transaction."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
import time_machine

from followups import webhooks
from followups.choices import MessageChannel, WebhookEvent, WebhookFormat
from followups.models import OutboxMessage, WebhookEndpoint
from handoffs.choices import ContactRole, InboundKind, Stage
from handoffs.models import Deal, Handoff
from handoffs.services.deals import deal_close, deal_contact_add, deal_packet_pending_waive
from tests.factories import ContactFactory, DealFactory, give_full_packet
from tests.handoffs.inbound_helpers import SAMPLE_OWNER_EMAIL, make_source, post_signed, sample_bytes

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 12, 10, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 12)


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def endpoint(*events: str, name: str = "CRM", format: str = WebhookFormat.GENERIC) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name, url=f"https://{name.lower()}.example/hook", format=format, events=list(events)
    )


def deliveries(**filters):
    return OutboxMessage.objects.filter(channel=MessageChannel.WEBHOOK, **filters).order_by("id")


def close_won(actor, deal, **extra):
    return deal_close(
        actor=actor,
        deal=deal,
        outcome=Stage.WON,
        closed_on=TODAY,
        final_amount=Decimal("30000"),
        reason="Closed won",
        **extra,
    )


def pending_deal(rep) -> Deal:
    """Won from a CRM with one customer contact named of the two the packet asks for."""
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE), contacts=1)
    close_won(rep, deal, packet_pending_ok=True)
    deal.refresh_from_db()
    assert deal.packet_pending_since is not None
    return deal


def test_a_browser_close_sends_deal_won_and_handoff_started(rep):
    # given
    endpoint(WebhookEvent.DEAL_WON, WebhookEvent.HANDOFF_STARTED)
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE, title="Fleet roll-out"))
    # when
    close_won(rep, deal)
    # then
    handoff = Handoff.objects.get(deal=deal)
    assert sorted(deliveries().values_list("kind", flat=True)) == ["deal.won", "handoff.started"]
    started = deliveries(kind="handoff.started").get()
    assert started.item_id == handoff.pk
    assert started.payload["id"] == f"handoff.started.handoff-{handoff.pk}.v{started.version}"
    data = started.payload["data"]
    assert data["handoff"]["id"] == handoff.pk and data["handoff"]["status"] == handoff.status
    assert data["deal"]["id"] == deal.pk and data["deal"]["stage"] == "won"
    assert data["rep"]["id"] == rep.pk
    assert data["started_by"]["id"] == rep.pk
    assert data["url"] == f"http://testserver/handoffs/{handoff.pk}/"
    assert "Fleet roll-out" in data["summary"]
    # deal.won of the same close names the hand-off too
    assert deliveries(kind="deal.won").get().payload["data"]["handoff"]["id"] == handoff.pk


def test_a_pending_deal_completed_sends_one_handoff_started(rep):
    # given: won with the packet pending — deal.won with no hand-off, and no start yet
    endpoint(WebhookEvent.DEAL_WON, WebhookEvent.HANDOFF_STARTED)
    deal = pending_deal(rep)
    assert deliveries(kind="deal.won").get().payload["data"]["handoff"] is None
    assert not deliveries(kind="handoff.started").exists()
    # when: the missing contact is added
    deal_contact_add(actor=rep, deal=deal, contact=ContactFactory(account=deal.account), role=ContactRole.USER)
    # then: exactly one handoff.started, for the hand-off that started
    handoff = Handoff.objects.get(deal=deal)
    (started,) = deliveries(kind="handoff.started")
    assert started.item_id == handoff.pk
    assert started.payload["data"]["deal"]["id"] == deal.pk
    assert deliveries(kind="deal.won").count() == 1


def test_a_pending_packet_waived_sends_handoff_started(rep, manager):
    endpoint(WebhookEvent.HANDOFF_STARTED)
    deal = pending_deal(rep)
    handoff = deal_packet_pending_waive(actor=manager, deal=deal, reason="Single buyer, no second contact")
    (started,) = deliveries(kind="handoff.started")
    assert started.item_id == handoff.pk
    assert started.payload["data"]["started_by"]["id"] == manager.pk


def test_an_inbound_close_sends_handoff_started(client, admin_user, rep):
    # given: the HubSpot sample, owned by the rep, complete
    rep.email = SAMPLE_OWNER_EMAIL
    rep.save(update_fields=["email"])
    endpoint(WebhookEvent.HANDOFF_STARTED)
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    # when
    assert post_signed(client, source, sample_bytes("hubspot_deal_won.json")).status_code == 201
    # then
    handoff = Handoff.objects.get()
    assert list(deliveries().values_list("kind", "item_id")) == [("handoff.started", handoff.pk)]


def test_nothing_is_written_for_handoff_started_without_a_subscriber(rep):
    endpoint(WebhookEvent.DEAL_WON)
    close_won(rep, give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE)))
    assert list(deliveries().values_list("kind", flat=True)) == ["deal.won"]


@pytest.mark.parametrize("format", [WebhookFormat.SLACK, WebhookFormat.TEAMS])
def test_handoff_started_renders_for_chat(rep, format):
    endpoint(WebhookEvent.HANDOFF_STARTED, format=format)
    deal = give_full_packet(DealFactory(owner=rep, stage=Stage.NEGOTIATE, title="Fleet roll-out"))
    close_won(rep, deal)
    payload = deliveries().get().payload
    body = json.loads(webhooks.render_body(payload, format))
    text = json.dumps(body, ensure_ascii=False)
    assert "Hand-off started" in text
    assert "Fleet roll-out" in text
    assert f"/handoffs/{Handoff.objects.get().pk}/" in text


def test_handoff_started_is_offered_to_admins():
    assert ("handoff.started", "Hand-off started") in WebhookEvent.choices
