"""The People list's rows, written in Python (accounts.people.rows, issue 17): the same
markup the template's loop wrote, for every kind of person the list shows."""

from __future__ import annotations

import datetime
import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import Role
from accounts.models import User
from accounts.people.rows import people_rows
from accounts.people.selectors import people_list, teams_led_by
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# The loop of templates/accounts/people/list.html before the rows moved to Python.
TEMPLATE_ROWS = """{% load people_tags %}{% for person in people %}
  <tr>
    <td class="text-nowrap">{% avatar person label=False %} <a href="{{ person.edit_url }}">{{ person }}</a></td>
    <td class="small">{{ person.email }}</td>
    <td>{{ person.get_role_display }}{% if person.is_superuser %} <span class="badge text-bg-dark">superuser</span>{% endif %}</td>
    <td>{{ person.team|default:"—" }}</td>
    <td>{% for team in person.managed_teams.all %}{{ team }}{% if not forloop.last %}, {% endif %}{% empty %}—{% endfor %}</td>
    <td>{% if person.is_active %}<span class="badge text-bg-success">active</span>{% else %}<span class="badge text-bg-secondary">deactivated</span>{% endif %}</td>
    <td class="small text-nowrap">{% if person.last_login %}{{ person.last_login|date:"d M Y H:i" }}{% elif person.invited_at %}<span class="text-body-secondary">invited {{ person.invited_at|date:"d M Y" }}, never</span>{% else %}<span class="text-body-secondary">never</span>{% endif %}</td>
    <td>{% if person.has_two_factor %}<span class="badge text-bg-success">on</span>{% else %}<span class="badge text-bg-light">off</span>{% endif %}</td>
  </tr>
  {% endfor %}"""


def everyone_the_list_tells_apart() -> None:
    late_evening = datetime.datetime(2026, 3, 4, 23, 30, tzinfo=datetime.UTC)
    leader = UserFactory(username="lead", first_name='Zoë <b>"Z"</b>', last_name="O'Brien & Co", role=Role.MANAGER)
    for name in ("North <1>", "East & West"):
        team = TeamFactory(name=name)
        team.manager = leader
        team.save(update_fields=["manager"])
    UserFactory(username="root", role=Role.ADMIN, team=None, is_superuser=True, last_login=late_evening)
    UserFactory(username="just.a-username", first_name="", last_name="", is_active=False)
    UserFactory(username="invited", invited_at=late_evening, last_login=None)
    secure = UserFactory(username="secure", role=Role.DELIVERY, last_login=late_evening)
    TOTPDevice.objects.create(user=secure, name="phone", confirmed=True)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_the_rows_are_the_markup_the_template_wrote(zone):
    # given
    everyone_the_list_tells_apart()
    people = list(people_list())
    reference = list(people_list())
    for person in reference:
        person.edit_url = reverse("people:edit", args=[person.pk])
    # when
    with timezone.override(zone):
        rows = people_rows(people, teams_led_by(people))
        expected = Template(TEMPLATE_ROWS).render(Context({"people": reference}))
    # then
    assert rows == expected
    assert "North &lt;1&gt;" in rows and "O&#x27;Brien &amp; Co" in rows


def test_the_teams_a_person_leads_are_one_query_in_name_order(django_assert_num_queries):
    # given
    everyone_the_list_tells_apart()
    people = list(people_list())
    lead = next(person for person in people if person.username == "lead")
    # when
    with django_assert_num_queries(1):
        led = teams_led_by(people)
    # then
    assert led == {lead.pk: ["East & West", "North <1>"]}
    assert teams_led_by([person for person in people if person.pk != lead.pk]) == {}
    assert teams_led_by([]) == {}


def test_the_page_shows_the_rows_and_says_when_nobody_matches(client_for, admin_user):
    # given
    everyone_the_list_tells_apart()
    client = client_for(admin_user)
    # when
    page = client.get(reverse("people:list")).content.decode()
    nobody = client.get(reverse("people:list"), {"role": Role.DELIVERY, "active": "no"}).content.decode()
    # then
    assert len(re.findall(r'<td class="text-nowrap">', page)) == User.objects.count()
    assert "Nobody matches these filters." in nobody and 'class="text-nowrap"' not in nobody
