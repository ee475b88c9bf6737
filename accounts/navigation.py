"""The main navigation, by role: each entry names a URL of one of the apps."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from accounts.choices import Role

ALL_ROLES = frozenset(Role.values)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]
    icon: str


NAVIGATION: list[NavItem] = [
    NavItem("My day", "handoffs:my_day", frozenset({Role.REP}), "sun"),
    NavItem("Dashboard", "followups:dashboard", frozenset({Role.MANAGER, Role.ADMIN}), "speedometer2"),
    # Reps too: the steps of the deals they sold are theirs to tick there (issue 16).
    NavItem("My hand-offs", "handoffs:my_handoffs", frozenset({Role.DELIVERY, Role.REP}), "inbox"),
    NavItem("Pipeline", "handoffs:board", frozenset({Role.REP, Role.MANAGER, Role.ADMIN}), "kanban"),
    NavItem("Deals", "handoffs:deal_list", frozenset({Role.REP, Role.MANAGER, Role.ADMIN}), "briefcase"),
    NavItem("Accounts", "handoffs:account_list", ALL_ROLES, "building"),
    NavItem("Hand-offs", "handoffs:handoff_list", ALL_ROLES, "arrow-left-right"),
    NavItem("Check-ins", "followups:my_checkins", frozenset({Role.REP, Role.MANAGER}), "calendar-check"),
    NavItem("Dropped batons", "followups:report", frozenset({Role.MANAGER, Role.ADMIN}), "exclamation-triangle"),
    NavItem("Outbox", "followups:outbox_admin", frozenset({Role.ADMIN}), "bell"),
    NavItem("Inbound closes", "handoffs:inbound_admin", frozenset({Role.ADMIN}), "cloud-download"),
    NavItem("Imports", "handoffs:import_list", frozenset({Role.MANAGER, Role.ADMIN}), "upload"),
    NavItem("Webhooks", "followups:webhook_list", frozenset({Role.ADMIN}), "broadcast"),
    NavItem("Playbooks", "handoffs:playbook_list", frozenset({Role.ADMIN}), "list-check"),
    NavItem("People", "people:list", frozenset({Role.ADMIN}), "people"),
    NavItem("Teams", "people:team_list", frozenset({Role.ADMIN}), "diagram-3"),
    NavItem("Audit log", "people:audit_log", frozenset({Role.ADMIN}), "journal-text"),
    NavItem("Settings", "accounts:org_settings", frozenset({Role.ADMIN}), "gear"),
]


def navigation_for(role: str, *, is_superuser: bool = False) -> list[dict[str, str]]:
    effective_role = Role.ADMIN if is_superuser else role
    items = []
    for item in NAVIGATION:
        if effective_role not in item.roles:
            continue
        items.append({"label": item.label, "url": reverse(item.url_name), "icon": item.icon, "url_name": item.url_name})
    return items
