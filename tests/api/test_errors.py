"""Every API error has the one body: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.api.middleware import API_MAX_BODY_BYTES
from accounts.api.serializers import StrictModelSerializer
from accounts.models import Account, Contact
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_malformed_json_is_a_400_with_the_error_body(api_client, rep):
    response = api_client(rep).generic("POST", "/api/v1/accounts/", '{"name": "Acme",', content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_json"
    assert not Account.objects.exists()


def test_an_unknown_field_is_refused_and_nothing_is_written(api_client, rep):
    response = api_client(rep).post("/api/v1/accounts/", {"name": "Acme", "colour": "red"}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert error["fields"] == {"colour": ["Unknown field."]}
    assert not Account.objects.exists()


def test_a_field_the_endpoint_does_not_write_is_refused(api_client, rep):
    response = api_client(rep).post("/api/v1/accounts/", {"name": "Acme", "health_score": 3}, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"health_score": ["Unknown field."]}


class _Strict(StrictModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "first_name", "created_at"]
        read_only_fields = ["id", "created_at"]
        tolerated_read_only = ["id"]


def test_the_strict_base_refuses_read_only_fields_except_tolerated_ones():
    serializer = _Strict(data={"id": 4, "first_name": "Ann", "created_at": "2026-01-01T00:00:00Z", "x": 1})
    assert not serializer.is_valid()
    assert serializer.errors == {"created_at": ["This field is read-only."], "x": ["Unknown field."]}
    assert _Strict(data={"id": 4, "first_name": "Ann"}).is_valid()


def test_wrong_types_are_refused_per_field(api_client, rep):
    response = api_client(rep).post("/api/v1/accounts/", {"name": ["Acme"], "size": "huge"}, format="json")
    assert response.status_code == 400
    fields = _error(response)["fields"]
    assert set(fields) == {"name", "size"}
    assert all(isinstance(message, str) for messages in fields.values() for message in messages)


def test_a_body_that_is_not_an_object_is_refused(api_client, rep):
    response = api_client(rep).post("/api/v1/accounts/", [1, 2], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in _error(response)["fields"]


def test_a_body_over_one_megabyte_is_a_413(api_client, rep):
    body = json.dumps({"name": "Acme", "notes": "x" * API_MAX_BODY_BYTES})
    response = api_client(rep).generic("POST", "/api/v1/accounts/", body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"
    assert not Account.objects.exists()


def test_a_form_encoded_body_is_a_415(api_client, rep):
    response = api_client(rep).post("/api/v1/accounts/", {"name": "Acme"})  # multipart
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_an_account_the_user_may_not_see_is_a_404(api_client, rep, outsider_team_rep):
    # given: an account of another team
    theirs = AccountFactory(owner=outsider_team_rep)
    client = api_client(rep)
    # then: reading it, changing it, adding a contact to it — as if it did not exist
    assert _error(client.get(f"/api/v1/accounts/{theirs.pk}/"))["code"] == "not_found"
    response = client.patch(f"/api/v1/accounts/{theirs.pk}/", {"version": 1, "name": "Mine"}, format="json")
    assert response.status_code == 404
    response = client.post("/api/v1/contacts/", {"account": theirs.pk, "first_name": "Eve"}, format="json")
    assert response.status_code == 400
    assert "account" in _error(response)["fields"]
    assert not Contact.objects.exists()
    theirs.refresh_from_db()
    assert theirs.name != "Mine"


def test_a_contact_the_user_may_not_see_is_a_404(api_client, rep, outsider_team_rep):
    contact = ContactFactory(account=AccountFactory(owner=outsider_team_rep))
    response = api_client(rep).get(f"/api/v1/contacts/{contact.pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/accounts/99999999999999999999/", "/api/v1/accounts/0/"]
)
def test_an_unknown_url_or_impossible_id_is_a_json_404(api_client, rep, path):
    response = api_client(rep).get(path)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_a_service_refusal_is_a_400_with_its_field(api_client, rep):
    # given: a contact whose email is taken in the same account
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, email="ann@acme.test")
    # when
    response = api_client(rep).post(
        "/api/v1/contacts/", {"account": account.pk, "first_name": "Ann", "email": "ANN@acme.test"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert _error(response)["fields"] == {"email": ["Another contact of this account already has this email address."]}


def test_a_service_permission_refusal_is_a_403(api_client, rep, other_rep):
    # given: a teammate's account, which a rep reads but may not change
    account = AccountFactory(owner=other_rep)
    response = api_client(rep).patch(f"/api/v1/accounts/{account.pk}/", {"version": 1, "name": "X"}, format="json")
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_a_method_not_allowed_is_a_405(api_client, rep):
    response = api_client(rep).delete("/api/v1/accounts/")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_a_bad_filter_value_is_a_400_naming_the_filter(api_client, rep):
    response = api_client(rep).get("/api/v1/accounts/", {"owner": "abc"})
    assert response.status_code == 400
    assert "owner" in _error(response)["fields"]


def test_a_crash_is_a_json_500(rep, monkeypatch):
    # given: a view that fails unexpectedly
    from accounts.api import views

    def boom(self, request):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(views.MeView, "get", boom)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(rep)
    # when
    response = client.get("/api/v1/me/")
    # then
    assert response.status_code == 500
    assert _error(response)["code"] == "server_error"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": 42}, "name", "Must be a string."),
        ({"name": "Acme", "owner": "7"}, "owner", "Must be an id (a whole number)."),
        ({"name": "Acme", "owner": True}, "owner", "Must be an id (a whole number)."),
        ({"name": "Acme", "notes": 2.5}, "notes", "Must be a string."),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(api_client, rep, body, field, message):
    response = api_client(rep).post("/api/v1/accounts/", body, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {field: [message]}
    assert not Account.objects.exists()


@pytest.mark.parametrize("page_size", ["0", "201", "abc", "-1", "²"])
def test_an_impossible_page_size_is_refused(api_client, rep, page_size):
    response = api_client(rep).get("/api/v1/accounts/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in _error(response)["fields"]


def test_a_nul_character_in_a_filter_is_a_400_not_a_crash(api_client, rep):
    response = api_client(rep).get("/api/v1/accounts/?search=a%00b")
    assert response.status_code == 400
    assert "search" in _error(response)["fields"]
