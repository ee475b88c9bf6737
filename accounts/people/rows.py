"""The rows of the People list, written as HTML once per page in Python.

The list shows 100 people a page, and in the template each row cost ~25 variable,
`{% if %}` and `{% for %}` nodes, the avatar tag, two date filters and a related
manager for the teams the person leads: more than half of the page's CPU (issue 17). Here a
row is one format string filled with values escaped once; the markup is the one
templates/accounts/people/list.html looped over (tests hold the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.choices import Role
from accounts.common.links import url_for_each
from accounts.models import User
from accounts.templatetags.people_tags import avatar

ROW = """
  <tr>
    <td class="text-nowrap">{avatar} <a href="{edit_url}">{name}</a></td>
    <td class="small">{email}</td>
    <td>{role}{superuser}</td>
    <td>{team}</td>
    <td>{managed_teams}</td>
    <td>{active}</td>
    <td class="small text-nowrap">{last_sign_in}</td>
    <td>{two_factor}</td>
  </tr>
  """
SUPERUSER = ' <span class="badge text-bg-dark">superuser</span>'
ACTIVE = '<span class="badge text-bg-success">active</span>'
DEACTIVATED = '<span class="badge text-bg-secondary">deactivated</span>'
INVITED_NEVER = '<span class="text-body-secondary">invited {}, never</span>'
NEVER = '<span class="text-body-secondary">never</span>'
TWO_FACTOR_ON = '<span class="badge text-bg-success">on</span>'
TWO_FACTOR_OFF = '<span class="badge text-bg-light">off</span>'
ROLE_LABELS = {value: str(label) for value, label in Role.choices}


def _last_sign_in(person: User) -> str:
    """As the template's |date filter wrote them: in the viewer's time zone."""
    if person.last_login:
        return escape(date_filter(timezone.localtime(person.last_login), "d M Y H:i"))
    if person.invited_at:
        return INVITED_NEVER.format(escape(date_filter(timezone.localtime(person.invited_at), "d M Y")))
    return NEVER


def people_rows(people: Iterable[User], teams_led: dict[int, list[str]]) -> SafeString:
    """The rows of `people` (from accounts.people.selectors.people_list: the team,
    `has_two_factor`) with the names of the teams each leads (teams_led_by), and one
    reverse() for the page."""
    edit_url = url_for_each("people:edit")
    rows = []
    for person in people:
        managed = [escape(name) for name in teams_led.get(person.pk, ())]
        rows.append(
            ROW.format(
                avatar=avatar(person, label=False),
                edit_url=escape(edit_url(person.pk)),
                name=escape(str(person)),
                email=escape(person.email),
                role=escape(ROLE_LABELS.get(person.role, person.role)),
                superuser=SUPERUSER if person.is_superuser else "",
                team=escape(str(person.team)) if person.team else "—",
                managed_teams=", ".join(managed) if managed else "—",
                active=ACTIVE if person.is_active else DEACTIVATED,
                last_sign_in=_last_sign_in(person),
                two_factor=TWO_FACTOR_ON if person.has_two_factor else TWO_FACTOR_OFF,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 — every value escaped above (the avatar by format_html)
