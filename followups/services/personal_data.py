"""Erasing a customer contact's personal data (issue 15), in one transaction.

What an erasure guarantees:

- **The person is gone from the row.** accounts.services.contact_anonymise renames the
  contact "Erased contact #<id>", blanks title, e-mail, phone and external ids and sets
  erased_at; their pulse comments are blanked. Edits are refused from then on
  (contact_update), so a form, an API call or a CRM delivery cannot bring them back.
- **Nothing is sent to them again.** Their pending outbox rows are cancelled ("Contact
  erased"); outbox_enqueue skips an erased contact or one without an address; every
  builder that e-mails a contact skips one without an address (meeting invites and
  cancellations, customer summaries, pulses); pulse and customer-status links stop
  naming anything (their selectors ignore an erased contact).
- **The history keeps its shape.** No row is deleted: deals keep their contacts (as
  "Erased contact #<id>"), meetings their attendees, pulses their answers, the outbox its
  rows and the timeline its events, so counts and reports do not move.
- **Mentions elsewhere are scrubbed, best effort.** The rows the export finds by text
  (followups.personal_data: timeline events, team notifications, webhook payloads and
  subjects, CRM deliveries, rejected import rows, imported files) have the contact's
  e-mail address, full name, phone and pulse comments replaced; a CRM payload or an
  imported row that carries their e-mail address has its separate name fields replaced
  too. A mention spelled otherwise (a nickname in meeting notes) is not found.
- **Recorded without personal values**: one audit entry (contact.erased) whose changes
  say only "erased", and one timeline event on the account that names nobody.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.access import has_role
from accounts.audit import AuditAction, audit_record
from accounts.choices import Role
from accounts.models import Contact, TimelineEvent, User
from accounts.services import contact_anonymise
from followups.choices import MessageStatus
from followups.models import CustomerPulse, Notification, OutboxMessage
from followups.personal_data import (
    Mentions,
    contact_mentions,
    contact_personal_data,
    mentioning_deliveries,
    mentioning_events,
    mentioning_import_files,
    mentioning_notifications,
    mentioning_rejected_rows,
    mentioning_webhook_rows,
)
from handoffs.models import ImportJob, ImportRejectedRow, InboundDelivery

CONFIRMATION_WORD = "ERASE"
CANCEL_REASON = "Contact erased"
ERASED_TEXT = "[erased]"


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, for the page's message (counts only: no personal values)."""

    contact: Contact
    messages_cancelled: int
    rows_scrubbed: int


