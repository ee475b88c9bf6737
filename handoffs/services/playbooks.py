"""Playbooks: the ordered checklists hand-offs copy their steps from (admins only).

A hand-off copies its playbook's steps when it starts (handoffs.handoff_start), so
nothing here ever touches a running hand-off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.audit import AuditAction, audit_changes, audit_record, audit_snapshot
from accounts.common.edits import bump_version
from accounts.models import User
from handoffs.models import Playbook, PlaybookStep


@dataclass(frozen=True)
class StepSpec:
    """One step as an admin typed it; its position is its place in the list."""

    title: str
    owner_role: str
    due_offset_days: int
    required: bool = True


def _require_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an admin may change playbooks.")


def _write_steps(playbook: Playbook, steps: Iterable[StepSpec]) -> None:
    specs = list(steps)
    if not specs:
        raise ValidationError({"steps": "A playbook needs at least one step."})
    rows = [
        PlaybookStep(
            playbook=playbook,
            position=position,
            title=spec.title.strip(),
            owner_role=spec.owner_role,
            due_offset_days=spec.due_offset_days,
            required=spec.required,
        )
        for position, spec in enumerate(specs, start=1)
    ]
    for row in rows:
        row.full_clean(exclude=["playbook"])
    # Steps are replaced wholesale: hand-offs hold copies, never references to them.
    playbook.steps.all().delete()
    PlaybookStep.objects.bulk_create(rows)


PLAYBOOK_AUDITED_FIELDS = ("name", "segment", "is_default", "is_active", "checkin_cadence")


def _audit_snapshot(playbook: Playbook) -> dict:
    """The playbook as the audit log keeps it: its fields and its steps, one line each."""
    snapshot = audit_snapshot(playbook, PLAYBOOK_AUDITED_FIELDS)
    snapshot["steps"] = [
        f"{step.title} ({step.owner_role}, day {step.due_offset_days}{'' if step.required else ', optional'})"
        for step in playbook.steps.order_by("position")
    ]
    return snapshot


def _make_default(playbook: Playbook) -> None:
    # The partial unique constraint allows one default: unset the old one first.
    Playbook.objects.filter(is_default=True).exclude(pk=playbook.pk).update(is_default=False)


@transaction.atomic
def playbook_create(
    *,
    actor: User,
    name: str,
    segment: str = "",
    is_default: bool = False,
    checkin_cadence: list[int] | None = None,
    steps: Iterable[StepSpec],
) -> Playbook:
    """Create a playbook with its ordered steps."""
    _require_admin(actor)
    playbook = Playbook(
        name=name.strip(),
        segment=segment.strip(),
        is_default=is_default,
        checkin_cadence=list(checkin_cadence or []),
    )
    if is_default:
        _make_default(playbook)
    playbook.full_clean()
    playbook.save()
    _write_steps(playbook, steps)
    audit_record(
        actor=actor,
        action=AuditAction.PLAYBOOK_CREATED,
        target_type="playbook",
        target_id=playbook.pk,
        target_label=playbook.name,
        changes={field: [None, value] for field, value in _audit_snapshot(playbook).items()},
    )
    return playbook


@transaction.atomic
def playbook_update(
    *,
    actor: User,
    playbook: Playbook,
    expected_version: int,
    name: str,
    segment: str,
    is_default: bool,
    is_active: bool,
    checkin_cadence: list[int],
    steps: Iterable[StepSpec],
) -> Playbook:
    """Change a playbook and replace its steps. Refused if someone saved it meanwhile;
    hand-offs already started keep the steps they copied."""
    _require_admin(actor)
    bump_version(Playbook, pk=playbook.pk, expected_version=expected_version, what="This playbook")
    locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
    before = _audit_snapshot(locked)
    if locked.is_default and not is_default:
        raise ValidationError({"is_default": "Make another playbook the default instead: one must be."})
    if is_default and not is_active:
        raise ValidationError({"is_active": "The default playbook must stay active."})
    locked.name = name.strip()
    locked.segment = segment.strip()
    locked.is_default = is_default
    locked.is_active = is_active
    locked.checkin_cadence = list(checkin_cadence)
    if is_default:
        _make_default(locked)
    locked.full_clean()
    locked.save()
    _write_steps(locked, steps)
    changes = audit_changes(before, _audit_snapshot(locked))
    if changes:
        audit_record(
            actor=actor,
            action=AuditAction.PLAYBOOK_UPDATED,
            target_type="playbook",
            target_id=locked.pk,
            target_label=locked.name,
            changes=changes,
        )
    return locked
