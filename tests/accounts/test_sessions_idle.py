"""A session ends after BATON_SESSION_IDLE_SECONDS without a request, and after
SESSION_COOKIE_AGE from the sign-in however busy it was; an API token is not a session."""

import datetime

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.urls import reverse

from accounts.security.sessions import SEEN_AT, SIGNED_IN_AT
from accounts.services_api import api_token_create
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
IDLE_MESSAGE = "You were signed out after 12 hours without activity."


@pytest.fixture(autouse=True)
def _session_limits(settings):
    settings.BATON_SESSION_IDLE_SECONDS = 12 * 3600
    settings.SESSION_COOKIE_AGE = 7 * 24 * 3600


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def signed_in(client, rep, clock):
    """The rep signed in through the login page at NOW, and one page opened."""
    client.post(reverse("login"), {"username": rep.username, "password": TEST_PASSWORD})
    assert client.get(reverse("accounts:profile")).status_code == 200
    return client


def profile(client):
    return client.get(reverse("accounts:profile"))


def test_a_session_used_within_the_idle_limit_stays_signed_in(signed_in, clock):
    # when
    clock.shift(datetime.timedelta(hours=11, minutes=59))
    response = profile(signed_in)
    # then
    assert response.status_code == 200


def test_an_idle_session_is_signed_out_with_a_message(signed_in, clock):
    # given
    clock.shift(datetime.timedelta(hours=12, seconds=1))
    # when
    response = signed_in.get(reverse("accounts:profile"), follow=True)
    # then
    login_page, _ = response.redirect_chain[-1]
    assert login_page.startswith(reverse("login")) and "next=" in login_page
    assert IDLE_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in signed_in.session
    # and the old session is gone from the database, not merely forgotten by the cookie
    assert all("_auth_user_id" not in session.get_decoded() for session in Session.objects.all())


def test_activity_keeps_a_session_alive_past_the_idle_limit(signed_in, clock):
    # when: a page every 8 hours, for a day
    answers = []
    for _ in range(3):
        clock.shift(datetime.timedelta(hours=8))
        answers.append(profile(signed_in).status_code)
    # then
    assert answers == [200, 200, 200]


def test_the_absolute_limit_holds_however_busy_the_session(signed_in, clock, settings):
    # given
    settings.SESSION_COOKIE_AGE = 24 * 3600
    # when: busy every 6 hours; the 24th hour is past the absolute limit
    answers = []
    for _ in range(5):
        clock.shift(datetime.timedelta(hours=6, seconds=1))
        answers.append(profile(signed_in).status_code)
    # then
    assert answers == [200, 200, 200, 302, 302]
    follow = signed_in.get(reverse("accounts:profile"), follow=True)
    assert follow.redirect_chain[-1][0].startswith(reverse("login"))


def test_activity_is_written_to_the_session_at_most_once_a_minute(signed_in, clock):
    # given
    seen = signed_in.session[SEEN_AT]
    # when
    clock.shift(datetime.timedelta(seconds=30))
    profile(signed_in)
    after_30s = signed_in.session[SEEN_AT]
    clock.shift(datetime.timedelta(seconds=31))
    profile(signed_in)
    after_61s = signed_in.session[SEEN_AT]
    # then
    assert after_30s == seen
    assert after_61s == seen + 61
    assert signed_in.session[SIGNED_IN_AT] == int(NOW.timestamp())


def test_a_session_authenticated_api_call_on_an_idle_session_gets_the_api_401(signed_in, clock):
    # given
    clock.shift(datetime.timedelta(hours=13))
    # when
    response = signed_in.get("/api/v1/me/")
    # then
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_an_api_token_is_not_a_session_and_never_idles_out(client, rep, clock):
    # given
    secret = api_token_create(user=rep, name="sync").secret
    # when
    first = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    clock.shift(datetime.timedelta(days=3))
    later = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    # then
    assert first.status_code == later.status_code == 200


def test_a_public_page_opened_on_an_idle_session_is_not_sent_to_login(signed_in, clock):
    # given
    clock.shift(datetime.timedelta(hours=13))
    # when
    response = signed_in.get(reverse("login"))
    # then: the login page itself, signed out, without a redirect loop
    assert response.status_code == 200
    assert "_auth_user_id" not in signed_in.session


def test_a_session_that_cannot_be_read_leaves_health_to_answer_in_json(signed_in, monkeypatch):
    # given: the database stops answering session reads (a restart), with a session cookie
    def unreadable(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "_get_session_from_db", unreadable)
    # when
    response = signed_in.get(reverse("health"))
    # then: the health view answers (in JSON), not this middleware with an HTML 500
    assert response["Content-Type"].startswith("application/json")
