"""Closes straight from the CRM: POST /api/v1/inbound/<slug>/ (handoffs.inbound)."""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts.choices import EventVerb
from accounts.models import Account, Contact, TimelineEvent
from followups.models import Notification
from handoffs.choices import InboundKind, InboundOutcome, Stage
from handoffs.inbound.services import inbound_deliveries_purge, inbound_delivery_replay, inbound_source_rotate_secret
from handoffs.models import Deal, DealContact, Handoff, InboundDelivery, Promise
from handoffs.packet import packet_pending
from handoffs.services.deals import deal_contact_add, deal_packet_pending_waive
from tests.factories import AccountFactory, ContactFactory
from tests.handoffs.inbound_helpers import (
    SAMPLE_OWNER_EMAIL,
    make_source,
    post_signed,
    sample,
    sample_bytes,
    signed_headers,
)

NOW = datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]

SAMPLES = [
    (InboundKind.HUBSPOT, "hubspot_deal_won.json", "9876543210", Decimal("48000.00")),
    (InboundKind.SALESFORCE, "salesforce_opportunity_won.json", "0065g00000XyZabAAF", Decimal("72500.00")),
    (InboundKind.GENERIC, "generic_deal_won.json", "D-2025-0042", Decimal("18900.00")),
]


@pytest.fixture
def rita(rep):
    """The rep the samples name as the deal's owner (by e-mail)."""
    rep.email = SAMPLE_OWNER_EMAIL
    rep.save(update_fields=["email"])
    return rep


def nothing_written() -> bool:
    return not (Deal.objects.exists() or Account.objects.exists() or Contact.objects.exists())


def error_of(response) -> dict:
    body = response.json()
    assert set(body["error"]) >= {"code", "message"}
    return body["error"]


# --- each sample starts a hand-off --------------------------------------------------------


@pytest.mark.parametrize(("kind", "name", "external_id", "amount"), SAMPLES)
def test_each_sample_is_won_and_starts_the_hand_off(client, admin_user, rita, kind, name, external_id, amount):
    # given
    source = make_source(admin_user, kind=kind)
    # when
    response = post_signed(client, source, sample_bytes(name))
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "created"
    deal = Deal.objects.get(external_source=source.slug, external_id=external_id)
    assert body["deal"] == {
        "id": deal.pk,
        "external_id": external_id,
        "stage": "won",
        "packet_pending": False,
        "packet_missing": [],
        "handoff": deal.handoff.pk,
    }
    assert deal.stage == Stage.WON
    assert deal.amount == amount
    assert deal.owner == rita
    assert deal.packet_pending_since is None
    assert Handoff.objects.filter(deal=deal).exists()
    assert deal.account.external_source == source.slug and deal.account.external_id
    assert DealContact.objects.filter(deal=deal).count() == 2
    assert Contact.objects.filter(account=deal.account, external_source=source.slug).count() == 2
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.signature_ok, delivery.deal_id, delivery.status_code) == (
        InboundOutcome.CREATED,
        True,
        deal.pk,
        201,
    )
    assert delivery.raw_body == sample_bytes(name).decode()


def test_the_hubspot_sample_maps_context_promises_roles_and_close_date(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    post_signed(client, source, sample_bytes("hubspot_deal_won.json"))
    deal = Deal.objects.get()
    assert deal.title == "Northwind — onboarding platform"
    assert deal.closed_on == datetime.date(2025, 3, 7)
    assert deal.lead_source == "referral"
    assert deal.context_needs.startswith("Replace spreadsheets")
    assert sorted(Promise.objects.filter(deal=deal).values_list("description", flat=True)) == [
        "Live by 1 May",
        "SSO included",
    ]
    assert dict(DealContact.objects.filter(deal=deal).values_list("contact__email", "role")) == {
        "nora.keller@northwind.example": "decision_maker",
        "ivan.petrov@northwind.example": "champion",
    }
    assert deal.account.domain == "northwind.example"
    assert "from Hubspot main" in deal.close_reason


def test_the_salesforce_sample_maps_the_currency_roles_and_website(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.SALESFORCE)
    post_signed(client, source, sample_bytes("salesforce_opportunity_won.json"))
    deal = Deal.objects.get()
    assert deal.currency == "USD"
    assert deal.lead_source == "partner"
    assert deal.account.domain == "contoso.example"
    assert set(DealContact.objects.filter(deal=deal).values_list("role", flat=True)) == {"decision_maker", "user"}


# --- the signature ----------------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_writes_nothing(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    response = post_signed(client, source, sample_bytes("hubspot_deal_won.json"), secret="not-the-secret")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"
    assert nothing_written()
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.signature_ok) == (InboundOutcome.REJECTED, False)


