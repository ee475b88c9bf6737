"""The password-reset e-mail is plain text: a name with an apostrophe arrives as written."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_reset_email_names_the_user_unescaped(client):
    # given
    UserFactory(username="obrien", first_name="D'Arcy", last_name="O'Brien", email="sean@example.test")
    # when
    client.post(reverse("password_reset"), {"email": "sean@example.test"})
    # then
    [message] = mail.outbox
    assert "&#x27;" not in message.subject + message.body and "&amp;" not in message.body
    assert "Hello D'Arcy," in message.body
    assert message.subject == "Choose a new Baton password"
