"""What every service that edits a record shares: the version check that refuses the
second of two edits made from the same version, and the refusal of fields a service
does not set."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class StaleEditError(ValidationError):
    """Someone else saved the object after this edit started; nothing was written."""

    def __init__(self, what: str = "This record") -> None:
        super().__init__(
            f"{what} was changed by someone else while you were editing. "
            "Your changes were not saved: reload to see theirs, then apply yours again."
        )


def bump_version(model: type[models.Model], *, pk: int, expected_version: int, what: str) -> None:
    """Optimistic lock: raise the stored version by one only if it is still `expected_version`.

    The conditional UPDATE is atomic in the database, so of two concurrent edits that
    started from the same version exactly one passes; the other gets StaleEditError.
    """
    updated = model.objects.filter(pk=pk, version=expected_version).update(version=models.F("version") + 1)
    if updated != 1:
        raise StaleEditError(what)


def refuse_unknown_fields(values: dict[str, Any], allowed: frozenset[str] | set[str]) -> None:
    """Services take fields as keywords: refuse any this service does not set."""
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
