"""A contact's personal data (issue 15): an admin exports everything Baton holds about a
contact, and erases a contact — personal fields anonymised, mentions scrubbed, the
history's shape kept, nothing ever sent to them again."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.audit import AuditAction
from accounts.models import AuditEntry, Contact, TimelineEvent
from accounts.services import contact_update
from accounts.services_api import api_token_create
from followups.builders import BUILDERS
from followups.choices import MessagePurpose, MessageStatus, PulseAnswer
from followups.models import CustomerPulse, Notification, OutboxMessage
from followups.personal_data import contact_personal_data
from followups.selectors.pulse import pulse_token
from followups.services.checkins import checkin_log
from followups.services.outbox import outbox_deliver_due, outbox_enqueue
from followups.services.personal_data import CANCEL_REASON, contact_erase
from followups.services.pulse import KIND_CHECKIN, pulse_answer, pulse_comment, pulse_request
from handoffs.choices import ContactRole, InboundKind
from handoffs.models import (
    CustomerLink,
    DealContact,
    ImportJob,
    ImportRejectedRow,
    InboundDelivery,
    InboundSource,
    MeetingAttendee,
)
from handoffs.selectors.handoffs import customer_status_token
from handoffs.services.handoffs import meeting_record, meeting_schedule
from handoffs.signals import MESSAGE_ABOUT_MEETING
from tests.factories import AccountFactory, CheckInFactory, ContactFactory, DealContactFactory
from tests.handoffs.handoff_builders import accepted_handoff

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 12, 10, 0, tzinfo=datetime.UTC)
ADA_EMAIL = "ada.lovelace@customer.test"
ADA_NAME = "Ada Lovelace"
ADA_PHONE = "+44 20 7946 0000"
ADA_COMMENT = "The single sign-on is two weeks late"
CSV = b"first_name,last_name,email\r\nAda,Lovelace,ada.lovelace@customer.test\r\nBob,Other,bob.other@customer.test\r\n"


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ada_on_deals(*, rep, manager, lead, deals: int = 1) -> Contact:
    """Ada, a decision maker of one account on `deals` accepted hand-offs, each with a
    meeting she is invited to (invites pending), a logged check-in whose pulse she
    answered "at risk" with a comment; a CRM delivery and an imported file carrying her
    address. Each deal also has another contact, who must be left alone."""
    account = AccountFactory(owner=rep, name="Analytical Engines Ltd")
    ada = ContactFactory(
        account=account, first_name="Ada", last_name="Lovelace", title="CTO", email=ADA_EMAIL, phone=ADA_PHONE
    )
    for number in range(deals):
        handoff = accepted_handoff(rep=rep, manager=manager, lead=lead, account=account, title=f"Engine {number}")
        DealContactFactory(deal=handoff.deal, contact=ada, role=ContactRole.DECISION_MAKER)
        other = handoff.deal.deal_contacts.exclude(contact=ada).first().contact
        meeting_schedule(
            actor=rep,
            handoff=handoff,
            starts_at=NOW + datetime.timedelta(days=2),
            duration_minutes=45,
            location="https://meet.example/kickoff",
            contacts=[ada, other],
        )
        checkin = CheckInFactory(handoff=handoff)
        checkin_log(
            actor=rep,
            checkin=checkin,
            channel="call",
            sentiment="happy",
            notes="On track.",
            issues_raised="",
            referral_asked=False,
            repeat_business_asked=False,
        )
        pulse = CustomerPulse.objects.get(checkin=checkin)
        pulse_answer(pulse=pulse, answer=PulseAnswer.AT_RISK)
        pulse_comment(pulse=pulse, comment=ADA_COMMENT)
    source = InboundSource.objects.create(
        name="HubSpot", slug=f"hubspot-{account.pk}", kind=InboundKind.HUBSPOT, secret="s"
    )
    InboundDelivery.objects.create(
        source=source,
        received_at=NOW,
        raw_body=json.dumps({"contact": {"firstname": "Ada", "lastname": "Lovelace", "email": ADA_EMAIL}}),
    )
    InboundDelivery.objects.create(source=source, received_at=NOW, raw_body='{"contact": {"email": "x@y.test"}}')
    job = ImportJob.objects.create(file_name="contacts.csv", content=CSV, encoding="utf-8")
    ImportRejectedRow.objects.create(
        job=job,
        line=2,
        raw={"first_name": "Ada", "last_name": "Lovelace", "email": ADA_EMAIL.upper()},
        reason=f"Another contact already has {ADA_EMAIL}.",
    )
    return ada


@pytest.fixture
def ada(rep, manager, delivery_lead):
    return ada_on_deals(rep=rep, manager=manager, lead=delivery_lead)


def export(client, contact):
    return client.get(reverse("followups:contact_personal_data_export", args=[contact.pk]))


def erase(client, contact, confirmation):
    return client.post(reverse("followups:contact_erase", args=[contact.pk]), {"confirmation": confirmation})


def everything_text() -> str:
    """Every text that could still name Ada, as one string."""
    parts = [
        *TimelineEvent.objects.values_list("message", flat=True),
        *(json.dumps(data) for data in TimelineEvent.objects.values_list("data", flat=True)),
        *Notification.objects.values_list("title", flat=True),
        *Notification.objects.values_list("body", flat=True),
        *OutboxMessage.objects.values_list("subject", flat=True),
        *(json.dumps(payload) for payload in OutboxMessage.objects.values_list("payload", flat=True)),
        *InboundDelivery.objects.values_list("raw_body", flat=True),
        *(json.dumps(raw) for raw in ImportRejectedRow.objects.values_list("raw", flat=True)),
        *ImportRejectedRow.objects.values_list("reason", flat=True),
        *(bytes(content).decode() for content in ImportJob.objects.values_list("content", flat=True)),
        *CustomerPulse.objects.values_list("comment", flat=True),
        *(json.dumps(changes) for changes in AuditEntry.objects.values_list("changes", flat=True)),
        *AuditEntry.objects.values_list("target_label", flat=True),
    ]
    return "\n".join(parts).lower()


# --- the export -----------------------------------------------------------------------


def test_the_export_is_a_download_of_everything_held_about_the_contact_and_nothing_of_others(
    ada, admin_user, client_for
):
    # when
    response = export(client_for(admin_user), ada)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="contact-{ada.pk}-personal-data.json"'
    document = json.loads(response.content)
    assert document["contact"]["email"] == ADA_EMAIL and document["contact"]["phone"] == ADA_PHONE
    assert document["contact"]["account"]["name"] == "Analytical Engines Ltd"
    assert [(deal["deal"], deal["role"]) for deal in document["deals"]] == [("Engine 0", "Decision maker")]
    assert len(document["meetings"]) == 1 and document["meetings"][0]["deal"] == "Engine 0"
    assert [(pulse["answer"], pulse["comment"]) for pulse in document["pulses"]] == [("At risk", ADA_COMMENT)]
    # Her invite and her pulse: not the other contact's invite, not the team's e-mails.
    assert sorted(message["purpose"] for message in document["messages"]) == ["Customer pulse", "Meeting invite"]
    assert all(
        ADA_NAME in event["message"] or event["data"].get("contact_id") == ada.pk
        for event in document["timeline_events"]
    )
    assert any(ADA_COMMENT in event["message"] for event in document["timeline_events"])
    assert {n["title"] for n in document["team_notifications"]} >= {"Analytical Engines Ltd: the customer says at risk"}
    assert [len(document[key]) for key in ("crm_deliveries", "import_rejected_rows", "imported_files")] == [1, 1, 1]
    assert "best effort" in document["note"]


def test_the_export_is_recorded_in_the_audit_log_without_personal_values(ada, admin_user, client_for):
    # when
    export(client_for(admin_user), ada)
    # then
    entry = AuditEntry.objects.get(action=AuditAction.CONTACT_EXPORTED)
    assert (entry.actor, entry.target_type, entry.target_id) == (admin_user, "contact", str(ada.pk))
    assert "ada" not in (json.dumps(entry.changes) + entry.target_label).lower()


def test_the_export_costs_the_same_queries_for_one_deal_or_four(rep, manager, delivery_lead, admin_user):
    # given
    small = ada_on_deals(rep=rep, manager=manager, lead=delivery_lead, deals=1)
    Contact.objects.filter(pk=small.pk).update(email="small@customer.test")  # two Adas must not meet
    large = ada_on_deals(rep=rep, manager=manager, lead=delivery_lead, deals=4)
    # when
    with CaptureQueriesContext(connection) as small_queries:
        small_document = contact_personal_data(small)
    with CaptureQueriesContext(connection) as large_queries:
        large_document = contact_personal_data(large)
    # then
    assert (len(small_document["deals"]), len(large_document["deals"])) == (1, 4)
    assert len(large_document["pulses"]) == len(large_document["meetings"]) == 4
    assert len(small_queries) == len(large_queries) <= 15


# --- the erasure ----------------------------------------------------------------------


def test_erasing_anonymises_the_contact_and_cancels_what_was_waiting_for_them(ada, admin_user, client_for):
    # given
    other_invites = OutboxMessage.objects.filter(purpose=MessagePurpose.INVITE, contact__isnull=False).exclude(
        contact=ada
    )
    assert other_invites.filter(status=MessageStatus.PENDING).count() == 1
    # when
    response = erase(client_for(admin_user), ada, ADA_EMAIL.upper())
    # then
    assert response.status_code == 302
    ada.refresh_from_db()
    assert str(ada) == f"Erased contact #{ada.pk}"
    assert (ada.title, ada.email, ada.phone, ada.external_id, ada.external_source) == ("", "", "", "", "")
    assert ada.erased_at == NOW
    mine = OutboxMessage.objects.filter(contact=ada)
    assert set(mine.values_list("status", "last_error")) == {(MessageStatus.CANCELLED, CANCEL_REASON)}
    assert other_invites.filter(status=MessageStatus.PENDING).count() == 1  # the other contact keeps theirs


def test_erasing_keeps_the_history_shape_and_scrubs_every_mention(ada, admin_user, client_for):
    # given
    counts_before = [
        DealContact.objects.count(),
        MeetingAttendee.objects.count(),
        CustomerPulse.objects.exclude(answer="").count(),
        OutboxMessage.objects.count(),
        InboundDelivery.objects.count(),
        ImportRejectedRow.objects.count(),
    ]
    events_before = TimelineEvent.objects.count()
    assert ADA_EMAIL in everything_text() and ADA_NAME.lower() in everything_text()
    # when
    erase(client_for(admin_user), ada, "ERASE")
    # then
    assert counts_before == [
        DealContact.objects.count(),
        MeetingAttendee.objects.count(),
        CustomerPulse.objects.exclude(answer="").count(),
        OutboxMessage.objects.count(),
        InboundDelivery.objects.count(),
        ImportRejectedRow.objects.count(),
    ]
    assert TimelineEvent.objects.count() == events_before + 1  # "Erased contact #… was erased"
    text = everything_text()
    for personal in (ADA_EMAIL, ADA_NAME.lower(), ADA_PHONE.lower(), ADA_COMMENT.lower(), '"lovelace"'):
        assert personal not in text
    assert f"erased contact #{ada.pk}" in text
    assert b"bob.other@customer.test" in bytes(ImportJob.objects.get().content)  # the others' rows stay
    assert CustomerPulse.objects.get(contact=ada).answer == PulseAnswer.AT_RISK  # reports keep the answer
    entry = AuditEntry.objects.get(action=AuditAction.CONTACT_ERASED)
    assert (entry.actor, entry.target_id, entry.changes) == (admin_user, str(ada.pk), {"personal_data": "erased"})


def test_a_wrong_confirmation_erases_nothing(ada, admin_user, client_for):
    # when
    response = erase(client_for(admin_user), ada, "someone.else@customer.test")
    # then
    assert response.status_code == 200
    assert "Type the contact&#x27;s e-mail address or ERASE" in response.content.decode()
    ada.refresh_from_db()
    assert ada.email == ADA_EMAIL and ada.erased_at is None
    assert not AuditEntry.objects.filter(action=AuditAction.CONTACT_ERASED).exists()
    assert OutboxMessage.objects.filter(contact=ada, status=MessageStatus.PENDING).count() == 2


def test_an_erased_contact_cannot_be_edited_back_into_life(ada, admin_user, client_for):
    # given
    contact_erase(actor=admin_user, contact=ada, confirmation="ERASE")
    # when
    response = client_for(admin_user).post(
        reverse("handoffs:contact_edit", args=[ada.pk]), {"first_name": "Ada", "email": ADA_EMAIL}
    )
    # then
    assert response.status_code == 200
    assert "This contact was erased" in response.content.decode()
    assert f"Erased contact #{ada.pk}" in response.content.decode()
    ada.refresh_from_db()
    assert (ada.first_name, ada.email) == ("Erased", "")
    with pytest.raises(ValidationError):
        contact_update(actor=admin_user, contact=ada, email=ADA_EMAIL)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=admin_user, name='tests').secret}")
    assert api.patch(f"/api/v1/contacts/{ada.pk}/", {"email": ADA_EMAIL}, format="json").status_code == 400
    assert Contact.objects.get(pk=ada.pk).email == ""
    with pytest.raises(ValidationError):
        contact_erase(actor=admin_user, contact=ada, confirmation="ERASE")


def test_an_erased_contact_is_listed_as_erased_on_the_account_page(ada, admin_user, rep, client_for):
    # given
    contact_erase(actor=admin_user, contact=ada, confirmation="ERASE")
    # when
    page = client_for(rep).get(reverse("handoffs:account_detail", args=[ada.account_id])).content.decode()
    # then
    assert f"Erased contact #{ada.pk}" in page
    assert "Lovelace" not in page and ADA_EMAIL not in page


# --- never written to again -----------------------------------------------------------


def test_no_email_is_ever_sent_to_an_erased_contact(ada, admin_user, rep, delivery_lead, _pinned):
    # given: everything that ever e-mails a contact, queued before the erasure or after it
    deal_contact = DealContact.objects.filter(contact=ada).select_related("deal__handoff").first()
    handoff = deal_contact.deal.handoff
    meeting = handoff.meetings.get()
    contact_erase(actor=admin_user, contact=ada, confirmation="ERASE")
    ada.refresh_from_db()
    # when: enqueued through the one sending path after the erasure
    later_checkin = CheckInFactory(handoff=handoff, cadence_days=30)
    offered = outbox_enqueue(
        purpose=MessagePurpose.PULSE, kind=KIND_CHECKIN, item_id=later_checkin.pk, recipients=[ada]
    ) + outbox_enqueue(
        purpose=MessagePurpose.CUSTOMER_SUMMARY, kind=MESSAGE_ABOUT_MEETING, item_id=meeting.pk, recipients=[ada]
    )
    assert pulse_request(checkin=later_checkin).contact_id != ada.pk  # another contact is asked
    # … or written behind its back (an old row retried, a row some future code forgets to check)
    forced_checkin = CheckInFactory(handoff=handoff, cadence_days=60)
    CustomerPulse.objects.create(checkin=forced_checkin, contact=ada, account=ada.account)
    link = CustomerLink.objects.create(handoff=handoff, contact=ada)
    forced = [
        (MessagePurpose.INVITE, MESSAGE_ABOUT_MEETING, meeting.pk, meeting.sequence),
        (MessagePurpose.CUSTOMER_SUMMARY, MESSAGE_ABOUT_MEETING, meeting.pk, 0),
        (MessagePurpose.PULSE, KIND_CHECKIN, forced_checkin.pk, 0),
        (MessagePurpose.CUSTOMER_LINK, "customer_link", link.pk, link.version),
    ]
    for purpose, kind, item_id, version in forced:
        OutboxMessage.objects.create(
            purpose=purpose,
            kind=kind,
            item_id=item_id,
            version=version,
            contact=ada,
            recipient_key=f"contact:{ada.pk}:forced",
            send_after=NOW,
            first_due_at=NOW,
        )
    _pinned.move_to(meeting.starts_at + datetime.timedelta(hours=1))
    meeting_record(
        actor=rep,
        meeting=meeting,
        attended_user_ids=[handoff.rep_id, handoff.delivery_owner_id],
        attended_contact_ids=[ada.pk],
        agreement="Kick-off on Monday.",
        promise_reviews=[(promise, "confirmed", "", "") for promise in handoff.deal.promises.all()],
    )
    outbox_deliver_due()
    # then
    assert offered == 0
    assert all(ADA_EMAIL not in message.to and "" not in message.to for message in mail.outbox)
    assert not OutboxMessage.objects.filter(contact=ada, status__in=[MessageStatus.SENT, MessageStatus.PENDING])
    forced_rows = OutboxMessage.objects.filter(recipient_key__endswith=":forced")
    # … each for the reason that matters: the contact has no address any more.
    assert all("no e-mail address" in reason for reason in forced_rows.values_list("last_error", flat=True))
    assert sorted(forced_rows.values_list("purpose", "status")) == sorted(
        (purpose, MessageStatus.CANCELLED) for purpose, *_ in forced
    )
    # Every builder that e-mails a contact was among those that refused.
    assert {row.purpose for row in forced_rows} == {
        MessagePurpose.INVITE,
        MessagePurpose.CUSTOMER_SUMMARY,
        MessagePurpose.PULSE,
        MessagePurpose.CUSTOMER_LINK,
    }
    assert set(BUILDERS) >= {row.purpose for row in forced_rows}


def test_the_contacts_links_stop_working_once_erased(ada, admin_user, client):
    # given
    pulse = CustomerPulse.objects.get(contact=ada)
    pulse_link = reverse("followups:pulse_page", args=[pulse_token(pulse_id=pulse.pk, contact_id=ada.pk)])
    handoff = pulse.checkin.handoff
    status_link = reverse(
        "handoffs:customer_status", args=[customer_status_token(handoff_id=handoff.pk, contact_id=ada.pk)]
    )
    assert client.get(pulse_link).status_code == 200
    assert client.get(status_link).status_code == 200
    # when
    contact_erase(actor=admin_user, contact=ada, confirmation="ERASE")
    # then
    assert client.get(pulse_link).status_code == 400  # names nothing
    assert client.get(status_link).status_code >= 400
    answer_link = reverse(
        "followups:pulse_answer",
        args=[pulse_token(pulse_id=pulse.pk, contact_id=ada.pk), PulseAnswer.GOING_WELL],
    )
    client.get(answer_link)
    assert CustomerPulse.objects.get(pk=pulse.pk).answer == PulseAnswer.AT_RISK


# --- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "manager", "delivery_lead", "delivery_manager", "outsider_team_rep"])
def test_only_admins_see_export_or_erase_personal_data(ada, who, request, client_for):
    # given
    user = request.getfixturevalue(who)
    client = client_for(user)
    # when
    responses = [
        client.get(reverse("followups:contact_personal_data", args=[ada.pk])),
        export(client, ada),
        erase(client, ada, "ERASE"),
    ]
    # then
    assert [response.status_code for response in responses] == [403, 403, 403]
    ada.refresh_from_db()
    assert ada.erased_at is None
    assert not AuditEntry.objects.filter(target_type="contact").exists()
    with pytest.raises(PermissionDenied):
        contact_erase(actor=user, contact=ada, confirmation="ERASE")


def test_anonymous_visitors_are_sent_to_the_login_page(ada, client):
    for url in (
        reverse("followups:contact_personal_data", args=[ada.pk]),
        reverse("followups:contact_personal_data_export", args=[ada.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]
    response = erase(client, ada, "ERASE")
    assert response.status_code == 302 and "/login" in response["Location"]
    ada.refresh_from_db()
    assert ada.erased_at is None


def test_the_admin_reaches_the_page_from_the_contact_and_an_unknown_contact_is_404(ada, admin_user, rep, client_for):
    # when
    edit_page = client_for(admin_user).get(reverse("handoffs:contact_edit", args=[ada.pk])).content.decode()
    page = client_for(admin_user).get(reverse("followups:contact_personal_data", args=[ada.pk]))
    missing = client_for(admin_user).get(reverse("followups:contact_personal_data", args=[ada.pk + 999]))
    rep_edit_page = client_for(rep).get(reverse("handoffs:contact_edit", args=[ada.pk])).content.decode()
    # then
    assert reverse("followups:contact_personal_data", args=[ada.pk]) in edit_page
    assert page.status_code == 200 and ADA_EMAIL in page.content.decode()
    assert missing.status_code == 404
    assert reverse("followups:contact_personal_data", args=[ada.pk]) not in rep_edit_page
