"""Who may see and change which deal and account, for every role (issue 3).

A record the user may not read answers 404 (its existence is not leaked); one they
may read but not change answers 403; a page of a role they do not have answers 403.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.access import deals_of_teams_visible_to, handoffs_of_teams_visible_to, handoffs_visible_to
from handoffs.models import Deal
from handoffs.selectors.accounts import accounts_visible_to
from handoffs.selectors.deals import deal_list_queryset, deals_visible_to
from handoffs.selectors.promises import promise_list_queryset
from handoffs.services.deals import deal_close
from tests.factories import AccountFactory, DealFactory, HandoffFactory, UserFactory, give_full_packet

pytestmark = pytest.mark.django_db

# (user fixture, may read, may change)
DEAL_ACCESS = [
    ("rep", 200, 200),
    ("other_rep", 200, 403),
    ("outsider_team_rep", 404, 404),
    ("manager", 200, 200),
    ("delivery_lead", 404, 404),
    ("delivery_manager", 404, 404),
    ("admin_user", 200, 200),
]


@pytest.fixture
def reps_deal(rep):
    return DealFactory(owner=rep, title="Rep's deal")


@pytest.mark.parametrize(("who", "read", "change"), DEAL_ACCESS)
def test_deal_pages_answer_each_role_without_leaking(request, client_for, reps_deal, who, read, change):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("handoffs:deal_detail", args=[reps_deal.pk])).status_code == read
    assert client.get(reverse("handoffs:deal_edit", args=[reps_deal.pk])).status_code == change
    assert client.get(reverse("handoffs:deal_close", args=[reps_deal.pk])).status_code == change
    stage_move = client.post(reverse("handoffs:deal_stage", args=[reps_deal.pk]), {"stage": "propose", "version": 1})
    assert stage_move.status_code == (303 if change == 200 else change)
    promise = client.post(reverse("handoffs:promise_add", args=[reps_deal.pk]), {"description": "Sneaky"})
    assert promise.status_code == (302 if change == 200 else change)


@pytest.mark.parametrize(("who", "read", "change"), DEAL_ACCESS)
def test_account_pages_answer_each_role_without_leaking(request, client_for, rep, who, read, change):
    account = AccountFactory(owner=rep)
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("handoffs:account_detail", args=[account.pk])).status_code == read
    assert client.get(reverse("handoffs:account_edit", args=[account.pk])).status_code == change
    assert client.get(reverse("handoffs:contact_create", args=[account.pk])).status_code == change


def test_a_delivery_lead_reads_the_account_and_deals_they_are_proposed_for_but_changes_nothing(
    client_for, rep, delivery_lead
):
    # given
    handoff = HandoffFactory(deal__owner=rep, proposed_owner=delivery_lead)
    deal, account = handoff.deal, handoff.deal.account
    client = client_for(delivery_lead)
    # then
    assert client.get(reverse("handoffs:account_detail", args=[account.pk])).status_code == 200
    assert client.get(reverse("handoffs:deal_detail", args=[deal.pk])).status_code == 200
    assert client.get(reverse("handoffs:account_edit", args=[account.pk])).status_code == 403
    assert client.get(reverse("handoffs:deal_edit", args=[deal.pk])).status_code == 403


def test_a_delivery_lead_reads_an_account_they_own(client_for, delivery_lead):
    account = AccountFactory(owner=delivery_lead)
    assert client_for(delivery_lead).get(reverse("handoffs:account_detail", args=[account.pk])).status_code == 200


@pytest.mark.parametrize("url_name", ["handoffs:board", "handoffs:deal_list", "handoffs:deal_create"])
def test_pipeline_pages_are_refused_to_delivery_leads(client_for, delivery_lead, url_name):
    assert client_for(delivery_lead).get(reverse(url_name)).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, reps_deal):
    response = client.get(reverse("handoffs:deal_detail", args=[reps_deal.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("who", "status"), [("rep", 403), ("other_rep", 403), ("manager", 200), ("admin_user", 200)])
def test_only_managers_and_admins_may_reopen_a_closed_deal(request, client_for, rep, who, status):
    deal = give_full_packet(DealFactory(owner=rep))
    deal_close(actor=rep, deal=deal, outcome="won", closed_on=timezone.localdate(), final_amount=1, reason="Yes")
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("handoffs:deal_reopen", args=[deal.pk])).status_code == status


def test_the_lists_show_only_what_each_user_may_read(rep, other_rep, outsider_team_rep, manager, admin_user):
    # given
    mine = DealFactory(owner=rep)
    team_mates = DealFactory(owner=other_rep)
    other_teams = DealFactory(owner=outsider_team_rep)
    # then
    assert set(deals_visible_to(rep)) == {mine, team_mates}
    assert set(deals_visible_to(manager)) == {mine, team_mates}
    assert set(deals_visible_to(outsider_team_rep)) == {other_teams}
    assert set(deals_visible_to(admin_user)) == {mine, team_mates, other_teams}
    assert set(accounts_visible_to(rep)) == {mine.account, team_mates.account}


def test_a_delivery_manager_reads_the_deals_their_leads_are_handed(delivery_manager, delivery_lead, rep):
    handoff = HandoffFactory(deal__owner=rep, delivery_owner=delivery_lead)
    DealFactory(owner=rep)
    assert list(deals_visible_to(delivery_manager)) == [handoff.deal]
    assert list(accounts_visible_to(delivery_manager)) == [handoff.deal.account]


@pytest.mark.parametrize("viewer", ["manager", "delivery_manager", "rep", "delivery_lead", "admin_user"])
def test_both_shapes_of_the_deal_rule_read_the_same_deals(request, viewer, rep, other_rep, delivery_lead):
    # given: deals of the sales team, one handed to a delivery lead (proposed), one accepted
    proposed = HandoffFactory(deal__owner=rep, proposed_owner=delivery_lead, delivery_owner=None)
    accepted = HandoffFactory(deal__owner=other_rep, delivery_owner=delivery_lead)
    DealFactory(owner=rep)
    user = request.getfixturevalue(viewer)
    # when
    as_listed = set(deals_visible_to(user, ordered_walk=True))
    as_searched = set(deals_visible_to(user))
    # then: the hashed form (lists) and the array form (search, promises) are one rule
    assert as_listed == as_searched
    if viewer == "delivery_manager":
        assert as_listed == {proposed.deal, accepted.deal}


def test_each_caller_asks_the_deal_rule_in_the_shape_its_plan_needs(delivery_manager, delivery_lead, rep):
    # given: a delivery manager, whose rule has the hand-offs arm
    HandoffFactory(deal__owner=rep, delivery_owner=delivery_lead)
    # when
    listed = str(deal_list_queryset(delivery_manager).query)
    promised = str(promise_list_queryset(delivery_manager).query)
    # then: the deal list walks deals in order and hashes the arm (IN subquery); the
    # promise list asks the rule of its own rows and takes the id array, which the
    # planner checks per promise (hashed, it joined every promise with every visible
    # deal: 87 ms against 1.2 ms at 100k deals)
    handed_hashed = re.compile(r'"id" IN \(SELECT \w+\."deal_id" AS "deal_id" FROM "handoffs_handoff"')
    handed_array = re.compile(r'"id" = ANY\(ARRAY\(SELECT \w+\."deal_id" AS "deal_id" FROM "handoffs_handoff"')
    assert handed_hashed.search(listed) and not handed_array.search(listed)
    assert handed_array.search(promised) and not handed_hashed.search(promised)


@pytest.mark.parametrize("viewer", ["manager", "delivery_manager", "rep", "delivery_lead", "admin_user"])
def test_the_deals_of_a_users_teams_are_among_the_deals_they_see(request, viewer, rep, other_rep, delivery_lead):
    # given: deals of the sales team and of another team, one handed to a delivery lead
    HandoffFactory(deal__owner=rep, delivery_owner=delivery_lead)
    DealFactory(owner=other_rep)
    DealFactory()
    user = request.getfixturevalue(viewer)
    # when: the deal list's count probe (CappedPaginator's cap_probe)
    probe = set(deals_of_teams_visible_to(user))
    # then: a part of what the rule shows them, never more; a rep's and a manager's own
    # team's deals all of it here
    assert probe <= set(deals_visible_to(user))
    if viewer in ("manager", "rep"):
        assert probe == set(Deal.objects.filter(team=user.team))
        assert probe


@pytest.mark.parametrize("viewer", ["manager", "delivery_manager", "rep", "delivery_lead", "admin_user"])
def test_the_hand_offs_of_a_users_teams_are_among_the_hand_offs_they_see(
    request, viewer, rep, other_rep, delivery_lead
):
    # given: hand-offs of the sales team's deals, one of a deal since moved to another team
    of_the_team = HandoffFactory(deal__owner=rep, delivery_owner=delivery_lead)
    HandoffFactory(deal__owner=other_rep)
    moved = HandoffFactory(deal__owner=rep)
    Deal.objects.filter(pk=moved.deal_id).update(team=None, owner=UserFactory())
    HandoffFactory()
    user = request.getfixturevalue(viewer)
    # when: the hand-off list's count probe
    probe = set(handoffs_of_teams_visible_to(user))
    # then: never more than the rule shows them
    assert probe <= set(handoffs_visible_to(user))
    if viewer in ("manager", "rep"):
        assert of_the_team in probe and moved not in probe


def test_inactive_users_see_nothing(rep):
    DealFactory(owner=rep)
    gone = UserFactory(team=rep.team, is_active=False)
    assert not deals_visible_to(gone).exists()
    assert not accounts_visible_to(gone).exists()


@pytest.fixture
def accounts_by_arm(rep, other_rep, outsider_team_rep, delivery_lead):
    """An account for each arm of the account rule, by name."""
    return {
        "owned by rep": AccountFactory(owner=rep, name="owned by rep"),
        "rep's deal": DealFactory(
            owner=rep, account=AccountFactory(owner=outsider_team_rep, name="rep's deal")
        ).account,
        "team's deal": DealFactory(
            owner=other_rep, account=AccountFactory(owner=outsider_team_rep, name="team's deal")
        ).account,
        "handed over": HandoffFactory(
            deal__owner=outsider_team_rep, deal__account__name="handed over", delivery_owner=delivery_lead
        ).deal.account,
        "other team's": AccountFactory(owner=outsider_team_rep, name="other team's"),
    }


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("rep", {"owned by rep", "rep's deal", "team's deal"}),
        ("other_rep", {"owned by rep", "rep's deal", "team's deal"}),
        ("manager", {"owned by rep", "rep's deal", "team's deal"}),
        ("outsider_team_rep", {"rep's deal", "team's deal", "handed over", "other team's"}),
        ("delivery_lead", {"handed over"}),
        ("delivery_manager", {"handed over"}),
        ("admin_user", {"owned by rep", "rep's deal", "team's deal", "handed over", "other team's"}),
    ],
)
def test_each_shape_of_the_account_rule_gives_the_same_accounts(request, accounts_by_arm, who, visible):
    # given
    user = request.getfixturevalue(who)
    # when: as a subquery (most callers), as an id list (the account list), one account
    # at a time (an account's own pages)
    as_subquery = {account.name for account in accounts_visible_to(user)}
    as_id_list = {account.name for account in accounts_visible_to(user, deal_accounts_as_list=True)}
    one_by_one = {
        name for name, account in accounts_by_arm.items() if accounts_visible_to(user, pk=account.pk).exists()
    }
    # then
    assert as_subquery == as_id_list == one_by_one == visible
