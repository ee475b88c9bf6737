"""Customer status links (issue 15): revoked and resent from the hand-off page, valid only
in their current version, within their days, and while the contact is on the deal."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEntry
from followups.choices import MessagePurpose, MessageStatus
from followups.models import OutboxMessage, message_id_for
from followups.services.outbox import outbox_deliver_due
from handoffs.models import CustomerLink, DealContact
from handoffs.selectors.handoffs import CUSTOMER_LINK_SALT, customer_status_token
from handoffs.services.customer_links import customer_link_revoke, customer_link_send
from handoffs.services.handoffs import meeting_record, meeting_schedule
from tests.factories import ContactFactory, DealContactFactory
from tests.handoffs.handoff_builders import accepted_handoff

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 UTC.
NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def handoff(rep, manager, delivery_lead):
    return accepted_handoff(rep=rep, manager=manager, lead=delivery_lead)


@pytest.fixture
def contact(handoff):
    return handoff.deal.deal_contacts.first().contact


def status_of(client, token: str):
    return client.get(reverse("handoffs:customer_status", args=[token]))


def is_refused(response) -> bool:
    return response.status_code == 404 and "This link is no longer valid" in response.text


def link_in(message) -> str:
    match = re.search(r"http://testserver(/status/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


# --- revoke, resend, and what the old links do then -------------------------------------


def test_a_revoked_link_shows_the_invalid_page_naming_who_to_ask(client, handoff, contact, rep, delivery_lead):
    # given: the link the customer summary carried (version 1, no row yet)
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    assert status_of(client, token).status_code == 200
    # when
    customer_link_revoke(actor=rep, handoff=handoff, contact=contact)
    # then
    response = status_of(client, token)
    assert is_refused(response)
    assert str(rep) in response.text and str(delivery_lead) in response.text
    assert str(handoff.deal.account) not in response.text and "Promise 1" not in response.text
    link = CustomerLink.objects.get(handoff=handoff, contact=contact)
    assert (link.version, link.revoked_by, link.revoked_at) == (2, rep, NOW)
    entry = AuditEntry.objects.get(action=AuditAction.CUSTOMER_LINK_REVOKED)
    assert entry.actor == rep and entry.target_id == str(link.pk)


def test_a_fresh_link_is_emailed_through_the_outbox_and_works_while_every_older_one_is_refused(
    client, handoff, contact, rep
):
    # given
    old_token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    # when
    link = customer_link_send(actor=rep, handoff=handoff, contact=contact)
    assert outbox_deliver_due().emailed == 1
    assert outbox_deliver_due().emailed == 0
    # then
    [message] = mail.outbox
    assert message.to == [contact.email] and message.reply_to == [rep.email]
    assert message.extra_headers["Message-ID"] == message_id_for(
        "customer_link", "customer_link", link.pk, 2, f"contact-{contact.pk}"
    )
    fresh = link_in(message)
    assert client.get(fresh).status_code == 200
    assert is_refused(status_of(client, old_token))
    link.refresh_from_db()
    assert link.last_sent_at == NOW
    # when: yet another one
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    outbox_deliver_due()
    # then: only the newest opens the page, and each version had its own Message-ID
    newest = link_in(mail.outbox[1])
    assert client.get(newest).status_code == 200
    assert is_refused(client.get(fresh))
    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert ids == {f"<customer_link.customer_link.{link.pk}.v{v}.contact-{contact.pk}@baton>" for v in (2, 3)}


def test_a_link_sent_after_being_revoked_works_again_only_in_its_new_version(client, handoff, contact, rep):
    revoked = customer_link_revoke(actor=rep, handoff=handoff, contact=contact)
    revoked_token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk, version=revoked.version)
    assert is_refused(status_of(client, revoked_token))
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    outbox_deliver_due()
    assert client.get(link_in(mail.outbox[0])).status_code == 200
    assert is_refused(status_of(client, revoked_token))


def test_a_fresh_link_revoked_or_replaced_before_its_email_went_out_is_never_sent(handoff, contact, rep):
    # given: two fresh links asked for, then a revoke, before the sender ran
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    customer_link_revoke(actor=rep, handoff=handoff, contact=contact)
    # when
    outbox_deliver_due()
    # then
    assert mail.outbox == []
    rows = OutboxMessage.objects.filter(purpose=MessagePurpose.CUSTOMER_LINK).order_by("version")
    assert [(row.version, row.status) for row in rows] == [
        (2, MessageStatus.CANCELLED),  # superseded by version 3 when it was asked for
        (3, MessageStatus.CANCELLED),  # skipped when sending: revoked since
    ]


def test_a_legacy_token_without_a_version_counts_as_version_one(client, handoff, contact, rep):
    # Signed before links had versions (customer summaries sent before issue 15).
    legacy = signing.TimestampSigner(salt=CUSTOMER_LINK_SALT).sign_object({"h": handoff.pk, "c": contact.pk})
    assert status_of(client, legacy).status_code == 200
    customer_link_revoke(actor=rep, handoff=handoff, contact=contact)
    assert is_refused(status_of(client, legacy))


# --- the contact, the age --------------------------------------------------------------


def test_a_contact_removed_from_the_deal_is_refused_and_gets_no_fresh_link(client, handoff, contact, rep):
    # given: a working link, and a fresh one queued
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    current = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk, version=2)
    assert status_of(client, current).status_code == 200
    # when
    DealContact.objects.filter(deal=handoff.deal, contact=contact).delete()
    # then
    assert is_refused(status_of(client, current))
    assert is_refused(status_of(client, token))
    outbox_deliver_due()
    assert mail.outbox == []
    assert OutboxMessage.objects.get(purpose=MessagePurpose.CUSTOMER_LINK).status == MessageStatus.CANCELLED


def test_a_link_expires_after_its_days(client, handoff, contact, settings):
    settings.BATON_CUSTOMER_LINK_DAYS = 30
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    with time_machine.travel(NOW + datetime.timedelta(days=29), tick=False):
        assert status_of(client, token).status_code == 200
    with time_machine.travel(NOW + datetime.timedelta(days=31), tick=False):
        response = status_of(client, token)
    assert is_refused(response)


def test_every_kind_of_invalid_link_gets_the_same_page_and_a_forged_one_names_nobody(client, handoff, contact, rep):
    forged = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)[:-3] + "abc"
    other_account = customer_status_token(handoff_id=handoff.pk, contact_id=ContactFactory().pk)
    wrong_salt = signing.TimestampSigner().sign_object({"h": handoff.pk, "c": contact.pk, "v": 1})
    garbage = signing.TimestampSigner(salt=CUSTOMER_LINK_SALT).sign_object(["not", "a", "link"])
    no_handoff = customer_status_token(handoff_id=handoff.pk + 1000, contact_id=contact.pk)
    responses = [status_of(client, token) for token in (forged, other_account, wrong_salt, garbage, no_handoff, "x")]
    assert all(is_refused(response) for response in responses)
    # Only a token we signed names who to ask: not a forged, foreign or garbled one.
    untrusted = [responses[0], responses[2], responses[3], responses[5]]
    assert all(str(rep) not in response.text for response in untrusted)
    assert str(rep) in responses[1].text
    assert responses[0]["X-Robots-Tag"] == "noindex, nofollow"


# --- the customer summary carries the current version ------------------------------------


def _held_meeting(handoff, contact):
    meeting = meeting_schedule(
        actor=handoff.rep,
        handoff=handoff,
        starts_at=NOW + datetime.timedelta(days=1),
        duration_minutes=45,
        location="https://meet.example/kickoff",
        contacts=[contact],
    )
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=1), tick=False):
        meeting_record(
            actor=handoff.rep,
            meeting=meeting,
            attended_user_ids=[handoff.rep_id, handoff.delivery_owner_id],
            attended_contact_ids=[contact.pk],
            agreement="Kick-off on Monday.",
            promise_reviews=[(handoff.deal.promises.first(), "confirmed", "", "")],
        )
    return meeting


def test_the_summary_carries_the_current_link_and_marks_it_sent(client, handoff, contact, rep):
    # given: the link was replaced once (version 2) before the meeting
    customer_link_send(actor=rep, handoff=handoff, contact=contact)
    meeting = _held_meeting(handoff, contact)
    # when
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=2), tick=False):
        outbox_deliver_due()
        summary = next(m for m in mail.outbox if "/status/" in m.body and "Kick-off on Monday" in m.body)
        # then
        assert client.get(link_in(summary)).status_code == 200
    assert CustomerLink.objects.get(handoff=handoff, contact=contact).last_sent_at is not None


def test_a_revoked_contact_gets_the_summary_without_a_link(handoff, contact, rep):
    customer_link_revoke(actor=rep, handoff=handoff, contact=contact)
    meeting = _held_meeting(handoff, contact)
    with time_machine.travel(meeting.starts_at + datetime.timedelta(hours=2), tick=False):
        outbox_deliver_due()
    summary = next(m for m in mail.outbox if "Kick-off on Monday" in m.body)
    assert "/status/" not in summary.body
    assert "/status/" not in summary.alternatives[0][0]


# --- the card on the hand-off page, and who may use it -----------------------------------


def card_state(response, contact) -> str:
    match = re.search(rf'data-contact="{contact.pk}" data-state="(\w+)"', response.text)
    assert match, response.text
    return match.group(1)


def test_the_card_shows_each_links_state_as_the_rep_works_it(client_for, handoff, contact, rep):
    client = client_for(rep)
    url = reverse("handoffs:customer_links", args=[handoff.pk])
    revoke = reverse("handoffs:customer_link_revoke", args=[handoff.pk, contact.pk])
    send = reverse("handoffs:customer_link_send", args=[handoff.pk, contact.pk])
    # the hand-off page loads the card
    assert url in client.get(reverse("handoffs:handoff_detail", args=[handoff.pk])).text
    assert card_state(client.get(url, **HTMX), contact) == "never_sent"
    revoked = client.post(revoke, **HTMX)
    assert revoked.status_code == 200 and card_state(revoked, contact) == "revoked"
    assert "no longer opens the status page" in revoked.text
    sent = client.post(send, **HTMX)
    assert card_state(sent, contact) == "queued" and contact.email in sent.text
    outbox_deliver_due()
    assert card_state(client.get(url, **HTMX), contact) == "active"
    # without JavaScript: a page of its own, and the buttons come back to it
    assert client.post(revoke).url == url
    page = client.get(url)
    assert "<html" in page.text and card_state(page, contact) == "revoked"


def test_a_contact_without_an_email_is_not_listed(client_for, handoff, rep):
    DealContactFactory(deal=handoff.deal, contact__email="", contact__first_name="Noemail")
    response = client_for(rep).get(reverse("handoffs:customer_links", args=[handoff.pk]), **HTMX)
    assert "Noemail" not in response.text


@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead", "admin_user"])
def test_the_hand_offs_people_and_their_managers_may_revoke_and_resend(request, client_for, handoff, contact, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("handoffs:customer_links", args=[handoff.pk]), **HTMX).status_code == 200
    assert client.post(reverse("handoffs:customer_link_send", args=[handoff.pk, contact.pk]), **HTMX).status_code == 200
    assert CustomerLink.objects.get(handoff=handoff, contact=contact).version == 2


@pytest.mark.parametrize("who, status", [("other_rep", 403), ("outsider_team_rep", 404)])
def test_nobody_else_may_see_revoke_or_resend(request, client_for, client, handoff, contact, who, status):
    # given: a working link
    token = customer_status_token(handoff_id=handoff.pk, contact_id=contact.pk)
    user_client = client_for(request.getfixturevalue(who))
    # when
    responses = [
        user_client.get(reverse("handoffs:customer_links", args=[handoff.pk]), **HTMX),
        user_client.post(reverse("handoffs:customer_link_revoke", args=[handoff.pk, contact.pk]), **HTMX),
        user_client.post(reverse("handoffs:customer_link_send", args=[handoff.pk, contact.pk]), **HTMX),
    ]
    # then
    assert [response.status_code for response in responses] == [status] * 3
    assert not CustomerLink.objects.exists() and not OutboxMessage.objects.filter(purpose="customer_link").exists()
    client.logout()
    assert status_of(client, token).status_code == 200


def test_a_contact_not_on_the_deal_is_not_found_and_nothing_changes(client_for, handoff, rep):
    stranger = ContactFactory(account=handoff.deal.account)
    response = client_for(rep).post(reverse("handoffs:customer_link_send", args=[handoff.pk, stranger.pk]), **HTMX)
    assert response.status_code == 404
    assert not CustomerLink.objects.exists()


def test_the_links_pages_need_a_login_and_post_for_changes(client, client_for, handoff, contact, rep):
    url = reverse("handoffs:customer_links", args=[handoff.pk])
    assert client.get(url).status_code == 302
    revoke = reverse("handoffs:customer_link_revoke", args=[handoff.pk, contact.pk])
    assert client_for(rep).get(revoke).status_code == 405
    assert not CustomerLink.objects.exists()
