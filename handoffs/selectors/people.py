"""The people rows name (reps, owners, whoever changed something): loaded for a page in
one query, instead of a join to the user table for each foreign key."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User


def attach_people(slots: Iterable[tuple[object, str]], *, teams: bool = False) -> None:
    """Load the users of the foreign keys `slots` names ((instance, field name) pairs) in
    one query (with their team if `teams`), and set them as if select_related had read
    them: one object per person, however many rows name them.

    A dozen joins to the user table in one query cost PostgreSQL more to plan than to
    run (13 relations pass the genetic optimiser's threshold: ~12 ms of planning for a
    0.5 ms query, on every load of the hand-off page); the users are a few rows read
    by primary key."""
    slots = list(slots)
    ids = {getattr(instance, f"{name}_id") for instance, name in slots} - {None}
    users = {}
    if ids:
        users = (User.objects.select_related("team") if teams else User.objects.all()).in_bulk(ids)
    for instance, name in slots:
        instance._meta.get_field(name).set_cached_value(instance, users.get(getattr(instance, f"{name}_id")))
