"""Reads of the People, Teams and Audit log pages (admins only; the views check).

Each list is a fixed number of queries whatever its length: the team and the teams a
user leads come with the page (select_related / one query for the page), and
"two-factor on" is an EXISTS in the same query, never a lookup per row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import AuditAction
from accounts.choices import Role
from accounts.common.timeline import TimelinePage, timeline_page
from accounts.models import AuditEntry, Team, User
from accounts.people.services import TARGET_TEAM, TARGET_USER

# The audit log shows this many entries at a time; "Older" shows the next ones. Paged by
# a keyset (created_at, id), so the page costs the same on the millionth entry.
AUDIT_PAGE_SIZE = 50
# A user's page shows their latest entries; the audit log, filtered, shows all of them.
USER_HISTORY_SIZE = 20

# What the log's entries are about (AuditEntry.target_type), for its filter.
AUDIT_TARGET_TYPES = [
    (TARGET_USER, "Users"),
    (TARGET_TEAM, "Teams"),
    ("settings", "Settings"),
    ("playbook", "Playbooks"),
    ("contact", "Contacts"),
    ("handoff", "Hand-offs"),
    ("customer_link", "Customer links"),
]

# Where an entry's target is shown, by target type (names of URLs, reversed by pages).
AUDIT_TARGET_URLS = {
    TARGET_USER: "people:edit",
    TARGET_TEAM: "people:team_edit",
    "playbook": "handoffs:playbook_edit",
}


# What a row of the People list reads of a person (accounts.people.rows), not the
# password hash, feed token and the rest.
PEOPLE_LIST_COLUMNS = (
    "first_name",
    "last_name",
    "username",
    "email",
    "role",
    "is_superuser",
    "is_active",
    "last_login",
    "invited_at",
    "team__name",
)


def people_list(*, role: str = "", team: Team | None = None, active: bool | None = None) -> QuerySet[User]:
    """Everyone, with their team and whether two-factor is on (the columns the list
    shows); the teams they lead are teams_led_by's, for the page's people."""
    people = (
        User.objects.select_related("team")
        .only(*PEOPLE_LIST_COLUMNS)
        .annotate(has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("first_name", "last_name", "username")
    )
    if role:
        people = people.filter(role=role)
    if team is not None:
        people = people.filter(team=team)
    if active is not None:
        people = people.filter(is_active=active)
    return people


def teams_led_by(people: list[User]) -> dict[int, list[str]]:
    """The names of the teams each of `people` leads, by their id, in name order: one
    query. A prefetch did the same but built a queryset per person (a quarter of the
    People page's CPU at 100 rows, issue 17). It reads every led team, as the Teams page
    lists them all: a few dozen rows, cheaper than an IN of the page's hundred ids."""
    if not people:
        return {}
    on_page = {person.pk for person in people}
    names: dict[int, list[str]] = {}
    teams = Team.objects.filter(manager__isnull=False).order_by("name", "pk").values_list("manager_id", "name")
    for manager_id, name in teams:
        if manager_id in on_page:
            names.setdefault(manager_id, []).append(name)
    return names


def person_for_edit(user_id: int) -> User | None:
    return (
        User.objects.select_related("team", "invited_by")
        .annotate(has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .filter(pk=user_id)
        .first()
    )


def teams_list() -> QuerySet[Team]:
    """Every team with its manager and how many members it has."""
    return Team.objects.select_related("manager").annotate(member_count=Count("members")).order_by("name")


def team_managers() -> QuerySet[User]:
    """Who may lead a team: active users with the manager role."""
    return User.objects.filter(role=Role.MANAGER, is_active=True).order_by("first_name", "last_name", "username")


@dataclass(frozen=True)
class ChangeRow:
    """One field of an audit entry as the page shows it: old → new, or a single value
    when the entry recorded something other than a change (a count, a list of fields)."""

    field: str
    old: str
    new: str
    is_change: bool


def _readable(value: Any) -> str:
    """A recorded value as a person reads it: a list as its items, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_readable(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_readable(item)}" for key, item in value.items())
    return str(value)


def _change_rows(changes: Any) -> list[ChangeRow]:
    if not isinstance(changes, dict):
        return [ChangeRow("", "", _readable(changes), False)]
    rows = []
    for name, value in changes.items():
        label = str(name).replace("_", " ")
        if isinstance(value, list) and len(value) == 2:
            rows.append(ChangeRow(label, _readable(value[0]), _readable(value[1]), True))
        else:
            rows.append(ChangeRow(label, "", _readable(value), False))
    return rows


def _with_change_rows(entries: list[AuditEntry]) -> list[AuditEntry]:
    for entry in entries:
        entry.change_rows = _change_rows(entry.changes)
        entry.action_label = AuditAction(entry.action).label if entry.action in AuditAction.values else entry.action
        entry.target_url = _target_url(entry)
    return entries


def _target_url(entry: AuditEntry) -> str:
    url_name = AUDIT_TARGET_URLS.get(entry.target_type)
    if not url_name or not entry.target_id.isdigit():
        return ""
    try:
        return reverse(url_name, args=[int(entry.target_id)])
    except NoReverseMatch:
        return ""


def audit_entries(*, action: str = "", target_type: str = "", actor: User | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related("actor")
    if action:
        entries = entries.filter(action=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if actor is not None:
        entries = entries.filter(actor=actor)
    return entries


def audit_page(entries: QuerySet[AuditEntry], *, before: int | None) -> TimelinePage:
    """One page of `entries`, newest first (the same keyset as the timelines)."""
    page = timeline_page(entries, before=before, size=AUDIT_PAGE_SIZE)
    _with_change_rows(page.events)
    return page


def user_history(user: User) -> list[AuditEntry]:
    """The latest audit entries about `user` (the index on target_type, target_id)."""
    entries = list(
        AuditEntry.objects.select_related("actor")
        .filter(target_type=TARGET_USER, target_id=str(user.pk))
        .order_by("-created_at", "-id")[:USER_HISTORY_SIZE]
    )
    return _with_change_rows(entries)
