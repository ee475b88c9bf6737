"""The admins' pages of inbound closes: sources, deliveries, a raw payload, replay."""

import datetime

import pytest
from django.urls import reverse

from handoffs.choices import InboundKind, InboundOutcome
from handoffs.inbound.services import MAX_BODY_BYTES, inbound_receive
from handoffs.models import Deal, InboundDelivery, InboundSource
from tests.handoffs.inbound_helpers import make_source, post_signed, sample

NOW = datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]


@pytest.fixture
def source(admin_user):
    return make_source(admin_user, kind=InboundKind.GENERIC)


@pytest.fixture
def failed_delivery(client, source) -> InboundDelivery:
    body = sample("generic_deal_won.json")
    body["deal"]["owner_email"] = "nobody@baton.example"
    assert post_signed(client, source, body).status_code == 422
    return InboundDelivery.objects.get()


def admin_urls(source: InboundSource, delivery: InboundDelivery) -> list[tuple[str, str]]:
    return [
        ("get", reverse("handoffs:inbound_admin")),
        ("get", reverse("handoffs:inbound_source_create")),
        ("get", reverse("handoffs:inbound_source_detail", args=[source.pk])),
        ("post", reverse("handoffs:inbound_source_rotate", args=[source.pk])),
        ("get", reverse("handoffs:inbound_delivery_detail", args=[delivery.pk])),
        ("post", reverse("handoffs:inbound_delivery_replay", args=[delivery.pk])),
    ]


@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead"])
def test_the_pages_are_for_admins_only(request, client_for, source, failed_delivery, who):
    client = client_for(request.getfixturevalue(who))
    secret = source.secret
    for method, url in admin_urls(source, failed_delivery):
        assert getattr(client, method)(url).status_code == 403, url
    source.refresh_from_db()
    assert source.secret == secret
    assert InboundDelivery.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in(client, source):
    response = client.get(reverse("handoffs:inbound_admin"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_admin_navigation_links_to_inbound_closes(client_for, admin_user, rep):
    assert (
        reverse("handoffs:inbound_admin") in client_for(admin_user).get(reverse("followups:dashboard")).content.decode()
    )
    assert reverse("handoffs:inbound_admin") not in client_for(rep).get(reverse("handoffs:my_day")).content.decode()


def test_an_admin_creates_a_source_and_sees_its_address_and_secret(client_for, admin_user, rep):
    # when
    response = client_for(admin_user).post(
        reverse("handoffs:inbound_source_create"),
        {"name": "HubSpot EU", "slug": "hubspot-eu", "kind": InboundKind.HUBSPOT, "default_owner": rep.pk},
    )
    # then
    source = InboundSource.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("handoffs:inbound_source_detail", args=[source.pk])
    assert (source.slug, source.kind, source.default_owner, source.created_by) == (
        "hubspot-eu",
        "hubspot",
        rep,
        admin_user,
    )
    assert len(source.secret) >= 40
    page = client_for(admin_user).get(response["Location"]).content.decode()
    assert source.secret in page
    assert "http://testserver/api/v1/inbound/hubspot-eu/" in page


def test_a_duplicate_address_or_a_missing_default_owner_is_refused_on_the_form(client_for, admin_user, source):
    response = client_for(admin_user).post(
        reverse("handoffs:inbound_source_create"), {"name": "Again", "slug": source.slug, "kind": "generic"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"slug", "default_owner"}
    assert InboundSource.objects.count() == 1


def test_an_admin_rotates_the_secret(client_for, admin_user, source):
    old = source.secret
    response = client_for(admin_user).post(reverse("handoffs:inbound_source_rotate", args=[source.pk]))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.secret != old and source.previous_secret == old


def test_an_admin_switches_a_source_off(client_for, admin_user, rep, source):
    client_for(admin_user).post(
        reverse("handoffs:inbound_source_detail", args=[source.pk]),
        {"name": "Generic (paused)", "default_owner": rep.pk},
    )
    source.refresh_from_db()
    assert (source.name, source.active, source.default_owner) == ("Generic (paused)", False, rep)


def test_the_list_shows_the_deliveries_of_thirty_days_with_outcome_and_reason(
    client_for, admin_user, source, failed_delivery
):
    # given: one more, 31 days old
    InboundDelivery.objects.create(
        source=source,
        received_at=NOW - datetime.timedelta(days=31),
        raw_body="{}",
        outcome=InboundOutcome.REJECTED,
        reason="An old one",
    )
    # when
    response = client_for(admin_user).get(reverse("handoffs:inbound_admin"))
    # then
    assert [delivery.pk for delivery in response.context["deliveries"]] == [failed_delivery.pk]
    html = response.content.decode()
    assert "Failed to map" in html and "default owner" in html
    assert "An old one" not in html
    # and the filter by outcome
    response = client_for(admin_user).get(reverse("handoffs:inbound_admin"), {"outcome": "created"})
    assert response.context["deliveries"] == []


def test_a_delivery_page_shows_its_raw_payload_and_replays_it_after_the_fix(
    client_for, admin_user, rep, source, failed_delivery
):
    client = client_for(admin_user)
    page = client.get(reverse("handoffs:inbound_delivery_detail", args=[failed_delivery.pk]))
    assert "nobody@baton.example" in page.content.decode()
    assert page.context["can_replay"]
    # when: a default owner is set, and the admin replays
    source.default_owner = rep
    source.save()
    response = client.post(reverse("handoffs:inbound_delivery_replay", args=[failed_delivery.pk]))
    # then
    replay = InboundDelivery.objects.get(replayed_from=failed_delivery)
    assert response["Location"] == reverse("handoffs:inbound_delivery_detail", args=[replay.pk])
    assert replay.outcome == InboundOutcome.CREATED
    assert Deal.objects.get().owner == rep
    original = client.get(reverse("handoffs:inbound_delivery_detail", args=[failed_delivery.pk])).content.decode()
    assert reverse("handoffs:inbound_delivery_detail", args=[replay.pk]) in original


def test_an_oversized_body_reaching_the_service_is_kept_as_refused_without_its_body(admin_user):
    # The API middleware refuses it first; the service holds the same line on its own.
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    answer = inbound_receive(slug=source.slug, body=b"x" * (MAX_BODY_BYTES + 1), headers={})
    assert (answer.status, answer.error_code) == (413, "payload_too_large")
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.raw_body, delivery.body_truncated) == (InboundOutcome.REJECTED, "", True)
