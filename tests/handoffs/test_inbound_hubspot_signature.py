"""HubSpot's own v3 request signature, accepted for a HubSpot source next to Baton's."""

import base64
import datetime
import hashlib
import hmac

import pytest
from django.urls import reverse

from accounts.models import Account, Contact
from handoffs.choices import InboundKind, InboundOutcome
from handoffs.inbound.services import inbound_source_update
from handoffs.inbound.signature import hubspot_uri
from handoffs.models import Deal, Handoff, InboundDelivery
from tests.handoffs.inbound_helpers import SAMPLE_OWNER_EMAIL, make_source, post_signed, sample_bytes

NOW = datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]

# What a HubSpot app's client secret looks like (a UUID), pasted by the admin.
CLIENT_SECRET = "5c1d2a9e-3f4b-4e6a-9b7c-8d0e1f2a3b4c"
SAMPLE = "hubspot_deal_won.json"


@pytest.fixture
def rita(rep):
    rep.email = SAMPLE_OWNER_EMAIL
    rep.save(update_fields=["email"])
    return rep


@pytest.fixture
def hubspot(admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT, default_owner=rita)
    return inbound_source_update(
        actor=admin_user, source=source, name=source.name, default_owner=rita, active=True, secret=CLIENT_SECRET
    )


def hubspot_signed(uri: str, body: bytes, *, secret: str = CLIENT_SECRET, timestamp: int = NOW_MS) -> dict[str, str]:
    """As HubSpot signs (its documentation, written out here on purpose rather than
    calling Baton's code): base64 HMAC-SHA256 of method + URI + body + timestamp."""
    message = b"POST" + uri.encode() + body + str(timestamp).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return {"HTTP_X_HUBSPOT_SIGNATURE_V3": digest, "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": str(timestamp)}


def post_hubspot(client, source, body: bytes, *, uri: str | None = None, path_suffix: str = "", **signing):
    path = reverse("handoffs:inbound_receive", args=[source.slug]) + path_suffix
    headers = hubspot_signed(uri or f"http://testserver{path}", body, **signing)
    return client.post(path, data=body, content_type="application/json", **headers)


def nothing_written() -> bool:
    return not (Deal.objects.exists() or Account.objects.exists() or Contact.objects.exists())


def test_a_sample_signed_the_hubspot_way_starts_a_hand_off(client, hubspot):
    # when
    response = post_hubspot(client, hubspot, sample_bytes(SAMPLE))
    # then
    assert response.status_code == 201, response.content
    deal = Deal.objects.get(external_source=hubspot.slug)
    assert Handoff.objects.filter(deal=deal).exists()
    assert response.json()["deal"]["handoff"] == deal.handoff.pk
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.signature_ok) == (InboundOutcome.CREATED, True)
    assert delivery.headers["X-HubSpot-Request-Timestamp"] == str(NOW_MS)


def test_baton_s_own_signature_still_works_for_a_hubspot_source(client, hubspot):
    assert post_signed(client, hubspot, sample_bytes(SAMPLE)).status_code == 201


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-the-client-secret-at-all"},
        {"timestamp": NOW_MS - 301_000},  # older than five minutes
        {"timestamp": NOW_MS + 310_000},  # from the future (the frozen clock ticks on a little)
    ],
    ids=["wrong-secret", "too-old", "too-new"],
)
def test_a_wrong_or_old_hubspot_signature_is_refused_and_writes_nothing(client, hubspot, signing):
    response = post_hubspot(client, hubspot, sample_bytes(SAMPLE), **signing)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert nothing_written()
    assert InboundDelivery.objects.get().outcome == InboundOutcome.REJECTED


def test_a_hubspot_signature_over_another_address_is_refused(client, hubspot):
    body = sample_bytes(SAMPLE)
    response = post_hubspot(client, hubspot, body, uri="https://elsewhere.example/api/v1/inbound/hubspot-main/")
    assert response.status_code == 401
    assert nothing_written()


def test_a_body_changed_after_hubspot_signed_it_is_refused(client, hubspot):
    path = reverse("handoffs:inbound_receive", args=[hubspot.slug])
    body = sample_bytes(SAMPLE)
    headers = hubspot_signed(f"http://testserver{path}", body)
    response = client.post(path, data=body.replace(b"48000", b"4800"), content_type="application/json", **headers)
    assert response.status_code == 401
    assert nothing_written()


