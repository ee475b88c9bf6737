"""Everything Baton holds about one customer contact, as one JSON-ready document (issue 15).

It reads from every app (the contact in accounts, their deals, meetings, inbound
deliveries and imports in handoffs, their pulses and messages here), so it lives in the
top app. Each section is one query whatever the contact's history (no per-row queries):
the export costs the same dozen queries for a contact on one deal or on fifty.

What a person is "mentioned in" outside the rows that point at them — timeline events,
bell entries, raw inbound bodies, rejected import rows, imported files — is found by
text: the contact's id in the event's data, their e-mail address or full name in the
text. That is a best effort and the document says so (`BEST_EFFORT_NOTE`); the same
search is what the erasure (followups.services.personal_data) scrubs, so what the export
shows is what the erasure removes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import BinaryField, F, Func, IntegerField, Q, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import AuditEntry, Contact, TimelineEvent
from followups.models import CustomerPulse, Notification, OutboxMessage
from handoffs.models import DealContact, ImportJob, ImportRejectedRow, InboundDelivery, MeetingAttendee

FORMAT_VERSION = 1
BEST_EFFORT_NOTE = (
    "The contact's own row and every row that points at it (deal roles, meeting invitations, "
    "pulses, messages) are complete. Timeline events, team notifications, CRM deliveries and "
    "imported files that merely mention the contact are found by their id, e-mail address or "
    "full name in the text: a best effort, which can miss a mention spelled differently (a "
    "nickname, a first name alone) in free text such as deal or meeting notes."
)
# A phone number or a comment shorter than this is too likely to match unrelated text.
MIN_NEEDLE_LENGTH = 6
# A pulse comment is searched for across the organisation only when it is this long ("All
# good!" is in everybody's notes); a shorter one is still replaced in the rows found
# otherwise (the notification that quotes it also names the contact).
MIN_SEARCHED_COMMENT_LENGTH = 20


@dataclass(frozen=True)
class Mentions:
    """The strings by which text elsewhere names the contact (searched for, and scrubbed
    by the erasure), and the ids of rows that name them by id."""

    email: str
    full_name: str
    phone: str
    pulse_ids: tuple[int, ...]
    pulse_comments: tuple[str, ...]
    # The contact's fields one by one: a CRM's payload or an imported row holds them as
    # separate values ("first_name": "Ann"), which only an exact match can recognise.
    field_values: tuple[str, ...] = ()

    @property
    def needles(self) -> list[str]:
        """What finds a row that mentions the contact."""
        comments = [comment for comment in self.pulse_comments if len(comment) >= MIN_SEARCHED_COMMENT_LENGTH]
        return self._longest_first([self.email, self.phone, *comments])

    @property
    def replaced(self) -> list[str]:
        """What is replaced inside a row found (by a needle or by id)."""
        return self._longest_first([self.email, self.phone, *self.pulse_comments])

    def _longest_first(self, found: list[str]) -> list[str]:
        # A first name alone ("Ann") would match half the text of an account.
        if " " in self.full_name:
            found.append(self.full_name)
        unique = {needle for needle in found if len(needle) >= MIN_NEEDLE_LENGTH or needle == self.email}
        # Longest first, so that a comment that contains the name is replaced whole.
        return sorted((needle for needle in unique if needle), key=len, reverse=True)


def contact_mentions(contact: Contact, pulses: list[CustomerPulse] | None = None) -> Mentions:
    """How the contact is named, read before an erasure changes the row."""
    if pulses is None:
        pulses = list(CustomerPulse.objects.filter(contact=contact).only("id", "comment"))
    return Mentions(
        email=contact.email.strip(),
        full_name=f"{contact.first_name.strip()} {contact.last_name.strip()}".strip(),
        phone=contact.phone.strip(),
        pulse_ids=tuple(pulse.pk for pulse in pulses),
        pulse_comments=tuple(pulse.comment.strip() for pulse in pulses if pulse.comment.strip()),
        field_values=tuple(
            value
            for value in (contact.email, contact.first_name, contact.last_name, contact.phone, contact.title)
            if value.strip()
        ),
    )


def _text_mentions(field: str, needles: list[str]) -> Q:
    """Rows whose `field` contains any of the needles (case-insensitive); none if no needles."""
    query = Q(pk__in=[])
    for needle in needles:
        query |= Q(**{f"{field}__icontains": needle})
    return query


# --- the querysets the export shows and the erasure scrubs -----------------------------


def mentioning_events(contact: Contact, mentions: Mentions):
    """The contact's account's timeline events that name them (the events of an account
    are the only ones that can: a contact belongs to one account)."""
    by_id = Q(data__contact_id=contact.pk) | Q(data__pulse_id__in=list(mentions.pulse_ids))
    by_text = _text_mentions("message", mentions.needles) | _text_mentions("data_text", mentions.needles)
    return (
        TimelineEvent.objects.filter(account_id=contact.account_id)
        .annotate(data_text=Cast("data", TextField()))
        .filter(by_id | by_text)
        .order_by("created_at", "id")
    )


def mentioning_notifications(mentions: Mentions):
    needles = mentions.needles
    return Notification.objects.filter(_text_mentions("title", needles) | _text_mentions("body", needles)).order_by(
        "created_at", "id"
    )


def mentioning_webhook_rows(mentions: Mentions):
    """Outbox rows other than e-mails to the contact (webhooks, e-mails to the team) whose
    frozen payload or subject names the contact."""
    needles = mentions.needles
    return (
        OutboxMessage.objects.annotate(payload_text=Cast("payload", TextField()))
        .filter(_text_mentions("payload_text", needles) | _text_mentions("subject", needles))
        .order_by("created_at", "id")
    )


def mentioning_deliveries(mentions: Mentions):
    """CRM deliveries whose raw body carries the contact's e-mail address."""
    if not mentions.email:
        return InboundDelivery.objects.none()
    return (
        InboundDelivery.objects.select_related("source")
        .filter(raw_body__icontains=mentions.email)
        .order_by("received_at", "id")
    )


