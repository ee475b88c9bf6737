"""State changes of the accounts app: atomic, validated, each writing a timeline event."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.access import (
    account_editable_by,
    account_users_assignable_by,
    has_role,
    user_may_reassign,
    user_sells,
)
from accounts.audit import AuditAction, audit_changes, audit_record, audit_snapshot
from accounts.choices import EventVerb, Role
from accounts.common.edits import bump_version, refuse_unknown_fields
from accounts.models import Account, Contact, OrganisationSettings, OwnershipChange, TimelineEvent, User


def event_record(
    *,
    account: Account,
    subject: models.Model | None = None,
    verb: str,
    message: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Write one timeline event. Call it inside the transaction of the change it records."""
    subject = subject if subject is not None else account
    return TimelineEvent.objects.create(
        account=account,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        verb=verb,
        message=message[:500],
        actor=actor,
        data=data or {},
    )


@transaction.atomic
def account_change_owner(
    *,
    account: Account,
    new_owner: User,
    changed_by: User | None,
    reason: str,
    subject: models.Model | None = None,
) -> OwnershipChange | None:
    """Make `new_owner` the account's owner and keep the change in its history.

    Locks the account row so that two concurrent changes (a double-click on "accept")
    write one history row, not two. Returns None when the owner is already new_owner.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why the owner changes."})
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if locked.owner_id == new_owner.pk:
        return None
    previous_owner = locked.owner
    change = OwnershipChange.objects.create(
        account=locked, from_user=previous_owner, to_user=new_owner, changed_by=changed_by, reason=reason.strip()
    )
    Account.objects.filter(pk=locked.pk).update(owner=new_owner, version=models.F("version") + 1)
    account.owner = new_owner
    event_record(
        account=locked,
        subject=subject,
        verb=EventVerb.OWNER_CHANGED,
        message=f"Account owner changed from {previous_owner} to {new_owner}: {reason.strip()}",
        actor=changed_by,
        data={"from_user": previous_owner.pk, "to_user": new_owner.pk},
    )
    return change


@transaction.atomic
def organisation_settings_update(*, actor: User, **values: Any) -> OrganisationSettings:
    """Change the organisation's thresholds (admins only)."""
    if not actor.is_admin_role:
        raise ValidationError("Only an admin may change the organisation's settings.")
    settings_row = OrganisationSettings.objects.select_for_update().get(pk=OrganisationSettings.load().pk)
    before = audit_snapshot(settings_row, values)
    for field, value in values.items():
        setattr(settings_row, field, value)
    settings_row.full_clean()
    settings_row.save()
    changes = audit_changes(before, audit_snapshot(settings_row, values))
    if changes:
        audit_record(
            actor=actor,
            action=AuditAction.SETTINGS_UPDATED,
            target_type="settings",
            target_id=settings_row.pk,
            target_label=str(settings_row),
            changes=changes,
        )
    return settings_row


PROFILE_FIELDS = frozenset(
    {"first_name", "last_name", "email", "timezone", "working_hours_start", "working_hours_end", "wants_daily_digest"}
)


@transaction.atomic
def user_update_profile(*, user: User, **values: Any) -> User:
    """Change a user's own preferences: time zone, working hours, digest."""
    refuse_unknown_fields(values, PROFILE_FIELDS)
    for field, value in values.items():
        setattr(user, field, value)
    user.full_clean(exclude=["password", "username"])
    user.save(update_fields=list(values))
    return user


ACCOUNT_FIELDS = frozenset({"name", "domain", "industry", "size", "address", "notes"})
CONTACT_FIELDS = frozenset({"first_name", "last_name", "title", "email", "phone"})


def _strip_text(values: dict[str, Any]) -> dict[str, Any]:
    return {field: value.strip() if isinstance(value, str) else value for field, value in values.items()}


@transaction.atomic
def account_create(*, actor: User, name: str, owner: User | None = None, **fields: Any) -> Account:
    """Create a customer account owned by `owner` (default: the actor), with the first
    row of its ownership history and an "account created" timeline event."""
    if not user_sells(actor):
        raise PermissionDenied("Only reps, managers and admins create accounts.")
    refuse_unknown_fields(fields, ACCOUNT_FIELDS - {"name"})
    owner = owner or actor
    if owner.pk != actor.pk and not account_users_assignable_by(actor).filter(pk=owner.pk).exists():
        raise ValidationError({"owner": "You may not give an account to this person."})
    account = Account(name=name.strip(), owner=owner, team=owner.team, **_strip_text(fields))
    account.full_clean()
    account.save()
    OwnershipChange.objects.create(
        account=account, from_user=None, to_user=owner, changed_by=actor, reason="Account created"
    )
    event_record(
        account=account,
        verb=EventVerb.ACCOUNT_CREATED,
        message=f"Account created by {actor}, owned by {owner}.",
        actor=actor,
    )
    return account


