"""Refused signatures are stored at most REJECTED_SIGNATURES_STORED_PER_MINUTE per source
and minute; the rest are answered the same 401 and counted in the log."""

import datetime
import logging

import pytest
import time_machine

from handoffs.choices import InboundKind, InboundOutcome
from handoffs.inbound import services
from handoffs.inbound.services import inbound_receive
from handoffs.inbound.signature import signature_of
from handoffs.models import InboundDelivery
from tests.handoffs.inbound_helpers import make_source

NOW = datetime.datetime(2025, 3, 10, 12, tzinfo=datetime.UTC)
pytestmark = pytest.mark.django_db

BODY = b'{"deal": {}}'


@pytest.fixture(autouse=True)
def _small_cap(monkeypatch):
    monkeypatch.setattr(services, "REJECTED_SIGNATURES_STORED_PER_MINUTE", 3)
    monkeypatch.setattr(services, "_unstored", {})


def badly_signed(now: datetime.datetime) -> dict[str, str]:
    stamp = str(int(now.timestamp()))
    return {"X-Baton-Timestamp": stamp, "X-Baton-Signature": signature_of(secret="wrong", timestamp=stamp, body=BODY)}


def test_it_stores_at_most_the_cap_a_minute_and_logs_the_rest(admin_user, caplog):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.WARNING, logger=services.logger.name):
        # when: 13 badly signed requests in the same minute
        answers = [inbound_receive(slug=source.slug, body=BODY, headers=badly_signed(NOW)) for _ in range(13)]
    # then: all refused alike, 3 stored, 10 counted in two log lines (the 1st and the 10th)
    assert {(answer.status, answer.error_code) for answer in answers} == {(401, "authentication_failed")}
    assert InboundDelivery.objects.filter(source=source, outcome=InboundOutcome.REJECTED).count() == 3
    assert [answer.delivery is None for answer in answers] == [False] * 3 + [True] * 10
    lines = [record.getMessage() for record in caplog.records if source.slug in record.getMessage()]
    assert len(lines) == 2
    assert ": 1 requests with a bad signature not stored" in lines[0]
    assert ": 10 requests with a bad signature not stored" in lines[1]


def test_a_minute_later_refusals_are_stored_again_and_each_source_has_its_own_cap(admin_user):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    other = make_source(admin_user, kind=InboundKind.GENERIC, slug="other")
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            inbound_receive(slug=source.slug, body=BODY, headers=badly_signed(NOW))
        inbound_receive(slug=other.slug, body=BODY, headers=badly_signed(NOW))
    later = NOW + datetime.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        answer = inbound_receive(slug=source.slug, body=BODY, headers=badly_signed(later))
    assert answer.delivery is not None
    assert InboundDelivery.objects.filter(source=source).count() == 4
    assert InboundDelivery.objects.filter(source=other).count() == 1


def test_a_good_signature_is_stored_whatever_the_flood(admin_user):
    source = make_source(admin_user, kind=InboundKind.GENERIC)
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            inbound_receive(slug=source.slug, body=BODY, headers=badly_signed(NOW))
        stamp = str(int(NOW.timestamp()))
        headers = {
            "X-Baton-Timestamp": stamp,
            "X-Baton-Signature": signature_of(secret=source.secret, timestamp=stamp, body=BODY),
        }
        answer = inbound_receive(slug=source.slug, body=BODY, headers=headers)
    assert answer.delivery is not None and answer.delivery.signature_ok