def mentioning_rejected_rows(mentions: Mentions):
    """Rejected rows of imported files whose cells carry the contact's e-mail address."""
    if not mentions.email:
        return ImportRejectedRow.objects.none()
    return (
        ImportRejectedRow.objects.select_related("job")
        .annotate(raw_text=Cast("raw", TextField()))
        .filter(raw_text__icontains=mentions.email)
        .order_by("job_id", "line", "id")
    )


def mentioning_import_files(mentions: Mentions):
    """Imported files (kept on the job, bytes) that contain the e-mail address as written
    in the contact's row or in lower case (as UTF-8, which an ASCII address also is in the
    other single-byte encodings). The database searches the files; none is loaded here."""
    if not mentions.email:
        return ImportJob.objects.none()
    found = Q(pk__in=[])
    annotations = {}
    for index, spelling in enumerate(sorted({mentions.email, mentions.email.lower()})):
        annotations[f"email_at_{index}"] = _BytesPosition(Value(spelling.encode(), BinaryField()), F("content"))
        found |= Q(**{f"email_at_{index}__gt": 0})
    return ImportJob.objects.defer("content").annotate(**annotations).filter(found).order_by("created_at", "id")


class _BytesPosition(Func):
    """Where a byte string (needle) starts in another (haystack), 0 if absent: PostgreSQL's
    position(needle in haystack) on bytea; SQLite's instr(haystack, needle) on blobs (the
    database `make run` uses)."""

    function = "position"
    arg_joiner = " in "
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        needle, haystack = self.get_source_expressions()
        needle_sql, needle_params = compiler.compile(needle)
        haystack_sql, haystack_params = compiler.compile(haystack)
        return f"instr({haystack_sql}, {needle_sql})", (*haystack_params, *needle_params)


# --- the document ---------------------------------------------------------------------


