"""The main navigation, by role: each entry names a URL of one of the apps; and the
other addresses every page's layout links to (base.html).

Both are the same for every request of a process (they depend on the URLconf, the
script prefix and the static files' manifest, not on the user beyond their role), so
they are built once per process and role: reversing and hashing them on each page was
~40% of rendering the layout (~1.3 ms of every page, issue 17). They are forgotten
whenever a setting changes (tests override URLconfs and storages)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse

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
    """The navigation entries `role` sees (a superuser sees the admin's), in order."""
    effective_role = Role.ADMIN if is_superuser else role
    return _navigation_for(effective_role, get_script_prefix(), get_urlconf())


@functools.cache
def _navigation_for(role: str, script_prefix: str, urlconf: str | None) -> list[dict[str, str]]:
    return [
        {"label": item.label, "url": reverse(item.url_name), "icon": item.icon, "url_name": item.url_name}
        for item in NAVIGATION
        if role in item.roles
    ]


# The layout's own links and assets (base.html and partials/bell.html), by the name the
# templates give accounts.templatetags.layout_tags: `{% layout_link 'search' %}` is
# `{% url 'handoffs:search' %}`, `{% layout_link 'baton_css' %}` `{% static 'css/baton.css' %}`.
LAYOUT_URL_NAMES = {
    "home": "home",
    "search": "handoffs:search",
    "profile": "accounts:profile",
    "password_change": "password_change",
    "logout": "logout",
    "bell": "followups:bell",
    "notifications": "followups:notifications",
}
LAYOUT_ASSETS = {
    "favicon": "img/favicon.svg",
    "htmx_js": "vendor/htmx/htmx.min.js",
    "baton_js": "js/baton.js",
    "bootstrap_css": "vendor/bootstrap/bootstrap.min.css",
    "icons_css": "vendor/bootstrap-icons/bootstrap-icons.min.css",
    "baton_css": "css/baton.css",
    "bootstrap_js": "vendor/bootstrap/bootstrap.bundle.min.js",
}


def layout_links() -> dict[str, str]:
    """Every address the layout links to: the URLs of LAYOUT_URL_NAMES and the static
    files of LAYOUT_ASSETS (hashed names in production), built once per process."""
    return _layout_links(get_script_prefix(), get_urlconf())


@functools.cache
def _layout_links(script_prefix: str, urlconf: str | None) -> dict[str, str]:
    links = {key: reverse(name) for key, name in LAYOUT_URL_NAMES.items()}
    links.update({key: static(path) for key, path in LAYOUT_ASSETS.items()})
    return links


@receiver(setting_changed)
def _forget_built_links(**kwargs) -> None:
    _navigation_for.cache_clear()
    _layout_links.cache_clear()
