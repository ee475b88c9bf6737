"""Login protection: five failed sign-ins lock out the username, and the address, until
the cool-off ends; the message never says whether the username exists."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from accounts.services_api import api_token_create
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins. Try again in 15 minutes."
NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _pinned_limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
    settings.BATON_TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def sign_in(client, username, password, *, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, *, address="203.0.113.7"):
    return [sign_in(client, username, "wrong-password", address=address) for _ in range(times)]


def test_it_locks_out_a_username_after_five_failures_even_with_the_right_password(client, rep, clock):
    # when
    responses = fail(client, rep.username, 5)
    right = sign_in(client, rep.username, TEST_PASSWORD)
    # then
    assert [r.status_code for r in responses[:4]] == [200] * 4
    assert responses[4].status_code == 429 and LOCKED in responses[4].content.decode()
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_username_stays_locked_from_another_address(client, rep, clock):
    # given
    fail(client, rep.username, 5, address="203.0.113.7")
    # when
    response = sign_in(client, rep.username, TEST_PASSWORD, address="198.51.100.20")
    # then
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_one_person_mistyping_does_not_lock_out_their_office(client, rep, other_rep, clock):
    # given: a colleague behind the same address locked themselves out
    fail(client, other_rep.username, 5)
    # when
    response = sign_in(client, rep.username, TEST_PASSWORD)
    # then
    assert response.status_code == 302


def test_it_locks_out_an_address_that_tries_many_usernames(client, rep, clock):
    # given: one failure each for twenty different usernames from one address (the
    # address's limit, BATON_LOGIN_ADDRESS_FAILURE_LIMIT)
    first = [sign_in(client, f"guess{n}", "wrong-password") for n in range(19)]
    sign_in(client, "guess19", "wrong-password")
    # when: the right password of a real user, from that address
    locked = sign_in(client, rep.username, TEST_PASSWORD)
    elsewhere = sign_in(client, rep.username, TEST_PASSWORD, address="198.51.100.20")
    # then
    assert {response.status_code for response in first} == {200}
    assert locked.status_code == 429 and LOCKED in locked.content.decode()
    assert elsewhere.status_code == 302


def test_the_message_is_the_same_for_an_unknown_username(client, rep, clock):
    # when
    known = fail(client, rep.username, 5, address="203.0.113.7")[-1]
    unknown = fail(client, "nobody-by-this-name", 5, address="198.51.100.20")[-1]
    # then
    assert known.status_code == unknown.status_code == 429
    assert LOCKED in known.content.decode() and LOCKED in unknown.content.decode()
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert "correct username and password" not in known.content.decode()


def test_the_lockout_ends_after_the_cool_off(client, rep, clock):
    # given
    fail(client, rep.username, 5)
    # when
    clock.shift(datetime.timedelta(minutes=14))
    still_locked = sign_in(client, rep.username, TEST_PASSWORD)
    clock.shift(datetime.timedelta(minutes=15, seconds=1))
    after = sign_in(client, rep.username, TEST_PASSWORD)
    # then: an attempt during the lockout starts the cool-off again
    assert still_locked.status_code == 429
    assert after.status_code == 302 and after.url == reverse("home")


def test_a_successful_sign_in_clears_that_usernames_failures(client, rep, clock):
    # given
    fail(client, rep.username, 4)
    # when
    assert sign_in(client, rep.username, TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    four_more = fail(client, rep.username, 4)
    # then: four more are not five in a row
    assert [r.status_code for r in four_more] == [200] * 4
    assert sign_in(client, rep.username, TEST_PASSWORD).status_code == 302


def test_signing_in_as_oneself_does_not_clear_the_addresss_other_failures(client, rep, other_rep, clock):
    # given: four guesses at a colleague's password
    fail(client, other_rep.username, 4)
    # when: the guesser signs in as themselves, then guesses once more
    assert sign_in(client, rep.username, TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    fifth = fail(client, other_rep.username, 1)[0]
    # then
    assert fifth.status_code == 429
    assert AccessAttempt.objects.filter(username=other_rep.username).exists()


def test_the_lockout_is_kept_in_the_database_for_every_web_process(client, rep, clock):
    # when
    fail(client, rep.username, 5)
    # then
    attempt = AccessAttempt.objects.get(username=rep.username)
    assert attempt.failures_since_start == 5 and attempt.attempt_time == timezone.now()


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(client, rep, settings, clock):
    # given: one proxy in front; the client forges an address on the left
    settings.BATON_TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "someone", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        )
    # then
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    # and another client behind the same proxy is not locked out
    ok = client.post(
        reverse("login"),
        {"username": rep.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert ok.status_code == 302


def test_the_api_token_is_not_subject_to_the_login_lockout(client, rep, clock):
    # given: the rep's username is locked out
    fail(client, rep.username, 5)
    secret = api_token_create(user=rep, name="laptop").secret
    # when
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    # then
    assert response.status_code == 200


def test_test_clients_login_still_works(client, rep):
    # Client.login() calls authenticate() without a request: not a web sign-in.
    assert client.login(username=rep.username, password=TEST_PASSWORD)
