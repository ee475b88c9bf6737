"""The password-reset e-mail goes through the outbox: written with the request, rendered
with a fresh link when the worker sends it, and plain text that keeps an apostrophe."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.security.throttle import throttles_reset
from followups.choices import MessagePurpose, MessageStatus
from followups.models import OutboxMessage
from followups.services.outbox import outbox_deliver_due
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    # The reset limit's counters live in the shared cache (Redis): none may leak between tests.
    throttles_reset()
    yield
    throttles_reset()


def request_reset(client, address):
    return client.post(reverse("password_reset"), {"email": address})


def test_the_reset_email_names_the_user_unescaped(client):
    # given
    UserFactory(username="obrien", first_name="D'Arcy", last_name="O'Brien", email="sean@example.test")
    # when
    request_reset(client, "sean@example.test")
    outbox_deliver_due()
    # then
    [message] = mail.outbox
    assert "&#x27;" not in message.subject + message.body and "&amp;" not in message.body
    assert "Hello D'Arcy," in message.body
    assert message.subject == "Choose a new Baton password"


def test_it_writes_an_outbox_row_and_sends_nothing_in_the_request(client, rep):
    # when
    response = request_reset(client, rep.email)
    # then
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox == []
    row = OutboxMessage.objects.get(purpose=MessagePurpose.PASSWORD_RESET)
    assert (row.recipient, row.kind, row.item_id, row.status) == (rep, "user", rep.pk, MessageStatus.PENDING)


def test_the_link_in_the_email_sets_a_new_password(client, rep):
    # given
    request_reset(client, rep.email)
    outbox_deliver_due()
    [message] = mail.outbox
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)
    assert f'href="http://testserver{link}"' in message.alternatives[0][0]
    # when
    form_page = client.get(link, follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-fresh-one-for-baton-42", "new_password2": "a-fresh-one-for-baton-42"},
    )
    # then
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    rep.refresh_from_db()
    assert rep.check_password("a-fresh-one-for-baton-42")


def test_a_second_request_replaces_a_first_one_not_yet_sent(client, rep, time_machine):
    # given
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    request_reset(client, rep.email)
    time_machine.move_to("2026-03-02 09:00:05+00:00", tick=False)
    # when
    request_reset(client, rep.email)
    outbox_deliver_due()
    # then
    statuses = list(OutboxMessage.objects.order_by("version").values_list("status", flat=True))
    assert statuses == [MessageStatus.CANCELLED, MessageStatus.SENT]
    assert len(mail.outbox) == 1


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_written(client, rep):
    # when
    response = request_reset(client, "nobody@example.test")
    # then
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert not OutboxMessage.objects.exists()


def test_it_skips_a_user_deactivated_before_the_email_went(client, rep):
    # given
    request_reset(client, rep.email)
    User.objects.filter(pk=rep.pk).update(is_active=False)
    # when
    outbox_deliver_due()
    # then
    row = OutboxMessage.objects.get(purpose=MessagePurpose.PASSWORD_RESET)
    assert row.status == MessageStatus.CANCELLED and "inactive" in row.last_error
    assert mail.outbox == []