def test_a_body_changed_after_signing_is_refused(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample_bytes("hubspot_deal_won.json")
    headers = signed_headers(source.secret, body)
    tampered = body.replace(b"48000", b"4800")
    response = client.post(
        reverse("handoffs:inbound_receive", args=[source.slug]), tampered, content_type="application/json", **headers
    )
    assert response.status_code == 401
    assert nothing_written()


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_more_than_five_minutes_away_is_refused(client, admin_user, rita, offset):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    stamp = int(NOW.timestamp()) + offset
    response = post_signed(client, source, sample_bytes("hubspot_deal_won.json"), timestamp=stamp)
    assert response.status_code == 401
    assert "five minutes" in error_of(response)["message"]
    assert nothing_written()


def test_a_timestamp_within_five_minutes_is_accepted(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    stamp = int(NOW.timestamp()) - 290
    assert post_signed(client, source, sample_bytes("hubspot_deal_won.json"), timestamp=stamp).status_code == 201


def test_an_unsigned_request_is_refused(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    response = client.post(
        reverse("handoffs:inbound_receive", args=[source.slug]),
        sample_bytes("generic_deal_won.json"),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert nothing_written()


def test_after_a_rotation_the_previous_secret_signs_for_a_day(client, admin_user, rita):
    # given
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    old_secret = source.secret
    source = inbound_source_rotate_secret(actor=admin_user, source=source)
    assert source.secret != old_secret
    body = sample(name="generic_deal_won.json")
    # when / then: the old one still works now
    assert post_signed(client, source, body, secret=old_secret).status_code == 201
    # and no longer after 24 hours
    with time_machine.travel(NOW + datetime.timedelta(hours=25)):
        body["deal"]["id"] = "D-2025-0043"
        assert post_signed(client, source, body, secret=old_secret).status_code == 401
        assert post_signed(client, source, body).status_code == 201


def test_a_switched_off_source_refuses_and_an_unknown_one_is_404(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    source.active = False
    source.save()
    response = post_signed(client, source, sample_bytes("generic_deal_won.json"))
    assert response.status_code == 403
    response = client.post("/api/v1/inbound/nobody/", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert nothing_written()


# --- idempotent, and updates by external id -------------------------------------------------


def test_a_second_delivery_of_the_same_won_deal_changes_nothing(client, admin_user, rita):
    # given
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample_bytes("hubspot_deal_won.json")
    post_signed(client, source, body)
    events = TimelineEvent.objects.count()
    deal = Deal.objects.get()
    # when
    response = post_signed(client, source, body)
    # then
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert Deal.objects.count() == 1 and Handoff.objects.count() == 1
    assert Account.objects.count() == 1 and Contact.objects.count() == 2
    assert TimelineEvent.objects.count() == events
    deal_after = Deal.objects.get()
    assert deal_after.version == deal.version
    assert InboundDelivery.objects.filter(outcome=InboundOutcome.IGNORED).count() == 1


def test_an_open_deal_is_created_then_updated_then_won_by_its_external_id(client, admin_user, rita):
    # given: the deal is still open in HubSpot
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample("hubspot_deal_won.json")
    body["properties"]["dealstage"] = "contractsent"
    # when
    response = post_signed(client, source, body)
    # then: created open, nothing closed
    assert response.status_code == 201
    deal = Deal.objects.get()
    assert deal.stage == Stage.NEGOTIATE
    assert deal.next_step == "Countersign the contract"
    assert not Handoff.objects.exists()
    # when: a new amount and title
    body["properties"].update(amount="50000", dealname="Northwind — onboarding platform (3 years)")
    response = post_signed(client, source, body)
    # then: the same deal, updated
    assert response.status_code == 200 and response.json()["outcome"] == "updated"
    deal.refresh_from_db()
    assert (deal.amount, deal.title) == (Decimal("50000.00"), "Northwind — onboarding platform (3 years)")
    # when: won
    body["properties"]["dealstage"] = "closedwon"
    response = post_signed(client, source, body)
    # then
    assert response.json()["outcome"] == "updated"
    deal.refresh_from_db()
    assert deal.stage == Stage.WON
    assert Deal.objects.count() == 1 and Handoff.objects.filter(deal=deal).count() == 1
    assert Contact.objects.count() == 2


def test_a_deal_lost_in_the_crm_is_ignored(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample("hubspot_deal_won.json")
    body["properties"]["dealstage"] = "closedlost"
    response = post_signed(client, source, body)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert nothing_written()


def test_an_unknown_owner_falls_back_to_the_default_owner(client, admin_user, rita, other_rep):
    source = make_source(admin_user, kind=InboundKind.GENERIC, default_owner=other_rep)
    body = sample("generic_deal_won.json")
    body["deal"]["owner_email"] = "someone.else@elsewhere.example"
    response = post_signed(client, source, body)
    assert response.status_code == 201
    assert Deal.objects.get().owner == other_rep
    assert "someone.else@elsewhere.example" in InboundDelivery.objects.get().reason


def test_an_account_typed_by_hand_is_adopted_by_its_domain(client, admin_user, rita):
    # given: the rep created Litware in Baton before the CRM was connected
    account = AccountFactory(owner=rita, team=rita.team, name="Litware", domain="litware.example")
    ContactFactory(account=account, email="olga.novak@litware.example", first_name="Olga")
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    # when
    post_signed(client, source, sample_bytes("generic_deal_won.json"))
    # then
    account.refresh_from_db()
    assert Account.objects.count() == 1
    assert (account.external_source, account.external_id) == (source.slug, "ACME-77")
    assert Contact.objects.filter(account=account).count() == 2
    assert Deal.objects.get().account == account


# --- an incomplete packet ----------------------------------------------------------------------


def test_an_incomplete_packet_is_won_pending_and_the_missing_contact_starts_the_hand_off(
    client, admin_user, rita, django_capture_on_commit_callbacks
):
    # given
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, source, sample_bytes("hubspot_deal_won_incomplete.json"))
    # then: won, pending, no hand-off, the rep told
    assert response.status_code == 201
    assert response.json()["deal"]["packet_pending"] is True
    assert response.json()["deal"]["packet_missing"] == ["contacts"]
    deal = Deal.objects.get()
    assert deal.stage == Stage.WON and packet_pending(deal)
    assert not Handoff.objects.exists()
    assert Notification.objects.filter(user=rita, title__contains="waiting for its packet").exists()
    # when: the rep names a second contact
    deal_contact_add(actor=rita, deal=deal, contact=ContactFactory(account=deal.account))
    # then
    deal.refresh_from_db()
    assert not packet_pending(deal)
    assert Handoff.objects.filter(deal=deal).exists()


def test_an_incomplete_packet_waived_by_a_manager_starts_the_hand_off(client, admin_user, rita, manager):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    post_signed(client, source, sample_bytes("hubspot_deal_won_incomplete.json"))
    deal = Deal.objects.get()
    deal_packet_pending_waive(actor=manager, deal=deal, reason="A one-person pilot")
    deal.refresh_from_db()
    assert not packet_pending(deal)
    assert deal.packet_waiver_reason == "A one-person pilot"
    assert Handoff.objects.filter(deal=deal).exists()
    assert TimelineEvent.objects.filter(subject_id=deal.pk, verb=EventVerb.PACKET_WAIVED).exists()


# --- bad input writes nothing ------------------------------------------------------------------


def test_malformed_json_is_a_400_and_kept(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    response = post_signed(client, source, b'{"deal": {"id": "x",')
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    assert nothing_written()
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.raw_body) == (InboundOutcome.REJECTED, '{"deal": {"id": "x",')


def test_a_body_over_one_megabyte_is_a_413(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    body = sample("generic_deal_won.json")
    body["deal"]["close_reason"] = "x" * (1024 * 1024)
    response = post_signed(client, source, body)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert nothing_written()
    # Refused before anything reads it (accounts.api.middleware, then the view's own check).
    assert not InboundDelivery.objects.exclude(raw_body="").exists()


@pytest.mark.parametrize(
    ("change", "place"),
    [
        (lambda body: body["deal"].pop("amount"), "deal.amount"),
        (lambda body: body["deal"].update(amount={"value": 1}), "deal.amount"),
        (lambda body: body["deal"].update(amount="lots"), "deal.amount"),
        (lambda body: body["deal"].update(stage="signed"), "deal.stage"),
        (lambda body: body["deal"].update(closed_on="next tuesday"), "deal.closed_on"),
        (lambda body: body["deal"].update(currency="XYZ"), "deal.currency"),
        (lambda body: body["deal"].update(colour="blue"), "deal.colour"),
        (lambda body: body["account"].pop("id"), "account.id"),
        (lambda body: body.update(contacts="Olga"), "contacts"),
    ],
)
def test_an_unmappable_payload_is_kept_with_its_reason_and_answered_422(client, admin_user, rita, change, place):
    # given
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    body = sample("generic_deal_won.json")
    change(body)
    # when
    response = post_signed(client, source, body)
    # then
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "unmappable"
    assert place in error["fields"]
    assert nothing_written()
    delivery = InboundDelivery.objects.get()
    assert delivery.outcome == InboundOutcome.FAILED_TO_MAP
    assert place in delivery.reason
    assert json.loads(delivery.raw_body) == body


def test_a_body_that_is_not_an_object_is_unmappable(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    response = post_signed(client, source, b"[1, 2, 3]")
    assert response.status_code == 422
    assert nothing_written()


def test_a_hubspot_stage_baton_does_not_know_is_unmappable(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample("hubspot_deal_won.json")
    body["properties"]["dealstage"] = "12345678"
    response = post_signed(client, source, body)
    assert response.status_code == 422
    assert "properties.dealstage" in error_of(response)["fields"]
    assert nothing_written()


def test_a_refusal_half_way_rolls_back_every_row_but_keeps_the_delivery(client, admin_user, rita):
    # given: a close date Baton finds implausible, refused by deal_close after the account,
    # contacts and deal were written in the same transaction
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    body = sample("generic_deal_won.json")
    body["deal"]["closed_on"] = "1901-01-01"
    # when
    response = post_signed(client, source, body)
    # then
    assert response.status_code == 422
    assert "closed_on" in error_of(response)["fields"]
    assert nothing_written()
    assert InboundDelivery.objects.get().outcome == InboundOutcome.FAILED_TO_MAP


# --- replay ---------------------------------------------------------------------------------------


def test_a_failed_delivery_is_replayed_after_the_fix(client, admin_user, rita, other_rep):
    # given: an owner nobody knows and no default owner
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    body = sample("generic_deal_won.json")
    body["deal"]["owner_email"] = "new.hire@baton.example"
    assert post_signed(client, source, body).status_code == 422
    failed = InboundDelivery.objects.get()
    assert "default owner" in failed.reason
    assert failed.external_id == "D-2025-0042"
    # when: the admin sets a default owner, then replays
    source.default_owner = other_rep
    source.save()
    answer = inbound_delivery_replay(actor=admin_user, delivery=failed)
    # then
    replay = answer.delivery
    assert replay.outcome == InboundOutcome.CREATED
    assert replay.replayed_from == failed and replay.replayed_by == admin_user
    assert Deal.objects.get().owner == other_rep
    failed.refresh_from_db()
    assert failed.outcome == InboundOutcome.FAILED_TO_MAP


def test_only_a_signed_failed_delivery_is_replayed_and_only_by_an_admin(client, admin_user, manager, rita):
    from django.core.exceptions import PermissionDenied, ValidationError

    source = make_source(admin_user, kind=InboundKind.GENERIC)
    post_signed(client, source, sample_bytes("generic_deal_won.json"))
    created = InboundDelivery.objects.get()
    with pytest.raises(ValidationError):
        inbound_delivery_replay(actor=admin_user, delivery=created)
    with pytest.raises(PermissionDenied):
        inbound_delivery_replay(actor=manager, delivery=created)


# --- retention ----------------------------------------------------------------------------------


def test_the_purge_deletes_deliveries_older_than_thirty_days(client, admin_user, rita):
    # given: one delivery 31 days ago (replayed yesterday) and one today
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    with time_machine.travel(NOW - datetime.timedelta(days=31)):
        post_signed(client, source, b"not json")
    old = InboundDelivery.objects.get()
    recent = InboundDelivery.objects.create(
        source=source, received_at=NOW - datetime.timedelta(days=1), raw_body="{}", replayed_from=old
    )
    # when
    deleted = inbound_deliveries_purge()
    # then
    assert deleted == 1
    assert list(InboundDelivery.objects.values_list("pk", flat=True)) == [recent.pk]
    recent.refresh_from_db()
    assert recent.replayed_from is None
    assert inbound_deliveries_purge() == 0


def test_the_readme_shows_the_samples_the_tests_use():
    # given: the JSON blocks of README's "Closes from your CRM"
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Closes from your CRM", 1)[1].split("\n## ", 1)[0]
    blocks = [json.loads(block.split("```", 1)[0]) for block in section.split("```json\n")[1:]]
    # then
    assert blocks == [sample(name) for _, name, _, _ in SAMPLES]


# --- two deliveries at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_the_same_new_deal_at_once_create_it_once(admin_user, rita):
    # given: the CRM retries while its first request is still being processed
    import threading

    from django.db import connection

    from handoffs.inbound.services import inbound_receive

    source = make_source(admin_user, kind=InboundKind.HUBSPOT)
    body = sample_bytes("hubspot_deal_won.json")
    headers = {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in signed_headers(source.secret, body).items()
    }
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            answer = inbound_receive(slug=source.slug, body=body, headers=headers)
            outcomes.append(answer.delivery.outcome)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then
    assert sorted(outcomes) == [InboundOutcome.CREATED, InboundOutcome.IGNORED]
    assert Deal.objects.count() == 1 and Handoff.objects.count() == 1
    assert Account.objects.count() == 1 and Contact.objects.count() == 2