def _when(value: datetime.datetime | datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contact_section(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "account": {"id": contact.account_id, "name": contact.account.name},
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "title": contact.title,
        "email": contact.email,
        "phone": contact.phone,
        "external_source": contact.external_source,
        "external_id": contact.external_id,
        "pulse_opted_out_at": _when(contact.pulse_opted_out_at),
        "erased_at": _when(contact.erased_at),
        "created_at": _when(contact.created_at),
    }


def _deals(contact: Contact) -> list[dict[str, Any]]:
    roles = DealContact.objects.filter(contact=contact).select_related("deal__account").order_by("deal_id")
    return [
        {
            "deal_id": role.deal_id,
            "deal": role.deal.title,
            "account": role.deal.account.name,
            "stage": role.deal.get_stage_display(),
            "role": role.get_role_display(),
        }
        for role in roles
    ]


def _meetings(contact: Contact) -> list[dict[str, Any]]:
    invitations = (
        MeetingAttendee.objects.filter(contact=contact)
        .select_related("meeting__handoff__deal")
        .order_by("meeting__starts_at", "id")
    )
    return [
        {
            "meeting_id": invitation.meeting_id,
            "deal": invitation.meeting.handoff.deal.title,
            "starts_at": _when(invitation.meeting.starts_at),
            "location": invitation.meeting.location,
            "status": invitation.meeting.get_status_display(),
            "attended": invitation.attended,
        }
        for invitation in invitations
    ]


def _pulses(pulses: list[CustomerPulse]) -> list[dict[str, Any]]:
    return [
        {
            "pulse_id": pulse.pk,
            "deal": pulse.checkin.handoff.deal.title,
            "asked_at": _when(pulse.created_at),
            "answer": pulse.get_answer_display() if pulse.answer else None,
            "comment": pulse.comment,
            "answered_at": _when(pulse.answered_at),
            "changed_at": _when(pulse.changed_at),
        }
        for pulse in pulses
    ]


def _messages(contact: Contact) -> list[dict[str, Any]]:
    """The messages addressed to the contact (never the team's or other contacts')."""
    rows = OutboxMessage.objects.filter(contact=contact).order_by("created_at", "id")
    return [
        {
            "id": row.pk,
            "purpose": row.get_purpose_display(),
            "subject": row.subject,
            "status": row.get_status_display(),
            "created_at": _when(row.created_at),
            "sent_at": _when(row.sent_at),
        }
        for row in rows.only("id", "purpose", "subject", "status", "created_at", "sent_at")
    ]


def contact_personal_data(contact: Contact, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    """The export: the contact's fields and everything Baton holds that is about them."""
    contact = Contact.objects.select_related("account").get(pk=contact.pk)
    pulses = list(
        CustomerPulse.objects.filter(contact=contact).select_related("checkin__handoff__deal").order_by("created_at")
    )
    mentions = contact_mentions(contact, pulses)
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": _when(now or timezone.now()),
        "note": BEST_EFFORT_NOTE,
        "contact": _contact_section(contact),
        "deals": _deals(contact),
        "meetings": _meetings(contact),
        "pulses": _pulses(pulses),
        "messages": _messages(contact),
        "timeline_events": [
            {"id": e.pk, "at": _when(e.created_at), "verb": e.get_verb_display(), "message": e.message, "data": e.data}
            for e in mentioning_events(contact, mentions)
        ],
        "team_notifications": [
            {"id": n.pk, "at": _when(n.created_at), "title": n.title, "body": n.body}
            for n in mentioning_notifications(mentions)
        ],
        "webhook_and_team_messages": [
            {"id": row.pk, "purpose": row.get_purpose_display(), "subject": row.subject, "payload": row.payload}
            for row in mentioning_webhook_rows(mentions).exclude(contact=contact)
        ],
        "crm_deliveries": [
            {"id": d.pk, "source": d.source.name, "received_at": _when(d.received_at), "raw_body": d.raw_body}
            for d in mentioning_deliveries(mentions)
        ],
        "import_rejected_rows": [
            {"import_id": r.job_id, "file_name": r.job.file_name, "line": r.line, "cells": r.raw, "reason": r.reason}
            for r in mentioning_rejected_rows(mentions)
        ],
        "imported_files": [
            {"import_id": job.pk, "file_name": job.file_name, "imported_at": _when(job.created_at)}
            for job in mentioning_import_files(mentions)
        ],
        "audit": [
            {"at": _when(entry.created_at), "action": entry.action, "changes": entry.changes}
            for entry in AuditEntry.objects.filter(target_type="contact", target_id=str(contact.pk)).order_by(
                "created_at", "id"
            )
        ],
    }
