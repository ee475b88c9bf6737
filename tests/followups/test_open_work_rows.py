"""The open-work page's rows and "give to" options, written in Python (issue 17): the
same markup the template's loops wrote; and the groups' ids read in one query, each in
its group's order."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.http import QueryDict
from django.template import Context, Template

from accounts.choices import Role
from followups.selectors.open_work import (
    KIND_CHECKINS,
    KIND_DEALS,
    KINDS,
    HeldGroup,
    HeldRow,
    _held_ids,
    held_items,
)
from followups.views.open_work import OpenWorkReassignForm, held_rows
from tests.factories import CheckInFactory, DealFactory, HandoffFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# The loops of templates/followups/open_work/open_work.html before they moved to Python.
TEMPLATE_ROWS = """{% for row in group.rows %}
        <tr>
          <td class="text-center"><input class="form-check-input" type="checkbox" name="items" value="{{ row.item_id }}" id="{{ group.kind }}-{{ row.item_id }}"{% if row.item_id|stringformat:"d" in ticked %} checked{% endif %} aria-label="Tick {{ row.title }}"></td>
          <td><a href="{{ row.url }}">{{ row.title }}</a><div class="small text-body-secondary">{{ row.detail }}</div></td>
        </tr>
      {% endfor %}"""
TEMPLATE_OPTIONS = (
    '{% for user in group.choices %}<option value="{{ user.pk }}"'
    '{% if form.to_user.value|stringformat:"s" == user.pk|stringformat:"s" %} selected{% endif %}>'
    "{{ user }}{% if user.team %} ({{ user.team }}){% endif %}</option>{% endfor %}"
)


def a_group(choices=()) -> HeldGroup:
    rows = [
        HeldRow(7, 'Deal <b>"one"</b>', "Acme & Sons · Qualify", "/deals/7/"),
        HeldRow(12345, "O'Neil's deal", "Globex · Propose · next step due 04 Mar 2026", "/deals/12345/"),
        HeldRow(99, "Plain", "", "/deals/99/?a=1&b=2"),
    ]
    return HeldGroup(KIND_DEALS, "Open deals", "Give these deals to", "open deals", rows, [7, 12345, 99], list(choices))


@pytest.mark.parametrize("ticked", [set(), {"12345"}, {"7", "99", "x", "012345"}])
def test_the_rows_are_the_markup_the_template_wrote(ticked):
    # given
    group = a_group()
    # when
    rows = held_rows(group, ticked)
    # then
    assert rows == Template(TEMPLATE_ROWS).render(Context({"group": group, "ticked": ticked}))


def test_the_options_are_the_markup_the_template_wrote_with_the_choice_kept():
    # given: people with and without a team, one with markup in their name
    team = TeamFactory(name="Sales & <Co>")
    people = [
        UserFactory(first_name="Ana", last_name='"Q" <i>', team=team),
        UserFactory(first_name="", last_name="", username="solo", team=None),
        UserFactory(role=Role.MANAGER, team=team),
    ]
    group = a_group(people)
    unbound = OpenWorkReassignForm(group=group, initial={"kind": KIND_DEALS})
    bound = OpenWorkReassignForm(QueryDict(f"kind=deals&to_user={people[1].pk}"), group=group)
    # when / then
    for form in (unbound, bound):
        expected = Template(TEMPLATE_OPTIONS).render(Context({"group": group, "form": form}))
        assert form.to_user_options == expected
    assert f'<option value="{people[1].pk}" selected>solo</option>' in bound.to_user_options


def test_the_ids_of_every_group_are_one_query_in_each_groups_order(rep, django_assert_num_queries):
    # given: rows created out of their group's order
    today = datetime.date(2026, 3, 4)
    for _ in range(3):
        DealFactory(owner=rep)
    handoff = HandoffFactory(deal__owner=rep)
    later, sooner = (
        CheckInFactory(handoff=handoff, rep=rep, cadence_days=days, due_on=today + datetime.timedelta(days=days))
        for days in (30, 7)
    )
    # when
    # One array per group in one query on PostgreSQL; SQLite (make run) asks per group.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else len(KINDS)):
        held = _held_ids(rep)
    # then: what each group's own query lists, in its order
    for kind in KINDS:
        assert held[kind] == list(held_items(kind, rep).values_list("pk", flat=True)), kind
    assert held[KIND_CHECKINS].index(sooner.pk) < held[KIND_CHECKINS].index(later.pk)
    assert len(held[KIND_DEALS]) == 3
