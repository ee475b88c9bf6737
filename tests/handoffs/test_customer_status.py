"""The customer's status page: a signed, expiring link, no login, never data on a bad link."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from handoffs.selectors.handoffs import customer_status_token
from tests.factories import ContactFactory
from tests.handoffs.handoff_builders import accepted_handoff, won_handoff

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_owner_how_to_reach_them_and_the_promises(client, rep, manager, delivery_lead):
    # given
    handoff = accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)
    contact = handoff.deal.deal_contacts.first().contact
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    # when: no one is logged in
    response = client.get(reverse("handoffs:customer_status", args=[token]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert str(delivery_lead) in body and delivery_lead.email in body
    assert "Promise 1: live by 1 March" in body
    assert f"Hello {contact.first_name}" in body
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_before_acceptance_the_rep_is_named_as_the_contact(client, rep):
    handoff = won_handoff(rep=rep)
    contact = handoff.deal.deal_contacts.first().contact
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    body = client.get(reverse("handoffs:customer_status", args=[token])).content.decode()
    assert "being chosen" in body and str(rep) in body


def test_a_tampered_link_shows_a_clear_not_found_page_and_no_data(client, rep):
    handoff = won_handoff(rep=rep)
    contact = handoff.deal.deal_contacts.first().contact
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    response = client.get(reverse("handoffs:customer_status", args=[token[:-2] + "xx"]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "This link is not valid" in body and str(handoff.deal.account) not in body


def test_an_expired_link_is_refused(client, rep, settings):
    settings.BATON_CUSTOMER_LINK_DAYS = 30
    handoff = won_handoff(rep=rep)
    contact = handoff.deal.deal_contacts.first().contact
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=29)):
        assert client.get(reverse("handoffs:customer_status", args=[token])).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=31)):
        assert client.get(reverse("handoffs:customer_status", args=[token])).status_code == 404


def test_a_link_naming_a_contact_of_another_account_is_refused(client, rep):
    handoff = won_handoff(rep=rep)
    token = customer_status_token(handoff_id=handoff.pk, contact_id=ContactFactory().pk)
    assert client.get(reverse("handoffs:customer_status", args=[token])).status_code == 404


def test_a_token_signed_for_another_purpose_is_refused(client, rep):
    from django.core import signing

    handoff = won_handoff(rep=rep)
    contact = handoff.deal.deal_contacts.first().contact
    token = signing.TimestampSigner().sign_object({"h": handoff.pk, "c": contact.pk})
    assert client.get(reverse("handoffs:customer_status", args=[token])).status_code == 404
