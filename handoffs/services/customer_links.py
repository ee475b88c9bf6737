"""Customer status links (issue 15): revoke one, send a fresh one, record that one was sent.

A contact's link is their CustomerLink row's current version (handoffs.models); every
token carries the version it was made for, so bumping the version kills every token
sent before, wherever it was forwarded. Revoking bumps it and marks the link revoked;
a fresh link bumps it and asks followups (message_requested, in the transaction) for
one e-mail carrying the new version, rendered when it is sent
(followups.builders._build_customer_links), so a link revoked or replaced before its
e-mail went out is never sent.

Who may do either: whoever may work the hand-off (handoffs.access.user_may_work_handoff:
its rep, its delivery owner, their managers, admins) — the customer is told to ask the
rep (or the delivery owner) for a new link, so they must be able to send one.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Contact, User
from handoffs.access import user_may_work_handoff
from handoffs.models import CustomerLink, DealContact, Handoff
from handoffs.signals import MESSAGE_ABOUT_CUSTOMER_LINK, MESSAGE_CUSTOMER_LINK, message_requested


def user_may_manage_customer_links(user: User, handoff: Handoff) -> bool:
    """Who may revoke and resend the customer links of a hand-off (see the module docstring)."""
    return user_may_work_handoff(user, handoff)


def _check(actor: User, handoff: Handoff, contact: Contact) -> None:
    if not user_may_manage_customer_links(actor, handoff):
        raise PermissionDenied("Only the hand-off's rep, delivery owner or their managers may change its links.")
    if not DealContact.objects.filter(deal_id=handoff.deal_id, contact=contact).exists():
        raise ValidationError("This contact is not on the deal.")


def _locked_link(handoff: Handoff, contact: Contact) -> CustomerLink:
    """The contact's link under a row lock (created at version 1 if it has no row yet):
    two clicks at once run one after the other, each bumping the version once."""
    link, _ = CustomerLink.objects.select_for_update().get_or_create(handoff=handoff, contact=contact)
    return link


def _audit_revoked(actor: User, link: CustomerLink, *, revoked_version: int, replaced: bool) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_LINK_REVOKED,
        target_type="customer_link",
        target_id=link.pk,
        target_label=f"{link.contact} — hand-off #{link.handoff_id}",
        changes={"version": [revoked_version, link.version], "replaced_by_fresh_link": replaced},
    )


@transaction.atomic
def customer_link_revoke(*, actor: User, handoff: Handoff, contact: Contact) -> CustomerLink:
    """Kill the contact's link at once; nothing replaces it until someone sends a fresh
    one. Revoking a revoked link changes nothing (a double click)."""
    _check(actor, handoff, contact)
    link = _locked_link(handoff, contact)
    if link.revoked_at is not None:
        return link
    revoked_version = link.version
    now = timezone.now()
    link.version += 1
    link.issued_at = now
    link.revoked_at = now
    link.revoked_by = actor
    link.full_clean()
    link.save()
    _audit_revoked(actor, link, revoked_version=revoked_version, replaced=False)
    return link


@transaction.atomic
def customer_link_send(*, actor: User, handoff: Handoff, contact: Contact) -> CustomerLink:
    """Replace the contact's link by a fresh one and e-mail it to them: the old one dies
    now, the new one is valid from when its e-mail is sent."""
    _check(actor, handoff, contact)
    if not contact.email or contact.erased_at is not None:
        raise ValidationError("This contact has no e-mail address.")
    link = _locked_link(handoff, contact)
    replaced_version, was_revoked = link.version, link.revoked_at is not None
    link.version += 1
    link.issued_at = timezone.now()
    link.revoked_at = None
    link.revoked_by = None
    link.full_clean()
    link.save()
    if not was_revoked:
        # The link the contact held until now is as dead as a revoked one: say so.
        _audit_revoked(actor, link, revoked_version=replaced_version, replaced=True)
    message_requested.send(
        sender=CustomerLink,
        purpose=MESSAGE_CUSTOMER_LINK,
        about=MESSAGE_ABOUT_CUSTOMER_LINK,
        item_id=link.pk,
        version=link.version,
        recipients=[contact],
        supersedes=(MESSAGE_CUSTOMER_LINK,),
    )
    return link


@transaction.atomic
def customer_link_mark_sent(*, handoff_id: int, contact_id: int, version: int, sent_at: datetime.datetime) -> None:
    """Record that an e-mail carrying `version` of the link was sent (the fresh-link
    e-mail, or a customer summary), unless the link moved on meanwhile. Run by followups
    with the outbox row's sent mark."""
    link, _ = CustomerLink.objects.select_for_update().get_or_create(
        handoff_id=handoff_id, contact_id=contact_id, defaults={"issued_at": sent_at}
    )
    if link.version == version and link.revoked_at is None:
        link.last_sent_at = sent_at
        link.save(update_fields=["last_sent_at"])
