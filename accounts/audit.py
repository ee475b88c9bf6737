"""The audit log: the one place that records a change to people, teams, settings or
playbooks (who, when, old → new). Services call audit_record inside their transaction."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from accounts.models import AuditEntry, User


class AuditAction(models.TextChoices):
    USER_INVITED = "user.invited", "User invited"
    USER_INVITE_RESENT = "user.invite_resent", "Invitation sent again"
    USER_UPDATED = "user.updated", "User changed"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    TEAM_CREATED = "team.created", "Team created"
    TEAM_UPDATED = "team.updated", "Team changed"
    TEAM_DELETED = "team.deleted", "Team deleted"
    SETTINGS_UPDATED = "settings.updated", "Settings changed"
    PLAYBOOK_CREATED = "playbook.created", "Playbook created"
    PLAYBOOK_UPDATED = "playbook.updated", "Playbook changed"
    PLAYBOOK_DELETED = "playbook.deleted", "Playbook deleted"
    LOGIN_LOCKOUT_LIFTED = "user.lockout_lifted", "Sign-in lockout lifted"
    TWO_FACTOR_ENABLED = "two_factor.enabled", "Two-factor sign-in enabled"
    TWO_FACTOR_RESET = "two_factor.reset", "Two-factor sign-in reset"
    CONTACT_EXPORTED = "contact.exported", "Contact's personal data exported"
    CONTACT_ERASED = "contact.erased", "Contact erased"
    CUSTOMER_LINK_REVOKED = "customer_link.revoked", "Customer link revoked"


def _shown(value: Any) -> Any:
    """A value as the log keeps it: JSON-safe, a related row by its name."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _shown(item) for key, item in value.items()}
    return value


def audit_snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The fields' values now, to compare with after a change (audit_changes)."""
    return {name: _shown(getattr(instance, name)) for name in fields}


def audit_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field whose value differs."""
    return {name: [before.get(name), after.get(name)] for name in after if before.get(name) != after.get(name)}


def audit_record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: object = "",
    target_label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Record one change (inside the caller's transaction)."""
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        target_label=str(target_label)[:200],
        changes=_shown(dict(changes or {})),
    )
