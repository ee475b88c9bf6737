"""Personal API tokens: created (secret shown once, stored hashed), used, revoked."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services_api import api_token_create, api_token_revoke, token_digest

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2026, 5, 4, 12, 0, tzinfo=datetime.UTC)


def test_it_stores_only_the_digest_of_the_secret(rep):
    # when
    created = api_token_create(user=rep, name="HubSpot sync")
    # then
    stored = ApiToken.objects.get(pk=created.token.pk)
    assert created.secret.startswith("baton_") and len(created.secret) > 40
    assert stored.token_hash == token_digest(created.secret)
    assert stored.prefix == created.secret[:12]
    assert created.secret not in {stored.token_hash, stored.prefix, stored.name}


def test_it_refuses_a_token_without_a_name(rep):
    with pytest.raises(ValidationError) as error:
        api_token_create(user=rep, name="  ")
    assert "name" in error.value.message_dict


def test_it_authenticates_a_request_with_the_token(api_client, rep):
    # when
    response = api_client(rep).get("/api/v1/me/")
    # then
    assert response.status_code == 200
    assert response.json()["username"] == "rep"


@pytest.mark.parametrize(
    "header",
    ["Bearer baton_nope", "Bearer ", "Bearer a b", "Bearer not-even-a-baton-token"],
)
def test_it_refuses_a_wrong_token_with_401_and_the_error_body(rep, header):
    client = APIClient()
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_answers_401_without_credentials(db):
    response = APIClient().get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_revoked_token_stops_working(api_client, rep):
    # given
    client = api_client(rep)
    assert client.get("/api/v1/me/").status_code == 200
    # when
    api_token_revoke(actor=rep, token=client.token)
    # then
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_the_token_of_an_inactive_user_is_refused(api_client, rep):
    client = api_client(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert client.get("/api/v1/me/").status_code == 401


def test_an_expired_token_is_refused(rep):
    with time_machine.travel(NOON, tick=False):
        created = api_token_create(user=rep, name="short", expires_at=NOON + datetime.timedelta(days=1))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
        assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(NOON + datetime.timedelta(days=1, seconds=1), tick=False):
        assert client.get("/api/v1/me/").status_code == 401


def test_only_the_owner_or_an_admin_revokes(api_client, rep, other_rep, admin_user):
    token = api_token_create(user=rep, name="x").token
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=other_rep, token=token)
    api_token_revoke(actor=admin_user, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user


def test_last_used_is_written_at_most_once_a_minute(rep, django_assert_num_queries):
    # given
    with time_machine.travel(NOON, tick=False):
        created = api_token_create(user=rep, name="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    # when: three calls within the minute
    with time_machine.travel(NOON + datetime.timedelta(seconds=5), tick=False):
        client.get("/api/v1/me/")
    with (
        time_machine.travel(NOON + datetime.timedelta(seconds=50), tick=False),
        django_assert_num_queries(1),  # the token lookup only: no write
    ):
        client.get("/api/v1/me/")
    created.token.refresh_from_db()
    assert created.token.last_used_at == NOON + datetime.timedelta(seconds=5)
    # then: a call a minute later records it again
    with time_machine.travel(NOON + datetime.timedelta(seconds=70), tick=False):
        client.get("/api/v1/me/")
    created.token.refresh_from_db()
    assert created.token.last_used_at == NOON + datetime.timedelta(seconds=70)


def test_the_profile_page_creates_shows_once_and_revokes_a_token(client_for, rep):
    # given
    client = client_for(rep)
    # when
    response = client.post(reverse("accounts:api_token_create"), {"name": "Zapier", "expires_in_days": ""})
    # then: the secret is in this answer, and no cache keeps it
    assert response.status_code == 200
    token = ApiToken.objects.get(user=rep)
    secret = response.context["new_token"].secret
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert token_digest(secret) == token.token_hash
    # and: never again
    page = client.get(reverse("accounts:profile")).content.decode()
    assert secret not in page and token.prefix in page and "Zapier" in page
    # when: revoked
    response = client.post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_profile_page_does_not_revoke_someone_elses_token(client_for, rep, other_rep):
    token = api_token_create(user=other_rep, name="theirs").token
    response = client_for(rep).post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_profile_page_shows_a_form_error_for_an_empty_name(client_for, rep):
    response = client_for(rep).post(reverse("accounts:api_token_create"), {"name": ""})
    assert response.status_code == 200
    assert response.context["new_token"] is None
    assert not ApiToken.objects.exists()


def test_an_admin_revokes_tokens_from_the_admin_site(client_for, admin_user, rep):
    token = api_token_create(user=rep, name="left the company").token
    client = client_for(admin_user)
    # The Django admin is for superusers whose session passed two-factor (issue 15).
    device = StaticDevice.objects.create(user=admin_user, name="Backup codes", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == admin_user
