"""State changes of the accounts app: atomic, validated, each writing a timeline event."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction

from accounts.choices import EventVerb
from accounts.models import Account, OrganisationSettings, OwnershipChange, TimelineEvent, User


class StaleEditError(ValidationError):
    """Someone else saved the object after this edit started; nothing was written."""

    def __init__(self, what: str = "This record") -> None:
        super().__init__(
            f"{what} was changed by someone else while you were editing. "
            "Your changes were not saved: reload to see theirs, then apply yours again."
        )


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


def bump_version(model: type[models.Model], *, pk: int, expected_version: int, what: str) -> None:
    """Optimistic lock: raise the stored version by one only if it is still `expected_version`.

    The conditional UPDATE is atomic in the database, so of two concurrent edits that
    started from the same version exactly one passes; the other gets StaleEditError.
    """
    updated = model.objects.filter(pk=pk, version=expected_version).update(version=models.F("version") + 1)
    if updated != 1:
        raise StaleEditError(what)


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
    for field, value in values.items():
        setattr(settings_row, field, value)
    settings_row.full_clean()
    settings_row.save()
    return settings_row


@transaction.atomic
def user_update_profile(*, user: User, **values: Any) -> User:
    """Change a user's own preferences: time zone, working hours, digest."""
    allowed = {
        "first_name",
        "last_name",
        "email",
        "timezone",
        "working_hours_start",
        "working_hours_end",
        "wants_daily_digest",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    for field, value in values.items():
        setattr(user, field, value)
    user.full_clean(exclude=["password", "username"])
    user.save(update_fields=list(values))
    return user