def test_a_generic_source_does_not_take_hubspot_s_signature(client, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.GENERIC, default_owner=rita)
    path = reverse("handoffs:inbound_receive", args=[source.slug])
    body = sample_bytes("generic_deal_won.json")
    headers = hubspot_signed(f"http://testserver{path}", body, secret=source.secret)
    assert client.post(path, data=body, content_type="application/json", **headers).status_code == 401
    assert nothing_written()


def test_the_query_string_is_signed_with_hubspot_s_escapes_decoded(client, hubspot):
    # HubSpot decodes %3A, %40… in the URI it signs, and leaves the other escapes alone.
    path = reverse("handoffs:inbound_receive", args=[hubspot.slug])
    signed_uri = f"http://testserver{path}?portal=42&who=a@b.example&note=a%20b"
    response = post_hubspot(
        client, hubspot, sample_bytes(SAMPLE), uri=signed_uri, path_suffix="?portal=42&who=a%40b.example&note=a%20b"
    )
    assert response.status_code == 201, response.content


def test_hubspot_uri_decodes_only_its_list():
    assert hubspot_uri("https://x.example/a%3Ab%2fc?q=%40%20%26%2B%25%3B") == "https://x.example/a:b/c?q=@%20%26%2B%25;"


def test_behind_a_tls_proxy_the_signed_address_is_the_https_one(client, hubspot, settings):
    # given: production's SECURE_PROXY_SSL_HEADER, and a proxy that passes Host on
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["baton.example.com"]
    path = reverse("handoffs:inbound_receive", args=[hubspot.slug])
    body = sample_bytes(SAMPLE)
    headers = hubspot_signed(f"https://baton.example.com{path}", body)
    # when
    response = client.post(
        path,
        data=body,
        content_type="application/json",
        HTTP_HOST="baton.example.com",
        HTTP_X_FORWARDED_PROTO="https",
        **headers,
    )
    # then
    assert response.status_code == 201, response.content


def test_an_admin_sets_a_hubspot_source_s_secret_on_its_page(client_for, admin_user, rita):
    # given
    source = make_source(admin_user, kind=InboundKind.HUBSPOT, default_owner=rita)
    old = source.secret
    url = reverse("handoffs:inbound_source_detail", args=[source.pk])
    # when
    response = client_for(admin_user).post(
        url, {"name": source.name, "default_owner": rita.pk, "active": "on", "secret": CLIENT_SECRET}
    )
    # then
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.secret, source.previous_secret) == (CLIENT_SECRET, old)
    page = client_for(admin_user).get(url).content.decode()
    # The form's field is never filled in (the secret is only behind "Show the secret").
    assert page.count(CLIENT_SECRET) == 1
    assert 'name="secret"' in page


def test_an_empty_secret_field_keeps_the_secret_and_a_short_one_is_refused(client_for, admin_user, rita):
    source = make_source(admin_user, kind=InboundKind.HUBSPOT, default_owner=rita)
    old = source.secret
    url = reverse("handoffs:inbound_source_detail", args=[source.pk])
    form = {"name": "Renamed", "default_owner": rita.pk, "active": "on"}
    assert client_for(admin_user).post(url, {**form, "secret": ""}).status_code == 302
    response = client_for(admin_user).post(url, {**form, "secret": "short"})
    assert response.status_code == 200
    assert "secret" in response.context["form"].errors
    source.refresh_from_db()
    assert (source.name, source.secret) == ("Renamed", old)


def test_only_a_hubspot_source_has_the_secret_field_and_only_admins_see_the_page(client_for, admin_user, rita, manager):
    generic = make_source(admin_user, kind=InboundKind.GENERIC, default_owner=rita)
    url = reverse("handoffs:inbound_source_detail", args=[generic.pk])
    assert 'name="secret"' not in client_for(admin_user).get(url).content.decode()
    old = generic.secret
    client_for(admin_user).post(
        url, {"name": generic.name, "default_owner": rita.pk, "active": "on", "secret": CLIENT_SECRET}
    )
    generic.refresh_from_db()
    assert generic.secret == old
    hubspot = make_source(admin_user, kind=InboundKind.HUBSPOT, slug="hs-2", default_owner=rita)
    hub_url = reverse("handoffs:inbound_source_detail", args=[hubspot.pk])
    response = client_for(manager).post(
        hub_url, {"name": "x", "default_owner": rita.pk, "active": "on", "secret": CLIENT_SECRET}
    )
    assert response.status_code in (302, 403, 404)
    hubspot.refresh_from_db()
    assert hubspot.secret != CLIENT_SECRET
