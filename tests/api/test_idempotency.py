"""Idempotency-Key on POST: a retry never runs twice; a reused key with another body is refused."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from accounts.api import views
from accounts.models import Account, IdempotencyKey
from accounts.services_api import idempotency_keys_purge

NOON = datetime.datetime(2026, 5, 4, 12, 0, tzinfo=datetime.UTC)


def _post(client, body, key="key-1", path="/api/v1/accounts/"):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_gets_the_first_answer_and_creates_nothing_more(api_client, rep):
    # given
    client = api_client(rep)
    first = _post(client, {"name": "Acme"})
    # when
    retry = _post(client, {"name": "Acme"})
    # then
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_and_runs_nothing(api_client, rep):
    client = api_client(rep)
    _post(client, {"name": "Acme"})
    response = _post(client, {"name": "Globex"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]


@pytest.mark.django_db
def test_the_same_key_on_another_url_is_refused(api_client, rep):
    client = api_client(rep)
    account = Account.objects.get(pk=_post(client, {"name": "Acme"}).json()["id"])
    response = _post(client, {"account": account.pk, "first_name": "Ann"}, path="/api/v1/contacts/")
    assert response.status_code == 422
    assert not account.contacts.exists()


@pytest.mark.django_db
def test_a_refusal_is_remembered_like_a_success(api_client, rep):
    client = api_client(rep)
    first = _post(client, {"name": ""})
    retry = _post(client, {"name": ""})
    assert first.status_code == retry.status_code == 400
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


@pytest.mark.django_db
def test_keys_belong_to_their_user(api_client, rep, other_rep):
    _post(api_client(rep), {"name": "Acme"})
    response = _post(api_client(other_rep), {"name": "Acme"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_without_a_key_each_post_runs(api_client, rep):
    client = api_client(rep)
    client.post("/api/v1/accounts/", {"name": "Acme"}, format="json")
    client.post("/api/v1/accounts/", {"name": "Acme"}, format="json")
    assert Account.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", " ", "é", "x" * 256, "a\tb"])
def test_an_invalid_key_is_refused(api_client, rep, key):
    response = _post(api_client(rep), {"name": "Acme"}, key=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_a_crash_is_not_remembered_and_the_retry_runs(api_client, rep, monkeypatch):
    # given: the first attempt fails on our side after the service wrote the account
    client = api_client(rep)
    client.raise_request_exception = False
    real_create = views.account_create

    def create_then_crash(**kwargs):
        real_create(**kwargs)
        raise RuntimeError("crash after the write")

    monkeypatch.setattr(views, "account_create", create_then_crash)
    first = _post(client, {"name": "Acme"})
    assert first.status_code == 500
    # then: nothing of it stayed, and the retry runs
    assert not Account.objects.exists() and not IdempotencyKey.objects.exists()
    monkeypatch.setattr(views, "account_create", real_create)
    retry = _post(client, {"name": "Acme"})
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_a_key_is_kept_24_hours(api_client, rep):
    client = api_client(rep)
    with time_machine.travel(NOON, tick=False):
        _post(client, {"name": "Acme"})
    with time_machine.travel(NOON + datetime.timedelta(hours=23), tick=False):
        assert _post(client, {"name": "Acme"})["Idempotent-Replayed"] == "true"
        assert idempotency_keys_purge() == 0
    with time_machine.travel(NOON + datetime.timedelta(hours=24, seconds=1), tick=False):
        assert idempotency_keys_purge() == 1
        response = _post(client, {"name": "Acme"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Account.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_and_never_runs_twice(api_client, rep, monkeypatch):
    # given: a first request held inside its service until the duplicate has been answered
    client = api_client(rep)
    secret = client.secret
    entered, release = threading.Event(), threading.Event()
    real_create = views.account_create

    def slow_create(**kwargs):
        entered.set()
        assert release.wait(10)
        return real_create(**kwargs)

    monkeypatch.setattr(views, "account_create", slow_create)
    answers = {}

    def first_request():
        try:
            answers["first"] = _post(_client(secret), {"name": "Acme"})
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert entered.wait(10)
    # when: the duplicate arrives while the first runs
    try:
        duplicate = _post(_client(secret), {"name": "Acme"})
    finally:
        release.set()
        thread.join(10)
    # then
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_in_progress"
    assert answers["first"].status_code == 201
    # and: once the first is done, the retry gets its answer
    monkeypatch.setattr(views, "account_create", real_create)
    retry = _post(_client(secret), {"name": "Acme"})
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert Account.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_retries_create_one_account(api_client, rep):
    secret = api_client(rep).secret
    barrier = threading.Barrier(6)
    statuses = []

    def attempt():
        try:
            barrier.wait(10)
            statuses.append(_post(_client(secret), {"name": "Acme"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert Account.objects.count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client