@transaction.atomic
def contact_personal_data_export(
    *, actor: User, contact: Contact, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """The export document (followups.personal_data), recorded in the audit log. Admins
    only. The entry names the contact by id alone, so that an erasure leaves no name in
    the log."""
    if not has_role(actor, [Role.ADMIN]):
        raise PermissionDenied("Only an admin may export a contact's personal data.")
    document = contact_personal_data(contact, now=now)
    audit_record(
        actor=actor,
        action=AuditAction.CONTACT_EXPORTED,
        target_type="contact",
        target_id=contact.pk,
        target_label=f"Contact #{contact.pk}",
        changes={"personal_data": "exported"},
    )
    return document


def erasure_confirmed(contact: Contact, confirmation: str) -> bool:
    """The admin typed the contact's e-mail address (any case) or the word ERASE."""
    typed = (confirmation or "").strip()
    return typed == CONFIRMATION_WORD or bool(contact.email and typed.lower() == contact.email.strip().lower())


@transaction.atomic
def contact_erase(*, actor: User, contact: Contact, confirmation: str, now: datetime.datetime | None = None) -> Erasure:
    """Erase the contact's personal data (see the module docstring). Admins only; the
    confirmation is the contact's e-mail address or ERASE."""
    if not has_role(actor, [Role.ADMIN]):
        raise PermissionDenied("Only an admin may erase a contact.")
    now = now or timezone.now()
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.erased_at is not None:
        raise ValidationError("This contact was erased already.", code="erased")
    if not erasure_confirmed(locked, confirmation):
        raise ValidationError(
            {"confirmation": f"Type the contact's e-mail address or {CONFIRMATION_WORD} to confirm."}, code="confirm"
        )
    pulses = list(CustomerPulse.objects.select_for_update().filter(contact=locked).order_by("id"))
    # Read how the contact is named before the row forgets it.
    mentions = contact_mentions(locked, pulses)
    label = f"Erased contact #{locked.pk}"
    scrubber = _Scrubber(mentions, name_label=label)

    cancelled = OutboxMessage.objects.filter(contact=locked, status=MessageStatus.PENDING).update(
        status=MessageStatus.CANCELLED, last_error=CANCEL_REASON
    )
    scrubbed = _scrub_mentions(locked, mentions, scrubber)
    CustomerPulse.objects.filter(pk__in=[pulse.pk for pulse in pulses]).exclude(comment="").update(comment="")
    contact_anonymise(actor=actor, contact=locked, now=now)
    audit_record(
        actor=actor,
        action=AuditAction.CONTACT_ERASED,
        target_type="contact",
        target_id=locked.pk,
        target_label=label,
        changes={"personal_data": "erased"},
    )
    locked.refresh_from_db()
    return Erasure(contact=locked, messages_cancelled=cancelled, rows_scrubbed=scrubbed)


def _scrub_mentions(contact: Contact, mentions: Mentions, scrubber: _Scrubber) -> int:
    """Replace the contact's mentions in every row the export finds by text; returns how
    many rows changed. Each kind is read once and written back in bulk."""
    changed = 0
    events = list(mentioning_events(contact, mentions))
    changed += _bulk(TimelineEvent, events, scrubber, text=["message"], structured=["data"])
    notifications = list(mentioning_notifications(mentions))
    changed += _bulk(Notification, notifications, scrubber, text=["title", "body"])
    outbox_rows = list(mentioning_webhook_rows(mentions))
    changed += _bulk(OutboxMessage, outbox_rows, scrubber, text=["subject", "last_error"], structured=["payload"])
    # A CRM payload or an imported row that carries the e-mail address is the contact's
    # own: its separate name and phone values are theirs too.
    deliveries = list(mentioning_deliveries(mentions))
    for delivery in deliveries:
        delivery.raw_body = scrubber.quoted_values(delivery.raw_body)
    changed += _bulk(InboundDelivery, deliveries, scrubber, text=["raw_body", "reason"], force=bool(deliveries))
    rejected = list(mentioning_rejected_rows(mentions))
    for row in rejected:
        row.raw = scrubber.exact_values(row.raw)
    changed += _bulk(ImportRejectedRow, rejected, scrubber, text=["reason"], structured=["raw"], force=bool(rejected))
    jobs = list(ImportJob.objects.filter(pk__in=mentioning_import_files(mentions).values("pk")).only("id", "content"))
    for job in jobs:
        job.content = scrubber.file_lines(bytes(job.content))
    if jobs:
        ImportJob.objects.bulk_update(jobs, ["content"])
    return changed + len(jobs)


def _bulk(
    model,
    rows: list,
    scrubber: _Scrubber,
    *,
    text: Iterable[str] = (),
    structured: Iterable[str] = (),
    force: bool = False,
) -> int:
    """Scrub the named text and JSON fields of `rows` and write back those that changed
    (all of them with `force`: a caller changed them already), in one statement."""
    fields = [*text, *structured]
    dirty = []
    for row in rows:
        before = [getattr(row, name) for name in fields]
        for name in text:
            setattr(row, name, scrubber.text(getattr(row, name)))
        for name in structured:
            setattr(row, name, scrubber.value(getattr(row, name)))
        if force or before != [getattr(row, name) for name in fields]:
            dirty.append(row)
    if dirty:
        model.objects.bulk_update(dirty, fields)
    return len(dirty)


class _Scrubber:
    """Replaces the ways text names the contact: the full name by "Erased contact #<id>",
    the rest (e-mail, phone, pulse comments, a name field's value) by "[erased]"."""

    def __init__(self, mentions: Mentions, *, name_label: str):
        self.mentions = mentions
        self.name_label = name_label
        self.patterns = [
            (re.compile(re.escape(needle), re.IGNORECASE), name_label if needle == mentions.full_name else ERASED_TEXT)
            for needle in mentions.replaced
        ]
        self.values = {value.strip().lower() for value in mentions.field_values}

    def text(self, value: str | None) -> str | None:
        if not value:
            return value
        for pattern, replacement in self.patterns:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """A JSON value with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def exact_values(self, value: Any) -> Any:
        """A JSON value whose strings equal to one of the contact's fields are replaced."""
        if isinstance(value, str):
            return ERASED_TEXT if value.strip().lower() in self.values else value
        if isinstance(value, list):
            return [self.exact_values(item) for item in value]
        if isinstance(value, dict):
            return {key: self.exact_values(item) for key, item in value.items()}
        return value

    def quoted_values(self, body: str) -> str:
        """A raw body (JSON, as CRMs send): each quoted string equal to one of the contact's
        fields replaced, the rest of the body byte for byte as it came."""
        for value in self.mentions.field_values:
            quoted = json.dumps(value.strip(), ensure_ascii=False)
            body = re.sub(re.escape(quoted), json.dumps(ERASED_TEXT), body, flags=re.IGNORECASE)
        return body

    def file_lines(self, content: bytes) -> bytes:
        """An imported file: each line that carries the e-mail address is the contact's row;
        its cells are emptied (the delimiters stay, so the file keeps its shape)."""
        email = self.mentions.email.lower().encode()
        lines = content.split(b"\n")
        for index, line in enumerate(lines):
            if email and email in line.lower():
                ending = b"\r" if line.endswith(b"\r") else b""
                delimiter = max((b",", b";", b"\t", b"|"), key=line.count)
                lines[index] = delimiter * line.count(delimiter) + ending
        return b"\n".join(lines)
