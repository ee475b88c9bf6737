"""Password reset is limited per client address and per e-mail address; a limited
request says so in the same words for every address, and sends nothing."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.security.throttle import RateLimit, throttles_reset
from followups.choices import MessagePurpose
from followups.models import OutboxMessage

pytestmark = pytest.mark.django_db

LIMITED = "Too many reset requests. Try again later."
NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.BATON_PASSWORD_RESET_LIMIT = 3
    settings.BATON_PASSWORD_RESET_WINDOW_MINUTES = 60
    # The counters live in the shared cache (Redis): none may leak between tests.
    throttles_reset()
    yield
    throttles_reset()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def request_reset(client, email, *, address="203.0.113.7"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def resets_written():
    return OutboxMessage.objects.filter(purpose=MessagePurpose.PASSWORD_RESET).count()


def test_it_limits_requests_for_one_email_address_from_any_address(client, rep, clock):
    # given
    answers = [request_reset(client, rep.email, address=f"198.51.100.{n}") for n in range(3)]
    OutboxMessage.objects.all().delete()
    # when
    fourth = request_reset(client, rep.email, address="192.0.2.99")
    # then
    assert [a.status_code for a in answers] == [302] * 3
    assert fourth.status_code == 429 and LIMITED in fourth.content.decode()
    assert resets_written() == 0


def test_it_limits_requests_from_one_client_address_for_any_email(client, rep, other_rep, clock):
    # given
    for email in ["a@example.test", "b@example.test", "c@example.test"]:
        request_reset(client, email)
    # when
    limited = request_reset(client, rep.email)
    elsewhere = request_reset(client, other_rep.email, address="198.51.100.20")
    # then
    assert limited.status_code == 429 and LIMITED in limited.content.decode()
    assert elsewhere.status_code == 302
    assert list(OutboxMessage.objects.values_list("recipient", flat=True)) == [other_rep.pk]


def test_the_limited_answer_is_the_same_for_an_unknown_address(client, rep, clock):
    # given
    for _ in range(3):
        request_reset(client, rep.email, address="198.51.100.1")
        request_reset(client, "nobody@example.test", address="198.51.100.2")
    OutboxMessage.objects.all().delete()
    # when
    known = request_reset(client, rep.email, address="198.51.100.1")
    unknown = request_reset(client, "nobody@example.test", address="198.51.100.2")
    # then
    assert known.status_code == unknown.status_code == 429
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors() == [LIMITED]
    assert resets_written() == 0


def test_the_limit_lifts_when_the_window_ends(client, rep, clock):
    # given
    for _ in range(4):
        request_reset(client, rep.email)
    OutboxMessage.objects.all().delete()
    # when
    clock.shift(datetime.timedelta(minutes=61))
    later = request_reset(client, rep.email)
    # then
    assert later.status_code == 302
    assert resets_written() == 1


def test_a_badly_typed_address_is_a_field_error_not_a_count(client, clock):
    # when
    answers = [request_reset(client, "not-an-address") for _ in range(5)]
    # then
    assert {a.status_code for a in answers} == {200}
    assert "Enter a valid email address." in answers[-1].content.decode()
    assert request_reset(client, "someone@example.test").status_code == 302


def test_a_rate_limit_counts_each_key_on_its_own(clock):
    # given
    limit = RateLimit(name="test", limit=2, window_seconds=60)
    # when / then
    assert limit.hit("a", "shared") and limit.hit("b", "shared")
    assert not limit.hit("c", "shared")  # "shared" is over, though "c" is new
    assert limit.hit("c")  # "c" on its own: its second hit (the refused one counted)
    assert not limit.hit("c")
    assert not limit.hit("shared")
    # and a new window starts every count again
    clock.shift(datetime.timedelta(seconds=60))
    assert limit.hit("shared")
