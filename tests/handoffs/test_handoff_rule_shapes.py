"""The hand-off visibility rule has two SQL shapes (issue 17): the list's (the deal ids of
the user's teams hashed once) and `per_row`'s (a correlated check of one row's deal, for
the detail page and every action). Both must answer exactly the same for every role,
including the cases where the hand-off's own columns and its deal's disagree."""

import datetime

import pytest
from django.template import Context, Template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from accounts.choices import Role
from handoffs.access import handoffs_visible_to
from handoffs.choices import HandoffStatus
from handoffs.templatetags.handoff_tags import day_date
from tests.factories import HandoffFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["rep", "other_rep", "outsider_team_rep", "manager", "delivery_lead", "delivery_manager", "admin_user"]


@pytest.fixture
def handoffs(rep, other_rep, outsider_team_rep, delivery_lead):
    """One hand-off for each way a user comes to see it (or not)."""
    moved = UserFactory(username="moved_rep", role=Role.REP, team=rep.team)
    joined = UserFactory(username="joined_rep", role=Role.REP, team=TeamFactory(name="Before"))
    built = {
        "rep's": HandoffFactory(deal__owner=rep),
        "colleague's": HandoffFactory(deal__owner=other_rep),
        "other team's": HandoffFactory(deal__owner=outsider_team_rep),
        # Proposed to / owned by the delivery lead: their manager sees them too.
        "proposed to the lead": HandoffFactory(
            deal__owner=outsider_team_rep, proposed_owner=delivery_lead, status=HandoffStatus.OWNER_PROPOSED
        ),
        "owned by the lead": HandoffFactory(
            deal__owner=outsider_team_rep, delivery_owner=delivery_lead, status=HandoffStatus.ACCEPTED
        ),
        # Sold in Sales by someone who has since moved to another team: the deal's team
        # still says Sales.
        "sold before a move": HandoffFactory(deal__owner=moved),
        # Sold in another team by someone who has since joined Sales: only the owner
        # being a member says it is Sales'.
        "sold before joining": HandoffFactory(deal__owner=joined),
        # The deal given to the rep after the close: the hand-off's own rep and team
        # still name the other team (only the deal says it is the rep's now).
        "deal reassigned": HandoffFactory(deal__owner=outsider_team_rep),
    }
    moved.team = TeamFactory(name="Elsewhere")
    moved.save(update_fields=["team"])
    joined.team = rep.team
    joined.save(update_fields=["team"])
    reassigned = built["deal reassigned"].deal
    reassigned.owner, reassigned.team = rep, rep.team
    reassigned.save(update_fields=["owner", "team"])
    return built


@pytest.mark.parametrize("who", ROLES)
def test_the_list_and_per_row_shapes_of_the_rule_see_the_same_handoffs(request, handoffs, who):
    # given
    user = request.getfixturevalue(who)

    # when
    listed = set(handoffs_visible_to(user).values_list("pk", flat=True))
    per_row = set(handoffs_visible_to(user, per_row=True).values_list("pk", flat=True))
    one_by_one = {h.pk for h in handoffs.values() if handoffs_visible_to(user, per_row=True).filter(pk=h.pk).exists()}

    # then
    assert listed == per_row == one_by_one


def test_the_rule_follows_the_deal_and_the_people_not_the_handoffs_copied_columns(
    handoffs, rep, manager, delivery_manager, outsider_team_rep
):
    def names(user):
        visible = set(handoffs_visible_to(user, per_row=True).values_list("pk", flat=True))
        assert visible == set(handoffs_visible_to(user).values_list("pk", flat=True))
        return {name for name, handoff in handoffs.items() if handoff.pk in visible}

    sales = {"rep's", "colleague's", "sold before a move", "sold before joining", "deal reassigned"}
    assert names(rep) == sales
    # The Sales manager: the team's deals, and those of whoever is a member now.
    assert names(manager) == sales
    assert names(delivery_manager) == {"proposed to the lead", "owned by the lead"}
    assert "deal reassigned" not in names(outsider_team_rep)


@pytest.mark.parametrize("language", ["en-gb", "de", "fr"])
def test_day_date_prints_a_date_as_the_date_filter_does(language):
    with translation.override(language):
        for day in (datetime.date(2026, 3, 4), datetime.date(2026, 12, 31)):
            for format_string in ("d M Y", "d M"):
                assert day_date(day, format_string) == date_filter(day, format_string)


def test_day_date_prints_a_datetime_in_the_users_time_zone_as_the_date_filter_does():
    moment = timezone.make_aware(datetime.datetime(2026, 3, 4, 23, 30), datetime.UTC)
    template = Template('{% load handoff_tags %}{{ moment|day_date:"d M Y" }}|{{ moment|date:"d M Y" }}')
    with timezone.override("Pacific/Auckland"):
        assert template.render(Context({"moment": moment})) == "05 Mar 2026|05 Mar 2026"
