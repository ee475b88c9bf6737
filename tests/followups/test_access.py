"""The check-in rule is written as a queryset (lists, 404s) and in memory (buttons, the
hand-add service): both must give the same answer for every role."""

import pytest

from accounts.choices import Role
from followups.access import (
    checkin_workable_in_memory,
    checkins_workable_by,
    handoffs_checkins_addable_by,
    user_may_add_checkin,
)
from handoffs.models import Handoff
from tests.factories import CheckInFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = [
    "rep",
    "other_rep",
    "manager",
    "member_manager",
    "delivery_lead",
    "delivery_manager",
    "admin_user",
    "outsider_team_rep",
]


@pytest.fixture
def member_manager(sales_team, manager):
    """A manager who is a member of the sales team without being its manager."""
    return UserFactory(username="member_manager", role=Role.MANAGER, team=sales_team)


@pytest.fixture
def checkins(rep, outsider_team_rep):
    return [CheckInFactory(handoff__deal__owner=rep), CheckInFactory(handoff__deal__owner=outsider_team_rep)]


@pytest.mark.parametrize("who", PEOPLE)
def test_the_check_in_rule_gives_one_answer_in_memory_and_in_the_database(request, checkins, who):
    user = request.getfixturevalue(who)
    for checkin in checkins:
        in_database = checkins_workable_by(user).filter(pk=checkin.pk).exists()
        assert checkin_workable_in_memory(user, checkin) == in_database
        handoff = Handoff.objects.select_related("rep__team").get(pk=checkin.handoff_id)
        addable = Handoff.objects.filter(handoffs_checkins_addable_by(user), pk=handoff.pk).exists()
        assert user_may_add_checkin(user, handoff) == addable == in_database


def test_a_manager_works_the_check_ins_of_the_teams_they_manage_only(manager, member_manager, checkins):
    reps_checkin, _ = checkins
    assert list(checkins_workable_by(manager)) == [reps_checkin]
    assert not checkins_workable_by(member_manager).exists()