@transaction.atomic
def account_update(
    *,
    actor: User,
    account: Account,
    expected_version: int,
    owner: User | None = None,
    owner_change_reason: str = "",
    **fields: Any,
) -> Account:
    """Change an account's details (and, for managers and admins, its owner).

    Optimistic lock: refused with StaleEditError if the account was saved by someone
    else since `expected_version` was read; then nothing is written.
    """
    if not account_editable_by(actor, account):
        raise PermissionDenied("You may not change this account.")
    refuse_unknown_fields(fields, ACCOUNT_FIELDS)
    bump_version(Account, pk=account.pk, expected_version=expected_version, what="This account")
    # Work on the stored row, not on the caller's copy (a bound form may have changed it).
    account = Account.objects.select_for_update().get(pk=account.pk)
    values = _strip_text(fields)
    changed = [field for field, value in values.items() if getattr(account, field) != value]
    for field in changed:
        setattr(account, field, values[field])
    account.full_clean()
    account.save(update_fields=[*changed, "updated_at"])
    if changed:
        labels = ", ".join(str(Account._meta.get_field(field).verbose_name) for field in changed)
        event_record(
            account=account,
            verb=EventVerb.ACCOUNT_UPDATED,
            message=f"Account details changed: {labels}.",
            actor=actor,
            data={"fields": changed},
        )
    if owner is not None and owner.pk != account.owner_id:
        if not user_may_reassign(actor):
            raise ValidationError({"owner": "Only a manager or an admin reassigns an account."})
        if not account_users_assignable_by(actor).filter(pk=owner.pk).exists():
            raise ValidationError({"owner": "You may not give an account to this person."})
        if not owner_change_reason.strip():
            raise ValidationError({"owner_change_reason": "Say why the owner changes."})
        account_change_owner(account=account, new_owner=owner, changed_by=actor, reason=owner_change_reason)
        account.refresh_from_db(fields=["owner", "version"])
    return account


def _refuse_duplicate_email(*, account: Account, email: str, exclude_pk: int | None = None) -> None:
    if not email:
        return
    duplicates = Contact.objects.filter(account=account, email__iexact=email)
    if exclude_pk is not None:
        duplicates = duplicates.exclude(pk=exclude_pk)
    if duplicates.exists():
        raise ValidationError({"email": "Another contact of this account already has this email address."})


@transaction.atomic
def contact_create(*, actor: User, account: Account, first_name: str, **fields: Any) -> Contact:
    """Add a customer contact to an account (an email address is unique within it)."""
    if not account_editable_by(actor, account):
        raise PermissionDenied("You may not add contacts to this account.")
    refuse_unknown_fields(fields, CONTACT_FIELDS - {"first_name"})
    # Serialise contact writes of one account so that two concurrent adds of the same
    # email address cannot both pass the duplicate check.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    contact = Contact(account=account, first_name=first_name.strip(), **_strip_text(fields))
    _refuse_duplicate_email(account=account, email=contact.email)
    contact.full_clean()
    contact.save()
    event_record(
        account=account,
        subject=account,
        verb=EventVerb.CONTACT_ADDED,
        message=f"Contact {contact}{f' ({contact.title})' if contact.title else ''} added.",
        actor=actor,
        data={"contact_id": contact.pk},
    )
    return contact


@transaction.atomic
def contact_update(*, actor: User, contact: Contact, **fields: Any) -> Contact:
    """Change a contact's details (an email address stays unique within the account)."""
    if not account_editable_by(actor, contact.account):
        raise PermissionDenied("You may not change this contact.")
    refuse_unknown_fields(fields, CONTACT_FIELDS)
    Account.objects.select_for_update().filter(pk=contact.account_id).first()
    contact = Contact.objects.select_related("account").get(pk=contact.pk)
    if contact.erased_at is not None:
        # An erased person is not brought back by an edit, an API call or a CRM delivery.
        raise ValidationError("This contact was erased: its details can no longer be changed.", code="erased")
    values = _strip_text(fields)
    changed = [field for field, value in values.items() if getattr(contact, field) != value]
    for field in changed:
        setattr(contact, field, values[field])
    _refuse_duplicate_email(account=contact.account, email=contact.email, exclude_pk=contact.pk)
    contact.full_clean()
    if changed:
        contact.save(update_fields=changed)
        event_record(
            account=contact.account,
            verb=EventVerb.CONTACT_UPDATED,
            message=f"Contact {contact} updated.",
            actor=actor,
            data={"contact_id": contact.pk, "fields": changed},
        )
    return contact


# The personal fields an erasure blanks (first and last name are replaced, not blanked:
# the row is still listed, as "Erased contact #<id>").
CONTACT_PERSONAL_FIELDS = ("title", "email", "phone", "external_source", "external_id")


@transaction.atomic
def contact_anonymise(*, actor: User, contact: Contact, now: datetime.datetime | None = None) -> Contact:
    """The accounts side of erasing a contact (followups.services.personal_data.contact_erase
    does the rest): the personal fields replaced or blanked, erased_at set, one timeline
    event that names nobody. The row stays, so deals, meetings and pulses keep their shape;
    with no e-mail address and erased_at set, nothing is ever sent to it again. Admins only."""
    if not has_role(actor, [Role.ADMIN]):
        raise PermissionDenied("Only an admin may erase a contact.")
    contact = Contact.objects.select_for_update().select_related("account").get(pk=contact.pk)
    if contact.erased_at is not None:
        raise ValidationError("This contact was erased already.", code="erased")
    contact.first_name = "Erased"
    contact.last_name = f"contact #{contact.pk}"
    for field in CONTACT_PERSONAL_FIELDS:
        setattr(contact, field, "")
    contact.erased_at = now or timezone.now()
    contact.full_clean()
    contact.save(update_fields=["first_name", "last_name", *CONTACT_PERSONAL_FIELDS, "erased_at"])
    event_record(
        account=contact.account,
        verb=EventVerb.CONTACT_UPDATED,
        message=f"{contact} was erased: their personal data was removed.",
        actor=actor,
        data={"contact_id": contact.pk, "erased": True},
    )
    return contact
